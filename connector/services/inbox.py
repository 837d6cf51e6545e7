"""The webhook inbox: store verified deliveries once, process them later, idempotently."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from adapters.base import Channel as ChannelPort
from adapters.base import WebhookDelivery
from adapters.errors import WebhookRejected
from connector.db import UnitOfWork
from connector.errors import ConnectorError
from connector.models import Channel, InboxDelivery, utcnow
from connector.services.sync import Deferred, apply_event

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def record(uow: UnitOfWork, channel: Channel, delivery: WebhookDelivery, *, status: str = "received") -> bool:
    """Store a verified delivery; False when it was already stored (a duplicate or a retry)."""
    with uow:
        stored = _store(uow.session.connection(), channel, delivery, status)
        uow.commit()
    return stored


def record_direct(
    engine: Engine, channel: Channel, delivery: WebhookDelivery, *, status: str = "received"
) -> bool:
    """`record` on a bare connection: the intake's hot path, without an ORM session per request."""
    with engine.begin() as connection:
        return _store(connection, channel, delivery, status)


def _store(connection: Connection, channel: Channel, delivery: WebhookDelivery, status: str) -> bool:
    key = f"{channel.id}:{delivery.topic}:{delivery.dedupe_key}"
    values = {
        "merchant_id": channel.merchant_id,
        "channel_id": channel.id,
        "platform": channel.kind,
        "topic": delivery.topic,
        "dedupe_key": key[:300],
        "headers": {k: v for k, v in delivery.headers.items() if k.lower().startswith(("x-", "content-"))},
        "body": delivery.body,
        "status": status,
        "attempts": 0,
        "received_at": utcnow(),
        "process_after": utcnow(),
    }
    # One statement: no window between a read and the write, no IntegrityError to recover from when the
    # same delivery arrives twice at once; a duplicate simply returns no row.
    return connection.execute(_insert_unless_stored(connection.dialect.name), values).first() is not None


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
) -> InboxReport:
    """Process due deliveries in arrival order, each in its own transaction with its effects."""
    report = InboxReport()
    with new_uow() as uow:
        due = uow.session.scalars(
            select(InboxDelivery.id)
            .where(InboxDelivery.status == "received", InboxDelivery.process_after <= now())
            .order_by(InboxDelivery.id)
            .limit(limit)
        ).all()
    for delivery_id in due:
        _process_one(new_uow(), delivery_id, port_for, now(), report)
    return report


def _process_one(uow: UnitOfWork, delivery_id: int, port_for, now: datetime, report: InboxReport) -> None:
    with uow:
        query = select(InboxDelivery).where(
            InboxDelivery.id == delivery_id, InboxDelivery.status == "received"
        )
        if uow.locks_rows:
            query = query.with_for_update(skip_locked=True)
        row = uow.session.scalar(query)
        if row is None:
            return  # another worker has it
        channel = uow.session.get(Channel, row.channel_id)
        try:
            port = port_for(channel)
            delivery = WebhookDelivery(row.topic, row.dedupe_key, row.body, row.headers)
            notes = [
                apply_event(uow, channel, event, received_at=row.received_at, now=now).summary
                for event in port.parse_webhook(delivery)
            ]
        except Deferred as wait:
            uow.rollback()
            _mark(uow, delivery_id, process_after=wait.until)
            report.deferred += 1
            return
        except IntegrityError:
            # Another worker recorded the same order a moment ago (orders/create and orders/updated
            # processed at once): try again shortly, when this delivery will find it.
            uow.rollback()
            _mark(uow, delivery_id, process_after=now + timedelta(seconds=1))
            report.deferred += 1
            return
        except (WebhookRejected, ConnectorError, ValueError, KeyError) as error:
            uow.rollback()
            _fail(uow, delivery_id, f"{type(error).__name__}: {error}", now)
            report.failed += 1
            return
        row.status, row.error, row.attempts = "processed", None, row.attempts + 1
        row.outcome = "; ".join(notes)[:2000] or None
        uow.commit()
        report.processed += 1


def _mark(uow: UnitOfWork, delivery_id: int, **values) -> None:
    row = uow.session.get(InboxDelivery, delivery_id)
    for name, value in values.items():
        setattr(row, name, value)
    uow.commit()


def _fail(uow: UnitOfWork, delivery_id: int, reason: str, now: datetime) -> None:
    row = uow.session.get(InboxDelivery, delivery_id)
    row.attempts += 1
    row.error = reason[:2000]
    if row.attempts >= MAX_ATTEMPTS or "WebhookRejected" in reason:
        row.status = "failed"
        log.warning("webhook delivery %s failed for good: %s", delivery_id, reason)
    else:
        row.process_after = now + timedelta(seconds=2**row.attempts)
    uow.commit()
