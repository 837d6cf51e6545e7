"""Customers leaving the periodic ("still waiting") messages: signed unsubscribe links and opt-out records.

A link carries the merchant and the address, signed with SECRET_KEY; it does not expire, because an
unsubscribe link in an old mail must keep working. It only ever turns messages off.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from connector.db import UnitOfWork
from connector.models import NotificationOptOut

SALT = "notify.unsubscribe"


def unsubscribe_token(secret_key: str, merchant_id: int, email: str) -> str:
    """The signed token for one customer of one merchant."""
    return URLSafeSerializer(secret_key, salt=SALT).dumps({"m": merchant_id, "e": normalise(email)})


def unsubscribe_url(app_url: str, secret_key: str, merchant_id: int, email: str) -> str:
    return (
        f"{app_url.rstrip('/')}/notifications/unsubscribe/{unsubscribe_token(secret_key, merchant_id, email)}"
    )


def read_token(secret_key: str, token: str) -> tuple[int, str] | None:
    """(merchant id, email) from a genuine token; None when it was tampered with or is malformed."""
    try:
        data = URLSafeSerializer(secret_key, salt=SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("m"), int) or not isinstance(data.get("e"), str):
        return None
    return data["m"], data["e"]


def normalise(email: str) -> str:
    return email.strip().lower()


def is_opted_out(uow: UnitOfWork, merchant_id: int, email: str) -> bool:
    return (
        uow.session.scalar(
            select(NotificationOptOut.id).where(
                NotificationOptOut.merchant_id == merchant_id, NotificationOptOut.email == normalise(email)
            )
        )
        is not None
    )


def opted_out_emails(uow: UnitOfWork, merchant_id: int) -> set[str]:
    return set(
        uow.session.scalars(
            select(NotificationOptOut.email).where(NotificationOptOut.merchant_id == merchant_id)
        )
    )


def opt_out(uow: UnitOfWork, merchant_id: int, email: str) -> bool:
    """Record the opt-out (inside the caller's transaction); False when it was already recorded."""
    if is_opted_out(uow, merchant_id, email):
        return False
    try:
        with uow.session.begin_nested():
            uow.session.add(NotificationOptOut(merchant_id=merchant_id, email=normalise(email)))
    except IntegrityError:  # the same click twice at once: the other one recorded it
        return False
    return True
