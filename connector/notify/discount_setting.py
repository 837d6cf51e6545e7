"""The merchant setting `apology_discount`: whether the apology for a late backorder carries a
discount code, of what kind and value, and for how long it is valid. Off unless set.

Stored in `Merchant.settings["apology_discount"]` as `{"type": "percentage" | "fixed_amount",
"value": "10", "expiry_days": 30}` and checked before it is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.db import UnitOfWork
from connector.errors import InvalidInput, NotFound
from connector.models import AuditEntry, Merchant

SETTINGS_KEY = "apology_discount"
KINDS = ("percentage", "fixed_amount")
DEFAULT_EXPIRY_DAYS = 30
MAX_EXPIRY_DAYS = 365


@dataclass(frozen=True)
class ApologyDiscount:
    kind: str  # percentage | fixed_amount
    value: Decimal  # 10 = 10 %, or an amount in the shop's currency
    expiry_days: int = DEFAULT_EXPIRY_DAYS

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> ApologyDiscount | None:
        """The stored setting, or None when it is off; InvalidInput names the first bad value."""
        if data is None:
            return None
        if not isinstance(data, Mapping):
            raise InvalidInput(f"{SETTINGS_KEY} must be an object, got {data!r}")
        unknown = sorted(set(data) - {"type", "value", "expiry_days"})
        if unknown:
            raise InvalidInput(f"unknown {SETTINGS_KEY} setting(s): {', '.join(unknown)}")
        kind = data.get("type")
        if kind not in KINDS:
            raise InvalidInput(f"{SETTINGS_KEY} type must be percentage or fixed_amount, got {kind!r}")
        value = _amount(data.get("value"))
        if kind == "percentage" and value > 100:
            raise InvalidInput(f"{SETTINGS_KEY} percentage must be at most 100, got {value}")
        days = data.get("expiry_days", DEFAULT_EXPIRY_DAYS)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRY_DAYS:
            raise InvalidInput(
                f"{SETTINGS_KEY} expiry_days must be a whole number from 1 to {MAX_EXPIRY_DAYS}, got {days!r}"
            )
        return cls(kind, value, days)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "value": str(self.value), "expiry_days": self.expiry_days}


def setting_of(merchant: Merchant) -> ApologyDiscount | None:
    """The merchant's setting (None: off); InvalidInput when what is stored is malformed."""
    return ApologyDiscount.from_mapping((merchant.settings or {}).get(SETTINGS_KEY))


def configure(
    uow: UnitOfWork, merchant_id: int, setting: ApologyDiscount | None, *, actor: str, now: datetime
) -> dict[str, Any]:
    """Turn the discount on with `setting`, or off with None; audited. Apologies already sent keep
    the codes they carried."""
    with uow:
        merchant = uow.session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(f"unknown merchant {merchant_id}")
        settings = {k: v for k, v in (merchant.settings or {}).items() if k != SETTINGS_KEY}
        if setting is not None:
            settings[SETTINGS_KEY] = setting.as_dict()
        merchant.settings = settings  # a new dict, so SQLAlchemy sees the JSON column change
        stored = settings.get(SETTINGS_KEY)
        uow.session.add(
            AuditEntry(
                merchant_id=merchant_id,
                actor=actor,
                action="settings.apology_discount",
                subject=f"merchant:{merchant_id}",
                details={"apology_discount": stored},
                created_at=now,
            )
        )
        uow.commit()
    return {"merchant": merchant_id, SETTINGS_KEY: stored}


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
        whole_cents = amount.is_finite() and amount == amount.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{SETTINGS_KEY} value must be a number, got {value!r}") from None
    if isinstance(value, bool) or not amount.is_finite() or amount <= 0:
        raise InvalidInput(f"{SETTINGS_KEY} value must be above 0, got {value!r}")
    if not whole_cents:
        raise InvalidInput(f"{SETTINGS_KEY} value takes at most two decimals, got {value!r}")
    return amount
