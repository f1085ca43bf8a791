"""A call site whose argument carries its own result round a loop (the session
a helper is handed also holds rows built from what the helper returned, via
``session.add``) is followed once: the file is checked, not skipped as "too
complex" after a recursion without end (found on a real FastAPI app's script)."""
from __future__ import annotations

from helpers import lint

SOURCE = '''\
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.models import Customer, Order


class SplitService:
    def __init__(self, customers):
        self.customers = customers
        self.stats = {"reused": 0}

    async def new_customer_for(self, session: AsyncSession, original: Customer) -> Customer:
        result = await session.execute(select(Customer).where(Customer.email == original.email))
        existing = result.scalar_one_or_none()
        if existing:
            self.stats["reused"] += 1
            return existing
        customer = Customer(email=original.email, name=original.name)
        session.add(customer)
        await session.flush()
        return customer

    async def split(self, session: AsyncSession) -> None:
        for customer in self.customers:
            new_customer = await self.new_customer_for(session, customer)
            orders = await session.execute(select(Order).where(Order.customer_id == customer.id))
            for order in orders.scalars().all():
                order.customer_id = new_customer.id
                session.add(order)
        await session.flush()
'''


def test_a_site_fed_by_its_own_result_round_a_loop_is_checked() -> None:
    found = {(f.code, f.line) for f in lint(SOURCE, "SL104", "SL201", "SL202", "SL203", path="shop/split.py", min_confidence="low")}
    assert ("SL104", 26) in found  # lint() asserts the file was checked (no error)
