"""The dispatcher: lease a channel, coalesce its pending rows, send in the largest batches, confirm.

Rows are marked done only for items the storefront confirmed. A crash at any point leaves rows pending
or in flight under an expiring lease, so they are sent again: a resend, never a loss.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import OperationalError

from adapters.base import Channel as ChannelPort
from adapters.base import ListingRef, Outcome, QuantityUpdate
from adapters.errors import ChannelAuthFailed, ChannelError, ChannelThrottled
from connector.db import UnitOfWork
from connector.models import Channel, Item, Listing, Merchant, OutboxRow
from connector.services import dispatch_states as states
from connector.services import shown
from connector.services.dispatch_substitutes import send_substitutes
from connector.services.ledger import level_of
from connector.services.substitute_lists import KIND as SUBSTITUTES

log = logging.getLogger(__name__)

# A round renews it once a quarter of it has passed; a worker that dies holds its channel this long
# (on PostgreSQL only until another worker sees its presence lock gone: `_take_from_the_gone`).
LEASE = timedelta(seconds=20)
# A lease held this long may be taken from a worker process that is gone (PostgreSQL): a fresh one is not
# looked at, so the busy dispatchers' leases cost the looks of idle threads nothing.
SETTLED = timedelta(seconds=2)
PRESENCE = 0x1B0D  # the advisory-lock class of a worker process's presence (PostgreSQL)
MAX_ROWS_PER_ROUND = 10_000
# Substitute lists are ranked in the round, seconds of work for a few hundred items, while the channel's
# lease holds its quantity pushes back. When quantities are waiting again, the lists give way to them
# for up to this long (the next round without quantities due sends them).
SUBSTITUTES_MAY_WAIT = timedelta(seconds=3)
NOT_FOUND_ATTEMPTS = 3
RECORD_ATTEMPTS = 5  # a confirmation rolled back by a deadlock is recorded again, this many times in all


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 1.0
    cap_seconds: float = 300.0

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """Exponential backoff with full jitter."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


@dataclass
class RoundReport:
    channel_id: int
    sent: int = 0
    confirmed: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def merge(self, other: RoundReport) -> None:
        self.sent += other.sent
        self.confirmed += other.confirmed
        self.failed += other.failed
        self.dead += other.dead
        self.errors += other.errors


def lease_channel(uow: UnitOfWork, worker: str, now: datetime) -> int | None:
    """Take the lease on one channel with due rows and no live lease; None when there is nothing to do."""
    due = select(OutboxRow.channel_id).where(
        OutboxRow.status.in_(("pending", "in_flight")), OutboxRow.next_attempt_at <= now
    )
    query = (
        select(Channel)
        .where(
            Channel.id.in_(due),
            Channel.status == "active",
            or_(Channel.lease_expires_at.is_(None), Channel.lease_expires_at < now),
        )
        .order_by(Channel.lease_expires_at.is_not(None), Channel.lease_expires_at, Channel.id)
        .limit(1)
    )
    # Looked for first without writing: most looks by idle threads find nothing, and on SQLite a
    # transaction that may write waits for, and holds up, every other writer (the webhook intake too).
    with uow.reading():
        free = uow.session.scalar(query.with_only_columns(Channel.id))
        orphans = _held_a_while(uow, due, now) if free is None and uow.locks_rows else []
        if free is None and not orphans:
            return None
    with uow:
        if uow.locks_rows:
            # FOR NO KEY UPDATE: every order and outbox row written for this channel holds a key-share
            # lock on it (their foreign key) until its transaction ends, and a plain FOR UPDATE SKIP
            # LOCKED skipped the channel for as long as orders kept coming: no push went out.
            query = query.with_for_update(skip_locked=True, key_share=True)
        channel = uow.session.scalar(query) if free is not None else None
        if channel is None:
            channel = _take_from_the_gone(uow, orphans)
        if channel is None:
            return None
        channel.lease_owner, channel.lease_expires_at = worker, now + LEASE
        channel_id = channel.id
        uow.commit()
    return channel_id


def _held_a_while(uow: UnitOfWork, due, now: datetime) -> list[tuple[int, str]]:
    """Channels with due rows whose unexpired lease was taken or renewed over `SETTLED` ago: (id, holder)."""
    query = select(Channel.id, Channel.lease_owner).where(
        Channel.id.in_(due),
        Channel.status == "active",
        Channel.lease_expires_at >= now,
        Channel.lease_expires_at < now + LEASE - SETTLED,
    )
    return [(channel_id, owner) for channel_id, owner in uow.session.execute(query.limit(8)) if owner]


