"""Engine behaviour that is not a rule: the cache, the project phase on
partial runs (pre-commit), fix application and positions."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import scalelint.engine.cache as cache_module
from scalelint.engine.cache import Cache
from scalelint.engine.checker import Checker
from scalelint.engine.config import Config, load_config
from scalelint.core.findings import Edit, FileResult, Finding, Fix, FixSafety
from scalelint.core.edits import apply_edits
from scalelint.engine.registry import load_registry
from scalelint.engine.runner import Runner, RunSettings

PROJECT_RULE = textwrap.dedent('''\
    """A project rule for tests: a function name defined in two modules."""
    from scalelint.rule import ProjectRule


    class DuplicateName(ProjectRule):
        """
        ## What it does
        Reports a function defined under the same name in two files.
        """

        code = "HX100"
        name = "duplicate-function"
        summary = "function name defined in two modules"
        vocabulary = ("def ",)

        def collect_facts(self, module):
            return [[fn.name, *self._ctx.location(fn.node.name)] for fn in module.functions]

        def check_project(self, index, out):
            seen = {}
            for path, facts in index.facts(self.code):
                for name, line, col, end_line, end_col in facts:
                    seen.setdefault(name, []).append((path, line, col, end_line, end_col))
            for name, places in seen.items():
                if len(places) > 1:
                    for path, line, col, end_line, end_col in places:
                        others = ", ".join(p for p, *_ in places if p != path)
                        out.report(self, path, line, col, end_line, end_col, f"{name} also defined in {others}")
    ''')


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "lint_rules.py").write_text(PROJECT_RULE)
    (tmp_path / "pyproject.toml").write_text("[tool.scalelint]\nlocal-rules = ['lint_rules.py']\nextend-exclude = ['lint_rules.py']\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("def shared():\n    return 1\n")
    (tmp_path / "pkg" / "b.py").write_text("def shared():\n    return 2\n")
    (tmp_path / "pkg" / "c.py").write_text("def alone():\n    return 3\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(paths: list[str], use_cache: bool = True, parsed: list[str] | None = None):
    config = load_config(None, Path(paths[0]))
    registry = load_registry([config.root / p for p in config.local_rules])
    rules = registry.select(["HX100"])
    runner = Runner(config, rules, RunSettings(paths=paths, use_cache=use_cache, jobs=1))
    if parsed is not None:
        original = runner.checker.check

        def counting(path, text, **kwargs):
            parsed.append(path)
            return original(path, text, **kwargs)

        runner.checker.check = counting  # type: ignore[method-assign]
    return runner.run()


def test_project_rule_sees_the_whole_project(project: Path) -> None:
    report = _run(["."])
    assert sorted((f.path, f.line, f.code) for f in report.findings) == [("pkg/a.py", 1, "HX100"), ("pkg/b.py", 1, "HX100")]


def test_partial_run_uses_cached_facts_of_other_files(project: Path) -> None:
    _run(["."])  # fills the cache
    parsed: list[str] = []
    report = _run(["pkg/a.py"], parsed=parsed)
    assert [(f.path, f.message) for f in report.findings] == [("pkg/a.py", "shared also defined in pkg/b.py")]
    assert parsed == [], "other files' facts must come from the cache"


def test_partial_run_without_cache_computes_other_facts(project: Path) -> None:
    report = _run(["pkg/b.py"], use_cache=False)
    assert [(f.path, f.line) for f in report.findings] == [("pkg/b.py", 1)]


def test_partial_run_sees_edits_to_other_files(project: Path) -> None:
    _run(["."])
    (project / "pkg" / "b.py").write_text("def renamed():\n    return 2\n")
    assert _run(["pkg/a.py"]).findings == []


def test_cache_roundtrip_and_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Cache(tmp_path / "c", "salt")
    fix = Fix("do it", FixSafety.UNSAFE, (Edit(1, 2, "x"),))
    result = FileResult("a.py", findings=[Finding("SL102", "n", "m", "a.py", 1, 2, 3, 4, fix)], facts={"k": [1]})
    cache.put("ab" * 16, result)
    back = cache.get("ab" * 16, "renamed.py")
    assert back is not None and back.from_cache
    assert back.findings[0].fix == fix and back.findings[0].path == "renamed.py"
    assert back.facts_deferred and cache.project_facts("ab" * 16) == {"k": [1]}, "project facts are decoded on demand"
    monkeypatch.setattr(cache_module, "TABLE_FOLD_MIN", 1)
    cache.save_stats()
    fresh = Cache(tmp_path / "c", "salt")  # another run: from the results table, then from the entry alone
    assert fresh.get("ab" * 16, "a.py").findings == result.findings
    (fresh.bucket / "results.marshal").unlink()
    from_entry = Cache(tmp_path / "c", "salt")
    again = from_entry.get("ab" * 16, "a.py")
    assert again is not None and again.findings == result.findings
    assert from_entry.project_facts("ab" * 16) == {"k": [1]}
    assert (tmp_path / "c" / ".gitignore").exists()
    monkeypatch.setattr(cache_module, "MAX_ENTRIES", 3)
    for i in range(6):
        cache.put(f"{i:02}" + "0" * 30, result)
    cache.prune()
    assert len(list(cache.bucket.glob("*/*.json"))) == 3
    assert not list(cache.bucket.glob("*/.*.tmp")), "no temporary files left behind"


def _result(path: str, n: int) -> FileResult:
    return FileResult(path, findings=[Finding("SL102", "n", f"m{n}", path, n, 1, n, 2)], facts={"k": [n]})


def test_a_small_run_leaves_the_results_table_to_a_bigger_one(tmp_path: Path) -> None:
    big = Cache(tmp_path / "c", "salt")
    for i in range(200):
        big.put(f"{i:03}" + "0" * 29, _result("a.py", i))
    big.save_stats()
    table = big.bucket / "results.marshal"
    before = table.read_bytes()
    small = Cache(tmp_path / "c", "salt")  # pre-commit on one file: its entry, not a rewritten table
    small.put("ff" * 16, _result("b.py", 99))
    small.save_stats()
    assert table.read_bytes() == before
    fresh = Cache(tmp_path / "c", "salt")
    assert fresh.facts_digest_of("ff" * 16) is not None and fresh.project_facts("ff" * 16) == {"k": [99]}
    assert fresh.get("ff" * 16, "b.py").findings == _result("b.py", 99).findings
    for i in range(200, 220):  # a bigger run folds in what the small one left in its entry
        fresh.put(f"{i:03}" + "0" * 29, _result("a.py", i))
    fresh.save_stats()
    assert table.read_bytes() != before
    (fresh.bucket / "ff" / f"{'ff' * 16}.json").unlink()
    assert Cache(tmp_path / "c", "salt").get("ff" * 16, "b.py").findings == _result("b.py", 99).findings


def test_entries_are_counted_for_pruning_once_per_eighth_of_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "MAX_ENTRIES", 40)  # counted after every 5 writes
    entries = lambda cache: len(list(cache.bucket.glob("*/*.json")))  # noqa: E731

    def run(first: int, count: int) -> Cache:
        cache = Cache(tmp_path / "c", "salt")
        for i in range(first, first + count):
            cache.put(f"{i:03}" + "0" * 29, _result("a.py", i))
        cache.prune()
        cache.save_stats()
        return cache

    assert entries(run(0, 44)) == 40
    assert entries(run(44, 3)) == 43, "3 writes since the last count: not counted yet"
    assert entries(run(47, 2)) == 40, "the count carries over between runs"


def test_apply_edits_skips_overlaps_and_keeps_order() -> None:
    text = "abcdefghij"
    fixes = [
        Fix("a", FixSafety.SAFE, (Edit(0, 2, "AB"),)),
        Fix("b", FixSafety.SAFE, (Edit(1, 3, "??"),)),  # overlaps the first
        Fix("c", FixSafety.SAFE, (Edit(8, 10, "IJ"), Edit(4, 4, "+"))),
    ]
    new, applied = apply_edits(text, fixes)
    assert (new, applied) == ("ABcd+efghIJ", 2)


def test_checker_positions_are_one_based_and_exact() -> None:
    registry = load_registry()
    source = "import sqlite3\n\n\ndef f(p):\n    c = sqlite3.connect(p)\n    c.close()\n"
    (finding,) = Checker(registry.select(["SL102"])).check("x.py", source).findings
    assert (finding.line, finding.column, finding.end_line, finding.end_column) == (5, 5, 5, 27)


def test_crlf_and_tabs_are_preserved_by_fixes() -> None:
    from scalelint.engine.checker import CheckOptions

    source = "import sqlite3\r\n\r\ndef f(p):\r\n\tc = sqlite3.connect(p)\r\n\tc.execute('SELECT 1')\r\n\tc.close()\r\n"
    result = Checker(load_registry().select(["SL102"]), options=CheckOptions(fix=True)).check("x.py", source)
    assert result.fixed_source is not None
    assert "\r\n\twith closing(sqlite3.connect(p)) as c:\r\n\t\tc.execute('SELECT 1')\r\n" in result.fixed_source
    assert "\n" not in result.fixed_source.replace("\r\n", "")


def test_config_defaults_without_pyproject(tmp_path: Path) -> None:
    config = load_config(None, tmp_path)
    assert isinstance(config, Config) and config.path is None


def test_third_party_pack_via_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scalelint.core.errors import UsageError

    site = tmp_path / "site"
    (site / "fakepack-1.0.dist-info").mkdir(parents=True)
    (site / "fakepack-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepack\nVersion: 1.0\n")
    (site / "fakepack-1.0.dist-info" / "entry_points.txt").write_text("[scalelint.rules]\nfake = fakepack_rules\n")
    (site / "fakepack_rules.py").write_text(textwrap.dedent('''\
        from scalelint.rule import Rule


        class FromPack(Rule):
            """
            ## What it does
            A rule shipped by a third-party pack.
            """

            code = "FP001"
            name = "from-pack"
            summary = "a third-party rule"

        RULES = [FromPack]
        '''))
    monkeypatch.syspath_prepend(str(site))
    registry = load_registry()
    assert registry.origin["FP001"] == "pack fake"
    assert [r.code for r in registry.select(["FP"])] == ["FP001"]
    (site / "fakepack_rules.py").write_text("import not_installed_dependency\n")
    monkeypatch.delitem(__import__("sys").modules, "fakepack_rules", raising=False)
    with pytest.raises(UsageError, match="rule pack 'fake' .* failed to import: ModuleNotFoundError"):
        load_registry()


def test_huge_file_is_an_error_of_that_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import scalelint.engine.runner as runner_module

    monkeypatch.setattr(runner_module, "MAX_BYTES", 1000)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.py").write_text("X = 1\n" * 400)
    (tmp_path / "small.py").write_text("import sqlite3\n\ndef f(p):\n    c = sqlite3.connect(p)\n    c.close()\n")
    report = Runner(Config(root=tmp_path), load_registry().select(["SL102"]), RunSettings(paths=["."], use_cache=False)).run()
    (error,) = report.errors
    assert error.path == "big.py" and error.message.startswith("skipped: too large (")
    assert [f.path for f in report.findings] == ["small.py"]


def test_warm_run_does_not_read_unchanged_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    monkeypatch.chdir(tmp_path)
    source = "import sqlite3\n\ndef f(p):\n    c = sqlite3.connect(p)\n    c.close()\n"
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(source if name == "a.py" else "X = 1\n")
        old = time.time() - 3600
        os.utime(tmp_path / name, (old, old))
    rules = load_registry().select(["SL102"])

    def run():
        return Runner(Config(root=tmp_path), rules, RunSettings(paths=["."], jobs=1)).run()

    first = run()
    reads: list[str] = []
    original = Path.read_bytes

    def counting(self):
        if self.suffix == ".py":
            reads.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    second = run()
    assert [f.line for f in second.findings] == [f.line for f in first.findings] == [4]
    assert reads == ["a.py"], "only the reported file is read (for its source line)"
    (tmp_path / "b.py").write_text("Y = 22\n")  # a real edit changes size and mtime
    reads.clear()
    run()
    assert "b.py" in reads


def test_prefilter_sees_configured_names(tmp_path: Path) -> None:
    rules = load_registry().select(["SL3"])
    plain = Runner(Config(root=tmp_path), rules, RunSettings(paths=["."], use_cache=False))
    configured = Runner(Config(root=tmp_path, cache_clients=["app.stores.HOT_STORE"]), rules,
                        RunSettings(paths=["."], use_cache=False))
    text = "def put(k, v):\n    HOT_STORE.hset(k, 'f', v)\n"
    if plain._prefilter.any(text):
        pytest.skip("the built-in vocabulary already matches this text")
    assert configured._prefilter.any(text)


def _age(root: Path, seconds: float = 3600) -> None:
    """Back-date every file and directory, as if written long before the run
    (the cache distrusts mtimes too close to its own writes)."""
    import os
    import time

    old = time.time() - seconds
    for path in [root, *root.rglob("*")]:
        os.utime(path, (old, old))


def test_partial_run_takes_other_files_from_the_facts_table_and_cached_walk(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scalelint.engine.discovery import Discovery

    _run(["."])  # creates the cache directory
    _age(project)
    _run(["."])  # fills the per-file cache and the facts table
    _run(["pkg/a.py"])  # records the project walk
    opened: list[str] = []
    original = Path.read_text

    def counting(self, *args, **kwargs):
        if len(self.parent.name) == 2:  # a per-file entry (<digest[:2]>/<digest>.json)
            opened.append(self.name)
        return original(self, *args, **kwargs)

    def no_walk(self, *args, **kwargs):
        raise AssertionError("the project walk must come from the cache")

    monkeypatch.setattr(Path, "read_text", counting)
    monkeypatch.setattr(Discovery, "_walk", no_walk)
    report = _run(["pkg/a.py"])
    assert [(f.path, f.message) for f in report.findings] == [("pkg/a.py", "shared also defined in pkg/b.py")]
    assert opened == [], "results come from the results table, not from one entry per file"


def test_partial_run_sees_a_new_file_of_the_project(project: Path) -> None:
    _run(["."])
    _age(project)
    _run(["."])
    _run(["pkg/c.py"])
    (project / "pkg" / "d.py").write_text("def alone():\n    return 4\n")
    report = _run(["pkg/c.py"])
    assert [(f.path, f.message) for f in report.findings] == [("pkg/c.py", "alone also defined in pkg/d.py")]


def test_same_text_in_two_packages_is_cached_per_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for package in ("one", "two"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "helpers.py").write_text("import sqlite3\n\ndef f(p):\n    c = sqlite3.connect(p)\n    c.close()\n")
    runner = Runner(Config(root=tmp_path), load_registry().select(["SL102"]), RunSettings(paths=["."], jobs=1))
    runner.run()
    assert runner.cache is not None
    digests = {path: entry[2] for path, entry in runner.cache._load_stats().items() if path.endswith("helpers.py")}
    assert len(set(digests.values())) == 2, "facts name their module, so the cache keys differ"


def test_checked_trees_do_not_outlive_their_file() -> None:
    import gc

    import libcst as cst

    rules = list(load_registry().rules.values())
    checker = Checker([r for r in rules if r.code not in ("SL001", "SL002")])
    parsed: list[int] = []
    original = cst.parse_module

    def tracking(text: str, *args, **kwargs):
        module = original(text, *args, **kwargs)
        parsed.append(id(module))
        return module

    source = "import sqlite3\nfrom django.core.cache import cache\n\ndef f(p):\n    c = sqlite3.connect(p)\n    rows = c.execute('SELECT 1').fetchall()\n    cache.set('k', rows)\n    c.close()\n"
    cst.parse_module = tracking
    try:
        for n in range(3):
            checker.check(f"f{n}.py", source)
    finally:
        cst.parse_module = original
    gc.collect()
    alive = {id(o) for o in gc.get_objects() if isinstance(o, cst.Module)}
    assert parsed
    assert not alive & set(parsed), "every file's tree is freed once the file is done"


def test_results_are_not_reused_across_code_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An editable install edits scalelint in place, without a version bump:
    the cache must not answer with results the old code produced."""
    import scalelint.engine.registry as registry_module

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("import sqlite3\n\ndef f(p):\n    c = sqlite3.connect(p)\n    c.close()\n")
    rules = load_registry().select(["SL102"])

    def run():
        return Runner(Config(root=tmp_path), rules, RunSettings(paths=["."], jobs=1))

    first = run()
    first.run()
    original = registry_module._engine_files
    monkeypatch.setattr(registry_module, "_engine_files", lambda: original() + [("edited.py", "1:1")])
    second = run()
    assert second.cache is not None and first.cache is not None
    assert second.cache.bucket != first.cache.bucket
    assert first.cache.get(content_hash_of(tmp_path / "a.py"), "a.py") is not None
    assert second.cache.get(content_hash_of(tmp_path / "a.py"), "a.py") is None


