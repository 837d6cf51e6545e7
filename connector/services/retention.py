"""How long the stock sync's records are kept: processed webhook deliveries and confirmed pushes are
deleted once older than `KEEP_DAYS` days (`backorder sync prune`, and daily by the clock), so the inbox
and the outbox do not grow without end: a busy store adds thousands of rows a minute to each.

Kept whatever their age: deliveries still waiting or failed, pushes pending, in flight or dead (each
waits for the worker or for a person), and a storefront's newest confirmed push of each other kind than
quantity (backorder state, substitute list, order tag) for each item, which records what the storefront
shows (`substitute_lists.shown_lists` and `_shown_status` read it). A confirmed quantity push is read by
nothing once done: what the store shows is kept on its listing. Shopify resends a delivery 8 times over 4
hours and WooCommerce not at all (it counts the failure, and disables the webhook after 5), so a resend
still finds its key in the inbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, select

from connector.db import UnitOfWork
from connector.models import InboxDelivery, OutboxRow

CHUNK = 1000  # rows looked at, and at most deleted, per transaction: writers wait for none of them long
DONE_WITH = ("processed", "ignored")


def prune(
    new_uow: Callable[[], UnitOfWork], before: datetime, *, chunk: int = CHUNK, tally: dict | None = None
) -> dict[str, int]:
    """Delete what is no longer needed from before `before`; how many rows of each table, counted into
    `tally` as each chunk commits (so a run that fails part way still says what it deleted)."""
    tally = {} if tally is None else tally
    tally.update(inbox=0, outbox=0)
    _prune_inbox(new_uow, before, chunk, tally)
    _prune_outbox(new_uow, before, chunk, tally)
    return tally


def _prune_inbox(new_uow: Callable[[], UnitOfWork], before: datetime, chunk: int, tally: dict) -> None:
    """Processed and ignored deliveries received before `before`."""
    gone = (InboxDelivery.status.in_(DONE_WITH), InboxDelivery.received_at < before)

    def doomed(_uow: UnitOfWork, rows: list) -> list[int]:
        return [row.id for row in rows if row.received_at < before and row.status in DONE_WITH]

    columns = (InboxDelivery.id, InboxDelivery.status, InboxDelivery.received_at)
    _walk(new_uow, columns, InboxDelivery.received_at, before, chunk, doomed, gone, tally, "inbox")


def _prune_outbox(new_uow: Callable[[], UnitOfWork], before: datetime, chunk: int, tally: dict) -> None:
    """Pushes confirmed before `before`: every quantity push, and every other one that a newer confirmed
    push of its kind, to the same storefront and item, superseded."""
    gone = (OutboxRow.status == "done", OutboxRow.done_at < before)

    def doomed(uow: UnitOfWork, rows: list) -> list[int]:
        done = [row for row in rows if row.status == "done" and row.done_at and row.done_at < before]
        states = [row for row in done if row.kind != "quantity"]
        newest = _newest_done(uow, states)  # a row deleted meanwhile (a store purged) is left alone
        superseded = [r.id for r in states if r.id < newest.get((r.channel_id, r.item_id, r.kind), r.id)]
        return [row.id for row in done if row.kind == "quantity"] + superseded

    columns = (
        OutboxRow.id,
        OutboxRow.merchant_id,
        OutboxRow.channel_id,
        OutboxRow.item_id,
        OutboxRow.kind,
        OutboxRow.status,
        OutboxRow.done_at,
        OutboxRow.created_at,
    )
    _walk(new_uow, columns, OutboxRow.created_at, before, chunk, doomed, gone, tally, "outbox")


def _walk(
    new_uow: Callable[[], UnitOfWork],
    columns: tuple,
    stamp,
    before: datetime,
    chunk: int,
    doomed: Callable[[UnitOfWork, list], list[int]],
    gone: tuple,
    tally: dict,
    name: str,
) -> None:
    """Delete the rows `doomed` picks, walking the table oldest first along its primary key (`columns[0]`)
    `chunk` rows per transaction; the delete checks `gone` again. The walk ends with the first chunk whose
    last row is stamped (`stamp`: when it came) at or after `before`, since ids follow arrival; a row
    older still beyond it waits for the next run. Counts what it deleted into `tally[name]`."""
    key = columns[0]
    last = 0
    while True:
        with new_uow() as uow:
            rows = uow.session.execute(select(*columns).where(key > last).order_by(key).limit(chunk)).all()
            old = doomed(uow, rows)
            deleted = uow.session.execute(delete(key.table).where(key.in_(old), *gone)).rowcount if old else 0
            uow.commit()
        tally[name] += deleted or 0
        if len(rows) < chunk or getattr(rows[-1], stamp.key) >= before:
            return
        last = rows[-1][0]


def _newest_done(uow: UnitOfWork, rows: list) -> dict[tuple[int, int, str], int]:
    """(channel, item, kind) → the newest confirmed push there, for the items of these rows."""
    newest: dict[tuple[int, int, str], int] = {}
    for merchant_id in {row.merchant_id for row in rows}:
        items = sorted({row.item_id for row in rows if row.merchant_id == merchant_id})
        kinds = sorted({row.kind for row in rows if row.merchant_id == merchant_id})
        found = uow.session.execute(
            select(OutboxRow.channel_id, OutboxRow.item_id, OutboxRow.kind, func.max(OutboxRow.id))
            .where(
                OutboxRow.merchant_id == merchant_id,  # ix_outbox_item_kind
                OutboxRow.kind.in_(kinds),
                OutboxRow.item_id.in_(items),
                OutboxRow.status == "done",
            )
            .group_by(OutboxRow.channel_id, OutboxRow.item_id, OutboxRow.kind)
        )
        newest.update({(channel, item, kind): top for channel, item, kind, top in found})
    return newest
