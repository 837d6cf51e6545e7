"""The discount code in the apology for a late backorder (a "delayed" notification), created on the
order's own storefront just before the apology goes out, exactly once per backorder.

- The code string is derived from the backorder (an HMAC with SECRET_KEY, so it cannot be guessed) and
  recorded in the notification's payload (`discount`, status `creating`) *before* the storefront is
  asked; every later attempt uses the recorded string and terms.
- The storefront answers a code it already has as existing (the adapters look it up after a duplicate
  error or an unknown outcome), so a repeat after a crash or a timeout finds the first code instead of
  making a second one. Two runs never handle one notification at once (send.claim leases rows).
- A refusal (invalid terms, a missing scope, a disconnected store) sends the apology without a code and
  records why (status `refused`); so does an error nobody expected (an answer of another shape), named
  by its type, instead of aborting the send run on every try; a temporary failure holds the apology back for the usual retry, and
  after MAX_TRIES attempts it goes without a code (status `failed`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from adapters.base import Channel as ChannelPort
from adapters.base import DiscountCodeRequest
from adapters.errors import ChannelError
from connector.db import UnitOfWork
from connector.errors import ConnectorError, InvalidInput
from connector.models import AuditEntry, Channel, Merchant, Notification, Order
from connector.notify.discount_setting import SETTINGS_KEY, setting_of
from connector.notify.render import order_label

log = logging.getLogger(__name__)
CODE_PREFIX = "SORRY-"
MAX_TRIES = 3  # attempts at the storefront before the apology goes without a code
SETTLED = ("created", "refused", "failed")
ACTOR = "notifications"


def code_for(secret_key: str, merchant_id: int, backorder_id: int) -> str:
    """The one code a backorder's apology can carry: the same on every attempt, unguessable without
    the key."""
    message = f"apology:{merchant_id}:{backorder_id}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return CODE_PREFIX + base64.b32encode(digest).decode()[:10]


def wanted(n: Notification, merchant: Merchant) -> bool:
    """Whether this notification's discount code must be settled before it goes out."""
    if n.kind != "delayed":
        return False
    discount = (n.payload or {}).get("discount")
    if discount is not None:
        return discount.get("status") not in SETTLED  # begun: finish it even if the setting went off
    return (merchant.settings or {}).get(SETTINGS_KEY) is not None


@dataclass(frozen=True)
class _Plan:
    request: DiscountCodeRequest
    attempts: int
    port: ChannelPort | None = None
    refusal: str | None = None


def settle(
    new_uow: Callable[[], UnitOfWork], storefronts: Any, secret_key: str, notification_id: int, now: datetime
) -> str | None:
    """Make sure the apology's code exists on the storefront, or record why it goes without one.
    Returns why the apology should wait for a retry, or None when it can go out now."""
    try:
        plan = _plan(new_uow, storefronts, secret_key, notification_id, now)
    except Exception as error:  # recorded as refused, never passed over in silence
        return _unexpected(new_uow, notification_id, now, error)
    if plan is None:
        return None
    if plan.refusal:
        _record(new_uow, notification_id, now, status="refused", reason=plan.refusal)
        return None
    try:
        made = plan.port.create_discount_code(plan.request)
    except (ChannelError, OSError) as error:
        reason = f"{type(error).__name__}: {error}"
        if not getattr(error, "retryable", True):
            _record(new_uow, notification_id, now, status="refused", reason=reason)
            return None
        if plan.attempts < MAX_TRIES:
            _record(new_uow, notification_id, now, status="creating", reason=reason)
            return f"discount code not created yet: {reason}"
        _record(
            new_uow, notification_id, now, status="failed", reason=f"gave up after {plan.attempts}: {reason}"
        )
        return None
    except Exception as error:  # recorded as refused, never passed over in silence
        return _unexpected(new_uow, notification_id, now, error)
    _record(new_uow, notification_id, now, status="created", code=made.code, reference=made.reference)
    return None


