"""Which notifications are due, as plain rules with the clock passed in."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from connector.notify.events import Told, due_for

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


@dataclass
class State:
    id: int = 7
    status: str = "waiting"
    eta_date: date | None = date(2026, 11, 20)
    notified_eta_date: date | None = date(2026, 11, 20)
    promised_date: date | None = date(2026, 11, 20)
    created_at: datetime = NOW - timedelta(days=1)


CONFIRMED = Told(frozenset({"confirmed:7"}))


def due(state, told=CONFIRMED, *, now=NOW, every=7, opted_out=False):
    found = due_for(state, told, now=now, today=now.date(), still_every_days=every, opted_out=opted_out)
    return [(d.kind, d.dedupe_key, d.skip_reason is None) for d in found]


def test_a_new_waiting_backorder_is_due_a_confirmation_and_nothing_else():
    state = State(notified_eta_date=None, created_at=NOW - timedelta(days=30))
    assert due(state, Told()) == [("confirmed", "confirmed:7", True)]


def test_nothing_is_due_for_a_confirmed_backorder_whose_date_holds():
    assert due(State()) == []


def test_an_eta_moved_a_day_later_or_earlier_is_due_once_per_move():
    later = State(eta_date=date(2026, 11, 21))
    assert due(later) == [("eta_moved", "eta:7:1:2026-11-21", True)]
    earlier = State(eta_date=date(2026, 11, 19))
    assert due(earlier) == [("eta_moved", "eta:7:1:2026-11-19", True)]
    # Back to a date told before: a new move with its own key, not a duplicate of the first.
    told_twice = Told(frozenset({"confirmed:7", "eta:7:1:2026-11-21"}), eta_moves=1)
    assert due(later, told_twice) == [("eta_moved", "eta:7:2:2026-11-21", True)]


def test_still_waiting_is_due_once_per_period():
    state = State(created_at=NOW - timedelta(days=7))
    assert due(state) == [("still_waiting", "still:7:1", True)]
    assert due(State(created_at=NOW - timedelta(days=6, hours=23))) == []
    assert due(state, Told(frozenset({"confirmed:7", "still:7:1"}))) == []
    assert due(State(created_at=NOW - timedelta(days=15))) == [("still_waiting", "still:7:2", True)]


def test_the_period_follows_the_merchant_setting_and_zero_turns_it_off():
    state = State(created_at=NOW - timedelta(days=3))
    assert due(state, every=3) == [("still_waiting", "still:7:1", True)]
    assert due(State(created_at=NOW - timedelta(days=300)), every=0) == []


def test_an_opted_out_customer_gets_no_still_waiting_message_but_it_is_recorded_as_skipped():
    state = State(created_at=NOW - timedelta(days=7))
    assert due(state, opted_out=True) == [("still_waiting", "still:7:1", False)]


def test_still_waiting_stays_quiet_when_another_message_goes_out_at_the_same_time():
    state = State(created_at=NOW - timedelta(days=7), eta_date=date(2026, 11, 25))
    assert due(state) == [("eta_moved", "eta:7:1:2026-11-25", True), ("still_waiting", "still:7:1", False)]


def test_past_the_promised_date_an_apology_is_due_once_and_carries_the_new_date():
    state = State(promised_date=date(2026, 11, 1), eta_date=date(2026, 11, 10))
    [apology, moved] = due_for(state, CONFIRMED, now=NOW, today=TODAY, still_every_days=7, opted_out=False)
    assert (apology.kind, apology.dedupe_key, apology.extra) == (
        "delayed",
        "delayed:7",
        {"previous_eta": "2026-11-20"},
    )
    assert moved.kind == "eta_moved" and moved.skip_reason  # told in the apology, recorded as skipped
    assert due(state, Told(frozenset({"confirmed:7", "delayed:7"}))) == [
        ("eta_moved", "eta:7:1:2026-11-10", True)
    ]


def test_the_promised_day_itself_is_not_late():
    assert due(State(promised_date=TODAY, eta_date=TODAY, notified_eta_date=TODAY)) == []


def test_ready_is_due_once_and_only_to_customers_told_of_the_wait():
    allocated = State(status="allocated")
    assert due(allocated) == [("ready", "ready:7", True)]
    assert due(allocated, Told()) == []
    assert due(allocated, Told(frozenset({"confirmed:7", "ready:7"}))) == []


def test_cancelled_backorders_are_due_nothing_here():
    assert due(State(status="cancelled"), Told()) == []
