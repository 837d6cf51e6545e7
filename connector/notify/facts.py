"""What a notification says, fixed when it is recorded: the order, the item, the dates and the wait text.

Links (self-cancel, unsubscribe) are not stored: they are signed when the message is sent, so they
carry a fresh expiry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from connector.db import UnitOfWork
from connector.domain.wait_text import InvalidWaitSetting, render_wait_text
from connector.errors import InvalidInput
from connector.models import Backorder, Item, Merchant, Order, OrderLine
from connector.services.backorders import units_waiting
from connector.services.substitutes import suggest

log = logging.getLogger(__name__)
MAX_SUBSTITUTES = 3
WITH_SUBSTITUTES = ("confirmed", "still_waiting", "delayed")


@dataclass(frozen=True)
class Context:
    merchant: Merchant
    backorder: Backorder
    line: OrderLine
    order: Order
    item: Item
    today: date
    now: datetime


def payload(uow: UnitOfWork, context: Context, kind: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The facts a message of `kind` shows, as JSON values."""
    b, order, item = context.backorder, context.order, context.item
    waiting = units_waiting(b)
    facts = {
        "order_number": order.number,
        "customer_name": order.customer_name,
        "sku": item.sku,
        "title": item.title or item.sku,
        "quantity": waiting if kind != "ready" else b.quantity - b.quantity_cancelled,
        "eta": b.eta_date.isoformat() if b.eta_date else None,
        "promised_date": b.promised_date.isoformat() if b.promised_date else None,
        "wait_text": wait_text(context.merchant, b.eta_date, context.today),
        **extra,
    }
    if kind in WITH_SUBSTITUTES:
        facts["substitutes"] = substitutes(uow, context.merchant.id, item.sku, context.now)
    return facts


def wait_text(merchant: Merchant, eta: date | None, today: date) -> str | None:
    """The wait as the storefront words it; the locale's default wording if the merchant's is unusable."""
    if eta is None:
        return None
    settings = merchant.settings or {}
    style = settings.get("wait_text_style", "range")
    try:
        return render_wait_text(
            eta, today, locale=merchant.locale, template=settings.get("wait_text_template"), style=style
        )
    except InvalidWaitSetting as error:
        log.warning(
            "merchant %s wait text setting unusable (%s); using the default wording", merchant.id, error
        )
    try:
        return render_wait_text(eta, today, locale=merchant.locale)
    except InvalidWaitSetting:
        return render_wait_text(eta, today, locale="en")


def substitutes(uow: UnitOfWork, merchant_id: int, sku: str, now: datetime) -> list[dict[str, Any]]:
    """Up to three suggestions that can ship now."""
    try:
        found = suggest(uow, merchant_id, sku, now)
    except InvalidInput as error:  # malformed substitute settings must not hold the message back
        log.warning("merchant %s: substitutes left out of a notification: %s", merchant_id, error)
        return []
    rows = [s.as_dict() for s in found.substitutes[:MAX_SUBSTITUTES]]
    return [
        {"sku": r.get("sku"), "title": r.get("title") or r.get("sku"), "reason": r.get("reason") or ""}
        for r in rows
    ]
