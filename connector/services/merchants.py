"""Creating merchants and finding them by id or name."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from connector.db import UnitOfWork
from connector.errors import InvalidInput, NotFound
from connector.models import Merchant

_LOCALE = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


def create_merchant(uow: UnitOfWork, name: str, *, timezone: str = "UTC", locale: str = "en") -> int:
    """Create a merchant and return its id."""
    name = name.strip()
    if not name:
        raise InvalidInput("merchant name must not be empty")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown timezone {timezone!r} (use an IANA name like Europe/Berlin)") from None
    if not _LOCALE.match(locale):
        raise InvalidInput(f"malformed locale {locale!r} (use a tag like en, de or en_GB)")
    with uow:
        merchant = Merchant(name=name, timezone=timezone, locale=locale.replace("-", "_"))
        uow.session.add(merchant)
        uow.session.flush()
        merchant_id = merchant.id
        uow.commit()
    return merchant_id


def find_merchant(uow: UnitOfWork, ref: str | int) -> Merchant:
    """The merchant with this id, or else with exactly this name; NotFound otherwise."""
    session = uow.session
    text = str(ref).strip()
    merchant = session.get(Merchant, int(text)) if text.isdigit() else None
    if merchant is None:
        found = session.scalars(select(Merchant).where(Merchant.name == text).order_by(Merchant.id)).all()
        if len(found) > 1:
            raise InvalidInput(f"{len(found)} merchants are named {text!r}; give the id instead")
        merchant = found[0] if found else None
    if merchant is None:
        raise NotFound(f"unknown merchant {text!r}")
    return merchant
