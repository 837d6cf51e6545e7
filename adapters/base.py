"""The `Channel` port: what the connector needs from any storefront, in platform-neutral values.

Everything platform-specific (GraphQL documents, REST payloads, header names, signature formats,
throttling) lives behind this port in adapters/<platform>/ and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

# What the storefront does at zero: refuse (sold out) or keep selling (backorder).
InventoryPolicy = Literal["deny", "allow"]
OutcomeStatus = Literal["ok", "not_found", "failed"]
DiscountKind = Literal["percentage", "fixed_amount"]


@dataclass(frozen=True)
class ListingRef:
    """Where an item lives on one storefront. Shopify: GIDs; WooCommerce: numeric ids as strings
    (variant_id equals product_id for a simple product)."""

    product_id: str
    variant_id: str
    inventory_item_id: str | None = None


@dataclass(frozen=True)
class CatalogEntry:
    """One sellable variant as the storefront describes it."""

    ref: ListingRef
    sku: str | None
    product_title: str
    variant_title: str = ""
    description: str = ""
    product_type: str = ""
    vendor: str = ""
    tags: tuple[str, ...] = ()
    price: Decimal | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    quantity: int | None = None  # None when the storefront does not track stock for it
    policy: InventoryPolicy = "deny"
    raw_policy: str = ""  # the platform's own value (DENY/CONTINUE, no/notify/yes), to restore later


@dataclass(frozen=True)
class CatalogPage:
    entries: list[CatalogEntry]
    next_cursor: str | None  # None on the last page; pass it back to read the next one


@dataclass(frozen=True)
class QuantityUpdate:
    """Set the available quantity; `expected` is what we believe is there now (compare-and-set)."""

    ref: ListingRef
    quantity: int
    expected: int | None = None

    def allowing_for(self, now: int) -> int:
        """The quantity to write where the store shows `now`, not the `expected` we believed.

        Less than expected: the store sold units we have not heard of yet (their orders are on their
        way and will take them off the ledger), so they come off our number too; writing our number
        over them would offer those units again until the orders arrive. More (a restock or an edit we
        have not heard of): our number, which never offers more than the ledger has."""
        if self.expected is None or now >= self.expected:
            return self.quantity
        return max(self.quantity - (self.expected - now), 0)


@dataclass(frozen=True)
class BackorderState:
    """What shoppers see at zero: keep selling with a wait text and date, or sold out.

    `restore_policy` is the merchant's own platform value to put back when stock returns."""

    ref: ListingRef
    policy: InventoryPolicy
    wait_text: str | None = None
    expected_date: date | None = None
    restore_policy: str | None = None


@dataclass(frozen=True)
class SubstituteList:
    ref: ListingRef
    substitutes: tuple[ListingRef, ...]
    cross_sell: bool = False  # WooCommerce: also set cross_sell_ids when the merchant opted in


@dataclass(frozen=True)
class Outcome:
    """The storefront's answer for one item of a batch."""

    ref: ListingRef
    status: OutcomeStatus
    reason: str = ""
    quantity: int | None = None  # the quantity now on the storefront, when it told us
    # The quantity our write replaced, when the storefront guaranteed it (a compare-and-set): the
    # storefront's own orders before and after the write then still add up.
    replaced: int | None = None


@dataclass(frozen=True)
class OrderLineInfo:
    line_id: str
    sku: str | None
    quantity: int
    ref: ListingRef | None = None
    title: str = ""
    price: Decimal | None = None


@dataclass(frozen=True)
class OrderInfo:
    order_id: str
    number: str
    placed_at: datetime
    updated_at: datetime | None
    customer_name: str
    customer_email: str
    lines: tuple[OrderLineInfo, ...]
    cancelled: bool = False
    financial_status: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineCancel:
    line_id: str
    quantity: int


