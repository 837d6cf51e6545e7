"""The dispatcher's substitute pushes: each due listing's list, computed now, as ids of the same channel.

Like quantities, a list is computed when it is sent (from stock now, against the merchant's catalogue
index), so the latest wins. A list equal to what the storefront shows is settled without a call. Shopify
keeps one list per product and WooCommerce writes cross-sells on the parent product, so the lists of a
product's other listings go in the same call with what they show: a push for one variant never wipes
what a sibling shows. A row is done, holding the list, only when the storefront confirmed it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from adapters.base import Outcome, SubstituteList
from adapters.errors import ChannelError
from connector.errors import InvalidInput
from connector.models import Channel, Item, Listing, Merchant, OutboxRow
from connector.services import substitute_index
from connector.services.dispatch_states import _due
from connector.services.ledger import level_of
from connector.services.substitute_lists import KIND, queue_again_if_named_out, shown_lists
from connector.services.substitutes import rank_items, settings_of

MAX_ITEMS_PER_ROUND = 250  # lists ranked per round: a round's transactions stay short


@dataclass(frozen=True)
class _ListPush:
    item_id: int
    entry: SubstituteList
    payload: dict  # the list, kept in the rows once confirmed
    up_to_row: int  # rows of this item with ids up to this one are covered by this push


def send_substitutes(new_uow, channel_id: int, port, now, *, policy, rng, report) -> None:
    """Compute due lists and push the changed ones in the largest batches, a product's lists together."""
    with new_uow() as uow:
        if not _due(uow, channel_id, KIND, now()):
            return
        merchant_id = uow.session.get(Channel, channel_id).merchant_id
    substitute_index.prepare(new_uow, merchant_id)
    pushes, siblings = _plan(new_uow(), channel_id, now(), policy, rng, report)
    for batch in _batches(pushes, port.max_state_batch):
        products = {p.entry.ref.product_id for p in batch}
        together = [s for s in siblings if s.ref.product_id in products]
        try:
            outcomes = port.set_substitutes([p.entry for p in batch] + together)
        except ChannelError as error:
            _record(new_uow(), channel_id, batch, [], now(), policy, rng, report, error=error)
            report.errors.append(f"{type(error).__name__}: {error}")
            return
        _record(new_uow(), channel_id, batch, outcomes[: len(batch)], now(), policy, rng, report)


def _plan(uow, channel_id: int, now, policy, rng, report) -> tuple[list[_ListPush], list[SubstituteList]]:
    from connector.services.dispatch import _retry_later

    with uow:
        due = _due(uow, channel_id, KIND, now)
        latest: dict[int, int] = {}
        for row_id, item_id in due:
            if item_id in latest or len(latest) < MAX_ITEMS_PER_ROUND:
                latest[item_id] = row_id
        if not latest:
            return [], []
        rows = {
            row.id: row
            for row in uow.session.scalars(select(OutboxRow).where(OutboxRow.id.in_([r for r, _ in due])))
        }
        mine = {i: [rows[r] for r, item in due if item == i and r <= latest[i]] for i in latest}
        channel = uow.session.get(Channel, channel_id)
        merchant = uow.session.get(Merchant, channel.merchant_id)
        try:
            settings = settings_of(merchant)
        except InvalidInput as error:  # nothing can be computed until the merchant's settings are fixed
            _retry_later(
                [r for group in mine.values() for r in group],
                str(error),
                now,
                policy,
                rng,
                report,
                permanent=False,
            )
            uow.commit()
            return [], []
        listings = _listings(uow, channel_id, Listing.item_id.in_(list(latest)))
        wanted = _wanted(uow, merchant, settings, channel_id, list(listings))
        shows = shown_lists(
            uow, merchant.id, select(Item.id).where(Item.id.in_(list(latest))), channel_id=channel_id
        )
        refs = {
            item_id: listing.ref
            for item_id, listing in _listings(
                uow,
                channel_id,
                Listing.item_id.in_(sorted({i for w in wanted.values() for i in w["item_ids"]})),
            ).items()
        }
        pushes, settled = [], {}
        for item_id, group in mine.items():
            payload = wanted.get(item_id)
            if payload is None or payload["item_ids"] == shows.get((channel_id, item_id), []):
                # Nothing to change there (or no longer listed here): settled without a call.
                for row in group:
                    row.status, row.done_at, row.payload = (
                        "done",
                        now,
                        payload or {"item_ids": [], "skus": []},
                    )
                settled[item_id] = (payload or {}).get("item_ids", [])
                continue
            found = tuple(refs[i] for i in payload["item_ids"])
            entry = SubstituteList(listings[item_id].ref, found, cross_sell=settings.cross_sell)
            pushes.append(_ListPush(item_id, entry, payload, latest[item_id]))
            for row in group:
                row.status = "in_flight"
        siblings = _siblings(uow, merchant, channel_id, pushes, settings.cross_sell)
        queue_again_if_named_out(uow, merchant, settled)
        uow.commit()
    return pushes, siblings


