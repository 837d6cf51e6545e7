"""The outbox and its dispatcher: coalesce, batch, confirm, retry, park, lease."""

import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from adapters.errors import ChannelUnavailable
from connector.crypto import Vault
from connector.models import Item, OutboxRow
from connector.services import channels, dispatch, ledger, outbox
from connector.services.channel_import import import_catalog
from tests.factories import merchant_with_items
from tests.fakes import FakeStorefront, entry

KEY = "8Xv0H4W3mvy0lLDWZ-x4sWw3u9w9VQk1wM1a3D7pH5c="


class Clock:
    """Test time, a minute ahead of the real time the rows were stamped with when written."""

    def __init__(self):
        self.now = datetime.now(UTC) + timedelta(minutes=1)

    def __call__(self):
        return self.now


@pytest.fixture
def world(new_uow):
    skus = {f"S{i}": 10 for i in range(600)}
    merchant = merchant_with_items(new_uow, skus)
    channel = channels.add_channel(
        new_uow(), Vault([KEY]), merchant, channels.ShopifyConnection("a.myshopify.com", "t")
    )
    store = FakeStorefront([entry(str(i), f"S{i}", 10) for i in range(600)], page_size=250)
    import_catalog(new_uow, channel, store)
    return merchant, channel, store


def change(new_uow, merchant, sku, kind, qty, key):
    change_many(new_uow, merchant, [ledger.Movement(sku, kind, qty, key)])


def change_many(new_uow, merchant, movements):
    """Ledger changes and their outbox rows in one transaction, as the services write them."""
    with new_uow() as uow:
        ledger.apply(uow, merchant, movements)
        skus = [m.sku for m in movements]
        item_ids = uow.session.scalars(
            select(Item.id).where(Item.sku.in_(skus), Item.merchant_id == merchant)
        )
        outbox.enqueue_stock(uow, merchant, list(item_ids))
        uow.commit()


def rows(new_uow, status=None):
    with new_uow() as uow:
        query = select(OutboxRow)
        if status:
            query = query.where(OutboxRow.status == status)
        return uow.session.scalars(query).all()


def run(new_uow, channel, store, clock, **kwargs):
    assert dispatch.lease_channel(new_uow(), "w1", clock()) == channel
    report = dispatch.dispatch_round(
        new_uow, channel, store, clock, worker="w1", rng=random.Random(1), **kwargs
    )
    dispatch.release_lease(new_uow(), channel, "w1")
    return report


def test_many_changes_to_one_item_coalesce_into_one_push_of_the_latest_number(new_uow, world):
    merchant, channel, store = world
    for n in range(5):
        change(new_uow, merchant, "S1", "commit", 1, f"order-{n}")
    report = run(new_uow, channel, store, Clock())
    assert len(store.calls) == 1 and len(store.calls[0]) == 1
    assert store.quantities["1"] == 5
    assert report.confirmed == 1
    assert len(rows(new_uow, "done")) == 5 and not rows(new_uow, "pending")


def test_changes_go_out_in_the_largest_batches_the_channel_takes(new_uow, world):
    merchant, channel, store = world
    change_many(new_uow, merchant, [ledger.Movement(f"S{i}", "receive", 1, f"po-{i}") for i in range(600)])
    run(new_uow, channel, store, Clock())
    assert [len(call) for call in store.calls] == [250, 250, 100]
    assert set(store.quantities.values()) == {11}


def test_a_failed_item_is_retried_later_and_the_rest_are_done(new_uow, world):
    merchant, channel, store = world
    change(new_uow, merchant, "S1", "receive", 1, "a")
    change(new_uow, merchant, "S2", "receive", 1, "b")
    store.fail_refs = {"2"}
    clock = Clock()
    report = run(new_uow, channel, store, clock)
    assert (report.confirmed, report.failed) == (1, 1)
    [waiting] = rows(new_uow, "pending")
    assert waiting.attempts == 1 and "injected" in waiting.last_error
    assert dispatch.lease_channel(new_uow(), "w1", clock()) is None  # not due yet
    store.fail_refs = set()
    clock.now += timedelta(seconds=5)
    run(new_uow, channel, store, clock)
    assert store.quantities["2"] == 11 and not rows(new_uow, "pending")


