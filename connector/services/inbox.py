"""The webhook inbox: store verified deliveries once, process them later, idempotently."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Dialect, Engine, PoolProxiedConnection, event, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError

from adapters.base import Channel as ChannelPort
from adapters.base import WebhookDelivery
from adapters.errors import WebhookRejected
from connector.db import UnitOfWork, writing
from connector.errors import ConnectorError
from connector.models import Channel, InboxDelivery, utcnow
from connector.models.messaging import ORDER_DELIVERY, ORDERS_FIRST, WAITING, is_order_topic
from connector.services import doorbell, spool
from connector.services.sync import (
    Deferred,
    Touched,
    apply_event,
    orders_only,
    orders_seen,
    settle_echoes,
    stock_only,
)

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
# Order deliveries go before stock changes (ORDERS_FIRST): an order moves the ledger and every other
# store's number (the path that keeps stores from overselling), while a stock change is mostly the echo
# of our own push. When the worker falls behind, stock changes wait; each is judged whenever it comes
# (sync.py).
BATCH = 25  # deliveries per transaction: enough to share the follow-up, short enough to hold locks briefly
# Deliveries per transaction while no order is due: echoes of our own pushes, settled together by
# `settle_echoes`, cost little each, so a larger batch spreads the turn, the due queries and the commit
# over more of them. Only echoes are taken past BATCH; an order arriving meanwhile waits for one such
# batch at most.
STOCK_BATCH = 200
# The advisory-lock class of a merchant's inbox turn (PostgreSQL; the second key is the merchant id).
INBOX_TURN = 0x1B0C


class InboxWriter:
    """Stores verified deliveries once: one INSERT … ON CONFLICT DO NOTHING, sent straight to the driver.

    It runs in autocommit on driver connections kept for the intake, so a delivery costs one round trip
    and no SQLAlchemy machinery: no pool checkout with its ping, no BEGIN or COMMIT of its own, no
    statement compiled or cache-keyed per delivery. Idle connections are closed when the engine is
    disposed."""

    KEEP_IDLE = 16  # more in use at once (a burst on a threaded server) are closed when handed back

    def __init__(self, engine: Engine):
        self._engine = engine
        self._insert = _DriverInsert(engine.dialect)
        self._spool = spool.beside(engine)
        self._bell = doorbell.pipe_beside(engine)  # SQLite; on PostgreSQL the insert itself rings
        self._idle: list[PoolProxiedConnection] = []
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._leading = False
        self._generation = 0  # bumped by close(): connections taken before it are not kept after
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def store(self, channel: Channel, delivery: WebhookDelivery, *, status: str = "received") -> bool:
        """Store a verified delivery; False when it was already stored (a duplicate or a retry).

        Deliveries arriving while another is being written wait and go together in one transaction
        (group commit): one request leads, writes what is queued, answers each, and hands the lead on."""
        mine = _Waiting(self._insert.parameters(_values(channel, delivery, status)))
        with self._lock:
            self._queue.append(mine)
            if not self._leading:
                self._leading = mine.leads = True
        if not mine.leads:
            mine.done.wait()
            if not mine.leads:  # answered by a leader
                return mine.answer()
        while not mine.answered:
            with self._lock:
                group, self._queue = self._queue[:GROUP], self._queue[GROUP:]
            self._write(group)
        with self._lock:
            if self._queue:
                following = self._queue[0]
                following.leads = True
                following.done.set()
            else:
                self._leading = False
        return mine.answer()

    def _write(self, group: list[_Waiting]) -> None:
        """Store a group in one transaction and answer each of it (stored, duplicate, or the error)."""
        dialect = self._engine.dialect
        try:
            for last_try in (False, True):
                connection, generation = self._take()
                cursor = None
                try:
                    cursor = connection.cursor()
                    stored = self._store(connection.dbapi_connection, cursor, [w.parameters for w in group])
                    cursor.close()
                except BaseException as error:  # the connection may be mid-transaction: not kept
                    lost = isinstance(error, dialect.loaded_dbapi.Error) and dialect.is_disconnect(
                        error, connection.dbapi_connection, cursor
                    )
                    connection.close()
                    # A connection the server dropped while idle: once more on a new one. Safe, since the
                    # statement does nothing twice (the answer is then "duplicate" if the first one landed).
                    if last_try or not lost:
                        raise
                    log.warning("inbox connection lost (%s); storing the delivery on a new one", error)
                    continue
                self._hand_back(connection, generation)
                for waiting, was_stored in zip(group, stored, strict=True):
                    waiting.stored = was_stored
                break
        except BaseException as error:  # every one of them is answered, the error included
            for waiting in group:
                if waiting.stored is None:
                    waiting.error = error
        finally:
            for waiting in group:
                waiting.answered = True
                waiting.done.set()

    def _store(self, dbapi_connection, cursor, rows: list) -> list[bool]:
        stored = self._into_inbox_or_spool(dbapi_connection, cursor, rows)
        if self._bell is not None and any(stored):
            doorbell.ring_pipe(self._bell)
        return stored

    def _into_inbox_or_spool(self, dbapi_connection, cursor, rows: list) -> list[bool]:
        """Into the inbox; on SQLite into the spool when another writer has the turn (see spool.py)."""
        if self._spool is not None and not dbapi_connection.try_turn():
            columns = self._insert.columns
            key = columns.index("dedupe_key")
            keys = [row[key] for row in rows]
            marks = ", ".join("?" * len(keys))  # names are ours; the keys are parameters
            table = InboxDelivery.__table__.name
            cursor.execute(f"SELECT platform, dedupe_key FROM {table} WHERE dedupe_key IN ({marks})", keys)  # noqa: S608
            known = {(platform, key) for platform, key in cursor.fetchall()}  # a read: no turn needed
            return self._spool.write(columns, rows, known)
        with writing(dbapi_connection):
            return self._insert.run(dbapi_connection, cursor, rows)

    def close(self) -> None:
        """Close the idle connections; those in use are closed when handed back."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
        for connection in idle:
            connection.close()

    def _take(self) -> tuple[PoolProxiedConnection, int]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), self._generation
            generation = self._generation
        connection = self._engine.raw_connection()  # set up by the engine's connect hooks
        connection.detach()  # ours from now on: the pool neither counts, pings nor resets it
        self._engine.dialect.set_isolation_level(connection.dbapi_connection, "AUTOCOMMIT")
        return connection, generation

    def _hand_back(self, connection: PoolProxiedConnection, generation: int) -> None:
        with self._lock:
            if generation == self._generation and len(self._idle) < self.KEEP_IDLE:
                self._idle.append(connection)
                return
        connection.close()


