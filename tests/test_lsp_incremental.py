"""The language server's incremental project phase: after an edit, only the
project rules whose facts the edit changed run again (scalelint.engine.memory),
and the findings are those of a full recomputation, edit after edit."""
from __future__ import annotations

import shutil
from pathlib import Path

from scalelint.core.findings import Finding
from scalelint.engine.runner import Runner
from scalelint.lsp import DocumentLinter
from scalelint.lsp.linter import _run_settings

FIXTURE = Path(__file__).parent / "fixtures" / "SL301" / "django_shop"

NEW_FUNCTION = '''

def shelf(category_ids):
    for product in Product.objects.filter(category_id__in=category_ids):
        print(product.name, product.category.name)
'''

SET_PRICE = 'cache.delete_many([f"product:{product_id}", f"product_list:category:{category_id}", "featured_products"])'


def _edits(text: str) -> list[tuple[str, str]]:
    """An editing session on services.py, each step from the one before."""
    added = text + NEW_FUNCTION
    steps = [("as on disk", text), ("new function", added)]
    steps.append(("changed query", added.replace("Product.objects.filter(category_id__in=category_ids)",
                                                 "Product.objects.select_related('category').filter(category_id__in=category_ids)")))
    steps.append(("changed cache key", steps[-1][1].replace(SET_PRICE, SET_PRICE.replace('f"product:', 'f"item:'))))
    start = steps[-1][1].index("def rename(")
    end = steps[-1][1].index("def reprice_all(")
    steps.append(("deleted function", steps[-1][1][:start] + steps[-1][1][end:]))
    steps.append(("comment only", steps[-1][1] + "# done\n"))
    steps.append(("a script block", steps[-1][1] + 'if __name__ == "__main__":\n    reprice_all(2)\n'))
    steps.append(("back to the start", text))
    return steps


def _full(linter: DocumentLinter, path: str, text: str) -> list[Finding]:
    """The buffer's findings from a run that keeps nothing: no cache, no memory,
    every project file checked and every project rule run."""
    project = linter.project_for(Path(path))
    settings = _run_settings(project.config, path, text, use_cache=False)
    report = Runner(project.config, project.rules, settings, set(project.registry.rules)).run()
    return [f for f in report.findings if f.path == path]


def test_incremental_project_phase_matches_a_full_run(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "proj"
    shutil.copytree(FIXTURE, root)
    (root / "pyproject.toml").write_text("[tool.scalelint]\n")
    monkeypatch.chdir(root)
    services = root / "shop" / "services.py"
    path = str(services)
    linter = DocumentLinter()
    seen: list[list[Finding]] = []
    for step, text in _edits(services.read_text()):
        incremental = linter.check(path, text).findings
        assert incremental == _full(linter, path, text), step
        seen.append(incremental)
    distinct = {tuple((f.code, f.line, f.message) for f in findings) for findings in seen}
    assert len(distinct) >= 4, "the edits change the project findings (a stale result would show)"
    codes = {f.code for findings in seen for f in findings}
    assert {"SL301", "SL104"} <= codes
    memory = linter.project_for(services).memory
    assert memory.reused > 0 and memory.ran > 0, "an edit re-runs some project rules and reuses the others"


def test_a_changed_cache_key_reruns_only_what_reads_it(tmp_path: Path, monkeypatch) -> None:
    """Changing a key string changes the cache rules' facts alone: the
    call-graph rules keep their results."""
    root = tmp_path / "proj"
    shutil.copytree(FIXTURE, root)
    (root / "pyproject.toml").write_text("[tool.scalelint]\n")
    monkeypatch.chdir(root)
    services = root / "shop" / "services.py"
    text = services.read_text()
    linter = DocumentLinter()
    before = linter.check(str(services), text).findings
    memory = linter.project_for(services).memory
    ran = dict(memory.results)
    after = linter.check(str(services), text.replace(SET_PRICE, SET_PRICE.replace('f"product:', 'f"item:'))).findings
    assert len(after) == len(before) + 1  # set_price's write now leaves product:<id> stale
    rerun = {code for code, result in memory.results.items() if result is not ran[code]}
    assert "SL301" in rerun
    assert "SL104" not in rerun and "SL103" not in rerun


def test_the_index_records_the_families_read_through_a_shared_structure() -> None:
    """A rule that finds the call graph already built still depends on the
    facts it was built from."""
    from scalelint.project import ProjectIndex

    index = ProjectIndex()
    index.add("a.py", {"summaries": {"module": "a"}, "SL104": {"loops": []}, "__context__": "request"})
    with index.tracking() as first:
        index.derived("graph", lambda: list(index.facts("summaries")))
    with index.tracking() as second:
        index.derived("graph", lambda: [])
        list(index.published("SL104"))
    with index.tracking() as third:
        index.reading("__context__")
    assert first == {"summaries"} and second == {"summaries", "SL104"} and third == {"__context__"}
