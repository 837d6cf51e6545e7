"""Setting an item's backorder policy; storefronts follow through the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from connector.db import UnitOfWork
from connector.domain.backorders import parse_policy
from connector.errors import InvalidInput, NotFound
from connector.models import AuditEntry, Item
from connector.services.backorders import after_stock_change, policy_of


def set_policy(
    uow: UnitOfWork,
    merchant_id: int,
    sku: str,
    *,
    backorders: str | None = None,
    lead_days: int | None = None,
    max_wait_days: int | None = None,
    handling_days: int | None = None,
    safety_stock: int | None = None,
    now: datetime,
) -> dict:
    """Override the merchant's defaults for one item; returns the effective policy."""
    for name, value in (
        ("--lead-days", lead_days),
        ("--max-wait-days", max_wait_days),
        ("--handling-days", handling_days),
        ("--safety-stock", safety_stock),
    ):
        if value is not None and value < 0:
            raise InvalidInput(f"{name} cannot be negative (got {value})")
    with uow:
        item = uow.session.scalar(select(Item).where(Item.merchant_id == merchant_id, Item.sku == sku))
        if item is None:
            raise NotFound(f"unknown SKU {sku!r}")
        if backorders is not None:
            kind, limit = parse_policy(backorders)
            item.backorder_policy, item.backorder_limit = kind, limit
        for column, value in (
            ("lead_days", lead_days),
            ("max_wait_days", max_wait_days),
            ("handling_days", handling_days),
            ("safety_stock", safety_stock),
        ):
            if value is not None:
                setattr(item, column, value)
        policy = policy_of(item, item_merchant(uow, item))
        uow.session.add(
            AuditEntry(
                merchant_id=merchant_id,
                actor="cli",
                action="policy.set",
                subject=f"item:{sku}",
                details={
                    "backorders": policy.text,
                    "lead_days": policy.lead_days,
                    "max_wait_days": policy.max_wait_days,
                },
            )
        )
        after_stock_change(uow, merchant_id, [item.id], now)
        uow.commit()
    return {
        "sku": sku,
        "backorders": policy.text,
        "lead_days": policy.lead_days,
        "max_wait_days": policy.max_wait_days,
        "handling_days": policy.handling_days,
        "safety_stock": policy.safety_stock,
    }


def item_merchant(uow: UnitOfWork, item: Item):
    from connector.models import Merchant

    return uow.session.get(Merchant, item.merchant_id)


def set_merchant_defaults(
    uow: UnitOfWork,
    merchant_id: int,
    *,
    backorders: str | None = None,
    lead_days: int | None = None,
    max_wait_days: int | None = None,
    handling_days: int | None = None,
    safety_stock: int | None = None,
    now: datetime,
) -> dict:
    """Change the defaults every item without its own setting follows; storefronts follow through the outbox."""
    from connector.domain.backorders import BackorderPolicy
    from connector.models import Merchant

    for name, value in (
        ("--lead-days", lead_days),
        ("--max-wait-days", max_wait_days),
        ("--handling-days", handling_days),
        ("--safety-stock", safety_stock),
    ):
        if value is not None and value < 0:
            raise InvalidInput(f"{name} cannot be negative (got {value})")
    with uow:
        merchant = uow.session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(f"unknown merchant {merchant_id}")
        if backorders is not None:
            merchant.backorder_policy, merchant.backorder_limit = parse_policy(backorders)
        for column, value in (
            ("lead_days", lead_days),
            ("max_wait_days", max_wait_days),
            ("handling_days", handling_days),
            ("safety_stock", safety_stock),
        ):
            if value is not None:
                setattr(merchant, column, value)
        defaults = BackorderPolicy(
            kind=merchant.backorder_policy,
            limit=merchant.backorder_limit,  # type: ignore[arg-type]
            lead_days=merchant.lead_days,
            max_wait_days=merchant.max_wait_days,
            handling_days=merchant.handling_days,
            safety_stock=merchant.safety_stock,
        )
        uow.session.add(
            AuditEntry(
                merchant_id=merchant_id,
                actor="cli",
                action="policy.defaults",
                subject=f"merchant:{merchant_id}",
                details={"backorders": defaults.text},
            )
        )
        item_ids = list(uow.session.scalars(select(Item.id).where(Item.merchant_id == merchant_id)))
        after_stock_change(uow, merchant_id, item_ids, now)
        uow.commit()
    return {
        "merchant": merchant_id,
        "backorders": defaults.text,
        "lead_days": defaults.lead_days,
        "max_wait_days": defaults.max_wait_days,
        "handling_days": defaults.handling_days,
        "safety_stock": defaults.safety_stock,
    }
