"""Orders waiting for stock, written straight into a test database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from connector.models import Backorder, Channel, Item, Merchant, Order, OrderLine
from connector.services import ledger
from tests.factories import merchant_with_items


@dataclass(frozen=True)
class Waiting:
    merchant_id: int
    order_id: int
    backorder_id: int


def shop(new_uow, *, settings: dict | None = None, locale: str = "en") -> int:
    """A merchant with two items and one storefront."""
    merchant_id = merchant_with_items(new_uow, {"TEE": 0, "MUG": 0})
    with new_uow() as uow:
        merchant = uow.session.get(Merchant, merchant_id)
        merchant.settings, merchant.locale = settings or {}, locale
        for item in uow.session.scalars(select(Item).where(Item.merchant_id == merchant_id)):
            item.title = {"TEE": "Navy Tee", "MUG": "Stoneware Mug"}[item.sku]
        uow.session.add(
            Channel(merchant_id=merchant_id, kind="shopify", address=f"shop-{merchant_id}.example")
        )
        uow.commit()
    return merchant_id


def waiting_order(
    new_uow,
    merchant_id: int,
    *,
    placed: datetime,
    eta: date | None,
    sku: str = "TEE",
    quantity: int = 2,
    email: str = "ada@example.com",
    number: str = "#1001",
) -> Waiting:
    """An order whose line waits entirely for stock, with the ETA (and promised date) given."""
    with new_uow() as uow:
        channel = uow.session.scalar(select(Channel).where(Channel.merchant_id == merchant_id))
        item = uow.session.scalar(select(Item).where(Item.merchant_id == merchant_id, Item.sku == sku))
        order = Order(
            merchant_id=merchant_id,
            channel_id=channel.id,
            external_id=f"ext-{number}",
            number=number,
            customer_name="Ada Lovelace",
            customer_email=email,
            placed_at=placed,
        )
        uow.session.add(order)
        uow.session.flush()
        line = OrderLine(order_id=order.id, item_id=item.id, external_id="L1", sku=sku, quantity=quantity)
        uow.session.add(line)
        uow.session.flush()
        backorder = Backorder(
            merchant_id=merchant_id,
            item_id=item.id,
            order_line_id=line.id,
            quantity=quantity,
            eta_date=eta,
            promised_date=eta,
            created_at=placed,
        )
        uow.session.add(backorder)
        uow.session.flush()
        found = Waiting(merchant_id, order.id, backorder.id)
        uow.commit()
    # The storefront sold every unit, so the ledger commits them all, the waiting ones included.
    commit = ledger.Movement(sku, "commit", quantity, f"test:{merchant_id}:{number}")
    ledger.record(new_uow(), merchant_id, [commit], allow_shortfall=True)
    return found


def change(new_uow, model, row_id: int, **values) -> None:
    with new_uow() as uow:
        row = uow.session.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)
        uow.commit()