def _take_from_the_gone(uow: UnitOfWork, held: list[tuple[int, str]]) -> Channel | None:
    """On PostgreSQL, one of these channels whose holder's process is gone (killed, crashed): each worker
    process holds its presence lock (`present`) for as long as it runs, and the database frees it the
    moment the process's connection closes. Taken at once instead of after the rest of the lease: a
    store otherwise got no push for up to 20 s after a worker died, and sold what others had sold."""
    for channel_id, owner in held:
        process, _, thread = owner.partition("/")
        if not process or not thread:
            continue  # not a worker's `process/thread` lease: nothing tells whether its holder is alive
        if not uow.session.scalar(select(func.pg_try_advisory_xact_lock(PRESENCE, func.hashtext(process)))):
            continue  # its process is alive
        channel = uow.session.scalar(
            select(Channel)
            .where(Channel.id == channel_id, Channel.lease_owner == owner)
            .with_for_update(skip_locked=True, key_share=True)
        )
        if channel is not None:
            log.warning("channel %s: its lease holder %s is gone; taking the channel over", channel_id, owner)
            return channel
    return None


def present(connection, worker_process: str) -> bool:
    """Hold `worker_process`'s presence lock on this PostgreSQL driver connection, kept open while the
    process runs (`_take_from_the_gone`). False when it could not be taken."""
    found = connection.execute(
        "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (PRESENCE, worker_process)
    ).fetchone()
    return bool(found and found[0])


def renew_lease(uow: UnitOfWork, channel_id: int, worker: str, now: datetime) -> bool:
    """Extend our lease before each batch; False when another worker has taken the channel."""
    with uow:
        result = uow.session.execute(
            update(Channel)
            .where(Channel.id == channel_id, Channel.lease_owner == worker)
            .values(lease_expires_at=now + LEASE)
        )
        uow.commit()
    return bool(result.rowcount)


def release_lease(uow: UnitOfWork, channel_id: int, worker: str) -> None:
    with uow:
        uow.session.execute(
            update(Channel)
            .where(Channel.id == channel_id, Channel.lease_owner == worker)
            .values(lease_owner=None, lease_expires_at=None)
        )
        uow.commit()


def dispatch_round(
    new_uow: Callable[[], UnitOfWork],
    channel_id: int,
    port: ChannelPort,
    now: Callable[[], datetime],
    *,
    worker: str,
    policy: RetryPolicy | None = None,
    rng: random.Random | None = None,
    leased_at: datetime | None = None,
) -> RoundReport:
    """Send one channel's due rows (caller holds the lease, taken at `leased_at` when it says), coalesced
    to the latest state per item."""
    policy, rng = policy or RetryPolicy(), rng or random.Random()
    report = RoundReport(channel_id)
    renewed = leased_at

    def still_ours() -> bool:
        # Renewed once it is a quarter spent: until then no other worker can have taken it, and each
        # renewal is a write (on SQLite one that every other writer, the webhook intake too, waits for).
        nonlocal renewed
        at = now()
        if renewed is not None and at - renewed < LEASE / 4:
            return True
        if renew_lease(new_uow(), channel_id, worker, at):
            renewed = at
            return True
        return False

    def send_quantities() -> bool:
        """Send the due quantities; False when the store refused us or the lease was lost."""
        plan = _plan(new_uow(), channel_id, now())
        for start in range(0, len(plan), port.max_quantity_batch):
            batch = plan[start : start + port.max_quantity_batch]
            if not still_ours():
                report.errors.append("lease lost to another worker; stopping this round")
                return False
            updates = [QuantityUpdate(p.ref, p.quantity, p.expected) for p in batch]
            key = _batch_key(channel_id, batch, now())
            report.sent += len(batch)
            believed = _believed(new_uow(), channel_id, batch)
            try:
                outcomes = port.set_quantities(updates, idempotency_key=key)
            except ChannelError as error:
                _fail_all(new_uow(), channel_id, batch, error, now(), policy, rng, report)
                if isinstance(error, ChannelAuthFailed | ChannelThrottled):
                    return False  # the rest would fail the same way; they stay pending for later
                continue
            _record_surely(new_uow, channel_id, batch, outcomes, believed, now, policy, rng, report)
        return True

    if not send_quantities() or not still_ours():
        return report
    # Most rounds carry only quantities: the other phases run when rows of their kind are due. Each
    # takes a second or more under load (a call per product, lists ranked), and a quantity queued
    # meanwhile is what keeps another store from selling units that are gone: it goes out after each
    # of those phases, not in a later round.
    due = _due_kinds(new_uow(), channel_id, now())

    def quantities_since() -> bool:
        """Send the quantities that came due during a phase; False when the round must stop."""
        nonlocal due
        due = _due_kinds(new_uow(), channel_id, now())
        return "quantity" not in due or (send_quantities() and still_ours())

    if "backorder_state" in due:
        states.send_states(new_uow, channel_id, port, now, policy=policy, rng=rng, report=report)
        if not quantities_since():
            return report
    if "order_tag" in due:
        states.send_tags(new_uow, channel_id, port, now, policy=policy, rng=rng, report=report)
    if SUBSTITUTES in due and ("quantity" not in due or now() - due[SUBSTITUTES] > SUBSTITUTES_MAY_WAIT):
        send_substitutes(new_uow, channel_id, port, now, policy=policy, rng=rng, report=report)
        quantities_since()
    return report


