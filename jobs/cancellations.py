"""Auto-cancel sweep: backorders past the merchant's maximum wait are cancelled (or the customer is first
asked whether they still want to wait). The clock's time is passed in, so tests can move it forward."""

from __future__ import annotations

from datetime import datetime

from connector.services import auto_cancel as policy
from connector.services.job_runs import recorded
from jobs.runtime import Runtime, runtime

JOB = "cancellations.auto_cancel"


def auto_cancel() -> None:
    """Scheduled hourly by the clock."""
    with runtime() as rt:
        sweep(rt)


def sweep(rt: Runtime, now: datetime | None = None) -> dict[str, int]:
    """One recorded pass of the sweep at `now` (the clock's time when not given)."""
    clock = (lambda: now) if now is not None else rt.now
    links = policy.LinkSettings(rt.settings.app_url, rt.settings.secret_key)
    with recorded(rt.new_uow, JOB, clock) as counts:
        counts.update(policy.sweep(rt.new_uow, rt.storefronts.get, links, now=clock()))
    return counts