def test_a_refused_push_goes_out_again_under_a_new_idempotency_key(new_uow, world):
    # Shopify answers a replayed key with its first answer: a retry under the same key would be
    # refused (stale) again, round after round, until the row was parked dead.
    merchant, channel, store = world
    change(new_uow, merchant, "S1", "receive", 1, "a")
    store.fail_refs = {"1"}
    clock = Clock()
    run(new_uow, channel, store, clock)
    store.fail_refs = set()
    clock.now += timedelta(seconds=5)
    run(new_uow, channel, store, clock)
    assert len(store.keys) == 2 and store.keys[0] != store.keys[1]
    assert store.quantities["1"] == 11 and not rows(new_uow, "pending")


def test_a_storefront_that_keeps_failing_parks_rows_as_dead_until_retried(new_uow, world):
    merchant, channel, store = world
    change(new_uow, merchant, "S1", "receive", 1, "a")
    clock = Clock()
    policy = dispatch.RetryPolicy(max_attempts=3, base_seconds=1, cap_seconds=1)
    for _ in range(3):
        store.raise_next = [ChannelUnavailable("503 from storefront")]
        run(new_uow, channel, store, clock, policy=policy)
        clock.now += timedelta(seconds=2)
    [dead] = rows(new_uow, "dead")
    assert "503 from storefront" in dead.last_error
    with new_uow() as uow:
        assert outbox.status_by_channel(uow) == [
            {"channel": channel, "pending": 0, "in_flight": 0, "dead": 1}
        ]
        assert outbox.retry_dead(uow, clock()) == 1
        uow.commit()
    run(new_uow, channel, store, clock)
    assert store.quantities["1"] == 11


def test_only_one_worker_holds_a_channel_until_its_lease_expires(new_uow, world):
    merchant, channel, _ = world
    change(new_uow, merchant, "S1", "receive", 1, "a")
    t0 = Clock().now
    assert dispatch.lease_channel(new_uow(), "w1", t0) == channel
    lease = dispatch.LEASE
    assert dispatch.lease_channel(new_uow(), "w2", t0 + lease / 2) is None
    assert dispatch.lease_channel(new_uow(), "w2", t0 + lease + timedelta(seconds=1)) == channel
    assert not dispatch.renew_lease(new_uow(), channel, "w1", t0 + lease + timedelta(seconds=2))


def test_rows_left_in_flight_by_a_crashed_worker_are_sent_again(new_uow, world):
    merchant, channel, store = world
    change(new_uow, merchant, "S1", "receive", 1, "a")
    clock = Clock()
    assert dispatch.lease_channel(new_uow(), "w1", clock()) == channel
    dispatch._plan(new_uow(), channel, clock())  # the worker planned, marked in flight, then died
    assert len(rows(new_uow, "in_flight")) == 1
    clock.now += timedelta(seconds=61)
    assert dispatch.lease_channel(new_uow(), "w2", clock()) == channel
    dispatch.dispatch_round(new_uow, channel, store, clock, worker="w2")
    assert store.quantities["1"] == 11 and len(rows(new_uow, "done")) == 1


def test_a_push_whose_earlier_attempt_may_have_landed_is_set_outright(new_uow, world):
    # What the store shows may then be our own unrecorded write, not sales we have not heard of: no
    # compare-and-set from our belief, and no allowance for such sales (QuantityUpdate.allowing_for).
    merchant, channel, store = world
    clock = Clock()
    change(new_uow, merchant, "S1", "receive", 1, "a")
    change(new_uow, merchant, "S2", "receive", 1, "b")
    store.fail_refs = {"2"}
    run(new_uow, channel, store, clock)
    assert [(u.ref.variant_id, u.expected) for u in store.calls[-1]] == [("1", 10), ("2", 10)]  # fresh
    store.fail_refs = set()
    change(new_uow, merchant, "S1", "receive", 1, "c")
    assert dispatch.lease_channel(new_uow(), "w1", clock()) == channel
    dispatch._plan(new_uow(), channel, clock())  # S1 planned and in flight, then the worker died
    clock.now += timedelta(seconds=61)
    run(new_uow, channel, store, clock)
    assert sorted((u.ref.variant_id, u.expected) for u in store.calls[-1]) == [("1", None), ("2", None)]
    assert store.quantities["1"] == 12 and store.quantities["2"] == 11