def _unexpected(
    new_uow: Callable[[], UnitOfWork], notification_id: int, now: datetime, error: Exception
) -> None:
    """An answer nobody planned for (a storefront reply of another shape, an order gone): raising would
    abort the whole send run, and this row would do it again on every run. The apology goes without a
    code, and the refusal names the error so someone can look."""
    log.error("notification %s: discount code failed unexpectedly", notification_id, exc_info=error)
    reason = f"unexpected {type(error).__name__}: {error}"
    _record(new_uow, notification_id, now, status="refused", reason=reason)


def _plan(
    new_uow: Callable[[], UnitOfWork], storefronts: Any, secret_key: str, notification_id: int, now: datetime
) -> _Plan | None:
    """Record the code and its terms on the first attempt; the request and the storefront to send it to."""
    with new_uow() as uow:
        n = uow.session.get(Notification, notification_id, with_for_update=uow.locks_rows)
        merchant = uow.session.get(Merchant, n.merchant_id)
        discount = (n.payload or {}).get("discount")
        if discount is None:
            try:
                setting = setting_of(merchant)
            except InvalidInput as error:
                discount = {"status": "refused", "reason": f"the {SETTINGS_KEY} setting is unusable: {error}"}
                setting = None
            if setting is not None:
                discount = {
                    "code": code_for(secret_key, n.merchant_id, n.backorder_id or n.id),
                    "type": setting.kind,
                    "value": str(setting.value),
                    "expires_at": (now + timedelta(days=setting.expiry_days)).isoformat(),
                    "status": "creating",
                }
            if discount is not None:
                n.payload = {**(n.payload or {}), "discount": discount}
                action = "planned" if discount["status"] == "creating" else discount["status"]
                _audit(uow, n, f"notification.discount_{action}", now, discount)
        if discount is None or discount["status"] in SETTLED:
            uow.commit()
            return None
        order = uow.session.get(Order, n.order_id)
        request = DiscountCodeRequest(
            code=discount["code"],
            kind=discount["type"],
            value=Decimal(discount["value"]),
            title=f"Apology for the late order {order_label(order.number)}",
            starts_at=now,
            ends_at=datetime.fromisoformat(discount["expires_at"]),
            customer_email=order.customer_email or None,
        )
        port, refusal = _port(uow, storefronts, order)
        plan = _Plan(request, n.attempts, port, refusal)
        uow.commit()
    return plan


def _port(uow: UnitOfWork, storefronts: Any, order: Order) -> tuple[ChannelPort | None, str | None]:
    if storefronts is None:
        return None, "no storefront connection to create the code with"
    channel = uow.session.get(Channel, order.channel_id)
    try:
        return storefronts.get(channel), None
    except ConnectorError as error:  # the channel is disconnected
        return None, f"storefront unavailable: {error}"


def _record(new_uow: Callable[[], UnitOfWork], notification_id: int, now: datetime, **changes) -> None:
    """Keep the outcome in the payload: the code the template shows once it exists, or the reason."""
    with new_uow() as uow:
        n = uow.session.get(Notification, notification_id, with_for_update=uow.locks_rows)
        payload = dict(n.payload or {})
        discount = {**payload.get("discount", {}), **{k: v for k, v in changes.items() if v is not None}}
        if changes["status"] == "created":
            discount.pop("reason", None)
            payload["discount_code"] = discount["code"]
        payload["discount"] = discount
        n.payload = payload
        if changes["status"] in SETTLED:
            _audit(uow, n, f"notification.discount_{changes['status']}", now, discount)
        uow.commit()
    if changes["status"] != "created":
        log.warning(
            "notification %s: discount code %s (%s)", notification_id, changes["status"], changes["reason"]
        )


def _audit(uow: UnitOfWork, n: Notification, action: str, now: datetime, details: dict[str, Any]) -> None:
    uow.session.add(
        AuditEntry(
            merchant_id=n.merchant_id,
            actor=ACTOR,
            action=action,
            subject=f"backorder:{n.backorder_id}",
            details={"notification": n.id, **details},
            created_at=now,
        )
    )
