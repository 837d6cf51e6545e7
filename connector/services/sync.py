"""Turning storefront events into ledger movements and outbox rows, idempotently.

Order lines commit stock under keys built from channel, order and line, so a duplicate or retried
delivery changes nothing. A storefront stock change is compared with what we believe the storefront
shows (`Listing.last_pushed_quantity`, kept up to date by our confirmed pushes and by the orders the
storefront took itself): equal means an echo or an order already counted. Different is not yet an
edit: webhooks arrive late, twice and out of order, so the number may predate orders we have counted
or come before orders still queued. Once late order deliveries had time to arrive and none from that
store is waiting, the storefront is asked what it shows now: only a number that still differs from
ours, and equals the one announced, is an edit made outside, and becomes a ledger adjustment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from adapters.base import (
    AppUninstalled,
    ComplianceRequest,
    Event,
    Ignored,
    OrderCancelled,
    OrderInfo,
    OrderLineInfo,
    OrderPlaced,
    OrderUpdated,
    StockChanged,
)
from adapters.base import Channel as ChannelPort
from adapters.errors import ChannelError
from connector.db import UnitOfWork
from connector.models import (
    Backorder,
    Channel,
    InboxDelivery,
    Item,
    Listing,
    Merchant,
    Order,
    OrderLine,
    OutboxRow,
)
from connector.models.messaging import ORDER_DELIVERY
from connector.services import backorders, ledger, lifecycle, shown

# How long a storefront stock change waits for order deliveries that may explain it.
EXPLAIN_GRACE = timedelta(seconds=10)
# How soon it looks again while such deliveries, or a push of ours to that listing, are under way.
RECHECK = timedelta(seconds=2)
# How soon it asks again when the storefront could not answer.
STORE_AWAY = timedelta(seconds=15)


class Deferred(Exception):
    """Not yet: process this delivery again after `until`."""

    def __init__(self, until: datetime):
        super().__init__(f"deferred until {until.isoformat()}")
        self.until = until


@dataclass(frozen=True)
class Applied:
    summary: str


@dataclass
class Touched:
    """Items whose stock moved, per merchant, followed up (allocation, ETAs, storefront pushes) once
    all the events of a transaction are applied: a batch of deliveries pays for it once, not per event."""

    items: dict[int, set[int]] = field(default_factory=dict)

    def add(self, merchant_id: int, item_ids) -> None:
        self.items.setdefault(merchant_id, set()).update(item_ids)

    def merge(self, other: Touched) -> None:
        for merchant_id, ids in other.items.items():
            self.add(merchant_id, ids)

    def follow_up(self, uow: UnitOfWork, now: datetime) -> None:
        for merchant_id, ids in sorted(self.items.items()):
            backorders.after_stock_change(uow, merchant_id, ids, now)
        self.items.clear()


def apply_event(
    uow: UnitOfWork,
    channel: Channel,
    event: Event,
    *,
    received_at: datetime,
    now: datetime,
    touched: Touched | None = None,
    port: ChannelPort | None = None,
) -> Applied:
    """Apply one event inside the caller's transaction. With `touched`, the follow-up of the stock it
    moved is left to the caller (`touched.follow_up`, before committing); without, it is done here.
    `port` is the channel's storefront, asked for its current number before a stock change that
    disagrees with ours is taken for an edit."""
    mine = Touched()
    applied = _apply(uow, channel, event, received_at=received_at, now=now, touched=mine, port=port)
    if touched is None:
        mine.follow_up(uow, now)
    else:
        touched.merge(mine)
    return applied


def _apply(uow, channel, event, *, received_at, now, touched: Touched, port) -> Applied:
    if orders_only([event]):
        return Applied(orders_seen(uow, [(None, channel, [event])], now, touched)[None][0])
    if isinstance(event, OrderCancelled):
        _order_seen(uow, channel, event.order, now, touched)
        return _order_cancelled(uow, channel, event.order, restock=event.restock, touched=touched)
    if isinstance(event, OrderUpdated):  # a cancelled one (`orders_only` took the others)
        if _is_stale(uow, channel, event.order):
            return Applied(f"order {event.order.order_id}: older than what we have, ignored")
        _order_seen(uow, channel, event.order, now, touched)
        return _order_cancelled(uow, channel, event.order, restock=True, touched=touched)
    if isinstance(event, StockChanged):
        return _stock_changed(
            uow, channel, event, received_at=received_at, now=now, touched=touched, port=port
        )
    if isinstance(event, Ignored):
        return Applied(f"ignored: {event.reason}")
    if isinstance(event, AppUninstalled):
        return Applied(lifecycle.app_uninstalled(uow, channel, event, now=now))
    if isinstance(event, ComplianceRequest):
        return Applied(lifecycle.compliance_request(uow, channel, event, now=now))
    return Applied(f"no action for {type(event).__name__}")


def _is_stale(uow: UnitOfWork, channel: Channel, info: OrderInfo) -> bool:
    stored = uow.session.scalar(
        select(Order.platform_updated_at).where(
            Order.channel_id == channel.id, Order.external_id == info.order_id
        )
    )
    return _older(info, stored)


def order_line_key(channel: Channel, order_id: str, line_id: str) -> str:
    return f"{channel.kind}:{channel.address}:order:{order_id}:line:{line_id}"


def _order_seen(
    uow: UnitOfWork, channel: Channel, info: OrderInfo, now: datetime, touched: Touched
) -> Applied:
    """Record an order once (`orders_seen` for one): its lines commit stock."""
    return Applied(orders_seen(uow, [(None, channel, [OrderPlaced(info)])], now, touched)[None][0])


def orders_only(events: list[Event] | None) -> bool:
    """Whether a delivery's events are all orders placed or updated (not cancelled): `orders_seen` takes
    those together."""
    return bool(events) and all(
        isinstance(event, OrderPlaced) or (isinstance(event, OrderUpdated) and not event.order.cancelled)
        for event in events
    )


def orders_seen(uow: UnitOfWork, deliveries: list[tuple], now: datetime, touched: Touched) -> dict:
    """Apply deliveries of placed and updated orders (`orders_only`), given as (key, channel, events),
    together: what `apply_event` does for each, with a handful of queries for all of them instead of a
    score for each order. Returns each key's notes. Raises what `apply_event` would; the caller then
    undoes the lot and applies the deliveries one by one.

    Orders are looked up at once, new ones inserted at once, their items locked at once (in id order,
    like `ledger.apply`) and their lines committed in delivery order against those locked rows."""
    session = uow.session
    wanted: dict[int, set[str]] = {}
    for _key, channel, events in deliveries:
        wanted.setdefault(channel.id, set()).update(event.order.order_id for event in events)
    known = {
        (order.channel_id, order.external_id): order
        for order in session.scalars(
            select(Order).where(
                or_(*(and_(Order.channel_id == c, Order.external_id.in_(ids)) for c, ids in wanted.items()))
            )
        )
    }
    notes: dict = {}
    placed: list[tuple[Channel, OrderInfo, Order, list[str], int]] = []
    for key, channel, events in deliveries:
        notes[key] = []
        for event in events:
            info = event.order
            order = known.get((channel.id, info.order_id))
            if order is None:
                order = _new_order(channel, info)
                session.add(order)
                known[(channel.id, info.order_id)] = order
                placed.append((channel, info, order, notes[key], len(notes[key])))
                notes[key].append("")  # filled in once its lines are committed
            elif isinstance(event, OrderUpdated) and _older(info, order.platform_updated_at):
                notes[key].append(f"order {info.order_id}: older than what we have, ignored")
            else:
                notes[key].append(_seen_again(order, info))
    if placed:
        session.flush()  # the new orders' ids
        _commit_lines(uow, placed, now, touched)
    return notes


def _new_order(channel: Channel, info: OrderInfo) -> Order:
    return Order(
        merchant_id=channel.merchant_id,
        channel_id=channel.id,
        external_id=info.order_id,
        number=info.number,
        customer_name=info.customer_name,
        customer_email=info.customer_email,
        placed_at=info.placed_at,
        platform_updated_at=info.updated_at,
    )


def _older(info: OrderInfo, recorded: datetime | None) -> bool:
    """An order update older than the update time recorded for the order."""
    return bool(recorded and info.updated_at and info.updated_at < recorded)


def _seen_again(order: Order, info: OrderInfo) -> str:
    """An order already recorded: only a newer update time is kept."""
    if info.updated_at and order.platform_updated_at and info.updated_at <= order.platform_updated_at:
        return f"order {info.order_id}: older or same update, ignored"
    order.platform_updated_at = info.updated_at or order.platform_updated_at
    return f"order {info.order_id}: already recorded"


def _commit_lines(uow: UnitOfWork, placed: list, now: datetime, touched: Touched) -> None:
    """The lines of new orders (channel, info, order, notes, index of its note): items found and locked
    in one query per merchant, then each line split and committed in turn, as `_order_seen` does."""
    session = uow.session
    listings: dict[tuple[int, object], Listing | None] = {}

    def listing_of(channel: Channel, line: OrderLineInfo) -> Listing | None:
        return listings.get((channel.id, line.ref)) if line.ref else None

    for channel_id in {channel.id for channel, *_ in placed}:
        refs = {line.ref for c, info, *_ in placed if c.id == channel_id for line in info.lines if line.ref}
        listings.update(
            ((channel_id, ref), found) for ref, found in _listings_for(uow, channel_id, refs).items()
        )
    merchants: dict[int, tuple[Merchant, dict[int, Item], dict[str, Item], dict]] = {}
    for merchant_id in sorted({channel.merchant_id for channel, *_ in placed}):
        ids, skus, keys = set(), set(), []
        for channel, info, *_ in placed:
            if channel.merchant_id != merchant_id:
                continue
            for line in info.lines:
                listing = listing_of(channel, line)
                if listing is not None:
                    ids.add(listing.item_id)
                elif line.sku:
                    skus.add(line.sku)
                keys.append(order_line_key(channel, info.order_id, line.line_id))
        query = select(Item).where(Item.merchant_id == merchant_id, or_(Item.id.in_(ids), Item.sku.in_(skus)))
        locked = query.order_by(Item.id).with_for_update(key_share=True)  # as ledger.apply locks
        items = session.scalars(locked.execution_options(populate_existing=True)).all()
        merchants[merchant_id] = (
            session.get(Merchant, merchant_id),
            {item.id: item for item in items},
            {item.sku: item for item in items},
            ledger.previous_movements(uow, merchant_id, keys),
        )
    for channel, info, order, notes, at in placed:
        merchant, by_id, by_sku, previous = merchants[channel.merchant_id]
        committed, waiting = set(), 0
        for line in info.lines:
            listing = listing_of(channel, line)
            item = by_id.get(listing.item_id) if listing is not None else by_sku.get(line.sku or "")
            row = OrderLine(
                order_id=order.id,
                item_id=item.id if item else None,
                external_id=line.line_id,
                sku=line.sku or "",
                quantity=line.quantity,
                quantity_committed=line.quantity if item else 0,
            )
            session.add(row)
            if item is None or line.quantity <= 0:
                continue
            split, from_safety_stock = backorders.split_line(uow, merchant, item, line.quantity, now)
            key = order_line_key(channel, info.order_id, line.line_id)
            movement = ledger.Movement(item.sku, "commit", line.quantity, key, reason=f"order {info.number}")
            ledger.apply_locked(uow, merchant, {item.sku: item}, previous, [movement], allow_shortfall=True)
            if split.waiting or from_safety_stock:
                session.flush()  # the line's id, for its backorders and the audit
                backorders.record_split(
                    uow, merchant, item, row, split, now, from_safety_stock=from_safety_stock
                )
                waiting += split.waiting
            committed.add(item.id)
            if listing is not None:
                shown.shift(listing, -line.quantity)  # the storefront lowered its own number
        touched.add(channel.merchant_id, committed)
        notes[at] = f"order {info.order_id}: {len(committed)} line(s) committed, {waiting} unit(s) waiting"
    session.flush()


def _order_cancelled(
    uow: UnitOfWork, channel: Channel, info: OrderInfo, *, restock: bool, touched: Touched
) -> Applied:
    session = uow.session
    # Locked: a support cancellation of some lines of this order may be running at the same moment.
    query = select(Order).where(Order.channel_id == channel.id, Order.external_id == info.order_id)
    order = session.scalar(query.with_for_update(key_share=True) if uow.locks_rows else query)
    if order.status == "cancelled":
        return Applied(f"order {info.order_id}: already cancelled")
    order.status = "cancelled"
    lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    movements, released = [], set()
    for line in lines:
        open_units = line.quantity_committed
        if line.item_id is None or open_units <= 0:
            continue
        item = session.get(Item, line.item_id)
        never_here = _cancel_backorders(uow, line)  # waiting units were never on hand
        key = order_line_key(channel, info.order_id, line.external_id) + ":cancel"
        movements.append(ledger.Movement(item.sku, "release", open_units, key, reason="order cancelled"))
        from_stock = min(open_units - never_here, item.on_hand)
        if not restock and from_stock > 0:
            movements.append(ledger.Movement(item.sku, "adjust", -from_stock, key + ":not-restocked"))
        line.quantity_committed, line.quantity_cancelled, line.status = 0, line.quantity, "cancelled"
        released.add(item.id)
        listing = session.scalar(
            select(Listing).where(Listing.channel_id == channel.id, Listing.item_id == item.id)
        )
        if restock and listing is not None:
            shown.shift(listing, open_units)  # the storefront restocked its own number
    if movements:
        ledger.apply(uow, channel.merchant_id, movements)
        touched.add(channel.merchant_id, released)
    return Applied(f"order {info.order_id}: cancelled, {len(released)} item(s) released")


def _row_lock(uow: UnitOfWork):
    # FOR NO KEY UPDATE: inserting an order line takes a key-share lock on its item (the foreign key);
    # a plain FOR UPDATE would wait on that and deadlock two orders for the same item.
    return {"key_share": True} if uow.locks_rows else False


def _cancel_backorders(uow: UnitOfWork, line: OrderLine) -> int:
    """Take a cancelled line's waiting units out of the queue; returns how many were waiting."""
    waiting = 0
    for row in uow.session.scalars(select(Backorder).where(Backorder.order_line_id == line.id)):
        units = backorders.units_waiting(row)
        if row.status == "waiting" and units > 0:
            row.quantity_cancelled += units
            row.status = "cancelled"
            waiting += units
    return waiting


