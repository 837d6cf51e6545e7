"""The webhook inbox as operators see it: what came, what became of it, and failed deliveries sent
through again once their cause is fixed (`backorder inbox …`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from connector.db import UnitOfWork
from connector.errors import InvalidInput, NotFound
from connector.models import InboxDelivery
from connector.services import doorbell

STATUSES = ("received", "processed", "failed", "ignored")
# Shown: the platforms' own headers and the content headers (the intake keeps every `X-` header, and a
# proxy's may carry its credentials), less those carrying the delivery's signature.
SHOWN_PREFIXES = ("x-shopify-", "x-wc-", "content-")
SIGNATURE_MARKS = ("hmac", "signature")


def list_deliveries(
    uow: UnitOfWork, *, status: str | None = None, channel_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest deliveries first, without their bodies."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be between 1 and 1000, got {limit}")
    query = select(InboxDelivery).order_by(InboxDelivery.id.desc()).limit(limit)
    if status is not None:
        query = query.where(InboxDelivery.status == status)
    if channel_id is not None:
        query = query.where(InboxDelivery.channel_id == channel_id)
    return [_summary(row) for row in uow.session.scalars(query)]


def show_delivery(uow: UnitOfWork, delivery_id: int) -> dict[str, Any]:
    """One delivery with the platform's headers (signatures left out) and its body, as JSON or text."""
    row = uow.session.get(InboxDelivery, delivery_id)
    if row is None:
        raise NotFound(f"no webhook delivery {delivery_id}")
    headers = {
        name: value
        for name, value in (row.headers or {}).items()
        if name.lower().startswith(SHOWN_PREFIXES)
        and not any(mark in name.lower() for mark in SIGNATURE_MARKS)
    }
    return {**_summary(row), "headers": headers, "body": _body(row.body)}


def requeue_failed(
    uow: UnitOfWork, now: datetime, *, delivery_id: int | None = None, channel_id: int | None = None
) -> int:
    """Send failed deliveries through processing again, with their attempts reset (after the cause, a
    missing item or a bug, was fixed); returns how many. Only failed ones: a delivery processed or
    ignored (its store was disconnected) is never applied again this way."""
    statement = update(InboxDelivery).where(InboxDelivery.status == "failed")
    if delivery_id is not None:
        row = uow.session.get(InboxDelivery, delivery_id)
        if row is None:
            raise NotFound(f"no webhook delivery {delivery_id}")
        if row.status != "failed":
            raise InvalidInput(
                f"webhook delivery {delivery_id} is {row.status}; only failed ones are retried"
            )
        statement = statement.where(InboxDelivery.id == delivery_id)
    if channel_id is not None:
        statement = statement.where(InboxDelivery.channel_id == channel_id)
    result = uow.session.execute(
        statement.values(status="received", attempts=0, error=None, process_after=now),
        execution_options={"synchronize_session": False},
    )
    count = result.rowcount or 0
    if count:
        doorbell.ring(uow)  # idle workers look at once (PostgreSQL); on SQLite they find them polling
    return count


def _summary(row: InboxDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": row.channel_id,
        "platform": row.platform,
        "topic": row.topic,
        "status": row.status,
        "attempts": row.attempts,
        "received_at": row.received_at.isoformat(),
        "processed_at": row.processed_at.isoformat() if row.processed_at else None,
        "error": row.error,
        "outcome": row.outcome,
    }


def _body(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(raw)} bytes, not UTF-8>"
    try:
        return json.loads(text)
    except ValueError:
        return text
