"""Where code runs, read from its path and module name: test and migration
code is not the application's request path."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel


def is_test_module(module: "ModuleModel") -> bool:
    """Tests, test helpers and migrations: their cache calls and writes are not the application's."""
    parts = [p for p in re.split(r"[./\\]", module.module_name or "") if p]
    directories = re.split(r"[/\\]", module.path)
    stem = directories.pop().removesuffix(".py")
    return (
        any(p in ("tests", "test", "testing", "migrations") for p in parts[:-1])
        or "migrations" in directories
        or stem.startswith("test_") or stem.endswith("_test") or stem in ("conftest", "tests")
    )
