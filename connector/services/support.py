"""What support looks up: orders by number, email or SKU, their lines, backorders and ETAs.

Every query is scoped by the caller's merchant; another merchant's order is simply not found.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, func, select

from connector.db import UnitOfWork
from connector.errors import InvalidInput, NotFound
from connector.models import Backorder, Cancellation, Channel, Item, Order, OrderLine
from connector.services import cancellations
from connector.services.backorders import units_waiting, waiting_queue
from connector.services.cancellable import line_states

MAX_LIMIT = 200


def find_orders(
    uow: UnitOfWork,
    merchant_id: int,
    *,
    number: str | None = None,
    email: str | None = None,
    sku: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The merchant's orders matching every filter given, newest first."""
    query = select(Order).where(Order.merchant_id == merchant_id)
    if number:
        bare = number.strip().lstrip("#")
        query = query.where(Order.number.in_({number.strip(), bare, f"#{bare}"}))
    if email:
        query = query.where(func.lower(Order.customer_email) == email.strip().lower())
    if sku:
        query = query.where(Order.id.in_(select(OrderLine.order_id).where(OrderLine.sku == sku.strip())))
    query = query.order_by(Order.placed_at.desc(), Order.id.desc()).limit(_limit(limit))
    orders = list(uow.session.scalars(query))
    waiting = _waiting_by_order(uow, [o.id for o in orders])
    kinds = _channel_kinds(uow, {o.channel_id for o in orders})
    return [_summary(o, kinds[o.channel_id], waiting.get(o.id, 0)) for o in orders]


def order_detail(uow: UnitOfWork, merchant_id: int, order_id: int) -> dict[str, Any]:
    """One order with its lines, backorders (ETA, place in the queue) and cancellations."""
    order = get_order(uow, merchant_id, order_id)
    titles = _titles(uow, merchant_id, order.id)
    lines = []
    for state in line_states(uow, order):
        line = state.line
        rows = uow.session.scalars(
            select(Backorder).where(Backorder.order_line_id == line.id).order_by(Backorder.id)
        ).all()
        lines.append(
            {
                "id": line.id,
                "external_id": line.external_id,
                "sku": line.sku,
                "title": titles.get(line.item_id, ""),
                "quantity": line.quantity,
                "quantity_cancelled": line.quantity_cancelled,
                "status": line.status,
                "waiting": state.waiting,
                "allocated": state.allocated,
                "from_stock": state.from_stock,
                "cancellable": state.waiting,
                "backorders": [backorder_view(uow, row) for row in rows],
            }
        )
    cancelled = uow.session.scalars(
        select(Cancellation).where(Cancellation.order_id == order.id).order_by(Cancellation.id)
    )
    kind = _channel_kinds(uow, {order.channel_id})[order.channel_id]
    waiting = sum(line["waiting"] for line in lines)
    return {
        **_summary(order, kind, waiting),
        "lines": lines,
        "cancellations": [cancellations.view(row) for row in cancelled],
    }


