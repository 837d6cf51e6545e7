"""Merchants, their channels (storefronts), their items and the listings that link the two."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from adapters.base import ListingRef
from connector.models.base import Base, Money, UTCDateTime, utcnow


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    # Policy defaults that an item inherits unless it overrides them.
    backorder_policy: Mapped[str] = mapped_column(String(16), default="deny")
    backorder_limit: Mapped[int | None]
    lead_days: Mapped[int] = mapped_column(default=14)
    max_wait_days: Mapped[int] = mapped_column(default=60)
    handling_days: Mapped[int] = mapped_column(default=1)
    safety_stock: Mapped[int] = mapped_column(default=0)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("kind", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # shopify | woocommerce
    address: Mapped[str] = mapped_column(String(255))  # shop domain or store URL
    api_url: Mapped[str | None] = mapped_column(String(500))
    location_id: Mapped[str | None] = mapped_column(String(200))
    credentials_encrypted: Mapped[str | None] = mapped_column(Text)
    webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # The dispatcher's lease: one worker sends for a channel at a time.
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where a catalogue import stands, so an interrupted one resumes: cursor, counts, problems.
    import_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Item(Base):
    """A SKU in the merchant's one stock pool; on_hand and committed are the ledger's running totals."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("merchant_id", "sku"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    sku: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    product_type: Mapped[str] = mapped_column(String(200), default="")
    vendor: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    price: Mapped[Decimal | None] = mapped_column(Money)
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    on_hand: Mapped[int] = mapped_column(default=0)
    committed: Mapped[int] = mapped_column(default=0)
    # None means "use the merchant's default".
    backorder_policy: Mapped[str | None] = mapped_column(String(16))
    backorder_limit: Mapped[int | None]
    lead_days: Mapped[int | None]
    max_wait_days: Mapped[int | None]
    handling_days: Mapped[int | None]
    safety_stock: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Listing(Base):
    """An item as one storefront knows it, and the state we last pushed there."""

    __tablename__ = "listings"
    __table_args__ = (
        UniqueConstraint("channel_id", "variant_id"),
        UniqueConstraint("channel_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    product_id: Mapped[str] = mapped_column(String(200))
    variant_id: Mapped[str] = mapped_column(String(200))
    inventory_item_id: Mapped[str | None] = mapped_column(String(200))
    original_policy: Mapped[str | None] = mapped_column(String(16))
    last_pushed_quantity: Mapped[int | None]
    last_pushed_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def ref(self) -> ListingRef:
        """Where this listing lives on its storefront, as the adapters address it."""
        return ListingRef(self.product_id, self.variant_id, self.inventory_item_id)


Index("ix_listings_inventory_item", Listing.channel_id, Listing.inventory_item_id)
