"""SL104's eager-loading fix run for real: SQLAlchemy on an in-memory sqlite
database, before and after the fix. Same names in the same order, and the
loop's per-row lazy loads become one batched load."""
from __future__ import annotations

import sys
import types

import pytest

from helpers import fix

sqlalchemy = pytest.importorskip("sqlalchemy")

SOURCE = '''\
from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    customer: Mapped[Customer] = relationship()


def names(session):
    shown = []
    # one line per order, with who placed it
    for order in session.scalars(select(Order).order_by(Order.id)):
        shown.append(f"{order.id}:{order.customer.name}")
    return shown
'''


def _run(source: str) -> tuple[list[str], int]:
    """The function's result on a fresh database, and the SELECTs it ran."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import Session

    module = types.ModuleType("shop_views")
    sys.modules[module.__name__] = module  # the ORM resolves annotations through it
    try:
        exec(compile(source, "views.py", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    engine = create_engine("sqlite://")
    module.Base.metadata.create_all(engine)
    with Session(engine) as session:
        customers = [module.Customer(id=i, name=f"c{i}") for i in range(1, 6)]
        session.add_all(customers)
        session.add_all(module.Order(id=n, customer_id=1 + n % 5) for n in range(1, 21))
        session.commit()
    selects: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: selects.append(statement) if statement.lstrip().upper().startswith("SELECT") else None)
    with Session(engine) as session:
        result = module.names(session)
    return result, len(selects)


def test_the_fixed_loop_gives_the_same_names_with_one_batched_load() -> None:
    fixed = fix(SOURCE, "SL104", unsafe=True, path="views.py")
    assert "selectinload(Order.customer)" in fixed and "# one line per order, with who placed it" in fixed
    before, queries_before = _run(SOURCE)
    after, queries_after = _run(fixed)
    assert after == before and len(before) == 20
    assert queries_before == 1 + 5  # the orders, then one lazy load per distinct customer
    assert queries_after == 2  # the orders, then every customer in one SELECT ... IN
    assert fix(fixed, "SL104", unsafe=True, path="views.py") == fixed
