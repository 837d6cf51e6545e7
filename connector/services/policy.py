"""Setting backorder policy, for one item or as the merchant's defaults; storefronts follow through the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from connector.db import UnitOfWork
from connector.domain.backorders import BackorderPolicy, parse_policy
from connector.errors import InvalidInput, NotFound
from connector.models import AuditEntry, Item, Merchant
from connector.services.backorders import after_stock_change, merchant_defaults, policy_of

NUMBERS = ("lead_days", "max_wait_days", "handling_days", "safety_stock")


def set_policy(uow: UnitOfWork, merchant_id: int, sku: str, *, now: datetime, **changes) -> dict:
    """Override the merchant's defaults for one item (backorders, lead_days, max_wait_days,
    handling_days, safety_stock; None leaves a value as it is); returns the effective policy."""
    with uow:
        item = uow.session.scalar(select(Item).where(Item.merchant_id == merchant_id, Item.sku == sku))
        if item is None:
            raise NotFound(f"unknown SKU {sku!r}")
        _apply(item, changes)
        policy = policy_of(item, uow.session.get(Merchant, merchant_id))
        _audit(uow, merchant_id, "policy.set", f"item:{sku}", policy)
        after_stock_change(uow, merchant_id, [item.id], now)
        uow.commit()
    return {"sku": sku, **_described(policy)}


def set_merchant_defaults(uow: UnitOfWork, merchant_id: int, *, now: datetime, **changes) -> dict:
    """Change the defaults every item without its own setting follows (same keywords as set_policy)."""
    with uow:
        merchant = uow.session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(f"unknown merchant {merchant_id}")
        _apply(merchant, changes)
        defaults = merchant_defaults(merchant)
        _audit(uow, merchant_id, "policy.defaults", f"merchant:{merchant_id}", defaults)
        item_ids = list(uow.session.scalars(select(Item.id).where(Item.merchant_id == merchant_id)))
        after_stock_change(uow, merchant_id, item_ids, now)
        uow.commit()
    return {"merchant": merchant_id, **_described(defaults)}


def _apply(target: Item | Merchant, changes: dict) -> None:
    """Check every change first, then write them to the item's or merchant's policy columns."""
    unknown = set(changes) - {"backorders", *NUMBERS}
    if unknown:
        raise TypeError(f"unknown policy settings: {', '.join(sorted(unknown))}")
    for name in NUMBERS:
        value = changes.get(name)
        if value is not None and value < 0:
            raise InvalidInput(f"--{name.replace('_', '-')} cannot be negative (got {value})")
    if changes.get("backorders") is not None:
        target.backorder_policy, target.backorder_limit = parse_policy(changes["backorders"])
    for name in NUMBERS:
        if changes.get(name) is not None:
            setattr(target, name, changes[name])


def _audit(uow: UnitOfWork, merchant_id: int, action: str, subject: str, policy: BackorderPolicy) -> None:
    details = {
        "backorders": policy.text,
        "lead_days": policy.lead_days,
        "max_wait_days": policy.max_wait_days,
    }
    uow.session.add(
        AuditEntry(merchant_id=merchant_id, actor="cli", action=action, subject=subject, details=details)
    )


def _described(policy: BackorderPolicy) -> dict:
    return {"backorders": policy.text, **{name: getattr(policy, name) for name in NUMBERS}}
