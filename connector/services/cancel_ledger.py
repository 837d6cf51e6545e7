"""The ledger side of a cancellation the storefront has confirmed: release, dequeue, recompute, tell.

Every line is read as it is now (locked), not as it was when the cancellation was asked for: if the
storefront's own cancellation webhook got here first and released the units, there is nothing left to
release; if stock arrived meanwhile and covered some of the units, those units are freed and go to the
next customer in the queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from connector.db import UnitOfWork
from connector.models import Backorder, Cancellation, Channel, Item, Listing, Notification, Order, OrderLine
from connector.services import backorders, ledger, shown
from connector.services.sync import order_line_key


def release_cancelled(uow: UnitOfWork, row: Cancellation, now: datetime) -> dict[str, Any]:
    """Release what `row` cancelled on the storefront; returns what was done, for the audit log."""
    session = uow.session
    order = session.get(Order, row.order_id, with_for_update={"key_share": True})
    channel = session.get(Channel, order.channel_id)
    response = row.storefront_response or {}
    whole = bool((response.get("answer") or {}).get("cancelled_whole_order"))
    # WooCommerce puts stock back itself when an order is set to cancelled, whatever we asked.
    restocked = row.restock or (whole and channel.kind == "woocommerce")
    _lock_items(uow, row)
    movements, done, touched = [], [], set()
    for planned in row.lines or []:
        line = session.get(OrderLine, planned["line_id"], with_for_update=True)
        units = min(int(planned["quantity"]), line.quantity_committed)
        if line.item_id is None or units <= 0:
            done.append({"line_id": line.id, "released": 0, "note": "already released"})
            continue
        # Only the SKU: the ledger locks the item row itself, and an Item loaded before that lock
        # would keep stale totals in the session (a lost update when two cancellations race).
        sku = session.scalar(select(Item.sku).where(Item.id == line.item_id))
        whole_line = units == line.quantity_committed
        key = order_line_key(channel, order.external_id, line.external_id) + ":cancel"
        key += "" if whole_line else f":{row.id}"
        movements.append(ledger.Movement(sku, "release", units, key, reason=f"cancellation {row.id}"))
        from_allocated = _dequeue(uow, line, units)
        line.quantity_committed -= units
        line.quantity_cancelled += units
        if line.quantity_committed <= 0:
            line.status = "cancelled"
        if restocked:
            _storefront_restocked(uow, channel, line.item_id, units)
        touched.add(line.item_id)
        done.append({"line_id": line.id, "sku": sku, "released": units, "from_allocated": from_allocated})
    if whole or all(line.quantity_cancelled >= line.quantity for line in _lines(uow, order)):
        order.status = "cancelled"  # the storefront's cancellation webhook will find it done
    if movements:
        ledger.apply(uow, row.merchant_id, movements)
        backorders.after_stock_change(uow, row.merchant_id, touched, now)
    if row.notify:
        _notify(uow, row, order, now)
    return {"lines": done, "restocked_on_storefront": restocked, "order_status": order.status}


def _lock_items(uow: UnitOfWork, row: Cancellation) -> None:
    """Lock the items first, in id order, as every stock change does: two cancellations of one item then
    queue up here instead of deadlocking over each other's backorder rows (ETAs are rewritten for the
    whole queue). Only ids are selected, so no Item with stale totals sits in the session."""
    ids = sorted({int(p["item_id"]) for p in row.lines or [] if p.get("item_id")})
    if ids:
        uow.session.execute(
            select(Item.id).where(Item.id.in_(ids)).order_by(Item.id).with_for_update(key_share=True)
        )


def _dequeue(uow: UnitOfWork, line: OrderLine, units: int) -> int:
    """Take `units` of the line out of the queue, waiting units first (the newest rows first); returns
    how many had been allocated meanwhile and are freed for the next customer."""
    rows = uow.session.scalars(
        select(Backorder)
        .where(Backorder.order_line_id == line.id, Backorder.status != "cancelled")
        .order_by(Backorder.created_at.desc(), Backorder.id.desc())
        .with_for_update()
    ).all()
    left = units
    for row in rows:
        take = min(backorders.units_waiting(row), left)
        row.quantity_cancelled += take
        left -= take
    from_allocated = 0
    for row in rows:
        take = min(row.quantity_allocated, left)
        row.quantity_allocated -= take
        row.quantity_cancelled += take
        left -= take
        from_allocated += take
    for row in rows:
        if backorders.units_waiting(row) == 0:
            row.status = "allocated" if row.quantity_allocated else "cancelled"
    return from_allocated


def _storefront_restocked(uow: UnitOfWork, channel: Channel, item_id: int, units: int) -> None:
    """The origin storefront raised its own number; its stock webhook must read as an echo, not an edit."""
    listing = uow.session.scalar(
        select(Listing).where(Listing.channel_id == channel.id, Listing.item_id == item_id)
    )
    if listing is not None:
        shown.shift(listing, units)


def _lines(uow: UnitOfWork, order: Order) -> list[OrderLine]:
    return list(uow.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)))


def _notify(uow: UnitOfWork, row: Cancellation, order: Order, now: datetime) -> None:
    """A "cancelled" message for the notification sender: what went, and how much is paid back. It
    says what the storefront cancelled, whichever path released the stock."""
    skus = {entry["sku"] for entry in row.lines or []}
    titles = dict(
        uow.session.execute(
            select(Item.sku, Item.title).where(Item.merchant_id == row.merchant_id, Item.sku.in_(skus))
        ).all()
    )
    answer = (row.storefront_response or {}).get("answer") or {}
    uow.session.add(
        Notification(
            merchant_id=row.merchant_id,
            order_id=order.id,
            kind="cancelled",
            dedupe_key=f"cancelled:{row.id}",
            recipient=order.customer_email,
            payload={
                "cancellation_id": row.id,
                "order_number": order.number,
                "customer_name": order.customer_name,
                "source": row.source,
                "reason": row.reason,
                "whole_order": bool(answer.get("cancelled_whole_order")),
                "lines": [
                    {
                        "sku": entry["sku"],
                        "title": titles.get(entry["sku"]) or entry["sku"],
                        "quantity": entry["quantity"],
                    }
                    for entry in row.lines or []
                ],
                "refund": row.refund,
                "refunded_amount": answer.get("refunded_amount", "0"),
            },
            send_after=now,
            created_at=now,
        )
    )