def content_hash_of(path: Path) -> str:
    from scalelint.engine.cache import content_hash

    return content_hash(path.read_bytes(), path.stem)


def test_prune_keeps_the_most_recent_buckets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    monkeypatch.setattr(cache_module, "MAX_BUCKETS", 2)
    caches = [Cache(tmp_path / "c", f"salt{n}") for n in range(4)]
    for n, cache in enumerate(caches):
        cache.put(f"{n:032x}", FileResult("x.py", findings=[Finding("SL999", "x", "m", "x.py", 1, 1, 1, 2)]))
        old = time.time() - 1000 + n
        os.utime(cache.bucket, (old, old))
    caches[-1].prune()
    left = sorted(p.name for p in caches[0].bucket.parent.iterdir() if p.is_dir())
    assert left == ["salt2", "salt3"]


def test_unchanged_partial_run_decodes_no_other_facts(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _run(["."])
    _age(project)
    _run(["."])
    decoded: list[str] = []
    original = Cache.project_facts

    def counting(self, digest):
        decoded.append(digest)
        return original(self, digest)

    monkeypatch.setattr(Cache, "project_facts", counting)
    first = _run(["pkg/a.py"])
    assert decoded == [], "the full run's project result answers a run on part of the project"
    again = _run(["pkg/a.py"])
    assert [f.message for f in again.findings] == [f.message for f in first.findings] == ["shared also defined in pkg/b.py"]
    assert decoded == [], "the project result comes from the cache, keyed by digests alone"
    (project / "pkg" / "a.py").write_text("def shared():\n    return 10  # no fact moves\n")
    edited = _run(["pkg/a.py"])
    assert [f.message for f in edited.findings] == ["shared also defined in pkg/b.py"]
    assert decoded == [], "the file's facts did not change, so neither did the project's result"
    (project / "pkg" / "a.py").write_text("def helper():\n    pass\n\ndef shared():\n    return 10\n")
    moved = _run(["pkg/a.py"])
    assert [(f.line, f.message) for f in moved.findings] == [(4, "shared also defined in pkg/b.py")]
    assert decoded, "after an edit that changes facts, the other files' facts are decoded from the table"


def test_stdin_run_takes_other_files_from_the_cache(project: Path) -> None:
    """Editor on save: the buffer comes on stdin, the rest of the project from
    the cache; the file on disk that the buffer stands for is left out."""
    _run(["."])
    _age(project)
    _run(["."])
    config = load_config(None, project / "pkg")
    rules = load_registry([config.root / p for p in config.local_rules]).select(["HX100"])
    buffer = "def shared():\n    return 'edited, unsaved'\n"
    runner = Runner(config, rules, RunSettings(paths=["-"], stdin_text=buffer, stdin_filename="pkg/a.py", jobs=1))
    parsed: list[str] = []
    original = runner.checker.check

    def counting(path, text, **kwargs):
        parsed.append(path)
        return original(path, text, **kwargs)

    runner.checker.check = counting  # type: ignore[method-assign]
    report = runner.run()
    assert [(f.path, f.message) for f in report.findings] == [("pkg/a.py", "shared also defined in pkg/b.py")]
    assert parsed == ["pkg/a.py"], "only the buffer is checked"


def test_facts_are_the_same_in_every_process() -> None:
    """Project results are cached by a digest of every file's facts, so facts
    must not depend on the process (set iteration order changes with the hash
    seed): the same file gives the same facts under two seeds."""
    import os
    import subprocess
    import sys

    fixtures = Path(__file__).parent / "fixtures"
    script = (
        "import sys, pathlib\n"
        "from scalelint.engine.registry import load_registry\n"
        "from scalelint.engine.checker import Checker\n"
        "rules = [r for r in load_registry().rules.values() if r.code not in ('SL001', 'SL002')]\n"
        "checker = Checker(rules)\n"
        "for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')):\n"
        "    print(p.name, checker.check(str(p), p.read_text(encoding='utf-8'), module_name='app.m').facts_digest)\n"
    )

    def digests(seed: str) -> str:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script, str(fixtures)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = digests("1")
    assert first.count("\n") > 50 and sum(1 for line in first.splitlines() if line.split()[-1:] and len(line.split()) == 2) > 20
    assert digests("2") == first


def test_damaged_cache_files_are_ignored(project: Path) -> None:
    """A truncated or foreign file in the cache is a miss, never an error."""
    expected = [(f.path, f.message) for f in _run(["."]).findings]
    version_dir = next((project / ".scalelint_cache").glob("v*"))
    damaged = [*version_dir.glob("*/results.marshal"), *version_dir.glob("*/tree.json"), version_dir / "stat-index.json"]
    assert len(damaged) >= 2
    for path in damaged:
        path.write_bytes(b"\x00garbage")
    assert [(f.path, f.message) for f in _run(["pkg/a.py"]).findings] == [e for e in expected if e[0] == "pkg/a.py"]
    assert [(f.path, f.message) for f in _run(["."]).findings] == expected


def test_suppression_only_files_never_build_the_checker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file no rule can match is answered in the main process even when it
    carries suppression comments: building the checker imports LibCST and
    every rule, the main cost of a one-file run."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain.py").write_text("x = 1  # noqa: SL101\ny = 2  # NOQA: E741\n")
    runner = Runner(Config(root=tmp_path), load_registry().select(None), RunSettings(paths=["plain.py"], jobs=1))

    def refuse(self):
        raise AssertionError("the checker was built")

    monkeypatch.setattr(Runner, "checker", property(refuse))
    report = runner.run()
    assert [(f.code, f.line) for f in report.findings] == [("SL002", 1)]


