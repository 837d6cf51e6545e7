"""A store removing the app, and the platforms' privacy requests.

- `app/uninstalled`: the channel stops, its token is thrown away, and nothing queued for it is sent.
- `customers/data_request`: everything held about the customer, as JSON, recorded for the merchant.
- `customers/redact`: the customer's personal data is erased from orders, messages, stored webhook bodies
  and earlier exports; the orders and their stock movements stay, so the ledger still adds up.
- `shop/redact` (48 hours after an uninstall): the shop's data is purged, and the merchant's too when it
  was the merchant's last store.

Each function works inside the caller's transaction and returns a one-line summary that names no
customer, since summaries are stored with the delivery and may be logged.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Text, cast, delete, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from adapters.base import AppUninstalled
from adapters.base import ComplianceRequest as ComplianceEvent
from connector.db import UnitOfWork
from connector.models import (
    AuditEntry,
    Backorder,
    Base,
    Cancellation,
    Channel,
    ComplianceRequest,
    InboxDelivery,
    Listing,
    Merchant,
    Notification,
    NotificationOptOut,
    Order,
    OrderLine,
    OutboxRow,
    PendingConnect,
)

REDACTED = "[redacted]"
UNINSTALLED = "uninstalled"


def app_uninstalled(uow: UnitOfWork, channel: Channel, event: AppUninstalled, *, now: datetime) -> str:
    """Stop the channel: status uninstalled, token discarded, queued pushes dropped."""
    if channel.status == UNINSTALLED and channel.credentials_encrypted is None:
        return f"channel {channel.id}: already uninstalled"
    channel.status = UNINSTALLED
    channel.credentials_encrypted = None
    channel.lease_owner, channel.lease_expires_at = None, None
    dropped = uow.session.execute(
        update(OutboxRow)
        .where(OutboxRow.channel_id == channel.id, OutboxRow.status.in_(("pending", "in_flight")))
        .values(status="dead", last_error="the app was uninstalled from this store")
    ).rowcount
    uow.session.add(
        AuditEntry(
            merchant_id=channel.merchant_id,
            actor=f"{channel.kind}:{channel.address}",
            action="channel.uninstalled",
            subject=f"channel {channel.id}",
            details={"dropped_pushes": dropped},
            created_at=now,
        )
    )
    return f"channel {channel.id}: uninstalled, token discarded, {dropped} queued push(es) dropped"


def compliance_request(
    uow: UnitOfWork, channel: Channel | None, event: ComplianceEvent, *, now: datetime
) -> str:
    """Carry out one privacy request and record it (with what was done) as a ComplianceRequest."""
    record = ComplianceRequest(
        merchant_id=channel.merchant_id if channel else None,
        channel_id=channel.id if channel else None,
        topic=event.topic,
        payload=_kept_payload(event),
        created_at=now,
    )
    if channel is None:
        result = {"action": "none", "reason": "no data is held for this shop"}
    elif event.topic == "customers/data_request":
        result = _data_request(uow, channel, event, now)
    elif event.topic == "customers/redact":
        result = _customer_redact(uow, channel, event)
    else:
        result = _shop_redact(uow, channel)
        if result["action"] == "purged":
            record.merchant_id = None if result["merchant_purged"] else record.merchant_id
            record.channel_id = None
    record.result, record.status, record.completed_at = result, "done", now
    uow.session.add(record)
    uow.session.flush()
    counts = ", ".join(
        f"{k} {v}" for k, v in result.items() if isinstance(v, int) and not isinstance(v, bool)
    )
    return f"{event.topic}: {result['action']}{f' ({counts})' if counts else ''}; request {record.id}"


def _kept_payload(event: ComplianceEvent) -> dict[str, Any]:
    """The request as received, except that a redact request keeps no contact details of the customer."""
    payload = dict(event.payload)
    if event.topic != "customers/data_request" and isinstance(payload.get("customer"), dict):
        payload["customer"] = {"id": payload["customer"].get("id")}
    return payload


# -- customers ----------------------------------------------------------------------------------------


def _customer_orders(uow: UnitOfWork, channel: Channel, event: ComplianceEvent) -> list[Order]:
    conditions: list[ColumnElement[bool]] = []
    if event.customer_email:
        conditions.append(func.lower(Order.customer_email) == event.customer_email.strip().lower())
    if event.order_ids:
        conditions.append((Order.channel_id == channel.id) & Order.external_id.in_(event.order_ids))
    if not conditions:
        return []
    query = select(Order).where(Order.merchant_id == channel.merchant_id)
    condition = conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]
    return list(uow.session.scalars(query.where(condition).order_by(Order.id)))


def _data_request(uow: UnitOfWork, channel: Channel, event: ComplianceEvent, now: datetime) -> dict[str, Any]:
    session = uow.session
    orders = _customer_orders(uow, channel, event)
    email = (event.customer_email or "").strip().lower()
    opted_out = bool(
        email
        and session.scalar(
            select(NotificationOptOut.id).where(
                NotificationOptOut.merchant_id == channel.merchant_id,
                func.lower(NotificationOptOut.email) == email,
            )
        )
    )
    export = {
        "customer": {"email": event.customer_email, "id": (event.payload.get("customer") or {}).get("id")},
        "orders": [_order_export(uow, order) for order in orders],
        "notification_opt_out": opted_out,
        "exported_at": now.isoformat(),
    }
    return {"action": "exported", "orders": len(orders), "export": export}


def _order_export(uow: UnitOfWork, order: Order) -> dict[str, Any]:
    session = uow.session
    lines = list(
        session.scalars(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id))
    )
    line_ids = [line.id for line in lines]
    waits = session.scalars(
        select(Backorder).where(Backorder.order_line_id.in_(line_ids)).order_by(Backorder.id)
    )
    cancellations = session.scalars(select(Cancellation).where(Cancellation.order_id == order.id))
    messages = session.scalars(select(Notification).where(Notification.order_id == order.id))
    return {
        "order_id": order.external_id,
        "number": order.number,
        "placed_at": order.placed_at.isoformat(),
        "status": order.status,
        "customer_name": order.customer_name,
        "customer_email": order.customer_email,
        "lines": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "status": line.status,
                "cancelled": line.quantity_cancelled,
            }
            for line in lines
        ],
        "backorders": [
            {
                "quantity": wait.quantity,
                "status": wait.status,
                "expected_date": wait.eta_date.isoformat() if wait.eta_date else None,
                "promised_date": wait.promised_date.isoformat() if wait.promised_date else None,
            }
            for wait in waits
        ],
        "cancellations": [
            {
                "source": c.source,
                "reason": c.reason,
                "status": c.status,
                "created_at": c.created_at.isoformat(),
            }
            for c in cancellations
        ],
        "messages": [
            {
                "kind": m.kind,
                "delivery": m.delivery,
                "recipient": m.recipient,
                "status": m.status,
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            }
            for m in messages
        ],
    }


def _customer_redact(uow: UnitOfWork, channel: Channel, event: ComplianceEvent) -> dict[str, Any]:
    session = uow.session
    merchant_id = channel.merchant_id
    orders = _customer_orders(uow, channel, event)
    needles = {n for n in [event.customer_email or "", *(o.customer_email for o in orders)] if n.strip()}
    needles |= {o.customer_name for o in orders if len(o.customer_name.strip()) >= 3}
    order_ids = [o.id for o in orders]
    for order in orders:
        order.customer_name, order.customer_email = "", ""
    messages = 0
    for message in session.scalars(select(Notification).where(Notification.order_id.in_(order_ids))):
        message.recipient, message.payload = "", {"redacted": True}
        messages += 1
    for cancellation in session.scalars(select(Cancellation).where(Cancellation.order_id.in_(order_ids))):
        cancellation.requested_by = _scrub(cancellation.requested_by, needles)
        cancellation.reason = _scrub(cancellation.reason, needles)
    emails = [n.lower() for n in needles if "@" in n]
    if emails:
        session.execute(
            delete(NotificationOptOut).where(
                NotificationOptOut.merchant_id == merchant_id,
                func.lower(NotificationOptOut.email).in_(emails),
            )
        )
    bodies = _redact_inbox(uow, merchant_id, needles | {o.external_id for o in orders})
    records = _scrub_json_rows(uow, AuditEntry, "details", merchant_id, needles)
    records += _scrub_json_rows(uow, ComplianceRequest, "result", merchant_id, needles)
    records += _scrub_json_rows(uow, ComplianceRequest, "payload", merchant_id, needles)
    return {
        "action": "redacted",
        "orders": len(orders),
        "messages": messages,
        "webhook_bodies": bodies,
        "records": records,
    }


def _redact_inbox(uow: UnitOfWork, merchant_id: int, needles: set[str]) -> int:
    """Empty the stored bodies of finished deliveries that mention the customer (they hold addresses)."""
    wanted = [n.lower().encode() for n in needles if n.strip()]
    if not wanted:
        return 0
    # Deliveries still waiting are left for the worker, except the redact request itself.
    query = select(InboxDelivery).where(
        InboxDelivery.merchant_id == merchant_id,
        (InboxDelivery.status != "received") | (InboxDelivery.topic == "customers/redact"),
    )
    redacted = 0
    for row in uow.session.scalars(query.execution_options(yield_per=500)):
        body = bytes(row.body or b"").lower()
        if any(needle in body for needle in wanted):
            row.body = b"{}"
            row.outcome = ((row.outcome or "") + "; body redacted on request")[:2000]
            redacted += 1
    return redacted


def _scrub_json_rows(
    uow: UnitOfWork, model: type[Base], column: str, merchant_id: int, needles: set[str]
) -> int:
    """Mask the customer's details inside a JSON column of the merchant's rows (audit log, requests)."""
    attribute = getattr(model, column)
    mentions = [func.lower(cast(attribute, Text)).contains(needle.lower()) for needle in needles]
    if not mentions:
        return 0
    owner = model.merchant_id == merchant_id  # type: ignore[attr-defined]
    any_mention = mentions[0]
    for mention in mentions[1:]:
        any_mention = any_mention | mention
    rows = list(uow.session.scalars(select(model).where(owner, any_mention)))
    for row in rows:
        setattr(
            row, column, json.loads(_scrub(json.dumps(getattr(row, column), ensure_ascii=False), needles))
        )
        if isinstance(row, AuditEntry):
            row.subject = _scrub(row.subject, needles)
    return len(rows)


def _scrub(text: str, needles: set[str]) -> str:
    lowered = text.lower()
    for needle in sorted(needles, key=len, reverse=True):
        start = lowered.find(needle.lower())
        while start >= 0:
            text = text[:start] + REDACTED + text[start + len(needle) :]
            lowered = text.lower()
            start = lowered.find(needle.lower(), start + len(REDACTED))
    return text


# -- shops --------------------------------------------------------------------------------------------


def _shop_redact(uow: UnitOfWork, channel: Channel) -> dict[str, Any]:
    if channel.status == "active":
        # Shopify sends shop/redact 48 h after an uninstall unless the shop installed the app again.
        return {"action": "kept", "reason": "the app is installed on this shop again"}
    merchant_id = channel.merchant_id
    rows = purge_channel(uow, channel.id)
    others = uow.session.scalar(select(func.count(Channel.id)).where(Channel.merchant_id == merchant_id))
    merchant_purged = not others
    if merchant_purged:
        rows += purge_merchant(uow, merchant_id)
    return {"action": "purged", "rows": rows, "merchant_purged": merchant_purged}


def purge_channel(uow: UnitOfWork, channel_id: int) -> int:
    """Delete a channel and everything that came from it (orders, listings, deliveries, pushes)."""
    session = uow.session
    orders = select(Order.id).where(Order.channel_id == channel_id)
    lines = select(OrderLine.id).where(OrderLine.order_id.in_(orders))
    waits = select(Backorder.id).where(Backorder.order_line_id.in_(lines))
    statements = [
        delete(Notification).where(Notification.order_id.in_(orders) | Notification.backorder_id.in_(waits)),
        delete(Cancellation).where(Cancellation.order_id.in_(orders)),
        delete(Backorder).where(Backorder.id.in_(waits)),
        delete(OrderLine).where(OrderLine.order_id.in_(orders)),
        delete(Order).where(Order.channel_id == channel_id),
        delete(Listing).where(Listing.channel_id == channel_id),
        delete(OutboxRow).where(OutboxRow.channel_id == channel_id),
        delete(InboxDelivery).where(InboxDelivery.channel_id == channel_id),
    ]
    rows = sum(session.execute(s.execution_options(synchronize_session=False)).rowcount for s in statements)
    session.execute(
        update(PendingConnect).where(PendingConnect.channel_id == channel_id).values(channel_id=None)
    )
    session.execute(
        update(ComplianceRequest).where(ComplianceRequest.channel_id == channel_id).values(channel_id=None)
    )
    session.execute(
        delete(Channel).where(Channel.id == channel_id).execution_options(synchronize_session=False)
    )
    return rows + 1


def purge_merchant(uow: UnitOfWork, merchant_id: int) -> int:
    """Delete every row that belongs to the merchant, children before parents, then the merchant. Earlier
    privacy requests go too, except that the request being carried out is recorded afterwards."""
    session = uow.session
    rows = 0
    for table in reversed(Base.metadata.sorted_tables):
        if table.name == Merchant.__tablename__:
            continue
        owned = _owned_by(table, merchant_id)
        if owned is not None:
            rows += session.execute(delete(table).where(owned)).rowcount
    session.execute(
        delete(Merchant).where(Merchant.id == merchant_id).execution_options(synchronize_session=False)
    )
    return rows + 1


def _owned_by(table: Table, merchant_id: int) -> ColumnElement[bool] | None:
    """Which rows of `table` belong to the merchant: by its own merchant_id, or through a parent's."""
    if "merchant_id" in table.c:
        return table.c.merchant_id == merchant_id
    for key in table.foreign_keys:
        parent = key.column.table
        if "merchant_id" in parent.c:
            return key.parent.in_(select(key.column).where(parent.c.merchant_id == merchant_id))
    return None
