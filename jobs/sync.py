"""Stock sync jobs: reconcile every channel with the ledger; delete the sync's records past keeping."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from connector.models import Channel
from connector.services import retention
from connector.services.job_runs import recorded
from connector.services.reconcile import reconcile_channel
from jobs.runtime import Runtime, runtime

log = logging.getLogger(__name__)


def reconcile_all() -> None:
    """Scheduled: compare every active channel's stock with the ledger and repair drift."""
    with runtime() as rt:
        reconcile_channels(rt)


def reconcile_channels(rt: Runtime, channel_id: int | None = None) -> list[dict]:
    """Reconcile one channel or all active ones; one channel failing does not stop the others."""
    results = []
    with recorded(rt.new_uow, "sync.reconcile", rt.now) as counts:
        with rt.new_uow() as uow:
            query = select(Channel).where(Channel.status == "active").order_by(Channel.id)
            if channel_id is not None:
                query = select(Channel).where(Channel.id == channel_id)
            found = list(uow.session.scalars(query))
        for channel in found:
            try:
                report = reconcile_channel(rt.new_uow, channel.id, rt.storefronts.get(channel))
            except Exception as error:  # reported per channel; the other channels still get checked
                log.warning("reconcile of channel %s failed: %s", channel.id, error)
                results.append({"channel": channel.id, "error": f"{type(error).__name__}: {error}"})
                continue
            results.append(
                {
                    "channel": channel.id,
                    "checked": report.checked,
                    "skipped": report.skipped or None,
                    "repairs": [r.__dict__ for r in report.repairs],
                }
            )
        counts.update(
            channels=len(results),
            repairs=sum(len(r.get("repairs", [])) for r in results),
            failed=sum(1 for r in results if "error" in r),
        )
    return results


def prune_all() -> None:
    """Scheduled: delete processed deliveries and confirmed pushes older than KEEP_DAYS."""
    with runtime() as rt:
        prune_records(rt)


def prune_records(rt: Runtime, keep_days: int | None = None) -> dict[str, int]:
    """Delete what `retention.prune` may, from before `keep_days` (default: the KEEP_DAYS setting) ago."""
    days = rt.settings.keep_days if keep_days is None else keep_days
    with recorded(rt.new_uow, "sync.prune", rt.now) as counts:  # counted chunk by chunk
        retention.prune(rt.new_uow, rt.now() - timedelta(days=days), tally=counts)
    return dict(counts)