def _due_kinds(uow: UnitOfWork, channel_id: int, now: datetime) -> dict[str, datetime]:
    """The kinds with rows due on this channel, each with when its oldest due row was written."""
    with uow.reading():
        found = uow.session.execute(
            select(OutboxRow.kind, func.min(OutboxRow.created_at))
            .where(
                OutboxRow.channel_id == channel_id,
                OutboxRow.status == "pending",
                OutboxRow.next_attempt_at <= now,
            )
            .group_by(OutboxRow.kind)
        )
        return {kind: oldest for kind, oldest in found}


@dataclass(frozen=True)
class _Push:
    item_id: int
    ref: ListingRef
    quantity: int
    expected: int | None
    up_to_row: int  # rows of this item with ids up to this one are covered by this push


def _plan(uow: UnitOfWork, channel_id: int, now: datetime) -> list[_Push]:
    with uow:
        # Rows left in flight by a worker whose lease expired are ours to resend.
        resent = uow.session.execute(
            update(OutboxRow)
            .where(OutboxRow.channel_id == channel_id, OutboxRow.status == "in_flight")
            .values(status="pending")
            .returning(OutboxRow.item_id, OutboxRow.kind)
        ).all()
        rows = uow.session.execute(
            select(OutboxRow.id, OutboxRow.item_id, OutboxRow.attempts)
            .where(
                OutboxRow.channel_id == channel_id,
                OutboxRow.status == "pending",
                OutboxRow.kind == "quantity",
                OutboxRow.next_attempt_at <= now,
            )
            .order_by(OutboxRow.id)
            .limit(MAX_ROWS_PER_ROUND)
        ).all()
        latest: dict[int, int] = {}
        for row_id, item_id, _attempts in rows:
            latest[item_id] = row_id
        # An earlier attempt of these may have landed without our hearing of it (a worker killed before
        # it recorded the answer, a call that failed after the store applied it): what the store shows
        # then may be our own write, not sales we have not heard of. They are set outright, as what we
        # believe it shows from then on, with no allowance for unheard-of sales (QuantityUpdate.expected).
        uncertain = {item_id for item_id, kind in resent if kind == "quantity"}
        uncertain |= {item_id for _row_id, item_id, attempts in rows if attempts}
        if not latest:
            uow.commit()
            return []
        channel = uow.session.get(Channel, channel_id)
        merchant = uow.session.get(Merchant, channel.merchant_id)
        found = uow.session.execute(
            select(Listing, Item)
            .join(Item, Item.id == Listing.item_id)
            .where(Listing.channel_id == channel_id, Listing.item_id.in_(latest))
        ).all()
        plan = [
            _Push(
                item.id,
                listing.ref,
                level_of(item, merchant).sellable,
                None if item.id in uncertain else listing.last_pushed_quantity,
                latest[item.id],
            )
            for listing, item in found
        ]
        uow.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_([row_id for row_id, _item_id, _attempts in rows]))
            .values(status="in_flight")
        )
        uow.commit()
    return plan


def _believed(uow: UnitOfWork, channel_id: int, batch: list[_Push]) -> dict[int, int | None]:
    """What we believe the store shows for each item of a batch, read just before it is sent."""
    with uow.reading():
        return dict(
            uow.session.execute(
                select(Listing.item_id, Listing.last_pushed_quantity).where(
                    Listing.channel_id == channel_id, Listing.item_id.in_([p.item_id for p in batch])
                )
            ).all()
        )


