"""Refunds as `POST orders/<id>/refunds` (v3) makes them through `wc_create_refund`: `api_refund` and
`api_restock` are both true unless given; a gateway that cannot refund through its API makes the whole
refund fail; restocking gives back stock only on lines whose stock had been reduced; the request's
`meta_data` is saved on the refund (read back by `GET orders/<id>/refunds`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .orders import GATEWAYS, LineItem, Order, add_note, set_status
from .products import Meta
from .store import Store
from .wp import WPError, as_bool, as_int, meta_text, money, now


@dataclass
class Refund:
    id: int
    order_id: int
    amount: Decimal
    reason: str
    refunded_payment: bool
    date_created: datetime
    line_items: list[LineItem] = field(default_factory=list)
    meta: list[Meta] = field(default_factory=list)


def create_refund(store: Store, order_id: int, payload: Mapping[str, Any]) -> Refund:
    """`POST orders/<id>/refunds` (v3): `wc_create_refund` with `api_refund` and `api_restock`, both
    true unless given. A gateway that cannot refund through its API makes the whole refund fail."""
    order = store.orders.get(order_id)
    if order is None or order.status == "trash":
        raise WPError("woocommerce_rest_invalid_order_id", "Invalid order ID.", 404)
    wanted = _refund_lines(order, payload.get("line_items") or [])
    raw_amount = payload.get("amount")
    if raw_amount in (None, ""):
        raw_amount = sum((total for _, _, total in wanted), Decimal("0"))
    amount = money(raw_amount)
    if amount < 0:
        raise WPError(
            "woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero.", 400
        )
    remaining = order.total - sum((store.refunds[r].amount for r in order.refund_ids), Decimal("0"))
    if amount > remaining:
        raise WPError("woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.", 500)
    api_refund = as_bool(payload.get("api_refund", True))
    if api_refund:
        _check_gateway_refunds(order)
    refund = Refund(
        id=store.next_post_id(),
        order_id=order.id,
        amount=amount,
        reason=str(payload.get("reason") or ""),
        refunded_payment=api_refund,
        date_created=now(),
    )
    for line, quantity, total in wanted:
        refunded = LineItem(
            store.next_item_id(),
            line.name,
            line.product_id,
            line.variation_id,
            -quantity,
            -total,
            -total,
            line.sku,
            line.parent_name,
        )
        refunded.set_meta("_refunded_item_id", line.id, store.next_meta_id())
        refund.line_items.append(refunded)
    for entry in payload.get("meta_data") or []:
        if isinstance(entry, dict) and entry.get("key"):
            refund.meta.append(Meta(store.next_meta_id(), str(entry["key"]), meta_text(entry.get("value"))))
    if as_bool(payload.get("api_restock", True)):
        _restock_refunded(store, order, wanted)
    store.refunds[refund.id] = refund
    order.refund_ids.append(refund.id)
    if amount >= remaining:
        set_status(store, order, "refunded")  # woocommerce_order_fully_refunded
    order.date_modified = now()
    store.emit("order", "updated", order.id)  # woocommerce_order_refunded
    return refund


def _refund_lines(order: Order, raw_lines: Any) -> list[tuple[LineItem, int, Decimal]]:
    by_id = {line.id: line for line in order.line_items}
    wanted = []
    for raw in raw_lines if isinstance(raw_lines, list) else []:
        line = by_id.get(as_int(raw.get("id", 0), "line_items")) if isinstance(raw, dict) else None
        if line is None:
            continue  # wc_create_refund skips ids that are not items of the order
        quantity = as_int(raw.get("quantity") or 0, "line_items")
        total = money(raw.get("refund_total") or 0) + money(raw.get("refund_tax") or 0)
        wanted.append((line, quantity, total))
    return wanted


def _check_gateway_refunds(order: Order) -> None:
    gateway = GATEWAYS.get(order.payment_method)
    if gateway is None:
        message = "The payment gateway for this order does not exist."
    elif not gateway[1]:
        message = "The payment gateway for this order does not support automatic refunds."
    else:
        return
    raise WPError("woocommerce_rest_cannot_create_order_refund", message, 500)


def _restock_refunded(store: Store, order: Order, wanted: list[tuple[LineItem, int, Decimal]]) -> None:
    """`wc_restock_refunded_items`: only lines whose stock had been reduced get stock back."""
    for line, quantity, _ in wanted:
        reduced = int(line.meta_value("_reduced_stock") or 0)
        product = store.product(line.variation_id or line.product_id)
        if not reduced or not quantity or product is None or not product.manage_stock:
            continue
        before = product.stock_quantity or 0
        store.save_stock(product, before + quantity)
        if reduced - quantity > 0:
            line.set_meta("_reduced_stock", reduced - quantity, store.next_meta_id())
        else:
            line.drop_meta("_reduced_stock")
        restocked = int(line.meta_value("_restock_refunded_items") or 0) + quantity
        line.set_meta("_restock_refunded_items", restocked, store.next_meta_id())
        add_note(store, order, f"Item #{product.id} stock increased from {before} to {before + quantity}.")
