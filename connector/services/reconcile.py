"""Reconciliation: compare every linked listing's storefront quantity with the ledger and repair drift.

The storefront is compared with two numbers: what we believe it shows (our last confirmed push, less
what it sold itself) and what the ledger wants it to show. Storefront equal to our belief but not to
the ledger: a push failed or is still queued, so queue it. Storefront different from our belief: an edit
made on the storefront (or an order whose webhook never came), so record it in the ledger, then push.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from adapters.base import Channel as ChannelPort
from adapters.base import ListingRef
from connector.db import UnitOfWork
from connector.models import Channel, InboxDelivery, Item, Listing, Merchant, utcnow
from connector.services import ledger, spool
from connector.services.backorders import after_stock_change
from connector.services.ledger import level_of

READ_CHUNK = 250


@dataclass
class Repair:
    sku: str
    storefront: int | None
    ledger: int
    reason: str


@dataclass
class ReconcileReport:
    channel_id: int
    checked: int = 0
    repairs: list[Repair] = field(default_factory=list)
    skipped: str = ""


def reconcile_channel(
    new_uow: Callable[[], UnitOfWork], channel_id: int, port: ChannelPort
) -> ReconcileReport:
    """Check every linked listing of one channel; repairs go through the ledger and the outbox."""
    report = ReconcileReport(channel_id)
    spool.move(new_uow)  # deliveries spooled on SQLite count as waiting too
    with new_uow() as uow:
        channel = uow.session.get(Channel, channel_id)
        if uow.session.scalar(
            select(InboxDelivery.id).where(
                InboxDelivery.channel_id == channel_id, InboxDelivery.status == "received"
            )
        ):
            report.skipped = "webhook deliveries are still waiting to be processed; try again shortly"
            return report
        listings = uow.session.execute(
            select(Listing.id, Listing.product_id, Listing.variant_id, Listing.inventory_item_id)
            .where(Listing.channel_id == channel_id)
            .order_by(Listing.id)
        ).all()
        merchant_id = channel.merchant_id
    run = uuid.uuid4().hex[:12]
    for start in range(0, len(listings), READ_CHUNK):
        chunk = listings[start : start + READ_CHUNK]
        refs = {row.id: ListingRef(row.product_id, row.variant_id, row.inventory_item_id) for row in chunk}
        seen = port.read_quantities(list(refs.values()))
        with new_uow() as uow:
            _compare(uow, merchant_id, channel_id, refs, seen, run, report)
            uow.commit()
    return report


def _compare(uow, merchant_id, channel_id, refs, seen, run, report: ReconcileReport) -> None:
    merchant = uow.session.get(Merchant, merchant_id)
    rows = uow.session.execute(
        select(Listing, Item).join(Item, Item.id == Listing.item_id).where(Listing.id.in_(refs))
    ).all()
    adjustments: list[ledger.Movement] = []
    to_push: set[int] = set()
    for listing, item in rows:
        report.checked += 1
        storefront = seen.get(refs[listing.id])
        wanted = level_of(item, merchant).sellable
        believed = listing.last_pushed_quantity
        if storefront is None:
            report.repairs.append(
                Repair(item.sku, None, wanted, "the storefront does not track this item's stock")
            )
            to_push.add(item.id)
        elif storefront == wanted:
            listing.last_pushed_quantity = storefront
        elif believed is None or storefront == believed:
            report.repairs.append(Repair(item.sku, storefront, wanted, "a push failed or is still queued"))
            to_push.add(item.id)
        else:
            delta = max(storefront - believed, -item.on_hand)  # on hand never goes below zero
            key = f"reconcile:{channel_id}:{run}:{item.sku}"
            adjustments.append(
                ledger.Movement(item.sku, "adjust", delta, key, reason="edited on the storefront")
            )
            listing.last_pushed_quantity = storefront
            report.repairs.append(
                Repair(
                    item.sku,
                    storefront,
                    wanted + delta,
                    f"edited on the storefront or a missed webhook ({delta:+d})",
                )
            )
            to_push.add(item.id)
    if adjustments:
        ledger.apply(uow, merchant_id, adjustments)
    # Stock raised on a storefront goes to waiting backorders first, like any arrival.
    after_stock_change(uow, merchant_id, to_push, utcnow())
