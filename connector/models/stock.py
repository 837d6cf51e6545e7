"""The stock ledger, suppliers and incoming stock."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.models.base import Base, UTCDateTime, utcnow


class StockMovement(Base):
    """One change to an item's stock; the idempotency key makes a replay a no-op."""

    __tablename__ = "stock_movements"
    __table_args__ = (UniqueConstraint("merchant_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # receive | adjust | set | commit | release
    on_hand_delta: Mapped[int] = mapped_column(default=0)
    committed_delta: Mapped[int] = mapped_column(default=0)
    on_hand_after: Mapped[int]
    committed_after: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Supplier(Base):
    __tablename__ = "suppliers"
    __table_args__ = (UniqueConstraint("merchant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IncomingStock(Base):
    """A purchase order line: what a supplier promised, when, and what has arrived."""

    __tablename__ = "incoming_stock"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    quantity: Mapped[int]
    quantity_received: Mapped[int] = mapped_column(default=0)
    expected_date: Mapped[date] = mapped_column(Date)
    received_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | partial | received | cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
