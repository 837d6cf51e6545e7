"""SQLAlchemy 2 typed models. Schema changes go through Alembic migrations in connector/migrations."""

from connector.models.base import Base, Money, UTCDateTime, utcnow
from connector.models.catalog import Channel, Item, Listing, Merchant
from connector.models.jobs import JobRun, apscheduler_jobs
from connector.models.messaging import AuditEntry, InboxDelivery, OutboxRow
from connector.models.orders import Backorder, Cancellation, Notification, Order, OrderLine
from connector.models.stock import IncomingStock, StockMovement, Supplier

__all__ = [
    "AuditEntry",
    "Backorder",
    "Base",
    "Cancellation",
    "Channel",
    "InboxDelivery",
    "IncomingStock",
    "Item",
    "JobRun",
    "Listing",
    "Merchant",
    "Money",
    "Notification",
    "Order",
    "OrderLine",
    "OutboxRow",
    "StockMovement",
    "Supplier",
    "UTCDateTime",
    "apscheduler_jobs",
    "utcnow",
]
