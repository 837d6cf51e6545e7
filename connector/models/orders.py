"""Storefront orders, their lines, backorders, cancellations and customer notifications."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from connector.models.base import Base, UTCDateTime, utcnow


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    external_id: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(100), default="")
    customer_name: Mapped[str] = mapped_column(String(300), default="")
    customer_email: Mapped[str] = mapped_column(String(320), default="", index=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    platform_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | cancelled | closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[int]
    quantity_committed: Mapped[int] = mapped_column(default=0)
    quantity_backordered: Mapped[int] = mapped_column(default=0)
    quantity_cancelled: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")


class Backorder(Base):
    """Units of an order line waiting for stock; the queue is ordered by (created_at, id)."""

    __tablename__ = "backorders"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int]
    quantity_allocated: Mapped[int] = mapped_column(default=0)
    quantity_cancelled: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting | allocated | cancelled
    oversold: Mapped[bool] = mapped_column(default=False)
    promised_date: Mapped[date | None] = mapped_column(Date)
    eta_date: Mapped[date | None] = mapped_column(Date)
    # The ETA last told to the customer, so a move of a day or more is noticed and told once.
    notified_eta_date: Mapped[date | None] = mapped_column(Date)
    # Past the maximum wait, some merchants first ask whether the customer still wants to wait.
    wait_confirm_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wait_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @hybrid_property
    def units_waiting(self) -> int:
        """Units still waiting for stock: on a row, and as an SQL expression in queries."""
        return self.quantity - self.quantity_allocated - self.quantity_cancelled


class Cancellation(Base):
    __tablename__ = "cancellations"
    __table_args__ = (UniqueConstraint("merchant_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # support | customer | policy
    requested_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500), default="")
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    refund: Mapped[bool] = mapped_column(default=True)
    restock: Mapped[bool] = mapped_column(default=True)
    notify: Mapped[bool] = mapped_column(default=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    storefront_response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(Base):
    """A message to a customer, sent exactly once per dedupe key."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("merchant_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    backorder_id: Mapped[int | None] = mapped_column(ForeignKey("backorders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    delivery: Mapped[str] = mapped_column(String(16), default="email")  # email | order_note
    recipient: Mapped[str] = mapped_column(String(320), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
