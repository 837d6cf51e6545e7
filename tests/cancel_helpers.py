"""A shop with backordered orders and a storefront that takes cancellations, for cancellation tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from adapters.base import CancelResult, ListingRef, OrderInfo, OrderLineInfo, OrderPlaced
from adapters.errors import ChannelUnavailable
from connector.crypto import Vault
from connector.models import AuditEntry, Backorder, Channel, Order, OrderLine
from connector.services import channels, incoming, ledger, merchants, policy
from connector.services.channel_import import import_catalog
from connector.services.sync import apply_event
from tests.factories import merchant_with_items
from tests.fakes import FakeStorefront, entry

KEY = "8Xv0H4W3mvy0lLDWZ-x4sWw3u9w9VQk1wM1a3D7pH5c="
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
UNIT_PRICE = Decimal("10.00")
# A: 1 on hand, B: none, C: 5 on hand; A and B may be backordered.
STOCK = {"A": 1, "B": 0, "C": 5}


class CancellingStorefront(FakeStorefront):
    """Takes cancellations like a storefront: records each request and refunds 10.00 a unit.

    `fail_next` makes the next calls fail; `during_cancel` runs inside the call (to stage races)."""

    def __init__(self, entries=()):
        super().__init__(entries)
        self.cancels: list = []
        self.fail_next: list[Exception] = []
        self.during_cancel = None
        self.lock = threading.Lock()

    def cancel(self, request):
        if self.during_cancel is not None:
            self.during_cancel(request)
        with self.lock:
            if self.fail_next:
                raise self.fail_next.pop(0)
            self.cancels.append(request)
        units = sum(line.quantity for line in request.lines) if request.lines else 0
        refunded = UNIT_PRICE * units if request.refund else Decimal(0)
        return CancelResult(request.order_id, not request.lines, refunded, f"refund:{len(self.cancels)}")


def unavailable() -> ChannelUnavailable:
    return ChannelUnavailable("503 from the storefront", channel="one.myshopify.com")


@dataclass
class Shop:
    merchant_id: int
    channel_id: int
    storefront: CancellingStorefront
    orders: dict[str, int] = field(default_factory=dict)

    def storefront_for(self, channel: Channel, **_ignored) -> CancellingStorefront:
        return self.storefront

    def get(self, channel: Channel, **_ignored) -> CancellingStorefront:
        """Stands in for StorefrontCache.get."""
        return self.storefront


def make_shop(new_uow, *, name: str = "Test Shop", domain: str = "one.myshopify.com") -> Shop:
    merchant = merchant_with_items(new_uow, STOCK)
    if name != "Test Shop":
        with new_uow() as uow:
            merchants.find_merchant(uow, merchant).name = name
            uow.commit()
    for sku in ("A", "B"):
        policy.set_policy(new_uow(), merchant, sku, backorders="allow", now=NOW)
    channel = channels.add_channel(new_uow(), Vault([KEY]), merchant, channels.ShopifyConnection(domain, "t"))
    entries = [entry(str(n), sku, qty) for n, (sku, qty) in enumerate(STOCK.items(), start=1)]
    import_catalog(new_uow, channel, FakeStorefront(entries))
    return Shop(merchant, channel, CancellingStorefront(entries))


def order_info(
    number: str, lines: list[tuple[str, int]], *, email: str = "ann@example.com", when=NOW
) -> OrderInfo:
    variants = {sku: str(n) for n, sku in enumerate(STOCK, start=1)}
    return OrderInfo(
        order_id=f"gid://shopify/Order/{number}",
        number=f"#{number}",
        placed_at=when,
        updated_at=when,
        customer_name="Ann Example",
        customer_email=email,
        lines=tuple(
            OrderLineInfo(
                line_id=f"gid://shopify/LineItem/{number}{sku}",
                sku=sku,
                quantity=qty,
                ref=ListingRef(f"P{variants[sku]}", variants[sku]),
            )
            for sku, qty in lines
        ),
    )


def place(new_uow, shop: Shop, number: str, lines: list[tuple[str, int]], *, when=NOW, **kwargs) -> int:
    """An order arrives from the storefront (through the same code as its webhook); returns our id."""
    with new_uow() as uow:
        channel = uow.session.get(Channel, shop.channel_id)
        apply_event(
            uow,
            channel,
            OrderPlaced(order_info(number, lines, when=when, **kwargs)),
            received_at=when,
            now=when,
        )
        uow.commit()
        order_id = uow.session.scalar(
            select(Order.id).where(Order.number == f"#{number}", Order.channel_id == channel.id)
        )
    shop.orders[number] = order_id
    return order_id


def line_id(new_uow, order_id: int, sku: str) -> int:
    with new_uow() as uow:
        return uow.session.scalar(
            select(OrderLine.id).where(OrderLine.order_id == order_id, OrderLine.sku == sku)
        )


def level(new_uow, merchant_id: int, sku: str) -> tuple[int, int, int]:
    with new_uow() as uow:
        report = ledger.stock_report(uow, merchant_id, sku)
    return report["on_hand"], report["committed"], report["backordered"]


def backorders_of(new_uow, order_id: int) -> list[Backorder]:
    with new_uow() as uow:
        return list(
            uow.session.scalars(
                select(Backorder)
                .join(OrderLine, OrderLine.id == Backorder.order_line_id)
                .where(OrderLine.order_id == order_id)
                .order_by(Backorder.id)
            )
        )


def audit_actions(new_uow, prefix: str = "cancellation.") -> list[str]:
    with new_uow() as uow:
        return list(
            uow.session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
            )
        )


def expect(new_uow, shop: Shop, sku: str, quantity: int, eta: date, *, supplier: str | None = None) -> int:
    return incoming.add_incoming(new_uow(), shop.merchant_id, sku, quantity, eta, supplier=supplier, now=NOW)