def _stock_changed(
    uow: UnitOfWork,
    channel: Channel,
    event: StockChanged,
    *,
    received_at: datetime,
    now: datetime,
    touched: Touched,
    port: ChannelPort | None,
) -> Applied:
    listing = _listing_for_ref(uow, channel, event.ref)
    nothing = _needs_nothing(listing, event)
    if nothing:
        return Applied(nothing)
    if listing.last_pushed_quantity is None:
        listing.last_pushed_quantity = event.quantity
        return Applied("storefront agrees with us (the first number we hear of)")
    if now - received_at < EXPLAIN_GRACE:
        raise Deferred(received_at + EXPLAIN_GRACE)
    if _still_moving(uow, channel, listing, received_at + EXPLAIN_GRACE):
        raise Deferred(now + RECHECK)
    if port is None:
        raise ValueError("a stock change that disagrees with ours needs the storefront to check against")
    believed = (listing.last_pushed_quantity, listing.last_pushed_at)
    try:
        showing = port.read_quantities([listing.ref]).get(listing.ref)
    except ChannelError as error:  # the store is busy or away: judge it later, nothing is lost meanwhile
        raise Deferred(
            now + max(timedelta(seconds=getattr(error, "retry_after", 0) or 0), STORE_AWAY)
        ) from error
    if showing is None:
        return Applied("stock change for a listing the storefront no longer has, ignored")
    # Compared under the listing's lock; an order or a push confirmed since the read moved our number,
    # and the read no longer goes with it: look again shortly.
    listing = uow.session.get(Listing, listing.id, with_for_update=_row_lock(uow), populate_existing=True)
    if (listing.last_pushed_quantity, listing.last_pushed_at) != believed:
        raise Deferred(now + RECHECK)
    if showing == listing.last_pushed_quantity:
        return Applied(f"stale stock change ({event.quantity}): the storefront shows our {showing} now")
    if showing != event.quantity:
        return Applied(f"stock change to {event.quantity} superseded: the storefront shows {showing} now")
    delta = showing - listing.last_pushed_quantity
    item = uow.session.get(Item, listing.item_id)
    stamp = event.updated_at.isoformat() if event.updated_at else received_at.isoformat()
    key = f"{channel.kind}:{channel.address}:stock:{listing.variant_id}:{stamp}:{event.quantity}"
    ledger.apply(
        uow,
        channel.merchant_id,
        [ledger.Movement(item.sku, "adjust", delta, key, reason="edited on storefront")],
    )
    shown.shift(listing, delta)
    touched.add(channel.merchant_id, [item.id])
    return Applied(f"{item.sku}: storefront edit of {delta:+d} recorded")


