"""Backorders in the database: order lines past stock, the queue, ETAs, allocation, storefront state.

The ledger commits every unit an order takes, backordered ones included, so available goes below zero
while units wait and arriving stock covers them first by simple arithmetic. The rows here say who is
waiting, in which order, and until when.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, literal, select, update

from connector.db import UnitOfWork
from connector.domain import eta as eta_rules
from connector.domain.backorders import (
    Backorder as QueuedUnits,
)
from connector.domain.backorders import (
    BackorderPolicy,
    LineSplit,
    PolicyOverrides,
    allocate_arrivals,
    effective_policy,
    served_from_safety_stock,
    split_order_line,
    storefront_state,
)
from connector.domain.wait_text import render_wait_text
from connector.models import (
    AuditEntry,
    Backorder,
    IncomingStock,
    Item,
    Merchant,
    OrderLine,
    Supplier,
    UTCDateTime,
    utcnow,
)
from connector.services.ledger import level_of

log = logging.getLogger(__name__)


def merchant_defaults(merchant: Merchant) -> BackorderPolicy:
    """The policy every item of this merchant follows unless it sets its own."""
    return BackorderPolicy(
        kind=merchant.backorder_policy,  # type: ignore[arg-type]
        limit=merchant.backorder_limit if merchant.backorder_policy == "allow-up-to" else None,
        lead_days=merchant.lead_days,
        max_wait_days=merchant.max_wait_days,
        handling_days=merchant.handling_days,
        safety_stock=merchant.safety_stock,
    )


def policy_of(item: Item, merchant: Merchant) -> BackorderPolicy:
    """The item's effective policy: its own settings over the merchant's defaults."""
    defaults = merchant_defaults(merchant)
    own = PolicyOverrides(
        kind=item.backorder_policy,  # type: ignore[arg-type]
        limit=item.backorder_limit,
        lead_days=item.lead_days,
        max_wait_days=item.max_wait_days,
        handling_days=item.handling_days,
        safety_stock=item.safety_stock,
    )
    return effective_policy(own, defaults)


def merchant_today(merchant: Merchant, now: datetime) -> date:
    return now.astimezone(ZoneInfo(merchant.timezone)).date()


def waiting_queue(uow: UnitOfWork, item_id: int) -> list[Backorder]:
    """Waiting backorders of an item, oldest first."""
    return list(
        uow.session.scalars(
            select(Backorder)
            .where(Backorder.item_id == item_id, Backorder.status == "waiting")
            .order_by(Backorder.created_at, Backorder.id)
        )
    )


def units_waiting(backorder: Backorder) -> int:
    return backorder.units_waiting


def split_line(
    uow: UnitOfWork, merchant: Merchant, item: Item, requested: int, now: datetime
) -> tuple[LineSplit, int]:
    """How a new order line for `item` splits, given stock and the queue right now, and how many of its
    committed units the safety stock serves."""
    level = level_of(item, merchant)
    available = level.available
    policy = policy_of(item, merchant)
    if requested <= available:  # the common case: stock covers it, no queue or ETA to look at
        return split_order_line(requested, available, 0, policy), 0
    waiting = sum(units_waiting(b) for b in waiting_queue(uow, item.id))
    wait_days = (next_eta(uow, merchant, item, now, waiting=waiting) - merchant_today(merchant, now)).days
    split = split_order_line(
        requested, available, waiting, policy, expected_wait_days=wait_days, held_back=level.held_back
    )
    return split, served_from_safety_stock(split, available)


def record_split(
    uow: UnitOfWork,
    merchant: Merchant,
    item: Item,
    line: OrderLine,
    split: LineSplit,
    now: datetime,
    *,
    from_safety_stock: int = 0,
) -> list[Backorder]:
    """Rows for the waiting units of a line: within policy, and oversold ones flagged for support. Units
    served from the safety stock are recorded too (audit `stock.safety_stock_used`, and a log line): each
    is a race between storefronts that the safety stock absorbed, and their count tells the merchant
    whether it is large enough."""
    # Each race between storefronts, absorbed or not, is on record for the merchant and for support.
    for action, units in (
        ("stock.safety_stock_used", from_safety_stock),
        ("backorder.oversold", split.oversold),
    ):
        if units:
            details = {"order_line": line.id, "units": units}
            uow.session.add(
                AuditEntry(
                    merchant_id=merchant.id,
                    actor="system",
                    action=action,
                    subject=f"item:{item.sku}",
                    details=details,
                )
            )
    if from_safety_stock:
        log.info(
            "%s: %d unit(s) of order line %s served from the safety stock",
            item.sku,
            from_safety_stock,
            line.id,
        )
    rows = []
    for units, oversold in ((split.backordered, False), (split.oversold, True)):
        if units:
            row = Backorder(
                merchant_id=merchant.id,
                item_id=item.id,
                order_line_id=line.id,
                quantity=units,
                oversold=oversold,
                created_at=now,
            )
            uow.session.add(row)
            rows.append(row)
    line.quantity_backordered = split.waiting
    uow.session.flush()
    return rows


def allocate(uow: UnitOfWork, merchant: Merchant, item: Item, now: datetime) -> int:
    """Give stock that is now on hand to waiting backorders, strictly oldest first; returns the units.

    Lock (the caller holds the item's row), compute in memory, write in bulk: the statements issued do
    not grow with the number of backorders served."""
    queue = uow.session.execute(
        select(
            Backorder.id,
            Backorder.created_at,
            Backorder.units_waiting,
        )
        .where(Backorder.item_id == item.id, Backorder.status == "waiting")
        .order_by(Backorder.created_at, Backorder.id)
    ).all()
    waiting = sum(units for _, _, units in queue)
    # Units on hand that are not already promised to lines taken from stock can cover the queue.
    free = item.on_hand - (item.committed - waiting)
    if not waiting or free <= 0:
        return 0
    arrival = allocate_arrivals(
        [QueuedUnits(i, units) for i, _, units in queue if units > 0], min(free, waiting)
    )
    served = {a.backorder_id: a.units for a in arrival.allocations}
    position = {row_id: n for n, (row_id, _, _) in enumerate(queue)}
    whole = {row_id for row_id, units in served.items() if units == queue[position[row_id]][2]}
    if whole:
        last = queue[max(position[row_id] for row_id in whole)]
        up_to_last = (Backorder.created_at < last[1]) | (
            (Backorder.created_at == last[1]) & (Backorder.id <= last[0])
        )
        covered = (Backorder.item_id == item.id) & (Backorder.status == "waiting") & up_to_last
        _tag_ready_orders(uow, merchant.id, covered)
        uow.session.execute(
            update(Backorder)
            .where(covered)
            .values(quantity_allocated=Backorder.quantity - Backorder.quantity_cancelled, status="allocated")
            .execution_options(synchronize_session=False)
        )
    for row_id, units in served.items():
        if row_id not in whole:  # at most one: the last one served, partly
            uow.session.execute(
                update(Backorder)
                .where(Backorder.id == row_id)
                .values(quantity_allocated=Backorder.quantity_allocated + units)
                .execution_options(synchronize_session=False)
            )
    total = sum(served.values())
    uow.session.add(
        AuditEntry(
            merchant_id=merchant.id,
            actor="system",
            action="backorder.allocated",
            subject=f"item:{item.sku}",
            details={"units": total, "backorders": len(served), "fully": len(whole), "at": now.isoformat()},
        )
    )
    uow.session.expire_all()  # rows loaded earlier in this transaction must see the bulk update
    return total


def _tag_ready_orders(uow: UnitOfWork, merchant_id: int, covered) -> None:
    """Queue `backorder-ready` tags for the storefront orders of the backorders about to be allocated,
    in one INSERT … SELECT."""
    from connector.models import Order, OutboxRow

    rows = (
        select(
            Order.merchant_id,
            Order.channel_id,
            Backorder.item_id,
            literal("order_tag"),
            func.json_object("order_id", Order.external_id, "tags", func.json_array("backorder-ready"))
            if uow.session.get_bind().dialect.name == "sqlite"
            else func.json_build_object(
                "order_id", Order.external_id, "tags", func.json_build_array("backorder-ready")
            ),
            literal("pending"),
            literal(0),
            literal(utcnow(), UTCDateTime()),
            literal(utcnow(), UTCDateTime()),
        )
        .select_from(Backorder)
        .join(OrderLine, OrderLine.id == Backorder.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(covered, Order.merchant_id == merchant_id)
    )
    uow.session.execute(
        insert(OutboxRow).from_select(
            [
                "merchant_id",
                "channel_id",
                "item_id",
                "kind",
                "payload",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
            ],
            rows,
        )
    )


def supplier_delays(uow: UnitOfWork, merchant_id: int) -> dict[str, list[int]]:
    """Each supplier's history: days late (negative when early) of every receipt so far."""
    rows = uow.session.execute(
        select(Supplier.name, IncomingStock.expected_date, IncomingStock.received_date)
        .join(Supplier, Supplier.id == IncomingStock.supplier_id)
        .where(IncomingStock.merchant_id == merchant_id, IncomingStock.received_date.is_not(None))
    ).all()
    history: dict[str, list[int]] = {}
    for name, expected, received in rows:
        history.setdefault(name, []).append((received - expected).days)
    return history


def _incoming(uow: UnitOfWork, item_id: int) -> list[eta_rules.IncomingStock]:
    rows = uow.session.execute(
        select(IncomingStock, Supplier.name)
        .outerjoin(Supplier, Supplier.id == IncomingStock.supplier_id)
        .where(IncomingStock.item_id == item_id, IncomingStock.status.in_(("open", "partial")))
    ).all()
    return [
        eta_rules.IncomingStock(row.id, row.quantity - row.quantity_received, row.expected_date, name)
        for row, name in rows
        if row.quantity > row.quantity_received
    ]


def refresh_etas(uow: UnitOfWork, merchant: Merchant, item: Item, now: datetime) -> None:
    """Recompute every waiting backorder's ETA; the promised date is kept from when it was ordered."""
    queue = waiting_queue(uow, item.id)
    if not queue:
        return
    policy = policy_of(item, merchant)
    etas = eta_rules.expected_wait(
        [QueuedUnits(b.id, units_waiting(b)) for b in queue],
        _incoming(uow, item.id),
        supplier_delays=supplier_delays(uow, merchant.id),
        today=merchant_today(merchant, now),
        lead_days=policy.lead_days,
        handling_days=policy.handling_days,
    )
    by_id = {b.id: b for b in queue}
    for estimate in etas:
        row = by_id[estimate.backorder_id]
        row.eta_date = estimate.ships_by
        if row.promised_date is None:
            row.promised_date = estimate.ships_by


def next_eta(
    uow: UnitOfWork, merchant: Merchant, item: Item, now: datetime, *, waiting: int | None = None
) -> date:
    """When a unit ordered now would ship."""
    if waiting is None:
        waiting = sum(units_waiting(b) for b in waiting_queue(uow, item.id))
    policy = policy_of(item, merchant)
    return eta_rules.next_unit_eta(
        waiting,
        _incoming(uow, item.id),
        supplier_delays=supplier_delays(uow, merchant.id),
        today=merchant_today(merchant, now),
        lead_days=policy.lead_days,
        handling_days=policy.handling_days,
    )


def availability(uow: UnitOfWork, merchant: Merchant, item: Item, now: datetime) -> dict:
    """What shoppers should see for an item: status, and at zero the wait text and expected date."""
    level = level_of(item, merchant)
    if level.sellable > 0:  # in stock: nothing waits (arrivals cover the queue first), no text to show
        return {"status": "in_stock", "available": level.sellable, "wait_text": None, "expected_date": None}
    waiting = sum(units_waiting(b) for b in waiting_queue(uow, item.id))
    policy = policy_of(item, merchant)
    today = merchant_today(merchant, now)
    expected = next_eta(uow, merchant, item, now, waiting=waiting) if level.sellable <= 0 else None
    wait_days = (expected - today).days if expected else None
    state = storefront_state(level.sellable, waiting, policy, expected_wait_days=wait_days)
    result = {"status": state, "available": level.sellable, "wait_text": None, "expected_date": None}
    if state == "backorder" and expected is not None:
        template = (merchant.settings or {}).get("wait_text_template")
        style = (merchant.settings or {}).get("wait_text_style", "range")
        result["wait_text"] = render_wait_text(
            expected, today, locale=merchant.locale, template=template, style=style
        )
        result["expected_date"] = expected.isoformat()
    return result


def after_stock_change(uow: UnitOfWork, merchant_id: int, item_ids: Iterable[int], now: datetime) -> int:
    """Allocate what arrived (returns the units given to waiting backorders), refresh ETAs, and queue
    storefront pushes for these items."""
    from connector.services import outbox, substitute_lists

    merchant = uow.session.get(Merchant, merchant_id)
    allocated = 0
    ids = sorted(set(item_ids))
    # Only items with a queue have anything to allocate or date: one query finds them among many.
    queued = select(Backorder.item_id).where(Backorder.item_id.in_(ids), Backorder.status == "waiting")
    with_queue = select(Item).where(Item.id.in_(queued)).order_by(Item.id)
    for item in list(uow.session.scalars(with_queue)):
        allocated += allocate(uow, merchant, item, now)
        refresh_etas(uow, merchant, item, now)
    outbox.enqueue_stock(uow, merchant_id, ids)
    substitute_lists.enqueue_substitutes(uow, merchant_id, ids, now)  # before states: reads the last one
    outbox.enqueue_state(uow, merchant_id, ids, now)
    return allocated


def overdue(today: date, backorder: Backorder, grace_days: int = 0) -> bool:
    return backorder.promised_date is not None and today > backorder.promised_date + timedelta(
        days=grace_days
    )