@dataclass(frozen=True)
class CancelRequest:
    """Cancel a whole order (`lines` empty) or some lines, with refund/restock/notify choices."""

    order_id: str
    lines: tuple[LineCancel, ...] = ()
    refund: bool = True
    restock: bool = True
    notify: bool = True
    reason: str = "other"
    note: str = ""
    # Names this cancellation across attempts: a retry after an unknown outcome sends the same key, and
    # the storefront's earlier refund under it counts as done instead of refunding again.
    idempotency_key: str = ""


@dataclass(frozen=True)
class CancelResult:
    order_id: str
    cancelled_whole_order: bool
    refunded_amount: Decimal
    storefront_reference: str = ""  # job id or refund id, for the audit log


@dataclass(frozen=True)
class DiscountCodeRequest:
    """A single-use discount code to create, for one customer (the apology for a late backorder).

    `value` is a percentage (10 = 10 %) or an amount in the shop's currency. The same `code` sent again
    must not make a second discount: a code the storefront already has is answered as existing."""

    code: str
    kind: DiscountKind
    value: Decimal
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    customer_email: str | None = None  # WooCommerce restricts the coupon to it; Shopify needs an id


@dataclass(frozen=True)
class DiscountCode:
    code: str  # as the storefront keeps it (WooCommerce lowercases coupon codes)
    reference: str  # the discount's GID or the coupon's id, for the audit trail
    created: bool  # False: it was there already (a repeat after an unknown outcome)


# Platform-neutral webhook events.


@dataclass(frozen=True)
class OrderPlaced:
    order: OrderInfo


@dataclass(frozen=True)
class OrderUpdated:
    order: OrderInfo


@dataclass(frozen=True)
class OrderCancelled:
    order: OrderInfo
    restock: bool = True


@dataclass(frozen=True)
class StockChanged:
    """The storefront's quantity changed (by anyone, including our own pushes: check for echoes)."""

    ref: ListingRef
    quantity: int
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ProductChanged:
    entries: tuple[CatalogEntry, ...]


@dataclass(frozen=True)
class AppUninstalled:
    shop: str


@dataclass(frozen=True)
class ComplianceRequest:
    topic: Literal["customers/data_request", "customers/redact", "shop/redact"]
    shop: str
    customer_email: str | None
    order_ids: tuple[str, ...]
    payload: Mapping[str, object]


@dataclass(frozen=True)
class Ignored:
    """A well-signed delivery that needs no action (a ping, a topic we do not use)."""

    reason: str


Event = (
    OrderPlaced
    | OrderUpdated
    | OrderCancelled
    | StockChanged
    | ProductChanged
    | AppUninstalled
    | ComplianceRequest
    | Ignored
)


@dataclass(frozen=True)
class WebhookDelivery:
    """A verified delivery: its topic, its dedupe key for the inbox, and the raw body."""

    topic: str
    dedupe_key: str
    body: bytes
    headers: Mapping[str, str]


@runtime_checkable
class Channel(Protocol):
    """A storefront. Batch calls return one Outcome per item and never raise for a single item."""

    max_quantity_batch: int
    max_state_batch: int

    def read_catalog(self, cursor: str | None = None) -> CatalogPage: ...

    def read_quantities(self, refs: Sequence[ListingRef]) -> dict[ListingRef, int | None]: ...

    def set_quantities(self, updates: Sequence[QuantityUpdate], *, idempotency_key: str) -> list[Outcome]: ...

    def set_backorder_states(self, states: Sequence[BackorderState]) -> list[Outcome]: ...

    def set_substitutes(self, lists: Sequence[SubstituteList]) -> list[Outcome]: ...

    def read_order(self, order_id: str) -> OrderInfo: ...

    def cancel(self, request: CancelRequest) -> CancelResult: ...

    def add_order_note(self, order_id: str, note: str, *, customer_visible: bool) -> None: ...

    def tag_order(self, order_id: str, tags: Sequence[str]) -> None: ...

    def create_discount_code(self, request: DiscountCodeRequest) -> DiscountCode: ...

    def register_webhooks(self, address: str) -> list[str]: ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery: ...

    def parse_webhook(self, delivery: WebhookDelivery) -> list[Event]: ...
