"""The sandbox shop's state: catalogue, one location's stock, metafields, orders and subscriptions.

Everything lives in memory behind one re-entrant lock. A GraphQL request runs whole under the lock, so
each request sees and leaves a consistent shop; the webhook events it caused are collected in `outbox`
and sent only after the request is done, the way Shopify emits them after its own commit."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from connector.domain.catalog import ItemDraft

from ..common import SkuIndex
from . import payloads
from .models import (
    AdjustmentGroup,
    CodeDiscount,
    Customer,
    InventoryItem,
    InventoryLevel,
    Job,
    Location,
    Metafield,
    Order,
    Product,
    Variant,
    WebhookSubscription,
)

FIRST_ID = 1_000_000_001


class Store:
    """One shop. Call its methods with `lock` held (the GraphQL endpoint and helpers do)."""

    def __init__(
        self,
        *,
        domain: str,
        name: str = "Sandbox Shop",
        email: str = "owner@example.com",
        currency: str = "USD",
        timezone: str = "America/New_York",
        clock: Callable[[], datetime] | None = None,
    ):
        self.lock = threading.RLock()
        self.domain = domain
        self.name = name
        self.email = email
        self.currency = currency
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._ids = itertools.count(FIRST_ID)
        self.id = self.next_id()
        self.created_at = self.now()
        self.location = Location(self.next_id(), "Shop location", self.created_at, self.created_at)
        self.products: dict[int, Product] = {}
        self.variants: dict[int, Variant] = {}
        self._skus = SkuIndex(self.variants)
        self.items: dict[int, InventoryItem] = {}
        self.levels: dict[tuple[int, int], InventoryLevel] = {}
        self.metafields: dict[int, Metafield] = {}
        self.customers: dict[int, Customer] = {}
        self.orders: dict[int, Order] = {}
        self.groups: dict[int, AdjustmentGroup] = {}
        self.jobs: dict[int, Job] = {}
        self.subscriptions: dict[int, WebhookSubscription] = {}
        self.discounts: dict[int, CodeDiscount] = {}
        self.idempotency: dict[str, tuple[str, object]] = {}
        self.order_numbers = itertools.count(1001)
        self.outbox: list[tuple[str, dict]] = []  # (REST topic, payload) awaiting delivery

    def now(self) -> datetime:
        return self._clock()

    def next_id(self) -> int:
        return next(self._ids)

    def emit(self, topic: str, payload: dict) -> None:
        self.outbox.append((topic, payload))

    def drain(self) -> list[tuple[str, dict]]:
        events, self.outbox = self.outbox, []
        return events

    # Catalogue

    def seed(self, drafts: Iterable[ItemDraft]) -> list[Variant]:
        """Add drafts as products; rows sharing a title become variants of one product."""
        added: list[Variant] = []
        by_title = {p.title: p for p in self.products.values()}
        for draft in drafts:
            if self.variant_by_sku(draft.sku) is not None:
                raise ValueError(f"SKU {draft.sku!r} is already in the sandbox shop")
            product = by_title.get(draft.title) or self._add_product(draft)
            by_title[product.title] = product
            added.append(self._add_variant(product, draft))
        return added

    def _add_product(self, draft: ItemDraft) -> Product:
        now = self.now()
        product = Product(
            id=self.next_id(),
            title=draft.title,
            handle=_handle(draft.title, {p.handle for p in self.products.values()}),
            description_html="",
            product_type=draft.product_type,
            vendor=draft.vendor or self.name,
            tags=sorted(draft.tags),
            option_names=list(draft.options) or ["Title"],
            created_at=now,
            updated_at=now,
        )
        self.products[product.id] = product
        return product

    def _add_variant(self, product: Product, draft: ItemDraft) -> Variant:
        now = self.now()
        for name in draft.options:
            if name not in product.option_names:
                product.option_names = [n for n in product.option_names if n != "Title"] + [name]
        variant = Variant(
            id=self.next_id(),
            product_id=product.id,
            inventory_item_id=self.next_id(),
            sku=draft.sku,
            price=draft.price if draft.price is not None else Decimal("0.00"),
            position=len(product.variant_ids) + 1,
            options=dict(draft.options),
            created_at=now,
            updated_at=now,
        )
        self.variants[variant.id] = variant
        product.variant_ids.append(variant.id)
        self.items[variant.inventory_item_id] = InventoryItem(variant.inventory_item_id, variant.id, now, now)
        key = (variant.inventory_item_id, self.location.id)
        self.levels[key] = InventoryLevel(*key, on_hand=draft.on_hand, created_at=now, updated_at=now)
        return variant

    def variant_by_sku(self, sku: str) -> Variant | None:
        return self._skus.find(sku)

    def level_of(self, variant: Variant) -> InventoryLevel:
        return self.levels[(variant.inventory_item_id, self.location.id)]

    def touch_product(self, product: Product) -> None:
        """Record a change to the product and tell products/update subscribers."""
        product.updated_at = self.now()
        self.emit("products/update", payloads.product(self, product))

    # Lookups by GID kind, for node(id:) and owner ids.

    def find(self, kind: str, number: int):
        tables = {
            "Product": self.products,
            "ProductVariant": self.variants,
            "InventoryItem": self.items,
            "Order": self.orders,
            "Metafield": self.metafields,
            "Customer": self.customers,
            "Job": self.jobs,
            "InventoryAdjustmentGroup": self.groups,
            "WebhookSubscription": self.subscriptions,
        }
        if kind == "Location":
            return self.location if number == self.location.id else None
        if kind == "Shop":
            return self if number == self.id else None
        table = tables.get(kind)
        return table.get(number) if table is not None else None

    # Webhook subscriptions

    def subscribe(self, topic: str, callback_url: str, fmt: str, api_version: str) -> WebhookSubscription:
        now = self.now()
        subscription = WebhookSubscription(self.next_id(), topic, callback_url, fmt, api_version, now, now)
        self.subscriptions[subscription.id] = subscription
        return subscription

    def subscribers(self, rest_topic: str) -> list[WebhookSubscription]:
        return [s for s in self.subscriptions.values() if s.rest_topic == rest_topic]


def _handle(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "product"
    handle, n = base, 1
    while handle in taken:
        n += 1
        handle = f"{base}-{n}"
    return handle
