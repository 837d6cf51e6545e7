"""The clock keeps its jobs in the database: a restart neither forgets nor duplicates them."""

from sqlalchemy import func, select

from connector.clock import start_scheduler
from connector.models import JobRun, apscheduler_jobs, utcnow
from connector.services.job_runs import latest_runs, recorded

SCHEDULE = [("test.job", "jobs.sync:reconcile_all", 600)]


def test_a_restarted_clock_keeps_each_job_once_with_its_next_run_time(engine):
    first = start_scheduler(engine, schedule=SCHEDULE)
    next_run = first.get_job("test.job").next_run_time
    first.shutdown(wait=False)
    second = start_scheduler(engine, schedule=SCHEDULE)
    try:
        assert second.get_job("test.job").next_run_time == next_run
    finally:
        second.shutdown(wait=False)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(apscheduler_jobs)).scalar() == 1


def test_a_changed_interval_reschedules_the_stored_job(engine):
    start_scheduler(engine, schedule=SCHEDULE).shutdown(wait=False)
    changed = start_scheduler(engine, schedule=[("test.job", "jobs.sync:reconcile_all", 60)])
    try:
        assert changed.get_job("test.job").trigger.interval.total_seconds() == 60
    finally:
        changed.shutdown(wait=False)


def test_job_runs_are_recorded_with_outcome_and_counts(new_uow):
    with recorded(new_uow, "demo.job", utcnow) as counts:
        counts["done"] = 3
    try:
        with recorded(new_uow, "demo.job", utcnow):
            raise RuntimeError("storefront down")
    except RuntimeError:
        pass
    with new_uow() as uow:
        [summary] = latest_runs(uow)
        assert uow.session.scalar(select(func.count()).select_from(JobRun)) == 2
    assert (summary["runs"], summary["failed"], summary["last_outcome"]) == (2, 1, "failed")
    assert "storefront down" in summary["last_error"]