GROUP = 64  # deliveries written in one transaction at most


@dataclass
class _Waiting:
    """A delivery waiting to be written, and its answer."""

    parameters: Any
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    answered: bool = False
    stored: bool | None = None
    error: BaseException | None = None

    def answer(self) -> bool:
        if self.error is not None:
            raise self.error
        assert self.stored is not None
        return self.stored


class _DriverInsert:
    """The insert compiled once for a dialect, with the column types' conversions for its driver."""

    def __init__(self, dialect: Dialect):
        self._dialect = dialect.name
        compiled = _insert_unless_stored(dialect.name).compile(dialect=dialect, column_keys=list(COLUMNS))
        # On PostgreSQL the same statement wakes the workers when a delivery was stored.
        self.sql = doorbell.ringing_sql(compiled.string) if dialect.name == "postgresql" else compiled.string
        self._order = list(compiled.positiontup or ()) if compiled.positional else None
        self.columns = self._order or list(COLUMNS)  # the parameters' order
        self._many: dict[int, str] = {}  # PostgreSQL: the statement storing n rows at once, by n
        types = {name: InboxDelivery.__table__.c[name].type.dialect_impl(dialect) for name in COLUMNS}
        converters = {name: type_.bind_processor(dialect) for name, type_ in types.items()}
        self._converters = [(name, convert) for name, convert in converters.items() if convert is not None]

    def run(self, connection, cursor, rows: list) -> list[bool]:
        """Insert rows in one transaction (on PostgreSQL one statement in autocommit, on SQLite one per row
        between BEGIN IMMEDIATE and COMMIT): whether each was stored. A row whose key an earlier row of the
        same group took is a duplicate, as it would be later."""
        if len(rows) == 1:
            cursor.execute(self.sql, rows[0])
            return [cursor.fetchone() is not None]
        stored = []
        if self._dialect == "postgresql":
            # One statement for the group: no transaction of its own to begin and commit, no pipeline.
            cursor.execute(self._storing(len(rows)), [row[name] for row in rows for name in self.columns])
            new = {(platform, key) for platform, key, *_ in cursor.fetchall()}
            for row in rows:  # of a key sent twice, the first is stored and the second a duplicate
                key = (row["platform"], row["dedupe_key"])
                stored.append(key in new)
                new.discard(key)
            return stored
        cursor.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                cursor.execute(self.sql, row)
                stored.append(cursor.fetchone() is not None)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        return stored

    def _storing(self, n: int) -> str:
        """INSERT of n rows, each stored unless its key is (ON CONFLICT DO NOTHING), returning the keys
        stored; it rings the bell as the one-row statement does. Built from our own names only."""
        if n not in self._many:
            table = InboxDelivery.__table__
            marks = "(" + ", ".join(["%s"] * len(self.columns)) + ")"
            self._many[n] = doorbell.ringing_sql(
                f"INSERT INTO {table.name} ({', '.join(self.columns)}) VALUES {', '.join([marks] * n)}"  # noqa: S608
                " ON CONFLICT (platform, dedupe_key) DO NOTHING RETURNING platform, dedupe_key"
            )
        return self._many[n]

    def parameters(self, values: dict[str, Any]) -> dict[str, Any] | list[Any]:
        for name, convert in self._converters:
            values[name] = convert(values[name])
        return values if self._order is None else [values[name] for name in self._order]