def _record(
    uow, channel_id, batch, outcomes: list[Outcome], believed: dict[int, int | None], now, policy, rng, report
) -> None:
    """Mark confirmed pushes done (the rest retried later) and move what we believe each store shows.

    A write without compare-and-set (`Outcome.replaced` unknown) leaves the store at its quantity. Orders
    the store took after that write may be recorded before this confirmation, and they count: the
    number becomes the written quantity plus every move made since the batch was sent (`believed` is
    the number then). Setting the written quantity outright would undo them, and the next push would
    take those units off again as sales not yet heard of. A move since then for an order taken before
    the write counts once too many: the number is low until the next push, never high."""
    by_ref = {o.ref: o for o in outcomes}
    with uow:
        rows = _rows_of(uow, channel_id, batch)
        listings = {
            listing.item_id: listing
            for listing in uow.session.scalars(
                select(Listing).where(
                    Listing.channel_id == channel_id, Listing.item_id.in_([p.item_id for p in batch])
                )
            )
        }
        for push in batch:
            outcome = by_ref.get(push.ref) or Outcome(
                push.ref, "failed", "the storefront did not report this item"
            )
            if outcome.status == "ok":
                listing = listings[push.item_id]
                quantity = outcome.quantity if outcome.quantity is not None else push.quantity
                before = outcome.replaced if outcome.replaced is not None else believed.get(push.item_id)
                if before is not None and listing.last_pushed_quantity is not None:
                    # Orders the storefront took since we planned are counted once, before or after.
                    shown.shift(listing, quantity - before)
                else:
                    listing.last_pushed_quantity = quantity
                listing.last_pushed_at = now
                for row in rows.get(push.item_id, []):
                    row.status, row.done_at, row.last_error = "done", now, None
                report.confirmed += 1
            else:
                _retry_later(
                    rows.get(push.item_id, []),
                    f"{outcome.status}: {outcome.reason}",
                    now,
                    policy,
                    rng,
                    report,
                    permanent=_gone(outcome, rows.get(push.item_id, [])),
                )
        uow.commit()


def _record_surely(new_uow, channel_id, batch, outcomes, believed, now, policy, rng, report) -> None:
    """`_record`, again when its transaction is rolled back by a deadlock with the inbox: the store has
    applied these writes, and a lost confirmation leaves our number of what it shows behind (the resend
    finds the store already there and cannot tell our write from the store's own change)."""
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        mine = RoundReport(channel_id)
        try:
            _record(new_uow(), channel_id, batch, outcomes, believed, now(), policy, rng, mine)
        except OperationalError:
            if attempt == RECORD_ATTEMPTS:
                raise
            log.warning("confirming %d pushes on channel %s: rolled back, again", len(batch), channel_id)
            continue
        report.merge(mine)
        return


def _fail_all(uow, channel_id, batch, error: ChannelError, now, policy, rng, report) -> None:
    report.errors.append(f"{type(error).__name__}: {error}")
    later = now + timedelta(seconds=getattr(error, "retry_after", 0.0))
    with uow:
        rows = _rows_of(uow, channel_id, batch)
        for push in batch:
            _retry_later(
                rows.get(push.item_id, []),
                f"{type(error).__name__}: {error}",
                later,
                policy,
                rng,
                report,
                permanent=False,
                count_attempt=error.retryable,
            )
        uow.commit()


def _rows_of(uow: UnitOfWork, channel_id: int, batch, kind: str = "quantity") -> dict[int, list[OutboxRow]]:
    """The in-flight rows each push covers (rows written after the plan stay for the next round)."""
    limits = {p.item_id: p.up_to_row for p in batch}
    found: dict[int, list[OutboxRow]] = {}
    query = select(OutboxRow).where(
        OutboxRow.channel_id == channel_id,
        OutboxRow.kind == kind,
        OutboxRow.status == "in_flight",
        OutboxRow.item_id.in_(limits),
    )
    for row in uow.session.scalars(query):
        if row.id <= limits[row.item_id]:
            found.setdefault(row.item_id, []).append(row)
    return found


def _retry_later(
    rows, reason, now, policy, rng, report, *, permanent: bool, count_attempt: bool = True
) -> None:
    for row in rows:
        row.attempts += 1 if count_attempt else 0
        row.last_error = reason[:2000]
        if permanent or row.attempts >= policy.max_attempts:
            row.status = "dead"
        else:
            row.status = "pending"
            row.next_attempt_at = now + policy.delay(row.attempts, rng)
    if rows and rows[0].status == "dead":
        report.dead += 1
    else:
        report.failed += 1


def _gone(outcome: Outcome, rows: list[OutboxRow]) -> bool:
    """Not found three times running: the listing is gone from the store. Once could be a glitch (a
    re-read that failed, a store mid-import), and parking a live row as dead would stop its pushes."""
    return outcome.status == "not_found" and any(row.attempts + 1 >= NOT_FOUND_ATTEMPTS for row in rows)


def _batch_key(channel_id: int, batch: list[_Push], sent_at: datetime) -> str:
    """One key per batch and round. The adapter's own retries of a call inside the round replay it; a
    later round sends under a new one, because Shopify answers a replayed key with its first answer, and
    a refusal (a stale quantity) replayed would fail every retry. Compare-and-set on every quantity
    keeps a resend after an unknown outcome from applying twice."""
    digest = hashlib.sha256(
        ";".join(f"{p.item_id}:{p.quantity}:{p.expected}:{p.up_to_row}" for p in batch).encode()
        + sent_at.isoformat().encode()
    ).hexdigest()[:32]
    return f"backorder:{channel_id}:{digest}"
