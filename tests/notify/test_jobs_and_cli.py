"""The notification jobs as the clock runs them, and `backorder notifications` as operators read it."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from connector.cli import main
from connector.db import session_factory
from connector.models import Backorder, Notification
from connector.services.job_runs import latest_runs
from connector.settings import Settings
from connector.storefronts import StorefrontCache
from jobs.notify import find_due_notifications, refresh_all_etas, send_notifications
from jobs.runtime import Runtime
from tests.notify.factories import shop, waiting_order

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def runtime(engine, smtp, tmp_path, database_url):
    settings = Settings.from_env(
        {"VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url, "SMTP_URL": smtp[1]}
    )
    rt = Runtime(settings, session_factory(engine), StorefrontCache(settings))
    rt.now = lambda: NOW  # the clock, passed in
    return rt


def test_each_job_run_is_recorded_with_its_counts_and_running_twice_sends_nothing_twice(
    runtime, new_uow, smtp
):
    merchant = shop(new_uow)
    waiting_order(new_uow, merchant, placed=NOW, eta=NOW.date() + timedelta(days=20))
    for _ in range(2):
        find_due_notifications(runtime)
        send_notifications(runtime)
    assert len(smtp[0].messages) == 1
    with new_uow() as uow:
        runs = {r["job"]: r for r in latest_runs(uow)}
    assert runs["notify.find_due"]["runs"] == 2 and runs["notify.find_due"]["last_outcome"] == "ok"
    assert runs["notify.send_pending"]["last_counts"] == {"claimed": 0}


def test_the_daily_refresh_moves_an_eta_with_the_calendar_and_the_customer_hears_of_it(
    runtime, new_uow, smtp
):
    merchant = shop(new_uow)
    waiting = waiting_order(new_uow, merchant, placed=NOW, eta=None)
    assert refresh_all_etas(runtime) == {"merchants": 1, "items": 1}
    with new_uow() as uow:
        first = uow.session.get(Backorder, waiting.backorder_id).eta_date
    assert first == NOW.date() + timedelta(days=14 + 1)  # nothing incoming: lead time plus handling
    find_due_notifications(runtime)
    runtime.now = lambda: NOW + timedelta(days=2)
    refresh_all_etas(runtime)
    assert find_due_notifications(runtime) == {"eta_moved": 1}
    send_notifications(runtime)
    assert [m["Subject"] for m in smtp[0].messages] == [
        "Order #1001: Navy Tee is on backorder",
        "Order #1001: new expected date for Navy Tee",
    ]


@pytest.fixture
def cli(monkeypatch, tmp_path, database_url, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("SMTP_URL", raising=False)

    def run(*args: str) -> tuple[int, dict]:
        code = main([*args, "--json"])
        lines = capsys.readouterr().out.strip().splitlines()
        return code, json.loads(lines[-1]) if lines else {}

    return run


def test_the_cli_lists_the_history_by_status_and_requeues_failed_messages(cli, runtime, new_uow):
    merchant = shop(new_uow)
    waiting_order(new_uow, merchant, placed=NOW, eta=NOW.date() + timedelta(days=20))
    find_due_notifications(runtime)
    code, listed = cli("notifications", "--merchant", str(merchant), "--status", "pending")
    [row] = listed["notifications"]
    assert code == 0 and (row["kind"], row["recipient"], row["attempts"]) == (
        "confirmed",
        "ada@example.com",
        0,
    )
    assert cli("notifications", "--status", "sent")[1] == {"notifications": []}
    with new_uow() as uow:
        uow.session.execute(update(Notification).values(status="failed", attempts=8))
        uow.commit()
    assert cli("notifications", "retry", "--merchant", str(merchant)) == (0, {"requeued": 1})
    assert cli("notifications", "--status", "nonsense")[0] == 1
