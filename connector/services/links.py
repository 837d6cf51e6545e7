"""Signed, expiring links for customers: cancel what is waiting, or confirm they still want to wait.

The token carries the order id and its own expiry, signed with SECRET_KEY (itsdangerous), so checking
it needs no database and time is passed in. Whether a link was already used is the database's business
(a customer cancellation is recorded once per order), not the token's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from connector.errors import ConnectorError

SALT = "backorder.self-cancel"
DEFAULT_TTL_DAYS = 30


class LinkInvalid(ConnectorError):
    """The link was altered, truncated or signed with another key."""

    status = 400
    title = "Invalid link"


class LinkExpired(ConnectorError):
    """The link was genuine but its time is up."""

    status = 410
    title = "Link expired"

    def __init__(self, message: str, *, order_id: int):
        super().__init__(message)
        self.order_id = order_id


def cancel_token(secret_key: str, order_id: int, now: datetime, *, ttl_days: int = DEFAULT_TTL_DAYS) -> str:
    """The signed token for one order, valid for `ttl_days` from `now`."""
    expires = int((now + timedelta(days=ttl_days)).timestamp())
    return _serializer(secret_key).dumps({"o": int(order_id), "e": expires})


def cancel_url(
    app_url: str, secret_key: str, order_id: int, now: datetime, *, ttl_days: int = DEFAULT_TTL_DAYS
) -> str:
    """The customer's self-cancel page for this order (what every backorder message links to)."""
    return f"{app_url.rstrip('/')}/c/{cancel_token(secret_key, order_id, now, ttl_days=ttl_days)}"


def wait_url(
    app_url: str, secret_key: str, order_id: int, now: datetime, *, ttl_days: int = DEFAULT_TTL_DAYS
) -> str:
    """The page where the customer confirms they still want to wait (same token, `/wait` page)."""
    return cancel_url(app_url, secret_key, order_id, now, ttl_days=ttl_days) + "/wait"


def read_cancel_token(secret_key: str, token: str, now: datetime) -> int:
    """The order id a token was made for; LinkInvalid when tampered with, LinkExpired when too old."""
    try:
        payload = _serializer(secret_key).loads(token)
    except BadSignature:
        raise LinkInvalid("this link is not valid: it may have been cut short or changed") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("o"), int):
        raise LinkInvalid("this link is not valid")
    expires = payload.get("e")
    if not isinstance(expires, int) or now.timestamp() > expires:
        raise LinkExpired("this link has expired", order_id=payload["o"])
    return payload["o"]


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)