def states_queued(new_uow, merchant, sku):
    with new_uow() as uow:
        item_id = uow.session.scalar(select(Item.id).where(Item.sku == sku, Item.merchant_id == merchant))
        outbox.enqueue_state(uow, merchant, [item_id], Clock()())
        uow.commit()
        return [
            row.payload["status"]
            for row in uow.session.scalars(
                select(OutboxRow).where(OutboxRow.kind == "backorder_state").order_by(OutboxRow.id)
            )
        ]


def test_a_state_change_while_the_previous_one_is_still_queued_is_queued_too(new_uow, world):
    # Sold out, then back in stock before the sold-out push was confirmed: comparing with the last
    # confirmed state ("in stock") alone would queue nothing, and the store would stay sold out.
    merchant, _channel, _store = world
    change(new_uow, merchant, "S1", "commit", 10, "order-1")
    assert states_queued(new_uow, merchant, "S1") == ["sold_out"]
    change(new_uow, merchant, "S1", "release", 10, "order-1:cancel")
    assert states_queued(new_uow, merchant, "S1") == ["sold_out", "in_stock"]
    assert states_queued(new_uow, merchant, "S1") == ["sold_out", "in_stock"]  # nothing new to say


def store_sells_two_of_s1(new_uow, channel):
    """The store's order for 2 of S1 (listing 1), recorded as its webhook would have it."""
    from adapters.base import ListingRef, OrderInfo, OrderLineInfo, OrderPlaced
    from connector.models import Channel
    from connector.services.sync import apply_event

    line = OrderLineInfo("L1", "S1", 2, ListingRef("P1", "1", "I1"))
    info = OrderInfo("5001", "#5001", Clock()(), Clock()(), "Ann", "ann@example.com", (line,))
    with new_uow() as uow:
        channel_row = uow.session.get(Channel, channel)
        apply_event(uow, channel_row, OrderPlaced(info), received_at=info.placed_at, now=info.placed_at)
        uow.commit()


def believed_shown(new_uow, channel, variant_id):
    from connector.models import Listing

    with new_uow() as uow:
        return uow.session.scalar(
            select(Listing.last_pushed_quantity).where(
                Listing.channel_id == channel, Listing.variant_id == variant_id
            )
        )


def test_an_order_the_store_took_while_our_push_was_on_its_way_is_counted_once(new_uow, world):
    # The store shows 10; we push 9 (compare-and-set from 10). Right after our write lands, the store
    # sells 2 (now 7), and that order is recorded before our confirmation is: both must count.
    from adapters.base import Outcome

    merchant, channel, store = world
    change(new_uow, merchant, "S1", "commit", 1, "elsewhere-1")

    def set_quantities(updates, *, idempotency_key):
        store_sells_two_of_s1(new_uow, channel)
        return [Outcome(u.ref, "ok", quantity=u.quantity, replaced=u.expected) for u in updates]

    store.set_quantities = set_quantities
    run(new_uow, channel, store, Clock())
    assert believed_shown(new_uow, channel, "1") == 7


