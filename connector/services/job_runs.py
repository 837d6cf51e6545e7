"""Recording scheduled job runs (start, end, outcome, counts) and reporting them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from connector.db import UnitOfWork
from connector.models import JobRun


@contextmanager
def recorded(
    new_uow: Callable[[], UnitOfWork], job: str, now: Callable[[], datetime]
) -> Iterator[dict[str, Any]]:
    """Record a run around the block; the block fills the yielded dict with its counts."""
    with new_uow() as uow:
        run = JobRun(job=job, started_at=now())
        uow.session.add(run)
        uow.commit()
        run_id = run.id
    counts: dict[str, Any] = {}
    try:
        yield counts
    except Exception as error:
        _finish(new_uow, run_id, now(), "failed", counts, f"{type(error).__name__}: {error}")
        raise
    _finish(new_uow, run_id, now(), "ok", counts, None)


def _finish(new_uow, run_id: int, at: datetime, outcome: str, counts: dict, error: str | None) -> None:
    with new_uow() as uow:
        run = uow.session.get(JobRun, run_id)
        run.finished_at, run.outcome, run.counts, run.error = at, outcome, counts, error
        uow.commit()


def latest_runs(uow: UnitOfWork) -> list[dict[str, Any]]:
    """The last run of every job, with how many runs it had and how many failed."""
    totals = {
        job: (runs, failed or 0)
        for job, runs, failed in uow.session.execute(
            select(
                JobRun.job, func.count(), func.sum(case((JobRun.outcome == "failed", 1), else_=0))
            ).group_by(JobRun.job)
        )
    }
    result = []
    for job in sorted(totals):
        last = uow.session.scalars(
            select(JobRun).where(JobRun.job == job).order_by(JobRun.id.desc()).limit(1)
        ).one()
        result.append(
            {
                "job": job,
                "runs": totals[job][0],
                "failed": int(totals[job][1]),
                "last_started_at": last.started_at.isoformat(),
                "last_finished_at": last.finished_at.isoformat() if last.finished_at else None,
                "last_outcome": last.outcome,
                "last_counts": last.counts,
                "last_error": last.error,
            }
        )
    return result
