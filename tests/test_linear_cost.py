"""Work that must grow linearly: counted (parses, visits, comparisons), never
timed. Inputs are generated here, sized so a quadratic cost shows as a
multiple of the linear bound."""
from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst

import scalelint.context
from scalelint.engine.checker import Checker
from scalelint.model.caches import cacheindex
from scalelint.model.caches.cachekeys import glob_matches, templates_match
from scalelint.model.caches.keyindex import GlobIndex, TemplateIndex
from helpers import lint_tree, rules_for

METHOD = '''
    def report_{i}(self, path):
        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT id FROM orders_{i}").fetchall()
        conn.close()
        return rows
'''


def _class_with_findings(count: int) -> str:
    """One class of ``count`` methods, each with an SL102 finding and its fix."""
    return "import sqlite3\n\n\nclass Reports:\n" + "".join(METHOD.format(i=i) for i in range(count))


class _Count(cst.CSTTransformer):
    def __init__(self) -> None:
        super().__init__()
        self.visits = 0

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        self.visits += 1
        return updated_node


def test_fixes_of_one_file_cost_what_they_touch_not_the_file_each(monkeypatch):
    text = _class_with_findings(60)
    whole = _Count()
    cst.parse_module(text).visit(whole)
    parsed: list[int] = []
    visits = [0]
    real_parse, real_leave = ast.parse, scalelint.context._Replacer.on_leave

    def counting_parse(source, *args, **kwargs):
        parsed.append(len(source))
        return real_parse(source, *args, **kwargs)

    def counting_leave(self, original_node, updated_node):
        visits[0] += 1
        return real_leave(self, original_node, updated_node)

    monkeypatch.setattr(ast, "parse", counting_parse)
    monkeypatch.setattr(scalelint.context._Replacer, "on_leave", counting_leave)
    result = Checker(rules_for("SL102")).check("reports.py", text)

    assert [f.code for f in result.findings] == ["SL102"] * 60
    assert all(f.fix is not None for f in result.findings)
    # each fix regenerates and re-parses its own method (plus the import line),
    # so all of them together stay within a few times the file
    assert sum(parsed) <= 4 * len(text)
    assert visits[0] <= 3 * whole.visits


STATS_MODULE = '''from django.core.cache import cache
from shop.models import Thing{i}


def thing{i}_count():
    n = Thing{i}.objects.count()
    cache.set("thing{i}_count", n, 600)
    return n


def reset_thing{i}():
    cache.delete("thing{i}_count")


def add_thing{i}(name):
    Thing{i}.objects.create(name=name)
'''


def _count_covers(monkeypatch) -> list[int]:
    """A one-item list counting the calls of ``Effects.covers`` from now on."""
    calls = [0]
    real = cacheindex.Effects.covers

    def counting(self, family):
        calls[0] += 1
        return real(self, family)

    monkeypatch.setattr(cacheindex.Effects, "covers", counting)
    return calls


def _sl301_comparisons(tmp_path: Path, modules: int, monkeypatch) -> tuple[int, int]:
    """(findings, Effects.covers calls) of SL301 over ``modules`` modules, each
    with its own cached count, its invalidation, and a write that forgets it."""
    root = tmp_path / str(modules)
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    for i in range(modules):
        (root / "shop" / f"m{i}.py").write_text(STATS_MODULE.format(i=i))
    calls = _count_covers(monkeypatch)
    found = lint_tree(root, "SL301")
    return len(found), calls[0]


def test_sl301_project_phase_compares_each_family_with_only_the_invalidations_that_can_match(tmp_path, monkeypatch):
    small = _sl301_comparisons(tmp_path, 12, monkeypatch)
    large = _sl301_comparisons(tmp_path, 48, monkeypatch)
    assert small[0] == 12 and large[0] == 48  # every forgetful write is still found
    assert large[1] <= 4 * small[1] + 8  # 4x the modules, at most 4x the comparisons


KEYS = ["product:{}", "product:{}:price", "product", "prod{}", "{}:product", "cart:{}", "cart:{}:items",
        "user:{}:session", "user_session:{}", "user:{}", "u{}", "{}", "stats:daily", "stats:{}:weekly"]
GLOBS = ["product:*", "product:?", "prod*", "*", "cart:{}*", "user:*:session", "stats:*", "u*", "x*"]


def test_key_indexes_find_every_template_and_glob_that_matches():
    templates = TemplateIndex((key, key) for key in KEYS)
    globs = GlobIndex((pattern, pattern) for pattern in GLOBS)
    for key in KEYS:
        assert {k for k in KEYS if templates_match(k, key)} <= templates.candidates(key)
        assert {p for p in GLOBS if glob_matches(p, key)} <= globs.candidates(key)
        assert templates.candidates(key) < set(KEYS) or key.startswith("{}")  # an index, not a list


def test_a_checked_file_is_parsed_by_cpython_once(monkeypatch):
    """The guard's CPython tree serves the dataflow's statement locator too."""
    fixture = sorted((Path(__file__).parent / "fixtures" / "SL201").glob("flagged*.py"))[0]
    text = fixture.read_text()
    parses: list[str] = []
    real_parse = ast.parse
    monkeypatch.setattr(ast, "parse", lambda source, *a, **k: parses.append(source) or real_parse(source, *a, **k))
    result = Checker(rules_for("SL201")).check(fixture.name, text)
    assert result.findings and result.error is None
    assert text not in parses  # (fixes still parse the statements they rewrite)


HOOKED_MODULE = '''from django.core.cache import cache
from django.db.models.signals import post_save
from django.dispatch import receiver
from shop.models import Thing

{families}
{hooks}
{writes}
'''
FAMILY = '''
def thing_count_{i}():
    n = Thing.objects.filter(kind={i}).count()
    cache.set("thing_count_{i}", n, 600)
    return n


def reset_thing_count_{i}():
    cache.delete("thing_count_{i}")
'''
HOOK = '''
@receiver(post_save, sender=Thing)
def on_thing_saved_{i}(sender, instance, **kwargs):
    cache.delete("other_{i}")
'''
WRITE = '''
def add_thing_{i}(name):
    Thing.objects.create(name=name)
'''


def test_sl301_meets_each_hook_and_expiry_question_once_per_family_not_per_write(tmp_path, monkeypatch):
    """Every write of an entity meets each family of it; whether the entity's
    save hooks or an expiry keep that family fresh does not depend on the
    write, so it is answered once per family."""
    families, hooks, writes = 6, 5, 30
    root = tmp_path / "hooked"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "views.py").write_text(HOOKED_MODULE.format(
        families="".join(FAMILY.format(i=i) for i in range(families)),
        hooks="".join(HOOK.format(i=i) for i in range(hooks)),
        writes="".join(WRITE.format(i=i) for i in range(writes)),
    ))
    calls = _count_covers(monkeypatch)
    found = lint_tree(root, "SL301")
    assert len(found) == writes
    pairs = writes * families
    assert calls[0] <= pairs + families * (hooks + 2) * 2  # not pairs x hooks