COLUMNS = (
    "merchant_id",
    "channel_id",
    "platform",
    "topic",
    "dedupe_key",
    "headers",
    "body",
    "status",
    "attempts",
    "received_at",
    "process_after",
)


def _values(channel: Channel, delivery: WebhookDelivery, status: str) -> dict[str, Any]:
    now = utcnow()
    return {
        "merchant_id": channel.merchant_id,
        "channel_id": channel.id,
        "platform": channel.kind,
        "topic": delivery.topic,
        "dedupe_key": f"{channel.id}:{delivery.topic}:{delivery.dedupe_key}"[:300],
        "headers": {k: v for k, v in delivery.headers.items() if k.lower().startswith(("x-", "content-"))},
        "body": delivery.body,
        "status": status,
        "attempts": 0,
        "received_at": now,
        "process_after": now,
    }


@functools.cache
def _insert_unless_stored(dialect: str):
    # Built once per dialect: building and cache-keying it for every delivery cost more than running it.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = InboxDelivery.__table__
    return (
        insert(table).on_conflict_do_nothing(index_elements=["platform", "dedupe_key"]).returning(table.c.id)
    )


@dataclass
class InboxReport:
    processed: int = 0
    deferred: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)


def process_due(
    new_uow: Callable[[], UnitOfWork],
    port_for: Callable[[Channel], ChannelPort],
    now: Callable[[], datetime],
    *,
    limit: int = 200,
    batch: int = BATCH,
    stock_batch: int = STOCK_BATCH,
) -> InboxReport:
    """Process due deliveries in arrival order, `batch` at a time in one transaction with their effects
    (up to `stock_batch` when no order is among them: see `_process_batch`).

    The batch's new and updated orders are recorded together in one savepoint (`sync.orders_seen`: a
    few queries for all of them), every other delivery in a savepoint of its own, so one that fails or
    must wait leaves the others in (orders that cannot go together go one by one); the stock
    they moved is followed up once per batch (allocation, ETAs, queued pushes), and the batch commits
    once. A batch that fails as a whole (a deadlock with another worker) is rolled back and its
    deliveries are processed one by one."""
    report = InboxReport()
    look_first = not new_uow().locks_rows  # on PostgreSQL the batch's own turn query answers "anything due?"
    while report.processed + report.failed + report.deferred < limit:
        spool.move(new_uow)  # deliveries stored while another writer had the turn (SQLite)
        if look_first and not _any_due(new_uow(), now()):
            break
        room = limit - (report.processed + report.failed + report.deferred)
        size = min(batch, room)
        try:
            taken = _process_batch(
                new_uow(), port_for, now(), size, report, stock_size=min(stock_batch, room)
            )
        except OperationalError as error:
            log.warning("inbox batch rolled back (%s); processing its deliveries one by one", error)
            taken = _process_batch(new_uow(), port_for, now(), 1, report, stock_size=1)
        if taken < size:
            break
    return report