def test_kept_rule_metadata_loads_each_rule_from_its_own_module(tmp_path: Path) -> None:
    import pickle

    from scalelint.engine.manifest import LazyRule
    from scalelint.engine.registry import load_registry_cached

    load_registry_cached([], tmp_path / "c")  # keeps the metadata
    kept = load_registry_cached([], tmp_path / "c").rules
    assert all(isinstance(rule, LazyRule) and rule.module for rule in kept.values())
    # what the runner reads of a rule without loading it comes back as declared
    assert kept["SL104"].low_confidence_contexts == load_registry().rules["SL104"].low_confidence_contexts == {"scheduled"}
    travelled = pickle.loads(pickle.dumps(kept["SL201"]))  # to a spawned worker
    assert travelled.load() is load_registry().rules["SL201"]
    source = "def f(db):\n    total = db.replica.query('SELECT balance FROM accounts')\n    db.primary.execute('UPDATE accounts SET balance = %s', total)\n"
    lazy, eager = Checker(list(kept.values())), Checker(load_registry().sorted())
    assert lazy.check("a.py", source).findings == eager.check("a.py", source).findings != []


def test_a_rule_that_moved_since_its_metadata_was_kept_is_a_clear_error() -> None:
    import pickle

    from scalelint.core.errors import UsageError
    from scalelint.engine.manifest import LazyRule

    stale = LazyRule("SL999", "gone", "s", (), None, False, "", "", "scalelint.rules.caches", "NoSuchRule")
    with pytest.raises(UsageError, match="SL999 can no longer be loaded from scalelint.rules.caches"):
        pickle.loads(pickle.dumps(stale)).load()


