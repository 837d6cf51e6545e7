"""Orders, notes and refunds, with WooCommerce's stock behaviour: stock is reduced once when an order
reaches processing, completed or on-hold (or is paid), restored when it goes to cancelled or pending
if it had been reduced, and returned per line by a refund with `api_restock`.

Refunds are in `refunds.py`. Two ways in share `create_order`: the admin REST route (`POST orders`), which like real WooCommerce
never checks stock, and a customer checkout (`checkout=True`), which refuses what the storefront's
cart would refuse and marks backordered lines as WooCommerce's checkout does."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .products import Meta, Product, slugify
from .store import Store
from .wp import WPError, as_bool, as_int, meta_text, money, now, one_of

ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
STATUS_LABELS = {
    "pending": "Pending payment",
    "processing": "Processing",
    "on-hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "failed": "Failed",
    "checkout-draft": "Draft",
    "trash": "Trash",
}
REDUCES_STOCK = ("processing", "completed", "on-hold")  # wc_maybe_reduce_stock_levels hooks
RESTORES_STOCK = ("cancelled", "pending")  # wc_maybe_increase_stock_levels hooks
PAYABLE = (
    "on-hold",
    "pending",
    "failed",
    "cancelled",
)  # woocommerce_valid_order_statuses_for_payment_complete
# Gateways a sandbox order may name: title and whether the gateway can refund through its API.
GATEWAYS = {
    "bacs": ("Direct bank transfer", False),
    "cheque": ("Check payments", False),
    "cod": ("Cash on delivery", False),
    "woocommerce_payments": ("Credit card / debit card", True),
    "stripe": ("Credit card (Stripe)", True),
    "ppcp-gateway": ("PayPal", True),
}
BACKORDERED_META = "Backordered"  # woocommerce_backordered_item_meta_name, in English


@dataclass
class LineItem:
    id: int
    name: str
    product_id: int
    variation_id: int
    quantity: int
    subtotal: Decimal
    total: Decimal
    sku: str = ""
    parent_name: str | None = None
    meta: list[Meta] = field(default_factory=list)

    def meta_value(self, key: str) -> Any:
        return next((m.value for m in self.meta if m.key == key), None)

    def set_meta(self, key: str, value: Any, new_id: int) -> None:
        entry = next((m for m in self.meta if m.key == key), None)
        if entry is None:
            self.meta.append(Meta(new_id, key, meta_text(value)))
        else:
            entry.value = meta_text(value)

    def drop_meta(self, key: str) -> None:
        self.meta = [m for m in self.meta if m.key != key]


@dataclass
class Note:
    id: int
    note: str
    customer_note: bool
    author: str
    date_created: datetime


@dataclass
class Order:
    id: int
    status: str
    created_via: str
    date_created: datetime
    date_modified: datetime
    order_key: str = ""
    currency: str = "USD"
    billing: dict[str, str] = field(default_factory=dict)
    shipping: dict[str, str] = field(default_factory=dict)
    payment_method: str = ""
    payment_method_title: str = ""
    transaction_id: str = ""
    customer_id: int = 0
    customer_note: str = ""
    meta: list[Meta] = field(default_factory=list)
    line_items: list[LineItem] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    refund_ids: list[int] = field(default_factory=list)
    date_paid: datetime | None = None
    date_completed: datetime | None = None
    stock_reduced: bool = False  # the order data store's `_order_stock_reduced`

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.line_items), Decimal("0.00"))


ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
)


def empty_address(kind: str) -> dict[str, str]:
    extra = ("email", "phone") if kind == "billing" else ("phone",)
    return dict.fromkeys((*ADDRESS_FIELDS, *extra), "")


def create_order(store: Store, payload: Mapping[str, Any], *, checkout: bool = False) -> Order:
    """`POST orders` (or, with `checkout`, a customer's checkout): the order, then its status, then payment."""
    if payload.get("id"):
        raise WPError("woocommerce_rest_shop_order_exists", "Cannot create existing shop_order.", 400)
    status = payload.get("status")
    if status is not None:
        one_of(status, "status", ORDER_STATUSES)
    if as_int(payload.get("customer_id") or 0, "customer_id"):
        # The sandbox has no customer accounts, so every customer id is unknown to it.
        raise WPError("woocommerce_rest_invalid_customer_id", "Customer ID is invalid.", 400)
    lines = [_line_item(store, raw, checkout=checkout) for raw in payload.get("line_items") or []]
    if checkout:
        _check_stock(store, lines)
        _mark_backorders(store, lines)
    moment = now()
    order = Order(
        id=store.next_post_id(),
        status="pending",
        created_via="checkout" if checkout else "rest-api",
        date_created=moment,
        date_modified=moment,
        order_key="wc_order_"
        + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(13)),
        billing=empty_address("billing"),
        shipping=empty_address("shipping"),
        line_items=lines,
    )
    _apply_order_fields(store, order, payload)
    store.orders[order.id] = order
    store.emit("order", "created", order.id)  # woocommerce_new_order
    if status:
        set_status(store, order, status)
    if as_bool(payload.get("set_paid", False)):
        payment_complete(store, order, str(payload.get("transaction_id") or ""))
    store.emit("order", "updated", order.id)  # the create path saves again: woocommerce_update_order
    return order