def _any_due(uow: UnitOfWork, now: datetime) -> bool:
    """Whether a delivery is due, looked up without writing (SQLite): a transaction that may write waits
    for, and holds up, every other writer, and most looks by an idle worker find nothing."""
    with uow.reading():
        due = select(InboxDelivery.id).where(
            InboxDelivery.status == "received", InboxDelivery.process_after <= now
        )
        return uow.session.scalar(due.limit(1)) is not None


def _process_batch(
    uow: UnitOfWork, port_for, now: datetime, size: int, report: InboxReport, *, stock_size: int
) -> int:
    """Claim up to `size` due deliveries and process them in one transaction; returns how many. Orders
    come first, so when the last of them is a stock change no order is due, and the batch takes further
    deliveries up to `stock_size` in all, settling those that are echoes of our pushes."""
    outcome = InboxReport()
    with uow:
        query = (
            select(InboxDelivery)
            .where(WAITING, InboxDelivery.process_after <= now)
            .order_by(ORDERS_FIRST, InboxDelivery.id)  # on PostgreSQL per merchant: ix_inbox_waiting
            .limit(size)
        )
        if uow.locks_rows:
            turn = _take_a_turn(uow, now)
            if turn is None:
                return 0
            query = query.where(turn).with_for_update(skip_locked=True)
        rows = uow.session.scalars(query).all()
        extra: set[int] = set()  # taken to settle as echoes only; anything else waits for its own batch
        if stock_size > len(rows) == size and not is_order_topic(rows[-1].topic):
            more = query.where(~ORDER_DELIVERY, InboxDelivery.id > rows[-1].id).limit(stock_size - size)
            more_rows = uow.session.scalars(more).all()
            extra = {row.id for row in more_rows}
            rows += more_rows
        touched = Touched()
        channels: dict[int, Channel] = {}
        for row in rows:
            channels[row.channel_id] = channels.get(row.channel_id) or uow.session.get(
                Channel, row.channel_id
            )
        parsed = {row.id: _parse(row, channels[row.channel_id], port_for) for row in rows}
        stock = [row for row in rows if stock_only(parsed[row.id][1])]
        # Orders placed and updated first, together; then the rest (cancellations and all), in order.
        orders = _orders_together(
            uow, [row for row in rows if orders_only(parsed[row.id][1])], channels, parsed, now, touched
        )
        for row in rows:
            if row.id in orders:
                _processed(row, orders[row.id], now)
                outcome.processed += 1
            elif row not in stock and row.id not in extra:
                _process_one(uow, row, channels[row.channel_id], parsed[row.id], now, touched, outcome)
        # Then the stock changes, against the numbers the batch's orders left: most are echoes of our
        # own pushes, settled together without a savepoint each; the others one by one (those beyond
        # `size` in a later batch: one may ask its storefront for the number, too slow to hold the turn).
        echoes = settle_echoes(uow, [(row.id, channels[row.channel_id], parsed[row.id][1]) for row in stock])
        for row in stock:
            if row.id in echoes:
                _processed(row, echoes[row.id], now)
                outcome.processed += 1
            elif row.id not in extra:
                _process_one(uow, row, channels[row.channel_id], parsed[row.id], now, touched, outcome)
        moved = bool(touched.items)
        touched.follow_up(uow, now)
        if moved:
            doorbell.ring(uow)  # for the pushes it queued: idle dispatchers of every worker look now
        uow.commit()
    report.processed += outcome.processed
    report.deferred += outcome.deferred
    report.failed += outcome.failed
    return len(rows)


