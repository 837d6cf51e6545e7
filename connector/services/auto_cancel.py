"""Automatic cancellation of backorders that waited too long, and customers confirming they will wait.

A waiting backorder is due when it has waited the item's maximum wait (`max_wait_days`, from when it was
ordered) or, when the merchant set `auto_cancel_grace_days`, when its promised date plus that grace has
passed. A due backorder is cancelled with refund and a message; merchants with `confirm_before_cancel`
first ask the customer (a "confirm_wait" notification) and cancel only when no answer came within
`confirm_days` (default 7). Only waiting units are ever cancelled: allocated or shipped ones never are.

Safe to run twice at once: asking is a compare-and-set on `wait_confirm_requested_at` plus a notification
unique per backorder, and each cancellation has an idempotency key per backorder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from connector.db import UnitOfWork
from connector.errors import ConnectorError
from connector.models import AuditEntry, Backorder, Item, Merchant, Notification, Order, OrderLine
from connector.services import cancellations, links
from connector.services.backorders import merchant_today, policy_of, units_waiting
from connector.services.cancellable import LineRequest
from connector.services.cancellations import CancelCommand, StorefrontFor

ACTOR = "policy:auto-cancel"
DEFAULT_CONFIRM_DAYS = 7


@dataclass(frozen=True)
class LinkSettings:
    """What the messages' links need: the public base URL and the signing key."""

    app_url: str
    secret_key: str


@dataclass(frozen=True)
class Due:
    backorder_id: int
    order_id: int
    merchant_id: int
    line_id: int
    units: int
    why: str


def sweep(
    new_uow: Callable[[], UnitOfWork],
    storefront_for: StorefrontFor,
    links_for: LinkSettings,
    *,
    now: datetime,
) -> dict[str, int]:
    """One pass: ask or cancel every due backorder. Returns counts for the job's record."""
    counts = {"due": 0, "asked": 0, "cancelled": 0, "already_done": 0, "failed": 0, "skipped": 0}
    to_ask, to_cancel = find_due(new_uow, now=now)
    counts["due"] = len(to_ask) + len(to_cancel)
    for due in to_ask:
        counts["asked" if ask_to_confirm(new_uow, due, links_for, now=now) else "already_done"] += 1
    for due in to_cancel:
        counts[_cancel(new_uow, storefront_for, due, now=now)] += 1
    return counts


def find_due(new_uow: Callable[[], UnitOfWork], *, now: datetime) -> tuple[list[Due], list[Due]]:
    """Waiting backorders past their time: those to ask about first, and those to cancel now."""
    to_ask, to_cancel = [], []
    with new_uow() as uow:
        rows = uow.session.execute(
            select(Backorder, OrderLine, Item, Merchant)
            .join(OrderLine, OrderLine.id == Backorder.order_line_id)
            .join(Item, Item.id == Backorder.item_id)
            .join(Merchant, Merchant.id == Backorder.merchant_id)
            .where(Backorder.status == "waiting")
            .order_by(Backorder.created_at, Backorder.id)
        ).all()
        for backorder, line, item, merchant in rows:
            units = units_waiting(backorder)
            settings = merchant.settings or {}
            why = _overdue(backorder, item, merchant, now)
            if units <= 0 or why is None or settings.get("auto_cancel") is False:
                continue
            due = Due(backorder.id, line.order_id, merchant.id, line.id, units, why)
            if not settings.get("confirm_before_cancel"):
                to_cancel.append(due)
            elif backorder.wait_confirmed_at is not None:
                continue  # the customer chose to wait
            elif backorder.wait_confirm_requested_at is None:
                to_ask.append(due)
            elif now >= backorder.wait_confirm_requested_at + timedelta(days=confirm_days(merchant)):
                to_cancel.append(replace(due, why=f"{why}; no answer to the confirmation"))
    return to_ask, to_cancel


