"""The benchmark harness's deterministic parts (no timing here: the harness
itself measures, outside the unit tests)."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def bench_modules():
    sys.path.insert(0, str(BENCH))
    try:
        import corpus
        import run

        yield corpus, run
    finally:
        sys.path.remove(str(BENCH))
        for name in ("corpus", "run"):  # bench/realworld has its own run.py: leave the name free
            sys.modules.pop(name, None)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_synthetic_corpus_is_deterministic_valid_python(tmp_path: Path, bench_modules) -> None:
    corpus, _ = bench_modules
    corpus.generate(tmp_path / "a", 40, seed=3)
    corpus.generate(tmp_path / "b", 40, seed=3)
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert first == second
    sources = {k: v for k, v in first.items() if k.endswith(".py")}
    assert len(sources) == 40
    for name, data in sources.items():
        ast.parse(data, filename=name)
    text = b"".join(sources.values())
    assert b"objects." in text and b"redis" in text and b"session" in text
    corpus.generate(tmp_path / "c", 40, seed=4)
    assert _tree(tmp_path / "c") != first


def test_corpus_is_benchmarked_as_a_project_of_its_own(tmp_path: Path, bench_modules) -> None:
    _, run = bench_modules
    source = tmp_path / "checkout" / "app"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "views.py").write_text("X = 1\n")
    (source / "README.md").write_text("docs\n")
    (source / ".gitignore").write_text("build/\n")
    (tmp_path / "checkout" / "pyproject.toml").write_text("[tool.scalelint]\nselect = ['SL1']\n")
    copy = run.copy_as_project(source, tmp_path / "bench" / "app")
    assert sorted(_tree(copy)) == [".gitignore", "pkg/views.py", "pyproject.toml"]
    assert "[tool.scalelint]" not in (copy / "pyproject.toml").read_text(), "the enclosing project is left behind"
    assert run.pick_one_file(run.discover(copy)) == copy / "pkg" / "views.py"


def test_the_cold_lower_bound_is_the_prefiltered_parse_spread_over_every_cpu(
    tmp_path: Path, bench_modules, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, run = bench_modules
    (tmp_path / "db.py").write_text("cursor = conn.cursor()\n")
    (tmp_path / "maths.py").write_text("def twice(x):\n    return x * 2\n")
    assert run.prefiltered(run.discover(tmp_path)) == [tmp_path / "db.py"]
    measured = {
        "parse_only": run.Measurement("parse_only", "parse", [run.Sample(10.0, None, 0)]),
        "cold": run.Measurement("cold", "cold", [run.Sample(4.0, None, 0)]),
    }
    monkeypatch.setattr(run.os, "cpu_count", lambda: 2)
    ratios = run.ratios(measured, prefiltered_parse=6.0)
    assert ratios["cold_vs_parse"]["value"] == 0.4 and ratios["cold_vs_parse"]["ok"] is False
    assert ratios["cold_floor"]["value"] == 0.3 and ratios["cold_floor"]["ok"] is None
    assert "cold_floor" not in run.ratios(measured)


def test_the_every_family_file_matches_a_rule_of_each_family(tmp_path: Path, bench_modules) -> None:
    _, run = bench_modules
    (tmp_path / "one.py").write_text("conn = pool.getconn()\n")
    (tmp_path / "all.py").write_text("conn = pool.getconn()\ncache.set('k', 1)\nrow = db.replica.query('SELECT 1')\n")
    files = run.discover(tmp_path)
    assert run.pick_one_file(files, every_family=True) == tmp_path / "all.py"
    assert run.pick_one_file([tmp_path / "one.py"], every_family=True) is None


def test_an_edited_file_gets_its_bytes_and_mtime_back_even_on_error(tmp_path: Path, bench_modules) -> None:
    import os

    _, run = bench_modules
    path = tmp_path / "a.py"
    path.write_bytes(b"x = 1\n")
    os.utime(path, ns=(1_000_000_000, 2_000_000_000))
    with pytest.raises(KeyboardInterrupt):
        with run.restored(path) as original:
            path.write_bytes(run._appended(original, 0))
            assert path.read_bytes().startswith(b"x = 1\n# scalelint bench edit 0 ")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"x = 1\n" and path.stat().st_mtime_ns == 2_000_000_000


def test_stage_split_charges_every_stage_once(tmp_path: Path, bench_modules) -> None:
    corpus, _ = bench_modules
    corpus.generate(tmp_path / "c", 30, seed=1)
    done = subprocess.run([sys.executable, str(BENCH / "stages.py"), str(tmp_path / "c"), "--json"],
                          capture_output=True, text=True, check=True)
    split = json.loads(done.stdout.strip().splitlines()[-1])
    stages = split["stages"]
    assert {"parse", "model", "other", "project:SL301", "project:SL201"} <= set(stages)
    assert any(name.startswith("family:") for name in stages)
    assert split["files"] == 30 and split["findings"] > 0
    assert stages["parse"] > 0
    # nested stages are charged to the inner one only: counted twice, the rest would go negative
    assert all(seconds >= 0 for seconds in stages.values())


def test_memory_probe_prints_each_project_rule_and_the_sites_asked_for(tmp_path: Path) -> None:
    (tmp_path / "views.py").write_text(
        "import helpers\n\n\ndef pay(order_id):\n    order = Order.objects.using('replica').get(id=order_id)\n"
        "    order.paid = True\n    order.save()\n    helpers.notify()\n")
    (tmp_path / "helpers.py").write_text("import requests\n\n\ndef notify():\n    requests.post('http://x')\n")
    sys.path.insert(0, str(BENCH))
    try:
        import io

        import memory_probe

        out = io.StringIO()
        found = memory_probe.probe(str(tmp_path), jobs=1, top=frozenset({"SL201"}), out=out)
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop("memory_probe", None)
    lines = out.getvalue().splitlines()
    assert found >= 1 and lines[0].startswith("project phase start") and lines[-1].startswith("project phase end")
    codes = [line.split()[0] for line in lines if line.startswith("SL")]
    assert {"SL101", "SL201", "SL306"} <= set(codes) and len(codes) == len(set(codes))
    after = lines.index(next(line for line in lines if line.startswith("SL201")))
    assert " KB " in lines[after + 1]  # the allocation sites listed after SL201
