"""Cancelling, refunding, noting and tagging WooCommerce orders.

Refunds are not idempotent and WooCommerce takes no idempotency key, so each refund carries a marker in
its meta_data: the request's idempotency key (a fresh token without one). After a timeout or a 5xx the
order's refunds are re-read and the marker tells whether it landed; and a cancellation tried again later
(its first attempt ended with the outcome unknown) first looks for a refund under its key and takes it
as done. A refund is never re-sent blindly: a slow payment gateway is exactly when a timeout happens.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from adapters.base import CancelRequest, CancelResult, LineCancel
from adapters.errors import ChannelError, NotFoundOnChannel, OutcomeUnknown, RejectedByChannel

from .mapping import TAGS_META_KEY, mapping_list, money, order_tags, refunded_amount
from .paging import every_entry
from .transport import Transport

log = logging.getLogger("adapters.woocommerce")

REFUND_MARKER_KEY = "_backorder_refund_request"


def cancel(transport: Transport, request: CancelRequest) -> CancelResult:
    """Whole order: refund what is left (if asked), then status "cancelled". Lines: one refund with them.
    Money goes back only for a paid order: an unpaid one (pending, on-hold bank transfer) has none to return."""
    order = transport.read(f"orders/{request.order_id}").data
    paid = bool(order.get("date_paid_gmt") or order.get("date_paid"))
    if request.lines:
        result = _cancel_lines(transport, order, request, refund=request.refund and paid)
    else:
        result = _cancel_whole(transport, order, request, refund=request.refund and paid)
    if request.note:
        try:
            add_note(transport, request.order_id, request.note, customer_visible=request.notify)
        except ChannelError as exc:
            # The cancellation stands: raising now would invite a retry that refunds a second time.
            log.warning(
                "%s: order %s cancelled but its note failed: %s", transport.channel, request.order_id, exc
            )
            return dataclasses.replace(
                result, storefront_reference=f"{result.storefront_reference} (note not added)"
            )
    return result


def _cancel_whole(
    transport: Transport, order: Mapping[str, Any], request: CancelRequest, *, refund: bool
) -> CancelResult:
    # Refund first: a full refund moves the order to "refunded", and the cancel afterwards leaves it
    # "cancelled". Re-running after a failure refunds only what is still unrefunded.
    refunded, reference = Decimal(0), ""
    remaining = (money(order.get("total")) or Decimal(0)) - refunded_amount(order)
    earlier = earlier_refund(transport, request) if refund else None
    if earlier is not None:
        refunded, reference = _amount(earlier), f"refund:{earlier.get('id')}"
    elif refund and remaining > 0:
        body = {
            "amount": str(remaining),
            "reason": _reason(request),
            "api_refund": True,
            # WooCommerce restocks on "cancelled" itself (when it had reduced stock); restocking in the
            # refund too would count the units twice. It cannot be told not to restock on cancel.
            "api_restock": False,
        }
        created = create_refund(transport, request.order_id, body, marker=request.idempotency_key)
        refunded, reference = remaining, f"refund:{created.get('id')}"
    if order.get("status") != "cancelled":
        transport.write("PUT", f"orders/{request.order_id}", {"status": "cancelled"}, idempotent=True)
    return CancelResult(request.order_id, True, refunded, reference)


def _cancel_lines(
    transport: Transport, order: Mapping[str, Any], request: CancelRequest, *, refund: bool
) -> CancelResult:
    earlier = earlier_refund(transport, request)
    if earlier is not None:
        return CancelResult(request.order_id, False, _amount(earlier), f"refund:{earlier.get('id')}")
    lines = {str(line.get("id")): line for line in mapping_list(order.get("line_items"))}
    refund_lines = [_refund_line(lines, cancel, refund=refund) for cancel in request.lines]
    amount = sum(
        (
            Decimal(line["refund_total"])
            + sum((Decimal(t["refund_total"]) for t in line["refund_tax"]), Decimal(0))
        )
        for line in refund_lines
    )
    body = {
        "amount": str(amount),
        "reason": _reason(request),
        "api_refund": bool(refund and amount > 0),
        "api_restock": request.restock,
        "line_items": refund_lines,
    }
    created = create_refund(transport, request.order_id, body, marker=request.idempotency_key)
    return CancelResult(request.order_id, False, amount, f"refund:{created.get('id')}")


def _refund_line(
    lines: Mapping[str, Mapping[str, Any]], cancel: LineCancel, *, refund: bool
) -> dict[str, Any]:
    """{id, quantity, refund_total, refund_tax}: the line's own per-unit total and taxes (after discounts)."""
    line = lines.get(cancel.line_id)
    if line is None:
        raise NotFoundOnChannel(f"order has no line {cancel.line_id}")
    ordered = int(line.get("quantity") or 0)
    if not 0 < cancel.quantity <= ordered:
        raise RejectedByChannel(f"line {cancel.line_id}: cannot cancel {cancel.quantity} of {ordered}")
    share = Decimal(cancel.quantity) / Decimal(ordered) if refund else Decimal(0)
    step = _smallest_unit(line.get("total"))
    taxes = [
        {"id": tax["id"], "refund_total": str(_part(tax.get("total"), share, step))}
        for tax in mapping_list(line.get("taxes"))
        if money(tax.get("total"))
    ]
    return {
        "id": int(line["id"]),
        "quantity": cancel.quantity,
        "refund_total": str(_part(line.get("total"), share, step)),
        "refund_tax": taxes,
    }