def _orders_together(
    uow: UnitOfWork, rows: list, channels: dict, parsed: dict, now: datetime, touched
) -> dict:
    """Apply the batch's order deliveries together (`orders_seen`) in one savepoint; their notes by row
    id. If anything in them fails (another worker recording the same order, a bad line), the savepoint
    is undone and they are left to `_process_one`, which sorts out each on its own."""
    if len(rows) < 2:
        return {}
    savepoint = uow.session.begin_nested()
    mine = Touched()
    try:
        notes = orders_seen(
            uow, [(row.id, channels[row.channel_id], parsed[row.id][1]) for row in rows], now, mine
        )
        savepoint.commit()
    except Exception as error:  # each delivery is tried again on its own, with its own handling
        savepoint.rollback()
        log.info("%d order deliveries applied one by one after %s", len(rows), type(error).__name__)
        return {}
    touched.merge(mine)
    return notes


def _take_a_turn(uow: UnitOfWork, now: datetime):
    """Take one merchant's inbox turn for this transaction (PostgreSQL) and return the condition for its
    deliveries: the merchant with due deliveries whose turn no other worker holds, the one waiting
    longest first; None when every such merchant is being processed.

    One batch at a time per merchant: concurrent batches of one catalogue nearly always share an item,
    so they waited on each other's item locks until the whole other batch committed (a convoy that fell
    17 s behind at 50 orders/s) and deadlocked now and then. Other workers take other merchants' turns
    and the dispatch meanwhile. The lock ends with the transaction, a killed worker's with its connection."""
    for merchant_id in _merchants_waiting(uow, now):
        key = merchant_id if merchant_id is not None else 0  # ids start at 1; 0 holds merchantless ones
        if uow.session.scalar(select(func.pg_try_advisory_xact_lock(INBOX_TURN, key))):
            return (
                InboxDelivery.merchant_id == merchant_id
                if merchant_id is not None
                else (InboxDelivery.merchant_id.is_(None))
            )
    return None


def _merchants_waiting(uow: UnitOfWork, now: datetime) -> list[int | None]:
    """Merchants with due deliveries, the one whose oldest waited longest first, read off ix_inbox_waiting:
    a few index probes per merchant, not a pass over the backlog (grouping every waiting delivery cost
    milliseconds a batch with thousands of echoes waiting, and one merchant's batches are serial). Rows
    deferred to later (stock changes awaiting their grace) are passed over one by one, from the table."""
    inbox = InboxDelivery.__table__
    # The merchants with waiting deliveries, one probe each: a recursive skip along merchant_id.
    lowest = select(func.min(inbox.c.merchant_id).label("merchant_id")).where(WAITING)
    merchants = lowest.cte("merchants", recursive=True)
    higher = select(func.min(inbox.c.merchant_id)).where(
        WAITING, inbox.c.merchant_id > merchants.c.merchant_id
    )
    merchants = merchants.union_all(
        select(higher.scalar_subquery()).where(merchants.c.merchant_id.is_not(None))
    )

    def oldest(merchant, urgency: int):  # a merchant's oldest due order delivery (0) or other one (1)
        return (
            select(inbox.c.id)
            .where(
                WAITING, merchant, literal_column(str(urgency)) == ORDERS_FIRST, inbox.c.process_after <= now
            )
            .order_by(ORDERS_FIRST, inbox.c.id)
            .limit(1)
        )

    mine = inbox.c.merchant_id == merchants.c.merchant_id
    orders, others = oldest(mine, 0).lateral(), oldest(mine, 1).lateral()
    first = func.least(orders.c.id, others.c.id)  # NULL only when neither is due
    found = uow.session.execute(
        select(merchants.c.merchant_id, first)
        .outerjoin(orders, literal_column("TRUE"))
        .outerjoin(others, literal_column("TRUE"))
        .where(merchants.c.merchant_id.is_not(None), first.is_not(None))
    ).all()
    merchantless = uow.session.scalar(  # few, if any: their own index entries, no probe per kind
        select(func.min(inbox.c.id)).where(
            WAITING, inbox.c.merchant_id.is_(None), inbox.c.process_after <= now
        )
    )
    if merchantless is not None:
        found.append((None, merchantless))
    return [merchant_id for merchant_id, _first in sorted(found, key=lambda row: row[1])]


