"""The sandbox shop's records, kept in memory. Field names follow Shopify's resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

# Quantity names Shopify knows; the sandbox keeps on_hand and committed and derives available.
QUANTITY_NAMES = (
    "available",
    "committed",
    "damaged",
    "incoming",
    "on_hand",
    "quality_control",
    "reserved",
    "safety_stock",
)


@dataclass
class Location:
    id: int
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Product:
    id: int
    title: str
    handle: str
    description_html: str
    product_type: str
    vendor: str
    tags: list[str]
    option_names: list[str]
    created_at: datetime
    updated_at: datetime
    variant_ids: list[int] = field(default_factory=list)
    status: str = "ACTIVE"


@dataclass
class Variant:
    id: int
    product_id: int
    inventory_item_id: int
    sku: str | None
    price: Decimal
    position: int
    options: dict[str, str]
    created_at: datetime
    updated_at: datetime
    inventory_policy: str = "DENY"

    @property
    def title(self) -> str:
        return " / ".join(self.options.values()) or "Default Title"


@dataclass
class InventoryItem:
    id: int
    variant_id: int
    created_at: datetime
    updated_at: datetime
    tracked: bool = True


@dataclass
class InventoryLevel:
    item_id: int
    location_id: int
    on_hand: int
    created_at: datetime
    updated_at: datetime
    committed: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.committed

    def quantity(self, name: str) -> int:
        return {"available": self.available, "on_hand": self.on_hand, "committed": self.committed}.get(
            name, 0
        )


@dataclass(frozen=True)
class InventoryChange:
    name: str
    delta: int
    quantity_after: int
    item_id: int
    location_id: int
    ledger_document_uri: str | None = None


@dataclass
class AdjustmentGroup:
    id: int
    reason: str
    reference_document_uri: str | None
    created_at: datetime
    changes: list[InventoryChange]


@dataclass
class Metafield:
    id: int
    owner_kind: str
    owner_id: int
    namespace: str
    key: str
    value: str
    type: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Customer:
    id: int
    email: str | None
    first_name: str | None
    last_name: str | None


@dataclass
class LineItem:
    id: int
    variant_id: int | None
    product_id: int | None
    sku: str | None
    title: str
    variant_title: str | None
    vendor: str | None
    quantity: int
    price: Decimal
    committed: int = 0  # units this line still holds as committed stock
    removed: int = 0  # units refunded or cancelled off the order

    @property
    def current_quantity(self) -> int:
        return self.quantity - self.removed


@dataclass
class Transaction:
    id: int
    kind: str  # SALE, REFUND
    amount: Decimal
    gateway: str
    created_at: datetime
    parent_id: int | None = None
    status: str = "SUCCESS"


@dataclass
class RefundLine:
    id: int
    line_item_id: int
    quantity: int
    restock_type: str
    location_id: int | None
    restocked: bool
    price: Decimal


@dataclass
class Refund:
    id: int
    order_id: int
    note: str | None
    created_at: datetime
    lines: list[RefundLine]
    transactions: list[Transaction]


@dataclass
class Order:
    id: int
    number: int
    email: str | None
    customer: Customer | None
    note: str | None
    tags: list[str]
    line_items: list[LineItem]
    test: bool
    source_name: str | None
    created_at: datetime
    updated_at: datetime
    financial_status: str = "PAID"
    transactions: list[Transaction] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def total(self) -> Decimal:
        return sum((line.price * line.quantity for line in self.line_items), Decimal("0.00"))

    @property
    def received(self) -> Decimal:
        return sum((t.amount for t in self.transactions if t.kind == "SALE"), Decimal("0.00"))

    @property
    def refunded(self) -> Decimal:
        return sum((t.amount for t in self.transactions if t.kind == "REFUND"), Decimal("0.00"))


@dataclass
class Job:
    id: int
    done: bool = True


@dataclass
class WebhookSubscription:
    id: int
    topic: str  # the enum name, e.g. ORDERS_CREATE
    callback_url: str
    format: str
    api_version: str
    created_at: datetime
    updated_at: datetime

    @property
    def rest_topic(self) -> str:
        """ORDERS_CREATE → orders/create, INVENTORY_LEVELS_UPDATE → inventory_levels/update."""
        resource, _, action = self.topic.lower().rpartition("_")
        return f"{resource}/{action}"


@dataclass
class CodeDiscount:
    """An amount-off code discount (DiscountCodeBasic) with its one redeem code."""

    id: int
    code_id: int
    code: str
    title: str
    starts_at: datetime
    ends_at: datetime | None
    percentage: float | None  # 0.0 to 1.0, or None for a fixed amount
    amount: Decimal | None
    applies_on_each_item: bool
    usage_limit: int | None
    applies_once_per_customer: bool
    created_at: datetime
    updated_at: datetime
    usage_count: int = 0
