"""Substitute lists on storefronts: which lists a stock change may move, queued as outbox rows.

Nothing is ranked here: a stock change only decides, with a few cheap queries, whose lists to look at
again, and the dispatcher computes each list when it sends (as it computes quantities), so the stock
change's transaction stays short. Lists are looked at again for an item that ran out (it needs one)
or came back (its list goes), for items whose list on a storefront names an item that ran out, and,
when an item comes back in stock, for the out-of-stock items of its product type.

A `substitutes` row's payload is empty until the dispatcher settles it; then it holds the list that the
storefront shows (`{"item_ids": […], "skus": […]}`), so the latest done row of a (channel, item) is
what that storefront shows now.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import Select, func, or_, select

from connector.db import UnitOfWork
from connector.models import Channel, Item, Listing, Merchant, OutboxRow
from connector.services.substitutes import can_ship_now

KIND = "substitutes"
CHUNK = 500  # ids per IN (…) list


def enqueue_substitutes(uow: UnitOfWork, merchant_id: int, item_ids: Iterable[int], now: datetime) -> int:
    """After a stock change (before its backorder states are queued): queue the lists it may move."""
    ids = set(item_ids)
    merchant = uow.session.get(Merchant, merchant_id)
    if not ids or merchant is None or not _has_listings(uow, merchant_id):
        return 0
    out = _out_of_stock(uow, merchant, ids)
    before = _shown_status(uow, ids)
    shown = shown_lists(uow, merchant_id, select(Item.id).where(Item.id.in_(ids)))
    listing_something = {item_id for (_, item_id), listed in shown.items() if listed}
    ran_out = {i for i in out if before.get(i, "in_stock") == "in_stock"}
    came_back = {i for i in ids - out if before.get(i, "in_stock") != "in_stock"}
    targets = ran_out | (out - _ever_listed(uow, out)) | ((ids - out) & listing_something)
    targets |= _naming(uow, merchant, ran_out, shown)
    targets |= _waiting_for(uow, merchant, came_back)
    return queue_lists(uow, merchant_id, targets)


def _naming(uow, merchant: Merchant, ran_out: set[int], shown: dict) -> set[int]:
    """Items whose list on some storefront names one of `ran_out`, items that have just run out: among
    the out-of-stock items, and those whose lists are already in `shown` (the changed ones). Only an item
    running out needs the search, a pass over the list of every out-of-stock item: lists are made of
    items in stock, so once the lists naming it are recomputed, none names it until it is back, and a
    stock change to an item already out leaves every list as it is."""
    if not ran_out:
        return set()
    out_of_stock = select(Item.id).where(Item.merchant_id == merchant.id, ~can_ship_now(merchant))
    everywhere = {**shown_lists(uow, merchant.id, out_of_stock), **shown}
    return {item_id for (_, item_id), listed in everywhere.items() if ran_out.intersection(listed)}


def queue_again_if_named_out(uow: UnitOfWork, merchant: Merchant, shown: dict[int, list[int]]) -> int:
    """After lists were recorded as shown (item → the ids it names): queue again those naming an item out
    of stock by now. It ran out while its list was being computed or sent, when the search for the lists
    naming it (`_naming`) could not see this one yet."""
    out = _out_of_stock(uow, merchant, {i for listed in shown.values() for i in listed})
    stale = {item_id for item_id, listed in shown.items() if out.intersection(listed)}
    return queue_lists(uow, merchant.id, stale) if stale else 0


def _out_of_stock(uow, merchant: Merchant, ids: set[int]) -> set[int]:
    """Those of these items the storefronts cannot sell from stock now."""
    if not ids:
        return set()
    return set(uow.session.scalars(select(Item.id).where(Item.id.in_(ids), ~can_ship_now(merchant))))


def refresh_substitutes(
    uow: UnitOfWork, merchant_id: int, now: datetime, *, only: Collection[int] | None = None
) -> int:
    """Queue every list of a merchant to be computed again (or only those of the `only` items): after a
    settings change, and on a schedule for what stock changes alone do not catch."""
    merchant = uow.session.get(Merchant, merchant_id)
    if merchant is None or not _has_listings(uow, merchant_id):
        return 0
    targets = set(only) if only is not None else lists_to_refresh(uow, merchant_id)
    return queue_lists(uow, merchant_id, targets)


def lists_to_refresh(uow: UnitOfWork, merchant_id: int) -> set[int]:
    """Listed items that are out of stock, and items whose list on some storefront is not empty."""
    merchant = uow.session.get(Merchant, merchant_id)
    shown = shown_lists(uow, merchant_id, select(Item.id).where(Item.merchant_id == merchant_id))
    out_of_stock = uow.session.scalars(
        select(Item.id).where(
            Item.merchant_id == merchant_id,
            ~can_ship_now(merchant),
            Item.id.in_(select(Listing.item_id).where(Listing.merchant_id == merchant_id)),
        )
    )
    return set(out_of_stock) | {item_id for (_, item_id), listed in shown.items() if listed}


def queue_lists(uow: UnitOfWork, merchant_id: int, item_ids: Collection[int]) -> int:
    """One row per active listing of these items, unless one is already waiting there."""
    rows = []
    for chunk in _chunks(sorted(item_ids)):
        waiting = {
            (channel_id, item_id)
            for channel_id, item_id in uow.session.execute(
                select(OutboxRow.channel_id, OutboxRow.item_id).where(
                    OutboxRow.kind == KIND, OutboxRow.status == "pending", OutboxRow.item_id.in_(chunk)
                )
            )
        }
        rows += [
            OutboxRow(merchant_id=merchant_id, channel_id=channel_id, item_id=item_id, kind=KIND, payload={})
            for channel_id, item_id in _active_listings(uow, chunk)
            if (channel_id, item_id) not in waiting
        ]
    uow.session.add_all(rows)
    return len(rows)


def shown_lists(
    uow: UnitOfWork, merchant_id: int, item_ids: Select, *, channel_id: int | None = None
) -> dict[tuple[int, int], list[int]]:
    """(channel, item) → the substitute item ids that storefront shows, for the items selected."""
    newest = select(func.max(OutboxRow.id)).where(
        OutboxRow.merchant_id == merchant_id,
        OutboxRow.kind == KIND,
        OutboxRow.status == "done",
        OutboxRow.item_id.in_(item_ids),
    )
    if channel_id is not None:
        newest = newest.where(OutboxRow.channel_id == channel_id)
    rows = uow.session.execute(
        select(OutboxRow.channel_id, OutboxRow.item_id, OutboxRow.payload).where(
            OutboxRow.id.in_(newest.group_by(OutboxRow.channel_id, OutboxRow.item_id))
        )
    )
    return {(channel, item): list(payload.get("item_ids") or []) for channel, item, payload in rows}


def _shown_status(uow, ids: set[int]) -> dict[int, str]:
    """What the storefronts were last asked to show for each item: in_stock, backorder or sold_out."""
    shown: dict[int, str] = {}
    for item_id, state in uow.session.execute(
        select(Listing.item_id, Listing.last_pushed_state).where(Listing.item_id.in_(ids))
    ):
        if state:
            shown[item_id] = state.get("status", "in_stock")
    # A state still queued is newer than what was last confirmed.
    newest = (
        select(func.max(OutboxRow.id))
        .where(
            OutboxRow.kind == "backorder_state",
            OutboxRow.item_id.in_(ids),
            OutboxRow.status != "dead",  # never shown
        )
        .group_by(OutboxRow.item_id)
    )
    for item_id, payload in uow.session.execute(
        select(OutboxRow.item_id, OutboxRow.payload).where(OutboxRow.id.in_(newest))
    ):
        shown[item_id] = payload.get("status", "in_stock")
    return shown


def _ever_listed(uow, ids: set[int]) -> set[int]:
    """Items whose list has been asked for before (an out-of-stock item without one needs one)."""
    if not ids:
        return set()
    return set(
        uow.session.scalars(
            select(OutboxRow.item_id).where(OutboxRow.kind == KIND, OutboxRow.item_id.in_(ids))
        )
    )


def _waiting_for(uow, merchant: Merchant, back: set[int]) -> set[int]:
    """Listed out-of-stock items of the same product type (or brand, for untyped items) as these."""
    if not back:
        return set()
    items = list(uow.session.scalars(select(Item).where(Item.id.in_(back))))
    types = {i.product_type for i in items if i.product_type}
    vendors = {i.vendor for i in items if not i.product_type and i.vendor}
    if not types and not vendors:
        return set()
    return set(
        uow.session.scalars(
            select(Item.id).where(
                Item.merchant_id == merchant.id,
                ~can_ship_now(merchant),
                or_(Item.product_type.in_(types), Item.vendor.in_(vendors)),
                Item.id.in_(select(Listing.item_id).where(Listing.merchant_id == merchant.id)),
            )
        )
    )


def _has_listings(uow, merchant_id: int) -> bool:
    query = (
        select(Listing.id)
        .join(Channel, Channel.id == Listing.channel_id)
        .where(Listing.merchant_id == merchant_id, Channel.status == "active")
        .limit(1)
    )
    return uow.session.scalar(query) is not None


def _active_listings(uow, item_ids: Sequence[int]) -> list[tuple[int, int]]:
    query = (
        select(Listing.channel_id, Listing.item_id)
        .join(Channel, Channel.id == Listing.channel_id)
        .where(Listing.item_id.in_(item_ids), Channel.status == "active")
        .order_by(Listing.channel_id, Listing.item_id)
    )
    return [(channel_id, item_id) for channel_id, item_id in uow.session.execute(query)]


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
