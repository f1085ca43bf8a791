"""SL104's eager-loading fix: where ``selectinload`` is imported from, and two
fixes sharing one import edit (test_eager_fix_runtime.py runs the fixed code)."""
from __future__ import annotations

import pytest

from scalelint.core.edits import apply_edits
from scalelint.core.findings import Edit, Fix, FixSafety

from helpers import fix

MODELS = '''

class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    customer: Mapped[Customer] = relationship()


def names(session):
    return [o.customer.name for o in session.scalars(select(Order))]
'''
SA = "from sqlalchemy import ForeignKey, select\nfrom sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship\n"


@pytest.mark.parametrize(("imports", "expected"), [
    # a third-party section: sorted among its from-imports
    ("import os\n\nfrom flask import g\n" + SA,
     "import os\n\nfrom flask import g\n" + SA.replace("relationship\n", "relationship, selectinload\n")),
    # ``sqlalchemy.orm`` imported as a module: spelled through it, nothing imported
    ("from sqlalchemy import orm\n" + SA, "from sqlalchemy import orm\n" + SA),
])
def test_the_fix_spells_and_imports_selectinload_where_isort_would(imports: str, expected: str) -> None:
    fixed = fix(imports + MODELS, "SL104", unsafe=True, path="views.py")
    assert fixed.startswith(expected)
    loader = "orm.selectinload" if "import orm" in imports else "selectinload"
    assert f"session.scalars(select(Order).options({loader}(Order.customer)))" in fixed
    compile(fixed, "views.py", "exec")
    assert fix(fixed, "SL104", unsafe=True, path="views.py") == fixed


def test_a_new_import_line_goes_between_third_party_modules_by_name() -> None:
    imports = ("from flask import g\nfrom sqlalchemy import ForeignKey, select\n"
               "from sqlalchemy.orm.decl_api import DeclarativeBase\nfrom zope import interface\n\nVERSION = 1\n"
               "from sqlalchemy.orm import Mapped, mapped_column, relationship  # noqa: E402\n")
    fixed = fix(imports + MODELS, "SL104", unsafe=True, path="views.py")
    assert fixed.startswith("from flask import g\nfrom sqlalchemy import ForeignKey, select\n"
                            "from sqlalchemy.orm import selectinload\nfrom sqlalchemy.orm.decl_api import DeclarativeBase\n")


@pytest.mark.parametrize(("imports", "expected"), [
    ("import os\n\nfrom .db import Session\n", "import os\n\nfrom sqlalchemy.orm import selectinload\n\nfrom .db import Session\n"),
    ("import os\n", "import os\n\nfrom sqlalchemy.orm import selectinload\n"),
])
def test_without_third_party_imports_the_line_opens_their_section(imports: str, expected: str) -> None:
    tail = "VERSION = 1\n" + SA.replace("\n", "  # noqa: E402\n") + MODELS
    fixed = fix(imports + "\n" + tail, "SL104", unsafe=True, path="app/views.py")
    assert fixed.startswith(expected)


def test_a_shadowed_name_gets_no_fix() -> None:
    source = SA + "\nselectinload = None\n" + MODELS
    assert fix(source, "SL104", unsafe=True, path="views.py") == source


def test_fixes_sharing_an_edit_apply_it_once() -> None:
    text = "x\na\nb\n"
    shared = Edit(0, 0, "import y\n")
    first = Fix("one", FixSafety.UNSAFE, (shared, Edit(4, 5, "B")))
    second = Fix("two", FixSafety.UNSAFE, (shared, Edit(2, 3, "A")))
    assert apply_edits(text, [first, second]) == ("import y\nx\nA\nB\n", 2)


def test_overlapping_edits_still_conflict() -> None:
    first = Fix("one", FixSafety.UNSAFE, (Edit(0, 1, "A"),))
    second = Fix("two", FixSafety.UNSAFE, (Edit(0, 1, "Z"),))
    assert apply_edits("a\n", [first, second]) == ("A\n", 1)
