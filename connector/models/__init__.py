"""SQLAlchemy 2 typed models. Schema changes go through Alembic migrations in connector/migrations."""

from connector.models.access import (
    ApiToken,
    ComplianceRequest,
    NotificationOptOut,
    OAuthState,
    PendingConnect,
)
from connector.models.base import Base, Money, UTCDateTime, utcnow
from connector.models.catalog import Channel, Item, Listing, Merchant
from connector.models.jobs import JobRun, apscheduler_jobs
from connector.models.messaging import AuditEntry, InboxDelivery, OutboxRow
from connector.models.orders import Backorder, Cancellation, Notification, Order, OrderLine
from connector.models.stock import IncomingStock, StockMovement, Supplier

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Backorder",
    "Base",
    "Cancellation",
    "Channel",
    "ComplianceRequest",
    "InboxDelivery",
    "IncomingStock",
    "Item",
    "JobRun",
    "Listing",
    "Merchant",
    "Money",
    "Notification",
    "NotificationOptOut",
    "OAuthState",
    "Order",
    "OrderLine",
    "OutboxRow",
    "PendingConnect",
    "StockMovement",
    "Supplier",
    "UTCDateTime",
    "apscheduler_jobs",
    "utcnow",
]