def test_an_order_recorded_before_a_plain_write_is_confirmed_still_counts(new_uow, world, monkeypatch):
    # WooCommerce has no compare-and-set. The store shows 10; we write 9. Right after, the store sells 2
    # (now 7), and that order is recorded before our confirmation: believing the written 9 outright
    # would undo it, and the next push would take the 2 off again as sales not heard of (store at 5).
    from adapters.base import Outcome

    merchant, channel, store = world
    change(new_uow, merchant, "S1", "commit", 1, "elsewhere-1")

    def set_quantities(updates, *, idempotency_key):
        store.quantities.update({u.ref.variant_id: u.quantity for u in updates})
        return [Outcome(u.ref, "ok", quantity=u.quantity) for u in updates]

    def order_then_record(uow, *args):
        store.quantities["1"] -= 2
        store_sells_two_of_s1(new_uow, channel)
        return record(uow, *args)

    record = dispatch._record
    store.set_quantities = set_quantities
    monkeypatch.setattr(dispatch, "_record", order_then_record)
    run(new_uow, channel, store, Clock())
    assert believed_shown(new_uow, channel, "1") == 7 == store.quantities["1"]


def test_a_channel_is_leased_while_orders_for_it_are_being_written(new_uow, world):
    # Every row written for a channel (an order, an outbox row) holds a key-share lock on the channel
    # until its transaction ends; under a steady flow of orders one is always open.
    merchant, channel, _ = world
    change(new_uow, merchant, "S1", "commit", 1, "order-1")
    writing = new_uow()
    with writing:
        if not writing.locks_rows:
            pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
        writing.session.add(OutboxRow(merchant_id=merchant, channel_id=channel, item_id=1, kind="quantity"))
        writing.session.flush()  # the INSERT holds its key-share lock on the channel until rollback
        assert dispatch.lease_channel(new_uow(), "w1", Clock()()) == channel
        writing.rollback()


def test_substitute_lists_give_way_to_quantities_that_keep_coming_for_a_while(new_uow, world):
    merchant, channel, store = world
    change(new_uow, merchant, "S1", "commit", 1, "order-1")
    with new_uow() as uow:
        item_id = uow.session.scalar(select(Item.id).where(Item.sku == "S2"))
        uow.session.add(
            OutboxRow(merchant_id=merchant, channel_id=channel, item_id=item_id, kind="substitutes")
        )
        uow.commit()
    send = store.set_quantities

    def orders_keep_coming(updates, *, idempotency_key):
        change(new_uow, merchant, "S3", "commit", 1, f"order-during-{len(store.calls)}")
        return send(updates, idempotency_key=idempotency_key)

    store.set_quantities = orders_keep_coming
    lists = lambda: [row.status for row in rows(new_uow) if row.kind == "substitutes"]  # noqa: E731
    clock = Clock()
    clock.now = datetime.now(UTC) + timedelta(seconds=1)
    run(new_uow, channel, store, clock)
    assert lists() == ["pending"]
    clock.now += dispatch.SUBSTITUTES_MAY_WAIT
    run(new_uow, channel, store, clock)
    assert lists() == ["done"]


def test_a_confirmation_rolled_back_by_a_deadlock_is_recorded_again(new_uow, world, monkeypatch):
    # The store applied the push; losing its confirmation would leave our number of it behind.
    from sqlalchemy.exc import OperationalError

    from connector.models import Listing

    merchant, channel, store = world
    change(new_uow, merchant, "S1", "commit", 2, "order-1")
    record, calls = dispatch._record, []

    def deadlocked_once(uow, *args):
        calls.append(1)
        if len(calls) == 1:
            with uow:
                raise OperationalError("UPDATE listings …", {}, Exception("deadlock detected"))
        return record(uow, *args)

    monkeypatch.setattr(dispatch, "_record", deadlocked_once)
    report = run(new_uow, channel, store, Clock())
    assert report.confirmed == 1 and len(calls) == 2
    assert [row.status for row in rows(new_uow)] == ["done"]
    with new_uow() as uow:
        listing = uow.session.scalar(
            select(Listing).where(Listing.channel_id == channel, Listing.variant_id == "1")
        )
        assert listing.last_pushed_quantity == 8


