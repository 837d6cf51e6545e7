"""Outbox rows: a storefront change written in the same transaction as the change that caused it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update

from connector.db import UnitOfWork
from connector.models import Channel, Item, Listing, Merchant, OutboxRow
from connector.services.ledger import level_of


def enqueue_stock(uow: UnitOfWork, merchant_id: int, item_ids: Iterable[int]) -> int:
    """Queue a quantity push for every active listing of these items; returns the rows written.

    The row records the quantity wanted now; the dispatcher sends whatever the ledger says when it
    sends, so a burst of changes to one item coalesces into one push of the latest number."""
    ids = sorted(set(item_ids))
    if not ids:
        return 0
    merchant = uow.session.get(Merchant, merchant_id)
    rows = [
        OutboxRow(
            merchant_id=merchant_id,
            channel_id=listing.channel_id,
            item_id=item.id,
            kind="quantity",
            payload={"quantity": level_of(item, merchant).sellable},
        )
        for listing, item in _active_listings(uow, merchant_id, ids)
    ]
    uow.session.add_all(rows)
    return len(rows)


def status_by_channel(uow: UnitOfWork) -> list[dict[str, object]]:
    """Pending, in-flight and dead rows per channel (what `backorder outbox status` shows)."""
    query = (
        select(OutboxRow.channel_id, OutboxRow.status, func.count())
        .where(OutboxRow.status != "done")
        .group_by(OutboxRow.channel_id, OutboxRow.status)
    )
    table: dict[int, dict[str, object]] = {}
    for channel_id, status, count in uow.session.execute(query):
        row = table.setdefault(channel_id, {"channel": channel_id, "pending": 0, "in_flight": 0, "dead": 0})
        row[status] = count
    return [table[k] for k in sorted(table)]


def retry_dead(uow: UnitOfWork, now: datetime, channel_id: int | None = None) -> int:
    """Requeue dead rows (after the cause was fixed); returns how many."""
    statement = update(OutboxRow).where(OutboxRow.status == "dead")
    if channel_id is not None:
        statement = statement.where(OutboxRow.channel_id == channel_id)
    result = uow.session.execute(
        statement.values(status="pending", attempts=0, last_error=None, next_attempt_at=now)
    )
    return result.rowcount or 0


def _active_listings(uow: UnitOfWork, merchant_id: int, item_ids: list[int]):
    """(listing, item) for every listing of these items on an active channel."""
    return uow.session.execute(
        select(Listing, Item)
        .join(Item, Item.id == Listing.item_id)
        .join(Channel, Channel.id == Listing.channel_id)
        .where(Listing.merchant_id == merchant_id, Listing.item_id.in_(item_ids), Channel.status == "active")
    )


def enqueue_state(uow: UnitOfWork, merchant_id: int, item_ids: Iterable[int], now: datetime) -> int:
    """Queue a backorder-state push for every active listing whose shown state should change."""
    from connector.services.backorders import availability

    ids = sorted(set(item_ids))
    if not ids:
        return 0
    merchant = uow.session.get(Merchant, merchant_id)
    queued = _queued_states(uow, ids)
    wanted: dict[int, dict] = {}
    rows = []
    for listing, item in _active_listings(uow, merchant_id, ids):
        if item.id not in wanted:
            wanted[item.id] = shown_state(availability(uow, merchant, item, now))
        # What the storefront will show once its queue is sent: the newest state still waiting or in
        # flight, else the last one it confirmed; a listing never pushed to shows "in stock".
        shown = (
            queued.get((listing.channel_id, item.id)) or listing.last_pushed_state or {"status": "in_stock"}
        )
        if shown != wanted[item.id]:
            rows.append(
                OutboxRow(
                    merchant_id=merchant_id,
                    channel_id=listing.channel_id,
                    item_id=item.id,
                    kind="backorder_state",
                    payload=wanted[item.id],
                )
            )
    uow.session.add_all(rows)
    return len(rows)


def _queued_states(uow: UnitOfWork, item_ids: list[int]) -> dict[tuple[int, int], dict]:
    """(channel, item) → the newest backorder state still pending or in flight there."""
    newest = (
        select(func.max(OutboxRow.id))
        .where(
            OutboxRow.kind == "backorder_state",
            OutboxRow.item_id.in_(item_ids),
            OutboxRow.status.in_(("pending", "in_flight")),
        )
        .group_by(OutboxRow.channel_id, OutboxRow.item_id)
    )
    rows = uow.session.execute(
        select(OutboxRow.channel_id, OutboxRow.item_id, OutboxRow.payload).where(OutboxRow.id.in_(newest))
    )
    return {(channel, item): payload for channel, item, payload in rows}


def shown_state(availability: dict) -> dict:
    """The part of an item's availability a storefront shows as its backorder state."""
    if availability["status"] == "in_stock":
        return {"status": "in_stock"}
    return {k: availability[k] for k in ("status", "wait_text", "expected_date")}