def find_backorders(
    uow: UnitOfWork,
    merchant_id: int,
    *,
    sku: str | None = None,
    email: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The merchant's backorders matching every filter given, oldest first (queue order)."""
    query: Select = (
        select(Backorder, Order, OrderLine)
        .join(OrderLine, OrderLine.id == Backorder.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Backorder.merchant_id == merchant_id)
    )
    if sku:
        query = query.where(OrderLine.sku == sku.strip())
    if email:
        query = query.where(func.lower(Order.customer_email) == email.strip().lower())
    if status:
        query = query.where(Backorder.status == status)
    query = query.order_by(Backorder.created_at, Backorder.id).limit(_limit(limit))
    return [
        {
            **backorder_view(uow, row),
            "order_id": order.id,
            "order_number": order.number,
            "customer_email": order.customer_email,
            "line_id": line.id,
            "sku": line.sku,
        }
        for row, order, line in uow.session.execute(query)
    ]


def backorder_view(uow: UnitOfWork, row: Backorder) -> dict[str, Any]:
    return {
        "id": row.id,
        "quantity": row.quantity,
        "waiting": units_waiting(row) if row.status == "waiting" else 0,
        "quantity_allocated": row.quantity_allocated,
        "quantity_cancelled": row.quantity_cancelled,
        "status": row.status,
        "oversold": row.oversold,
        "eta_date": _day(row.eta_date),
        "promised_date": _day(row.promised_date),
        "queue_position": _queue_position(uow, row),
        "created_at": row.created_at.isoformat(),
        "wait_confirm_requested_at": row.wait_confirm_requested_at.isoformat()
        if row.wait_confirm_requested_at
        else None,
        "wait_confirmed_at": row.wait_confirmed_at.isoformat() if row.wait_confirmed_at else None,
    }


def get_order(uow: UnitOfWork, merchant_id: int, order_id: int) -> Order:
    order = uow.session.get(Order, order_id)
    if order is None or order.merchant_id != merchant_id:
        raise NotFound(f"no order {order_id}")
    return order


def resolve_order(uow: UnitOfWork, merchant_id: int, ref: str) -> Order:
    """Our order id, or the storefront's order number (`#1001` or `1001`) when that is unique."""
    text = ref.strip()
    found = find_orders(uow, merchant_id, number=text, limit=3)
    if len(found) > 1:
        raise InvalidInput(f"{len(found)} orders have the number {text!r}; give our order id instead")
    if found:
        return get_order(uow, merchant_id, found[0]["id"])
    if text.isdigit():
        return get_order(uow, merchant_id, int(text))
    raise NotFound(f"no order with id or number {text!r}")


def resolve_line(uow: UnitOfWork, order: Order, ref: str) -> OrderLine:
    """A line of `order` by our line id, the storefront's line id, or its SKU (when only one line has it)."""
    text = ref.strip()
    lines = uow.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    for match in (
        lambda line: str(line.id) == text,
        lambda line: line.external_id == text or line.external_id.rsplit("/", 1)[-1] == text,
        lambda line: line.sku == text,
    ):
        found = [line for line in lines if match(line)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise InvalidInput(f"{len(found)} lines of order {order.id} match {text!r}; give the line id")
    raise NotFound(f"order {order.id} has no line {text!r}")


def _summary(order: Order, channel_kind: str, waiting: int) -> dict[str, Any]:
    return {
        "id": order.id,
        "number": order.number,
        "channel": {"id": order.channel_id, "kind": channel_kind},
        "external_id": order.external_id,
        "customer_name": order.customer_name,
        "customer_email": order.customer_email,
        "placed_at": order.placed_at.isoformat(),
        "status": order.status,
        "units_waiting": waiting,
    }


def _waiting_by_order(uow: UnitOfWork, order_ids: list[int]) -> dict[int, int]:
    if not order_ids:
        return {}
    rows = uow.session.execute(
        select(OrderLine.order_id, func.sum(Backorder.units_waiting))
        .join(OrderLine, OrderLine.id == Backorder.order_line_id)
        .where(OrderLine.order_id.in_(order_ids), Backorder.status == "waiting")
        .group_by(OrderLine.order_id)
    )
    return {order_id: int(total or 0) for order_id, total in rows}


def _channel_kinds(uow: UnitOfWork, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(uow.session.execute(select(Channel.id, Channel.kind).where(Channel.id.in_(ids))).all())


def _titles(uow: UnitOfWork, merchant_id: int, order_id: int) -> dict[int | None, str]:
    rows = uow.session.execute(
        select(Item.id, Item.title)
        .join(OrderLine, OrderLine.item_id == Item.id)
        .where(Item.merchant_id == merchant_id, OrderLine.order_id == order_id)
    )
    return dict(rows.all())


def _queue_position(uow: UnitOfWork, row: Backorder) -> int | None:
    """1 for the first in line; None when not waiting."""
    if row.status != "waiting":
        return None
    ids = [b.id for b in waiting_queue(uow, row.item_id)]
    return ids.index(row.id) + 1 if row.id in ids else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT} (got {limit})")
    return limit