def test_a_round_on_a_fresh_lease_does_not_renew_it_and_one_that_ran_long_finds_it_taken(
    new_uow, world, monkeypatch
):
    merchant, channel, store = world
    change(new_uow, merchant, "S1", "receive", 1, "a")
    clock = Clock()
    renewals = []
    renew = dispatch.renew_lease
    monkeypatch.setattr(dispatch, "renew_lease", lambda *args: renewals.append(args[-1]) or renew(*args))
    leased_at = clock()
    assert dispatch.lease_channel(new_uow(), "w1", leased_at) == channel
    report = dispatch.dispatch_round(new_uow, channel, store, clock, worker="w1", leased_at=leased_at)
    assert (renewals, report.errors, store.quantities["1"]) == ([], [], 11)  # no write to keep it

    # A worker stalled past its lease: another took the channel; the stalled one notices and stops.
    change(new_uow, merchant, "S1", "receive", 1, "b")
    clock.now += dispatch.LEASE + timedelta(seconds=1)
    assert dispatch.lease_channel(new_uow(), "w2", clock()) == channel
    report = dispatch.dispatch_round(new_uow, channel, store, clock, worker="w1", leased_at=leased_at)
    assert len(renewals) == 1 and report.errors == ["lease lost to another worker; stopping this round"]
    assert store.quantities["1"] == 11  # nothing sent by the worker that lost it


def test_a_lease_of_a_worker_process_that_is_gone_is_taken_over_at_once(new_uow, world, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("presence locks are PostgreSQL's; on SQLite a lease runs out")
    merchant, channel, _ = world
    change(new_uow, merchant, "S1", "receive", 1, "a")
    t0 = Clock().now
    pooled = engine.raw_connection()
    pooled.detach()
    pooled.dbapi_connection.autocommit = True
    assert dispatch.present(pooled.dbapi_connection, "host-a:101:aaaaaa")
    assert dispatch.lease_channel(new_uow(), "host-a:101:aaaaaa/0", t0) == channel
    later = t0 + dispatch.SETTLED + timedelta(seconds=1)
    assert dispatch.lease_channel(new_uow(), "host-b:202:bbbbbb/0", later) is None  # alive: it stands

    pooled.close()  # the process died: the database frees its presence when the connection closes
    deadline = time.monotonic() + 10
    while (taken := dispatch.lease_channel(new_uow(), "host-b:202:bbbbbb/0", later)) is None:
        assert time.monotonic() < deadline, "the lease of a gone worker was not taken over"
        time.sleep(0.05)
    assert taken == channel
    dispatch.release_lease(new_uow(), channel, "host-b:202:bbbbbb/0")

    # A lease named otherwise than a worker's process/thread says nothing of its holder: it runs out.
    assert dispatch.lease_channel(new_uow(), "cli", t0) == channel
    assert dispatch.lease_channel(new_uow(), "host-b:202:bbbbbb/0", later) is None


def test_a_quantity_queued_while_states_are_sent_goes_out_in_the_same_round(new_uow, world):
    # States take a call per product; a sale elsewhere meanwhile must not wait for the next round to
    # reach this store, or the store sells units that are gone.
    from adapters.base import Outcome

    merchant, channel, store = world
    sent: list[str] = []

    class Store(FakeStorefront):
        def set_quantities(self, updates, *, idempotency_key):
            sent.append("quantities " + ",".join(sorted(u.ref.variant_id for u in updates)))
            return super().set_quantities(updates, idempotency_key=idempotency_key)

        def set_backorder_states(self, states):
            sent.append("states " + ",".join(s.ref.variant_id for s in states))
            change(new_uow, merchant, "S2", "commit", 3, "order-elsewhere")  # while the states go out
            return [Outcome(s.ref, "ok") for s in states]

    port = Store(store.entries)
    change(new_uow, merchant, "S1", "commit", 10, "order-1")  # sold out: its number, then its state
    assert states_queued(new_uow, merchant, "S1") == ["sold_out"]
    run(new_uow, channel, port, Clock())
    assert sent == ["quantities 1", "states 1", "quantities 2"]
    assert port.quantities["2"] == 7
    assert not rows(new_uow, "pending")