def _wanted(uow, merchant: Merchant, settings, channel_id: int, item_ids: list[int]) -> dict[int, dict]:
    """The list each item should show on this channel now: none in stock, else its substitutes there."""
    items = list(uow.session.scalars(select(Item).where(Item.id.in_(item_ids)).order_by(Item.id)))
    out = [i for i in items if level_of(i, merchant).sellable <= 0]
    ranked = rank_items(uow, merchant, out, settings, channel_id=channel_id)
    wanted = {i.id: {"item_ids": [], "skus": []} for i in items}
    for item_id, found in ranked.items():
        wanted[item_id] = {"item_ids": [i.id for i in found.items], "skus": [i.sku for i in found.items]}
    return wanted


def _siblings(
    uow, merchant, channel_id: int, pushes: list[_ListPush], cross_sell: bool
) -> list[SubstituteList]:
    """The other listings of the pushed products, each with the list it shows."""
    products = sorted({p.entry.ref.product_id for p in pushes})
    if not products:
        return []
    pushed = {p.item_id for p in pushes}
    others = {
        i: listing
        for i, listing in _listings(uow, channel_id, Listing.product_id.in_(products)).items()
        if i not in pushed
    }
    shows = shown_lists(
        uow, merchant.id, select(Item.id).where(Item.id.in_(list(others))), channel_id=channel_id
    )
    named = sorted({i for listed in shows.values() for i in listed})
    refs = {i: listing.ref for i, listing in _listings(uow, channel_id, Listing.item_id.in_(named)).items()}
    return [
        SubstituteList(
            listing.ref,
            tuple(refs[i] for i in shows.get((channel_id, item_id), []) if i in refs),
            cross_sell=cross_sell,
        )
        for item_id, listing in others.items()
    ]


def _record(uow, channel_id, batch, outcomes: list[Outcome], now, policy, rng, report, *, error=None) -> None:
    from connector.services.dispatch import _retry_later, _rows_of

    by_ref = {o.ref: o for o in outcomes}
    shown: dict[int, list[int]] = {}
    with uow:
        rows = _rows_of(uow, channel_id, batch, KIND)
        for push in batch:
            mine = rows.get(push.item_id, [])
            if error is not None:
                reason = f"{type(error).__name__}: {error}"
                _retry_later(
                    mine, reason, now, policy, rng, report, permanent=False, count_attempt=error.retryable
                )
                continue
            outcome = by_ref.get(push.entry.ref) or Outcome(
                push.entry.ref, "failed", "not reported by the storefront"
            )
            if outcome.status == "ok":
                for row in mine:
                    row.status, row.done_at, row.last_error, row.payload = "done", now, None, push.payload
                report.confirmed += 1
                shown[push.item_id] = push.payload["item_ids"]
            else:
                reason = f"{outcome.status}: {outcome.reason}"
                _retry_later(mine, reason, now, policy, rng, report, permanent=outcome.status == "not_found")
        if shown:
            channel = uow.session.get(Channel, channel_id)
            queue_again_if_named_out(uow, uow.session.get(Merchant, channel.merchant_id), shown)
        uow.commit()


def _batches(pushes: list[_ListPush], size: int) -> Iterator[list[_ListPush]]:
    """Batches of at most `size` pushes that keep a product's pushes together (unless it alone is larger)."""
    by_product: dict[str, list[_ListPush]] = {}
    for push in pushes:
        by_product.setdefault(push.entry.ref.product_id, []).append(push)
    batch: list[_ListPush] = []
    for group in by_product.values():
        if batch and len(batch) + len(group) > size:
            yield batch
            batch = []
        batch.extend(group)
        while len(batch) > size:
            yield batch[:size]
            batch = batch[size:]
    if batch:
        yield batch


def _listings(uow, channel_id: int, *conditions) -> dict[int, Listing]:
    query = select(Listing).where(Listing.channel_id == channel_id, *conditions).order_by(Listing.id)
    return {listing.item_id: listing for listing in uow.session.scalars(query)}
