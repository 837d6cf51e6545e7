"""Small helpers that put a merchant and items in a test database."""

from __future__ import annotations

from collections.abc import Callable

from connector.db import UnitOfWork
from connector.models import Item
from connector.services import ledger, merchants


def merchant_with_items(
    new_uow: Callable[[], UnitOfWork], stock: dict[str, int], *, safety_stock: int = 0
) -> int:
    """A merchant owning one item per SKU, each received up to the given quantity."""
    merchant_id = merchants.create_merchant(new_uow(), "Test Shop")
    with new_uow() as uow:
        for sku in stock:
            uow.session.add(Item(merchant_id=merchant_id, sku=sku, title=sku, safety_stock=safety_stock))
        uow.commit()
    moves = [ledger.Movement(sku, "receive", qty, f"seed:{sku}") for sku, qty in stock.items() if qty]
    if moves:
        ledger.record(new_uow(), merchant_id, moves)
    return merchant_id