def update_order(store: Store, order_id: int, payload: Mapping[str, Any]) -> Order:
    order = live_order(store, order_id, status=400)
    _apply_order_fields(store, order, payload)
    if payload.get("status") is not None:
        set_status(store, order, one_of(payload["status"], "status", ORDER_STATUSES))
    if as_bool(payload.get("set_paid", False)) and order.status in ("pending", "failed"):
        payment_complete(store, order, str(payload.get("transaction_id") or ""))
    order.date_modified = now()
    store.emit("order", "updated", order.id)
    return order


def delete_order(store: Store, order_id: int, *, force: bool) -> Order:
    order = live_order(store, order_id, status=404)
    if order.status == "trash" and not force:
        raise WPError("woocommerce_rest_already_trashed", "The order has already been deleted.", 410)
    if force:
        del store.orders[order_id]
    else:
        order.status = "trash"
        store.emit("order", "deleted", order_id)  # woocommerce_trash_order
    return order


def live_order(store: Store, order_id: int, *, status: int) -> Order:
    """The order, trashed or not (`wc_get_order`), or WooCommerce's invalid-id error with `status`."""
    order = store.orders.get(order_id)
    if order is None:
        raise WPError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status)
    return order


def set_status(store: Store, order: Order, new_status: str) -> None:
    """`WC_Order::set_status` and the status transition hooks that move stock."""
    old_status = order.status
    if new_status == old_status:
        return
    order.status = new_status
    order.date_modified = now()
    if new_status in ("processing", "completed") and order.date_paid is None:
        order.date_paid = now()
    if new_status == "completed":
        order.date_completed = now()
    add_note(
        store, order, f"Order status changed from {STATUS_LABELS[old_status]} to {STATUS_LABELS[new_status]}."
    )
    if new_status in REDUCES_STOCK:
        reduce_stock(store, order)
    if new_status in RESTORES_STOCK:
        restore_stock(store, order)


def payment_complete(store: Store, order: Order, transaction_id: str = "") -> None:
    """`WC_Order::payment_complete`: only from a payable status; physical goods go to processing."""
    if order.status not in PAYABLE:
        return
    if transaction_id:
        order.transaction_id = transaction_id
    order.date_paid = order.date_paid or now()
    set_status(store, order, "processing")
    reduce_stock(store, order)  # woocommerce_payment_complete


def reduce_stock(store: Store, order: Order) -> None:
    """`wc_maybe_reduce_stock_levels`: once per order, once per line (`_reduced_stock`)."""
    if order.stock_reduced:
        return
    changes = []
    for line in order.line_items:
        product = store.product(line.variation_id or line.product_id)
        if line.meta_value("_reduced_stock") or product is None or not product.manage_stock:
            continue
        before = product.stock_quantity or 0
        product.total_sales += line.quantity
        store.save_stock(product, before - line.quantity)
        line.set_meta("_reduced_stock", line.quantity, store.next_meta_id())
        changes.append(f"{_formatted_name(product)} {before}&rarr;{before - line.quantity}")
    order.stock_reduced = True
    if changes:
        add_note(store, order, "Stock levels reduced: " + ", ".join(changes))


def restore_stock(store: Store, order: Order) -> None:
    """`wc_maybe_increase_stock_levels`: only if stock had been reduced, only lines that were."""
    if not order.stock_reduced:
        return
    changes = []
    for line in order.line_items:
        reduced = int(line.meta_value("_reduced_stock") or 0)
        product = store.product(line.variation_id or line.product_id)
        if not reduced or product is None or not product.manage_stock:
            continue
        before = product.stock_quantity or 0
        store.save_stock(product, before + reduced)
        line.drop_meta("_reduced_stock")
        changes.append(f"{_formatted_name(product)} {before}&rarr;{before + reduced}")
    order.stock_reduced = False
    if changes:
        add_note(store, order, "Stock levels increased: " + ", ".join(changes))


def add_note(
    store: Store, order: Order, text: str, *, customer_note: bool = False, author: str = "system"
) -> Note:
    """`WC_Order::add_order_note`; a customer note is also mailed to the billing address."""
    note = Note(store.next_note_id(), text, customer_note, author, now())
    order.notes.append(note)
    if customer_note and order.billing.get("email"):
        store.emails.append((order.billing["email"], f"Note added to your order #{order.id}"))
    return note


