"""Webhook inbox, outbox of storefront changes, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    case,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column

from connector.models.base import Base, UTCDateTime, utcnow


class InboxDelivery(Base):
    """A verified webhook delivery, stored before it is processed."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (UniqueConstraint("platform", "dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    platform: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(100))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    # received | processed | failed | ignored
    status: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)  # what processing did, for inspection
    attempts: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Not before this time (a stock change waiting for the order deliveries that may explain it).
    process_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxRow(Base):
    """A desired storefront state for one (channel, item, kind), written with the change that caused it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    kind: Mapped[str] = mapped_column(String(32))  # quantity | backorder_state | substitutes
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | in_flight | done | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_inbox_due", InboxDelivery.status, InboxDelivery.process_after)

# Topics of order deliveries start so on both platforms (orders/create, order.updated).
ORDER_TOPIC_PREFIX = "order"
# A delivery still to process, and order deliveries before the rest (an order moves every other store's
# number; a stock change is mostly the echo of our own push). Written with literals, as the index below
# is, so that the database matches a query's conditions to the index's with any plan it chooses.
WAITING = InboxDelivery.status == literal_column("'received'")
ORDER_DELIVERY = InboxDelivery.topic.like(literal_column(f"'{ORDER_TOPIC_PREFIX}%'"))
ORDERS_FIRST = case((ORDER_DELIVERY, literal_column("0")), else_=literal_column("1"))


def is_order_topic(topic: str) -> bool:
    """Whether a delivery's topic is an order's: what `ORDER_DELIVERY` selects in SQL."""
    return topic.startswith(ORDER_TOPIC_PREFIX)


# A merchant's waiting deliveries in the order the worker takes them: a batch is read off its front
# instead of sorting the whole backlog, which under load is thousands of echoes (processed ones, most
# of the table, are not in it).
Index(
    "ix_inbox_waiting",
    InboxDelivery.merchant_id,
    ORDERS_FIRST,
    InboxDelivery.id,
    postgresql_where=WAITING,
    sqlite_where=WAITING,
)
Index("ix_outbox_channel_status", OutboxRow.channel_id, OutboxRow.status, OutboxRow.next_attempt_at)
# Substitute lists and state pushes look up an item's latest rows of a kind after every stock change.
Index("ix_outbox_item_kind", OutboxRow.merchant_id, OutboxRow.kind, OutboxRow.item_id)


class AuditEntry(Base):
    """Who did what, when, and what the storefront answered."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