def ask_to_confirm(
    new_uow: Callable[[], UnitOfWork], due: Due, links_for: LinkSettings, *, now: datetime
) -> bool:
    """Mark the backorder as asked and queue the "confirm_wait" message; False when already asked."""
    with new_uow() as uow:
        marked = uow.session.execute(
            update(Backorder)
            .where(Backorder.id == due.backorder_id, Backorder.wait_confirm_requested_at.is_(None))
            .values(wait_confirm_requested_at=now)
        ).rowcount
        if not marked:
            return False
        order = uow.session.get(Order, due.order_id)
        merchant = uow.session.get(Merchant, due.merchant_id)
        backorder = uow.session.get(Backorder, due.backorder_id)
        item = uow.session.get(Item, backorder.item_id)
        respond_by = merchant_today(merchant, now) + timedelta(days=confirm_days(merchant))
        uow.session.add(
            Notification(
                merchant_id=due.merchant_id,
                order_id=order.id,
                backorder_id=due.backorder_id,
                kind="confirm_wait",
                dedupe_key=f"confirm_wait:{due.backorder_id}",
                recipient=order.customer_email,
                payload=_confirm_payload(order, item, backorder, due, respond_by, links_for, now),
                send_after=now,
                created_at=now,
            )
        )
        _audit(uow, due, "backorder.wait_confirm_requested", now, respond_by=respond_by.isoformat())
        try:
            uow.commit()
        except IntegrityError:
            return False  # the message was queued by a run that got here first
    return True


def confirm_wait(new_uow: Callable[[], UnitOfWork], order_id: int, *, now: datetime) -> int:
    """The customer still wants to wait: every asked, unanswered backorder of the order is confirmed."""
    with new_uow() as uow:
        rows = uow.session.scalars(
            select(Backorder)
            .join(OrderLine, OrderLine.id == Backorder.order_line_id)
            .where(
                OrderLine.order_id == order_id,
                Backorder.status == "waiting",
                Backorder.wait_confirm_requested_at.is_not(None),
                Backorder.wait_confirmed_at.is_(None),
            )
            .with_for_update()
        ).all()
        for row in rows:
            row.wait_confirmed_at = now
            uow.session.add(
                AuditEntry(
                    merchant_id=row.merchant_id,
                    actor="customer:link",
                    action="backorder.wait_confirmed",
                    subject=f"backorder:{row.id}",
                    details={"order": order_id},
                    created_at=now,
                )
            )
        uow.commit()
    return len(rows)


def confirm_days(merchant: Merchant) -> int:
    return int((merchant.settings or {}).get("confirm_days", DEFAULT_CONFIRM_DAYS))


def _overdue(backorder: Backorder, item: Item, merchant: Merchant, now: datetime) -> str | None:
    """Why this backorder is past its time, or None when it is not."""
    max_wait = policy_of(item, merchant).max_wait_days
    if max_wait is not None and now >= backorder.created_at + timedelta(days=max_wait):
        return f"waited more than {max_wait} days"
    grace = (merchant.settings or {}).get("auto_cancel_grace_days")
    promised: date | None = backorder.promised_date
    if (
        grace is not None
        and promised is not None
        and merchant_today(merchant, now) > promised + timedelta(days=int(grace))
    ):
        return f"more than {int(grace)} days past the promised date {promised.isoformat()}"
    return None


def _cancel(
    new_uow: Callable[[], UnitOfWork], storefront_for: StorefrontFor, due: Due, *, now: datetime
) -> str:
    command = CancelCommand(
        merchant_id=due.merchant_id,
        order_id=due.order_id,
        reason=f"Automatic cancellation: {due.why}",
        idempotency_key=f"policy:backorder:{due.backorder_id}",
        scope="lines",
        lines=(LineRequest(due.line_id, due.units),),
        source="policy",
        actor=ACTOR,
    )
    try:
        outcome = cancellations.cancel(new_uow, storefront_for, command, now=now)
    except cancellations.StorefrontFailed:
        return "failed"  # recorded on the cancellation; the next sweep resumes it
    except ConnectorError:
        return "skipped"  # in progress elsewhere, or nothing waiting any more
    return "already_done" if outcome.replayed else "cancelled"


def _confirm_payload(order, item, backorder, due, respond_by, links_for, now) -> dict[str, Any]:
    return {
        "order_number": order.number,
        "sku": item.sku,
        "title": item.title or item.sku,
        "quantity": due.units,
        "customer_name": order.customer_name,
        "eta": backorder.eta_date.isoformat() if backorder.eta_date else None,
        "waiting_since": backorder.created_at.isoformat(),
        "respond_by": respond_by.isoformat(),
        "why": due.why,
        "confirm_url": links.wait_url(links_for.app_url, links_for.secret_key, order.id, now),
        "cancel_url": links.cancel_url(links_for.app_url, links_for.secret_key, order.id, now),
    }


def _audit(uow: UnitOfWork, due: Due, action: str, now: datetime, **details) -> None:
    uow.session.add(
        AuditEntry(
            merchant_id=due.merchant_id,
            actor=ACTOR,
            action=action,
            subject=f"backorder:{due.backorder_id}",
            details={"order": due.order_id, "why": due.why, **details},
            created_at=now,
        )
    )