def _line_item(store: Store, raw: Any, *, checkout: bool) -> LineItem:
    if not isinstance(raw, dict):
        raise WPError("woocommerce_rest_required_product_reference", "Product ID or SKU is required.", 400)
    product = _line_product(store, raw)
    if product is None and checkout:
        raise WPError(
            "woocommerce_rest_cart_invalid_product", "This product cannot be added to the cart.", 400
        )
    quantity = as_int(raw.get("quantity", 1), "line_items")
    unit = money(product.price) if product is not None and product.price != "" else Decimal("0.00")
    total = money(raw["total"]) if raw.get("total") is not None else unit * quantity
    subtotal = money(raw["subtotal"]) if raw.get("subtotal") is not None else total
    line = LineItem(store.next_item_id(), str(raw.get("name") or ""), 0, 0, quantity, subtotal, total)
    if product is not None:  # an unknown id leaves a line without a product, as WooCommerce does
        parent = store.products.get(product.parent_id) if product.is_variation else None
        line.name = line.name or product.name
        line.product_id = parent.id if parent else product.id
        line.variation_id = product.id if parent else 0
        line.sku = product.sku
        line.parent_name = parent.name if parent else None
        for attribute in product.attributes if parent else []:
            line.set_meta(slugify(attribute["name"]), attribute["option"], store.next_meta_id())
    for entry in raw.get("meta_data") or []:
        if isinstance(entry, dict) and entry.get("key"):
            line.set_meta(str(entry["key"]), entry.get("value"), store.next_meta_id())
    return line


def _line_product(store: Store, raw: Mapping[str, Any]) -> Product | None:
    if raw.get("sku"):
        return store.by_sku(str(raw["sku"]))
    variation_id = as_int(raw.get("variation_id") or 0, "line_items")
    product_id = as_int(raw.get("product_id") or 0, "line_items")
    if variation_id or product_id:
        return store.product(variation_id or product_id)
    raise WPError("woocommerce_rest_required_product_reference", "Product ID or SKU is required.", 400)


def _check_stock(store: Store, lines: list[LineItem]) -> None:
    """What the storefront's cart (Store API) refuses before an order exists."""
    wanted: dict[int, int] = {}
    for line in lines:
        key = line.variation_id or line.product_id
        wanted[key] = wanted.get(key, 0) + line.quantity
    for product_id, quantity in wanted.items():
        product = store.products[product_id]
        if not product.is_in_stock:
            raise WPError(
                "woocommerce_rest_product_out_of_stock",
                f"You cannot add &quot;{product.name}&quot; to the cart because the product is out of stock.",
                400,
            )
        remaining = product.stock_quantity or 0
        if product.manage_stock and not product.backorders_allowed and remaining < quantity:
            raise WPError(
                "woocommerce_rest_product_partially_out_of_stock",
                f"You cannot add that amount of &quot;{product.name}&quot; to the cart because there is not "
                f"enough stock ({remaining} remaining).",
                400,
            )


def _mark_backorders(store: Store, lines: list[LineItem]) -> None:
    """`WC_Checkout::create_order_line_items`: a `notify` product short of stock marks the line."""
    for line in lines:
        product = store.products[line.variation_id or line.product_id]
        if product.backorders_require_notification and product.is_on_backorder(line.quantity):
            short = line.quantity - max(0, product.stock_quantity or 0)
            line.set_meta(BACKORDERED_META, short, store.next_meta_id())


def _apply_order_fields(store: Store, order: Order, payload: Mapping[str, Any]) -> None:
    for kind in ("billing", "shipping"):
        if isinstance(payload.get(kind), dict):
            address = getattr(order, kind)
            for key, value in payload[kind].items():
                if key in address:
                    address[key] = str(value)
    if payload.get("payment_method") is not None:
        order.payment_method = str(payload["payment_method"])
        order.payment_method_title = GATEWAYS.get(order.payment_method, ("", False))[0]
    for name in ("payment_method_title", "transaction_id", "customer_note", "currency"):
        if payload.get(name) is not None:
            setattr(order, name, str(payload[name]))
    for entry in payload.get("meta_data") or []:
        if not isinstance(entry, dict) or not entry.get("key"):
            continue
        existing = next((m for m in order.meta if m.key == entry["key"]), None)
        if entry.get("value") is None:
            order.meta = [m for m in order.meta if m is not existing]
        elif existing is None:
            order.meta.append(Meta(store.next_meta_id(), str(entry["key"]), meta_text(entry["value"])))
        else:
            existing.value = meta_text(entry["value"])


def _formatted_name(product: Product) -> str:
    """`WC_Product::get_formatted_name`."""
    return f"{product.name} ({product.sku or '#' + str(product.id)})"
