"""`backorder clock`: the one process that runs APScheduler, with its jobs stored in the database.

Jobs keep their next run time across restarts (they are added only when missing, and rescheduled only
when their interval changed); coalescing and a misfire grace time mean a restart neither forgets a job
nor runs a missed one twice; max_instances=1 keeps a slow run from overlapping the next.
"""

from __future__ import annotations

import logging
import signal
import threading

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

log = logging.getLogger("connector.clock")

# (job id, "module:function", interval in seconds); the function runs with no arguments.
SCHEDULE = [
    ("sync.reconcile", "jobs.sync:reconcile_all", 15 * 60),
    ("sync.prune", "jobs.sync:prune_all", 24 * 60 * 60),
    ("substitutes.refresh", "jobs.substitutes:refresh_all", 60 * 60),
    ("notify.find_due", "jobs.notify:find_due", 5 * 60),
    ("notify.send_pending", "jobs.notify:send_pending", 60),
    ("notify.refresh_etas", "jobs.notify:refresh_etas", 24 * 60 * 60),
    ("cancellations.auto_cancel", "jobs.cancellations:auto_cancel", 60 * 60),
]


def start_scheduler(engine: Engine, *, schedule=SCHEDULE) -> BackgroundScheduler:
    """Start the scheduler with every job in `schedule` present exactly once."""
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine)},
        job_defaults={"coalesce": True, "misfire_grace_time": 300, "max_instances": 1},
        timezone="UTC",
    )
    scheduler.start(paused=True)
    for job_id, func, seconds in schedule:
        trigger = IntervalTrigger(seconds=seconds)
        job = scheduler.get_job(job_id)
        if job is None:
            scheduler.add_job(func, trigger, id=job_id)
        elif getattr(job.trigger, "interval", None) != trigger.interval or job.func_ref != func:
            scheduler.modify_job(job_id, func=func)
            scheduler.reschedule_job(job_id, trigger=trigger)
    scheduler.resume()
    return scheduler


def run_clock(engine: Engine, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM, Ctrl-C, or `stop` is set."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler = start_scheduler(engine)
    log.info("clock running %d jobs", len(SCHEDULE))
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=False)
