"""Customer notification jobs: record what is due, send it, and keep ETAs and wait texts current."""

from __future__ import annotations

from sqlalchemy import select

from connector.models import Backorder, Item
from connector.notify.events import create_due
from connector.notify.send import Sender
from connector.notify.send import send_pending as send_due
from connector.services.backorders import after_stock_change
from connector.services.job_runs import recorded
from jobs.runtime import Runtime, runtime

ITEMS_PER_TRANSACTION = 200


def find_due() -> None:
    """Scheduled: record the notifications due now (each once, by its dedupe key)."""
    with runtime() as rt:
        find_due_notifications(rt)


def send_pending() -> None:
    """Scheduled: send the recorded notifications that are due, retrying failures with backoff."""
    with runtime() as rt:
        send_notifications(rt)


def refresh_etas() -> None:
    """Scheduled daily: recompute ETAs and wait texts of every item someone is waiting for."""
    with runtime() as rt:
        refresh_all_etas(rt)


def find_due_notifications(rt: Runtime, merchant_id: int | None = None) -> dict:
    with recorded(rt.new_uow, "notify.find_due", rt.now) as counts:
        counts.update(create_due(rt.new_uow, rt.now(), merchant_id=merchant_id))
    return counts


def send_notifications(rt: Runtime, sender: Sender | None = None) -> dict:
    sender = sender or Sender(rt.settings, rt.storefronts)
    with recorded(rt.new_uow, "notify.send_pending", rt.now) as counts:
        counts.update(send_due(rt.new_uow, sender, rt.now()))
    return counts


def refresh_all_etas(rt: Runtime) -> dict:
    """after_stock_change for every item with waiting backorders: ETAs move with the calendar and with
    supplier history, and the storefront texts ("Ships in 2–3 weeks") follow through the outbox."""
    with recorded(rt.new_uow, "notify.refresh_etas", rt.now) as counts:
        with rt.new_uow() as uow:
            waiting = uow.session.execute(
                select(Backorder.merchant_id, Backorder.item_id)
                .where(Backorder.status == "waiting")
                .distinct()
                .order_by(Backorder.merchant_id, Backorder.item_id)
            ).all()
        by_merchant: dict[int, list[int]] = {}
        for merchant_id, item_id in waiting:
            by_merchant.setdefault(merchant_id, []).append(item_id)
        for merchant_id, item_ids in by_merchant.items():
            for start in range(0, len(item_ids), ITEMS_PER_TRANSACTION):
                chunk = item_ids[start : start + ITEMS_PER_TRANSACTION]
                with rt.new_uow() as uow:
                    # Lock the items as the ledger does (id order), so this never allocates the same
                    # units as an order or a receipt changing them at the same moment.
                    uow.session.scalars(
                        select(Item.id)
                        .where(Item.id.in_(chunk))
                        .order_by(Item.id)
                        .with_for_update(key_share=True)
                    ).all()
                    after_stock_change(uow, merchant_id, chunk, rt.now())
                    uow.commit()
        counts.update(merchants=len(by_merchant), items=len(waiting))
    return counts