def _smallest_unit(total: Any) -> Decimal:
    """The store's money precision, read off the line total ("6.00" → 0.01, "600" → 1)."""
    exponent = (money(total) or Decimal("0.00")).as_tuple().exponent
    if not isinstance(exponent, int) or exponent > 0:
        exponent = 0
    return Decimal(1).scaleb(exponent)


def _part(total: Any, share: Decimal, step: Decimal) -> Decimal:
    return ((money(total) or Decimal(0)) * share).quantize(step)


def earlier_refund(transport: Transport, request: CancelRequest) -> Mapping[str, Any] | None:
    """The refund an earlier attempt of this cancellation made (its answer was lost), if any."""
    if not request.idempotency_key:
        return None
    return _find_refund(transport, request.order_id, request.idempotency_key)


def create_refund(
    transport: Transport, order_id: str, body: Mapping[str, Any], *, marker: str = ""
) -> Mapping[str, Any]:
    """POST a refund marked with `marker` (a fresh token without one); after a timeout or a 5xx, find it
    by its mark or raise OutcomeUnknown."""
    marker = marker or uuid.uuid4().hex
    marked = {**body, "meta_data": [{"key": REFUND_MARKER_KEY, "value": marker}]}
    try:
        return transport.write("POST", f"orders/{order_id}/refunds", marked, idempotent=False).data or {}
    except OutcomeUnknown:
        landed = _find_refund(transport, order_id, marker)
        if landed is not None:
            return landed
        raise


def _find_refund(transport: Transport, order_id: str, marker: str) -> Mapping[str, Any] | None:
    # Every page: an order refunded line by line can have more refunds than one page holds.
    for refund in every_entry(transport, f"orders/{order_id}/refunds"):
        for meta in mapping_list(refund.get("meta_data")):
            if meta.get("key") == REFUND_MARKER_KEY and meta.get("value") == marker:
                return refund
    return None


def add_note(transport: Transport, order_id: str, note: str, *, customer_visible: bool) -> None:
    """An order note; `customer_note: true` also emails it to the customer. Not retried on a timeout."""
    body = {"note": note, "customer_note": customer_visible}
    transport.write("POST", f"orders/{order_id}/notes", body, idempotent=False)


def tag(transport: Transport, order_id: str, tags: Sequence[str]) -> None:
    """Add tags to the order's `_backorder_tags` meta (comma-separated), keeping the ones already there."""
    order = transport.read(f"orders/{order_id}").data
    current = order_tags(order)
    wanted = tuple(dict.fromkeys([*current, *(t.strip() for t in tags if t.strip())]))
    if wanted == current:
        return
    body = {"meta_data": [{"key": TAGS_META_KEY, "value": ",".join(wanted)}]}
    transport.write("PUT", f"orders/{order_id}", body, idempotent=True)


def _amount(refund: Mapping[str, Any]) -> Decimal:
    return abs(money(refund.get("amount")) or Decimal(0))


def _reason(request: CancelRequest) -> str:
    return request.note or request.reason
