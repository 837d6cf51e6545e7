"""What was sent to whom and how it went: the notification history, and requeueing failed messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from connector.db import UnitOfWork
from connector.errors import InvalidInput
from connector.models import Notification

STATUSES = ("pending", "sent", "failed", "skipped")


def history(
    uow: UnitOfWork, *, merchant_id: int | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The most recent notifications first, with their delivery attempts."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"--status must be one of {', '.join(STATUSES)}, got {status!r}")
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if merchant_id is not None:
        query = query.where(Notification.merchant_id == merchant_id)
    if status is not None:
        query = query.where(Notification.status == status)
    return [describe(n) for n in uow.session.scalars(query)]


def describe(n: Notification) -> dict[str, Any]:
    payload = n.payload or {}
    return {
        "id": n.id,
        "merchant": n.merchant_id,
        "order": n.order_id,
        "order_number": payload.get("order_number"),
        "backorder": n.backorder_id,
        "kind": n.kind,
        "dedupe_key": n.dedupe_key,
        "delivery": n.delivery,
        "recipient": n.recipient,
        "status": n.status,
        "attempts": n.attempts,
        "last_error": n.last_error,
        "created_at": n.created_at.isoformat() if n.created_at else None,
        "send_after": n.send_after.isoformat() if n.send_after else None,
        "sent_at": n.sent_at.isoformat() if n.sent_at else None,
        "delivery_log": payload.get("delivery_log", []),
        "discount": payload.get("discount"),  # an apology's code: created, or why it was not
    }


def requeue_failed(uow: UnitOfWork, now: datetime, *, merchant_id: int | None = None) -> int:
    """Give failed messages a fresh set of attempts (after fixing SMTP_URL, say); returns how many."""
    statement = (
        update(Notification)
        .where(Notification.status == "failed")
        .values(status="pending", attempts=0, send_after=now)
    )
    if merchant_id is not None:
        statement = statement.where(Notification.merchant_id == merchant_id)
    return uow.session.execute(statement).rowcount or 0
