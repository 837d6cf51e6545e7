"""Recording due notifications in the database: once per event, whoever runs it and how often."""

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from connector.models import Backorder, Notification, NotificationOptOut, Order
from connector.notify.events import create_due
from tests.notify.factories import change, shop, waiting_order

PLACED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ETA = PLACED.date() + timedelta(days=20)


def notifications(new_uow):
    with new_uow() as uow:
        return list(uow.session.scalars(select(Notification).order_by(Notification.id)))


def test_finding_due_twice_records_the_confirmation_once_with_the_eta_and_wait_text(new_uow):
    merchant = shop(new_uow)
    waiting = waiting_order(new_uow, merchant, placed=PLACED, eta=ETA)
    assert create_due(new_uow, PLACED) == {"confirmed": 1}
    assert create_due(new_uow, PLACED + timedelta(minutes=5)) == {}
    [row] = notifications(new_uow)
    assert (row.kind, row.dedupe_key, row.status, row.delivery) == (
        "confirmed",
        f"confirmed:{waiting.backorder_id}",
        "pending",
        "email",
    )
    assert row.recipient == "ada@example.com" and row.order_id == waiting.order_id
    assert row.payload["eta"] == ETA.isoformat()
    assert row.payload["wait_text"] == "Ships in 2–3 weeks"
    assert row.payload["title"] == "Navy Tee" and row.payload["quantity"] == 2
    with new_uow() as uow:
        assert uow.session.get(Backorder, waiting.backorder_id).notified_eta_date == ETA


def test_an_eta_move_is_recorded_once_and_becomes_the_date_told(new_uow):
    merchant = shop(new_uow)
    waiting = waiting_order(new_uow, merchant, placed=PLACED, eta=ETA)
    create_due(new_uow, PLACED)
    change(new_uow, Backorder, waiting.backorder_id, eta_date=ETA + timedelta(days=4))
    assert create_due(new_uow, PLACED + timedelta(hours=1)) == {"eta_moved": 1}
    assert create_due(new_uow, PLACED + timedelta(hours=2)) == {}
    moved = notifications(new_uow)[-1]
    assert moved.payload["previous_eta"] == ETA.isoformat()
    assert moved.payload["eta"] == (ETA + timedelta(days=4)).isoformat()


def test_still_waiting_after_seven_days_unless_the_customer_opted_out(new_uow):
    merchant = shop(new_uow)
    waiting_order(new_uow, merchant, placed=PLACED, eta=ETA, email="ada@example.com", number="#1")
    waiting_order(new_uow, merchant, placed=PLACED, eta=ETA, email="Bob@Example.com", number="#2")
    with new_uow() as uow:
        uow.session.add(NotificationOptOut(merchant_id=merchant, email="bob@example.com"))
        uow.commit()
    create_due(new_uow, PLACED)
    assert create_due(new_uow, PLACED + timedelta(days=7)) == {"still_waiting": 1, "skipped": 1}
    still = [n for n in notifications(new_uow) if n.kind == "still_waiting"]
    assert [(n.recipient, n.status) for n in still] == [
        ("ada@example.com", "pending"),
        ("Bob@Example.com", "skipped"),
    ]
    assert still[1].last_error == "customer opted out of periodic messages"


def test_the_merchant_sets_the_still_waiting_period(new_uow):
    merchant = shop(new_uow, settings={"still_waiting_days": 3})
    waiting_order(new_uow, merchant, placed=PLACED, eta=ETA)
    create_due(new_uow, PLACED)
    assert create_due(new_uow, PLACED + timedelta(days=3)) == {"still_waiting": 1}


def test_ready_follows_allocation_and_a_cancelled_order_gets_nothing_more(new_uow):
    merchant = shop(new_uow)
    ready = waiting_order(new_uow, merchant, placed=PLACED, eta=ETA, number="#1")
    gone = waiting_order(new_uow, merchant, placed=PLACED, eta=ETA, number="#2")
    create_due(new_uow, PLACED)
    change(new_uow, Backorder, ready.backorder_id, status="allocated", quantity_allocated=2)
    change(new_uow, Order, gone.order_id, status="cancelled")
    assert create_due(new_uow, PLACED + timedelta(days=30)) == {"ready": 1}
    assert create_due(new_uow, PLACED + timedelta(days=31)) == {}


def test_an_apology_once_the_promised_date_has_passed(new_uow):
    merchant = shop(new_uow, settings={"still_waiting_days": 0})
    waiting_order(new_uow, merchant, placed=PLACED, eta=ETA)
    create_due(new_uow, PLACED)
    assert create_due(new_uow, PLACED + timedelta(days=20)) == {}
    assert create_due(new_uow, PLACED + timedelta(days=21)) == {"delayed": 1}
    assert create_due(new_uow, PLACED + timedelta(days=22)) == {}


def test_with_order_notes_on_the_row_says_so_and_an_order_without_email_is_skipped(new_uow):
    by_note = shop(new_uow, settings={"notify_by_order_note": True})
    waiting_order(new_uow, by_note, placed=PLACED, eta=ETA, email="")
    by_mail = shop(new_uow)
    waiting_order(new_uow, by_mail, placed=PLACED, eta=ETA, email="")
    create_due(new_uow, PLACED)
    note, mail = notifications(new_uow)
    assert (note.delivery, note.status) == ("order_note", "pending")
    assert (mail.delivery, mail.status, mail.last_error) == (
        "email",
        "skipped",
        "the order has no customer email",
    )


def test_a_merchant_can_turn_notifications_off(new_uow):
    merchant = shop(new_uow, settings={"notifications": False})
    waiting_order(new_uow, merchant, placed=PLACED, eta=ETA)
    assert create_due(new_uow, PLACED) == {}


def test_two_runs_at_once_record_each_notification_once(new_uow):
    merchant = shop(new_uow)
    for n in range(20):
        waiting_order(new_uow, merchant, placed=PLACED, eta=ETA, number=f"#{n}")
    start, results = threading.Barrier(2), []

    def run():
        start.wait()
        results.append(create_due(new_uow, PLACED))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.get("confirmed", 0) for r in results) == 20
    keys = [n.dedupe_key for n in notifications(new_uow)]
    assert len(keys) == len(set(keys)) == 20