def _needs_nothing(listing: Listing | None, event: StockChanged) -> str | None:
    """Why a stock change needs nothing done (our echo, older than our last push, not ours), or None."""
    if listing is None:
        return "stock change for an unlinked listing, ignored"
    if event.updated_at and listing.last_pushed_at and event.updated_at <= listing.last_pushed_at:
        return "stock change older than our last push, ignored"
    if listing.last_pushed_quantity is not None and event.quantity == listing.last_pushed_quantity:
        return "storefront agrees with us (our echo or an order already counted)"
    return None


def stock_only(events: list[Event] | None) -> bool:
    """Whether a delivery's events are all storefront stock changes."""
    return bool(events) and all(isinstance(event, StockChanged) for event in events)


def settle_echoes(
    uow: UnitOfWork, deliveries: list[tuple[int, Channel, list[StockChanged]]]
) -> dict[int, list[str]]:
    """Of these deliveries of stock changes (`stock_only`), the ones whose changes all need nothing, by
    key, with what each was found to be; their listings are read with one query per channel. The others
    are left to `apply_event`."""
    wanted: dict[int, set] = {}
    for _key, channel, events in deliveries:
        wanted.setdefault(channel.id, set()).update(e.ref for e in events)
    found = {channel_id: _listings_for(uow, channel_id, refs) for channel_id, refs in wanted.items()}
    settled = {}
    for key, channel, events in deliveries:
        notes = [_needs_nothing(found[channel.id][e.ref], e) for e in events]
        if all(notes):
            settled[key] = notes
    return settled