def _parse(row: InboxDelivery, channel: Channel, port_for) -> tuple[Any, list | None, Exception | None]:
    """The channel's port and the delivery's events, or what stopped either (raised in _process_one)."""
    try:
        port = port_for(channel)
        delivery = WebhookDelivery(row.topic, row.dedupe_key, row.body, row.headers)
        return port, port.parse_webhook(delivery), None
    except Exception as error:  # sorted out by _process_one's handlers, in the delivery's savepoint
        return None, None, error


def _process_one(uow: UnitOfWork, row, channel, parsed, now: datetime, touched, report) -> None:
    port, events, error = parsed
    mine = Touched()
    savepoint = uow.session.begin_nested()
    try:
        if error is not None:
            raise error
        notes = [
            apply_event(
                uow, channel, event, received_at=row.received_at, now=now, touched=mine, port=port
            ).summary
            for event in events
        ]
        savepoint.commit()
    except Deferred as wait:
        savepoint.rollback()
        row.process_after = wait.until
        report.deferred += 1
        return
    except IntegrityError:
        # Another worker recorded the same order a moment ago (orders/create and orders/updated
        # processed at once): try again shortly, when this delivery will find it.
        savepoint.rollback()
        row.process_after = now + timedelta(seconds=1)
        report.deferred += 1
        return
    except (WebhookRejected, ConnectorError, ValueError, KeyError) as error:
        savepoint.rollback()
        _fail(row, f"{type(error).__name__}: {error}", now)
        report.failed += 1
        return
    except OperationalError as error:
        # A deadlock or lock timeout with another worker's batch: nothing wrong with the delivery, so it
        # is tried again shortly without counting towards giving up on it.
        savepoint.rollback()
        row.process_after = now + timedelta(seconds=1)
        row.error = f"{type(error).__name__}: {error}"[:2000]
        report.deferred += 1
        return
    except Exception as error:  # a bug: this delivery backs off, the batch and the inbox go on
        log.exception("webhook delivery %s could not be processed", row.id)
        savepoint.rollback()
        _fail(row, f"{type(error).__name__}: {error}", now)
        report.failed += 1
        return
    touched.merge(mine)
    _processed(row, notes, now)
    report.processed += 1


def _processed(row: InboxDelivery, notes: list[str], now: datetime) -> None:
    row.status, row.error, row.attempts, row.processed_at = "processed", None, row.attempts + 1, now
    row.outcome = "; ".join(notes)[:2000] or None


def _fail(row: InboxDelivery, reason: str, now: datetime) -> None:
    row.attempts += 1
    row.error = reason[:2000]
    if row.attempts >= MAX_ATTEMPTS or "WebhookRejected" in reason:
        row.status = "failed"
        log.warning("webhook delivery %s failed for good: %s", row.id, reason)
    else:
        row.process_after = now + timedelta(seconds=2**row.attempts)
