"""Substitute list jobs: recompute every merchant's lists, for what stock changes alone do not catch
(new or edited items, an item back in stock whose change was missed, settings edited by hand)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from connector.models import Channel
from connector.services.job_runs import recorded
from connector.services.substitute_lists import refresh_substitutes
from jobs.runtime import Runtime, runtime

log = logging.getLogger(__name__)


def refresh_all() -> None:
    """Scheduled: recompute the substitute lists of every merchant with an active storefront."""
    with runtime() as rt:
        refresh_merchants(rt)


def refresh_merchants(rt: Runtime) -> dict[int, int]:
    """Lists queued per merchant; one merchant failing does not stop the others."""
    queued: dict[int, int] = {}
    with recorded(rt.new_uow, "substitutes.refresh", rt.now) as counts:
        with rt.new_uow() as uow:
            merchant_ids = sorted(
                set(uow.session.scalars(select(Channel.merchant_id).where(Channel.status == "active")))
            )
        for merchant_id in merchant_ids:
            try:
                queued[merchant_id] = refresh_merchant(rt, merchant_id)
            except Exception as error:  # reported per merchant; the others still get their lists
                log.warning("substitute refresh of merchant %s failed: %s", merchant_id, error)
        counts.update(merchants=len(merchant_ids), lists_queued=sum(queued.values()))
    return queued


def refresh_merchant(rt: Runtime, merchant_id: int) -> int:
    """Queue every list of one merchant; the dispatcher computes them and pushes those that changed."""
    with rt.new_uow() as uow:
        queued = refresh_substitutes(uow, merchant_id, rt.now())
        uow.commit()
    return queued