def _still_moving(uow: UnitOfWork, channel: Channel, listing: Listing, cutoff: datetime) -> bool:
    """Whether an order delivery from this storefront received by `cutoff` is still to be processed,
    or a push of ours to this listing is on its way: either may explain a number that differs."""
    session = uow.session
    order_waiting = session.scalar(
        select(InboxDelivery.id)
        .where(
            InboxDelivery.channel_id == channel.id,
            InboxDelivery.status == "received",
            ORDER_DELIVERY,
            InboxDelivery.received_at <= cutoff,
        )
        .limit(1)
    )
    if order_waiting is not None:
        return True
    pushing = session.scalar(
        select(OutboxRow.id)
        .where(
            OutboxRow.channel_id == channel.id,
            OutboxRow.item_id == listing.item_id,
            OutboxRow.kind == "quantity",
            OutboxRow.status == "in_flight",
        )
        .limit(1)
    )
    return pushing is not None


def _listing_for_ref(uow: UnitOfWork, channel: Channel, ref) -> Listing | None:
    return _listings_for(uow, channel.id, [ref])[ref]


def _listings_for(uow: UnitOfWork, channel_id: int, refs) -> dict:
    """Each ref's listing on the channel (None when unlinked): a Shopify inventory webhook names only the
    inventory item, an order line the variant (and the item), WooCommerce the product or variation."""
    refs = set(refs)
    inventory_items = {r.inventory_item_id for r in refs if r.inventory_item_id}
    variants = {r.variant_id for r in refs if r.variant_id}
    matching = [Listing.inventory_item_id.in_(inventory_items)] if inventory_items else []
    matching += [Listing.variant_id.in_(variants)] if variants else []
    listings = (
        uow.session.scalars(select(Listing).where(Listing.channel_id == channel_id, or_(*matching))).all()
        if matching
        else []
    )
    by_item = {listing.inventory_item_id: listing for listing in listings if listing.inventory_item_id}
    by_variant = {listing.variant_id: listing for listing in listings}
    return {
        ref: (by_variant.get(ref.variant_id) or by_item.get(ref.inventory_item_id))
        if ref.variant_id
        else by_item.get(ref.inventory_item_id)
        for ref in refs
    }