@pytest.mark.parametrize("literal", [
    '"abc"', "'a\\nb'", 'r"a\\nb"', '"""x\ny"""', "'''q'''", 'u"x"', '"a\\\\b"', '""', '"""a"b"""',
    "'\\''", '"\\x41"', '"\\N{BULLET}"', '"é"', 'R"\\d+"', '"""line \\\ncontinued"""',
])
def test_string_value_agrees_with_python(literal: str) -> None:
    import ast

    import libcst as cst

    from scalelint.core.walk import string_value

    assert string_value(cst.parse_expression(literal)) == ast.literal_eval(literal)


def test_string_value_of_bytes_is_none() -> None:
    import libcst as cst

    from scalelint.core.walk import string_value

    assert string_value(cst.parse_expression('b"x"')) is None and string_value(cst.parse_expression('rb"\\d"')) is None


def test_paths_below_the_root_resolve_symlinks_as_path_resolve_does(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    (root / "app" / "views").mkdir(parents=True)
    (root / "app" / "views" / "a.py").write_text("x = 1\n")
    (root / "linked").symlink_to(root / "app")
    (root / "app" / "alias.py").symlink_to(root / "app" / "views" / "a.py")
    (tmp_path / "outside.py").write_text("x = 1\n")
    (root / "app" / "out.py").symlink_to(tmp_path / "outside.py")
    monkeypatch.chdir(root)
    runner = Runner(Config(root=Path(".")), load_registry().select(["SL102"]), RunSettings(paths=["."], use_cache=False))
    for display in ["app/views/a.py", "linked/views/a.py", "app/alias.py", "linked/../app/views/a.py",
                    "app/out.py", "../outside.py", str(root / "app" / "views" / "a.py"), "app/missing.py"]:
        try:
            expected = Path(display).resolve().relative_to(Path(".").resolve()).as_posix()
        except ValueError:
            expected = Path(display).as_posix()
        assert runner._rel(display) == expected, display


def test_code_fingerprint_covers_every_module_of_the_package() -> None:
    """The engine, the core and each model family live in sub-packages: an edit
    to any of them (an editable install) must change the fingerprint."""
    import os

    import scalelint
    import scalelint.engine.registry as registry_module

    top = os.path.dirname(scalelint.__file__)
    seen = {path for path, _ in registry_module._engine_files()}
    for sub in ("engine/runner.py", "core/findings.py", "model/connections/loops.py", "model/caches/keyindex.py",
                "model/flow/dataflow.py", "fix/scoping.py", "report/baseline.py", "lsp/linter.py"):
        assert os.path.join(top, sub) in seen, sub


def test_packs_are_looked_up_only_when_a_distribution_declares_one(tmp_path: Path) -> None:
    """importlib.metadata (about 30 ms) runs only when an entry_points.txt on the
    path declares a pack other than the built-in one, or when the files cannot tell."""
    from scalelint.engine.registry import _other_packs_declared

    site = tmp_path / "site"
    (site / "scalelint-0.1.dist-info").mkdir(parents=True)
    (site / "scalelint-0.1.dist-info" / "entry_points.txt").write_text(
        "[console_scripts]\nscalelint = scalelint.cli:entry\n\n[scalelint.rules]\nbuiltin = scalelint.rules\n")
    (site / "other-2.0.dist-info").mkdir()
    (site / "other-2.0.dist-info" / "entry_points.txt").write_text("[pytest11]\nplug = scalelint.rules\n")
    (site / "bare-1.0.egg-info").mkdir()
    assert not _other_packs_declared([str(site), str(tmp_path / "missing")])
    (site / "fakepack-1.0.dist-info").mkdir()
    (site / "fakepack-1.0.dist-info" / "entry_points.txt").write_text("[scalelint.rules]\nfake = fakepack_rules:RULES\n")
    assert _other_packs_declared([str(site)])
    archive = tmp_path / "packs.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))
    assert _other_packs_declared([str(archive)])


def test_an_import_hook_listing_distributions_leaves_packs_to_importlib_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from importlib.machinery import PathFinder

    from scalelint.engine import registry

    monkeypatch.setattr(sys, "meta_path", [PathFinder])
    assert not registry._other_finders()

    class Finder:
        @staticmethod
        def find_distributions(context=None):
            return iter(())

    monkeypatch.setattr(sys, "meta_path", [PathFinder, Finder()])
    assert registry._other_finders()


REPLICA_COUPON = '''\
from shop.models import Coupon


def redeem(code, user):
    if not Coupon.objects.using("replica").filter(code=code).exists():
        Coupon.objects.create(code=code, user=user)
'''


def test_a_fix_run_reports_the_project_findings_of_the_fixed_text(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """SL201's unsafe fix reads the primary; the race it stood for (SL202, judged in the
    project phase) is what the fixed file has, and the fix run says so as a check would."""
    (tmp_path / "coupons.py").write_text(REPLICA_COUPON)
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path, root_is_project=True)
    config.min_confidence = "low"  # a lookup before an insert of the same key: low-confidence SL202
    rules = load_registry().select(["SL201", "SL202"])
    fixing = Runner(config, rules, RunSettings(paths=["."], fix=True, unsafe_fixes=True, use_cache=False,
                                               jobs=1)).run()
    assert '.using("default")' in (tmp_path / "coupons.py").read_text()
    checking = Runner(config, rules, RunSettings(paths=["."], use_cache=False, jobs=1)).run()
    assert [(f.code, f.line) for f in checking.findings] == [("SL202", 6)]
    assert [(f.code, f.line) for f in fixing.findings] == [("SL202", 6)]
