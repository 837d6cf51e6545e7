"""The inbox processes deliveries in batches: one transaction, one follow-up, a savepoint per delivery."""

import itertools
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from adapters.base import (
    ListingRef,
    OrderInfo,
    OrderLineInfo,
    OrderPlaced,
    OrderUpdated,
    StockChanged,
    WebhookDelivery,
)
from adapters.errors import WebhookRejected
from connector.crypto import Vault
from connector.models import Channel, InboxDelivery, Item, Order, OrderLine, OutboxRow
from connector.services import channels, doorbell, inbox, ledger, reconcile, spool
from connector.services.channel_import import import_catalog
from tests.factories import merchant_with_items
from tests.fakes import FakeStorefront, entry

KEY = "8Xv0H4W3mvy0lLDWZ-x4sWw3u9w9VQk1wM1a3D7pH5c="
SKUS = {"A": 5, "B": 2, "C": 9}


class Port:
    """Parses the test's own small bodies into events, as an adapter parses a platform's."""

    def parse_webhook(self, delivery: WebhookDelivery):
        body = json.loads(delivery.body)
        if body.get("bad"):
            raise WebhookRejected("no order in this body")
        if "stock" in body:
            ref = ListingRef(f"P{body['variant']}", body["variant"])
            return [StockChanged(ref, body["stock"], None)]
        now = datetime.now(UTC)
        updated = datetime.fromisoformat(body["updated"]) if "updated" in body else now
        ref = ListingRef(f"P{body['variant']}", body["variant"]) if "variant" in body else None
        line = OrderLineInfo(f"L{body['order']}", body["sku"], body["qty"], ref)
        info = OrderInfo(body["order"], f"#{body['order']}", now, updated, "Ann", "ann@example.com", (line,))
        return [OrderUpdated(info) if "updated" in body else OrderPlaced(info)]


@pytest.fixture
def shop(new_uow):
    merchant = merchant_with_items(new_uow, SKUS)
    ids = []
    for domain in ("one.myshopify.com", "two.myshopify.com"):
        channel = channels.add_channel(
            new_uow(), Vault([KEY]), merchant, channels.ShopifyConnection(domain, "t")
        )
        entries = [entry(str(n), sku, qty) for n, (sku, qty) in enumerate(SKUS.items(), start=1)]
        import_catalog(new_uow, channel, FakeStorefront(entries))
        ids.append(channel)
    return merchant, ids[0]


@pytest.fixture
def deliver(new_uow, engine):
    """Store deliveries as the intake does."""
    writer = inbox.InboxWriter(engine)

    keys = itertools.count()

    def store(channel_id, *bodies):
        with new_uow() as uow:
            channel = uow.session.get(Channel, channel_id)
        for body in bodies:
            topic = "inventory_levels/update" if "stock" in body else "orders/create"
            delivery = WebhookDelivery(topic, f"d{next(keys)}", json.dumps(body).encode(), {})
            assert writer.store(channel, delivery)

    yield store
    writer.close()


def process(new_uow, **kwargs):
    return inbox.process_due(new_uow, lambda channel: Port(), lambda: datetime.now(UTC), **kwargs)


def committed(new_uow, merchant, sku):
    with new_uow() as uow:
        return ledger.stock_report(uow, merchant, sku)["committed"]


def deliveries(new_uow):
    with new_uow() as uow:
        return [
            (d.status, d.error) for d in uow.session.scalars(select(InboxDelivery).order_by(InboxDelivery.id))
        ]


def test_a_bad_delivery_in_a_batch_fails_alone_and_the_others_are_applied(new_uow, shop, deliver):
    merchant, channel = shop
    deliver(
        channel,
        {"order": "1", "sku": "A", "qty": 2},
        {"bad": True},
        {"order": "2", "sku": "B", "qty": 1},
    )
    report = process(new_uow)
    assert (report.processed, report.failed) == (2, 1)
    assert (committed(new_uow, merchant, "A"), committed(new_uow, merchant, "B")) == (2, 1)
    statuses = deliveries(new_uow)
    assert [s for s, _ in statuses] == ["processed", "failed", "processed"]
    assert "no order in this body" in statuses[1][1]


def test_the_stock_moved_by_a_batch_is_followed_up_for_every_item_on_every_other_storefront(
    new_uow, shop, deliver
):
    _merchant, channel = shop
    deliver(channel, {"order": "1", "sku": "A", "qty": 1}, {"order": "2", "sku": "C", "qty": 3})
    process(new_uow)
    with new_uow() as uow:
        queued = uow.session.execute(
            select(Item.sku, OutboxRow.channel_id)
            .join(Item, Item.id == OutboxRow.item_id)
            .where(OutboxRow.kind == "quantity", OutboxRow.status == "pending")
        ).all()
    assert {sku for sku, _ in queued} == {"A", "C"}
    assert len({c for _, c in queued}) == 2  # both storefronts: order lines without a listing ref


def test_a_delivery_that_must_wait_is_put_back_and_the_batch_goes_on(new_uow, shop, deliver):
    merchant, channel = shop
    # A storefront edit is only believed after late order deliveries had time to arrive.
    deliver(channel, {"stock": 1, "variant": "3"}, {"order": "1", "sku": "C", "qty": 2})
    report = process(new_uow)
    assert (report.processed, report.deferred) == (1, 1)
    assert committed(new_uow, merchant, "C") == 2
    with new_uow() as uow:
        waiting = uow.session.scalars(select(InboxDelivery).where(InboxDelivery.status == "received")).one()
    assert waiting.process_after > datetime.now(UTC) + timedelta(seconds=5)


def test_batches_continue_until_the_limit_or_the_inbox_is_empty(new_uow, shop, deliver):
    merchant, channel = shop
    deliver(channel, *({"order": str(n), "sku": "C", "qty": 1} for n in range(5)))
    assert process(new_uow, batch=2, limit=3).processed == 3
    assert process(new_uow, batch=2).processed == 2
    assert committed(new_uow, merchant, "C") == 5


def test_a_delivery_that_breaks_unexpectedly_backs_off_without_holding_up_the_inbox(
    new_uow, shop, deliver, caplog
):
    merchant, channel = shop
    deliver(channel, {"order": "1", "sku": "A", "qty": 1}, {"order": "2", "sku": "B", "qty": "x"})
    report = process(new_uow)
    assert (report.processed, report.failed) == (1, 1)
    assert committed(new_uow, merchant, "A") == 1
    [(first, _), (second, error)] = deliveries(new_uow)
    assert (first, second) == ("processed", "received") and error  # kept, with why, for a later try
    assert "could not be processed" in caplog.text


def test_a_delivery_caught_in_a_deadlock_is_tried_again_soon_without_counting_an_attempt(
    new_uow, shop, deliver
):
    merchant, channel = shop

    class Deadlocked(Port):
        def parse_webhook(self, delivery):
            if json.loads(delivery.body).get("deadlock"):
                raise OperationalError("UPDATE items …", {}, Exception("deadlock detected"))
            return super().parse_webhook(delivery)

    deliver(channel, {"deadlock": True}, {"order": "1", "sku": "C", "qty": 1})
    report = inbox.process_due(new_uow, lambda channel: Deadlocked(), lambda: datetime.now(UTC))
    assert (report.processed, report.deferred, report.failed) == (1, 1, 0)
    with new_uow() as uow:
        waiting = uow.session.scalars(select(InboxDelivery).where(InboxDelivery.status == "received")).one()
    assert waiting.attempts == 0 and "deadlock detected" in waiting.error
    assert committed(new_uow, merchant, "C") == 1


@pytest.fixture
def taken(monkeypatch):
    """How many deliveries each batch took, in order."""
    sizes = []
    batch = inbox._process_batch
    monkeypatch.setattr(inbox, "_process_batch", lambda *a, **kw: sizes.append(batch(*a, **kw)) or sizes[-1])
    return sizes


def test_stock_changes_go_in_larger_batches_while_no_order_is_due(new_uow, shop, deliver, taken):
    # Echoes cost little each; the turn, the due queries and the commit are spread over more of them.
    _, channel = shop
    deliver(channel, *({"order": str(n), "sku": "C", "qty": 1} for n in range(3)))
    deliver(channel, *({"stock": 5, "variant": "1"} for _ in range(5)))  # echoes of our own push
    assert process(new_uow, batch=2, stock_batch=5).processed == 8
    # Two orders: a batch of two. Then the third and the echoes behind it, as no order is left: five at
    # most. Then the last echo.
    assert taken == [2, 5, 1]
    assert deliveries(new_uow) == [("processed", None)] * 8


def test_a_larger_batch_settles_echoes_only_and_leaves_other_stock_changes_to_their_own(
    new_uow, shop, deliver, taken
):
    # A stock change that is not an echo may ask its storefront for the number: not while 200 wait.
    _, channel = shop
    deliver(channel, *({"order": str(n), "sku": "C", "qty": 1} for n in range(3)))
    echo, differs = {"stock": 5, "variant": "1"}, {"stock": 1, "variant": "2"}  # B shows 2 as we know it
    deliver(channel, echo, differs, echo)
    process(new_uow, batch=2, stock_batch=5)
    # The third order and the echoes in the larger batch; the differing one in a batch of its own, where
    # it waits for order deliveries that may explain it.
    assert taken == [2, 4, 1]
    assert deliveries(new_uow) == [("processed", None)] * 4 + [("received", None), ("processed", None)]


def test_an_order_is_processed_before_stock_changes_that_arrived_earlier(new_uow, shop, deliver):
    _, channel_id = shop
    deliver(channel_id, {"stock": 5, "variant": "1"}, {"order": "9001", "sku": "A", "qty": 1})
    process(new_uow, limit=1, batch=1)
    with new_uow() as uow:
        done = uow.session.scalars(
            select(InboxDelivery.topic).where(InboxDelivery.status == "processed")
        ).all()
    assert done == ["orders/create"]


def test_echoes_in_a_batch_are_settled_and_a_differing_number_still_waits(new_uow, shop, deliver):
    _, channel_id = shop
    deliver(
        channel_id,
        {"stock": 5, "variant": "1"},  # what we believe store one shows for A: an echo
        {"stock": 3, "variant": "99"},  # unlinked
        {"stock": 1, "variant": "2"},  # B shows 2 as far as we know: differs
    )
    process(new_uow)
    with new_uow() as uow:
        found = {
            {"1": "echo", "99": "unlinked", "2": "differs"}[json.loads(row.body)["variant"]]: (
                row.status,
                row.outcome or "",
            )
            for row in uow.session.scalars(select(InboxDelivery))
        }
    assert found["echo"][0] == "processed" and "agrees" in found["echo"][1]
    assert found["unlinked"][0] == "processed" and "unlinked" in found["unlinked"][1]
    assert found["differs"] == ("received", "")  # waits for orders that may explain it


def test_stock_changes_are_judged_after_the_orders_of_their_batch(new_uow, shop, deliver):
    # Store one showed 5 of A; it was edited to 7 and then sold 2, so it announces 5. Judged before the
    # order was counted, the 5 looked like our own number and the edit of +2 was lost.
    _, channel_id = shop
    deliver(channel_id, {"stock": 5, "variant": "1"}, {"order": "7001", "sku": "A", "qty": 2, "variant": "1"})
    process(new_uow)
    with new_uow() as uow:
        stock = uow.session.scalar(
            select(InboxDelivery).where(InboxDelivery.topic == "inventory_levels/update")
        )
        assert (stock.status, stock.outcome) == ("received", None)  # waits, then asks the store


def waiting_units(new_uow):
    with new_uow() as uow:
        lines = uow.session.execute(
            select(Order.external_id, OrderLine.quantity_backordered).join(
                Order, Order.id == OrderLine.order_id
            )
        ).all()
    return dict(lines)


def test_orders_of_a_batch_are_committed_in_turn_as_if_one_by_one(new_uow, shop, deliver):
    # B has 2: the batch's third unit of B finds none left, though all three orders are taken together.
    merchant, channel = shop
    deliver(
        channel,
        {"order": "1", "sku": "B", "qty": 1},
        {"order": "2", "sku": "B", "qty": 1, "variant": "2"},
        {"order": "3", "sku": "B", "qty": 1},
        {"order": "4", "sku": "A", "qty": 2},
    )
    report = process(new_uow)
    assert (report.processed, report.failed, report.deferred) == (4, 0, 0)
    assert (committed(new_uow, merchant, "B"), committed(new_uow, merchant, "A")) == (3, 2)
    assert waiting_units(new_uow) == {"1": 0, "2": 0, "3": 1, "4": 0}
    with new_uow() as uow:
        outcomes = uow.session.scalars(select(InboxDelivery.outcome).order_by(InboxDelivery.id)).all()
    assert outcomes[2] == "order 3: 1 line(s) committed, 1 unit(s) waiting"


def test_an_order_twice_in_one_batch_is_recorded_once_and_an_older_update_is_ignored(new_uow, shop, deliver):
    merchant, channel = shop
    deliver(
        channel,
        {"order": "5", "sku": "C", "qty": 2, "updated": "2026-11-01T10:00:00+00:00"},
        {"order": "5", "sku": "C", "qty": 2, "updated": "2026-11-01T10:05:00+00:00"},
        {"order": "5", "sku": "C", "qty": 2, "updated": "2026-11-01T09:00:00+00:00"},
    )
    assert process(new_uow).processed == 3
    assert committed(new_uow, merchant, "C") == 2
    with new_uow() as uow:
        outcomes = uow.session.scalars(select(InboxDelivery.outcome).order_by(InboxDelivery.id)).all()
        kept = uow.session.scalar(select(Order.platform_updated_at))
    assert outcomes[1:] == ["order 5: already recorded", "order 5: older than what we have, ignored"]
    assert kept == datetime(2026, 11, 1, 10, 5, tzinfo=UTC)


def test_a_batch_whose_orders_cannot_go_together_is_applied_one_by_one(new_uow, shop, deliver):
    # A line key already used for another quantity is refused: that delivery fails alone.
    merchant, channel = shop
    with new_uow() as uow:
        key = "shopify:one.myshopify.com:order:8:line:L8"
        ledger.apply(uow, merchant, [ledger.Movement("A", "commit", 3, key)])
        uow.commit()
    deliver(channel, {"order": "7", "sku": "C", "qty": 1}, {"order": "8", "sku": "A", "qty": 1})
    report = process(new_uow)
    assert (report.processed, report.failed) == (1, 1)
    assert (committed(new_uow, merchant, "C"), committed(new_uow, merchant, "A")) == (1, 3)
    assert "already used for a different stock change" in deliveries(new_uow)[1][1]


def test_a_batch_of_orders_costs_about_as_many_statements_as_a_batch_of_two(new_uow, engine, shop, deliver):
    # Each statement is a round trip to a database server; SQLite's ORM inserts go row by row in-process.
    if engine.dialect.name != "postgresql":
        pytest.skip("statements are round trips on PostgreSQL only")
    _merchant, channel = shop
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    def cost(orders):
        deliver(channel, *({"order": f"{orders}-{n}", "sku": "C", "qty": 1} for n in range(orders)))
        statements.clear()
        assert process(new_uow).processed == orders
        return len(statements)

    two, six = cost(2), cost(6)  # 8 of the 9 C: none waits
    assert six <= two + 2, (two, six)


def test_one_batch_at_a_time_takes_a_merchants_deliveries_and_the_others_wait_their_turn(
    new_uow, engine, shop, deliver
):
    # Concurrent batches of one catalogue nearly always share an item and queued on its lock.
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time anyway")
    merchant, channel = shop
    deliver(channel, {"order": "1", "sku": "A", "qty": 1})
    with new_uow() as held:  # another worker's batch for this merchant, under way
        assert held.session.scalar(select(func.pg_try_advisory_xact_lock(inbox.INBOX_TURN, merchant)))
        assert process(new_uow).processed == 0
        assert deliveries(new_uow) == [("received", None)]
    assert process(new_uow).processed == 1
    assert committed(new_uow, merchant, "A") == 1


def test_a_stored_delivery_and_a_batch_that_queued_pushes_wake_the_listening_workers(
    new_uow, engine, shop, deliver
):
    # SQLite: the intake rings a pipe beside the database; a batch's pushes wake its own process only.
    _, channel = shop
    wakeup, stop = threading.Event(), threading.Event()
    listener = doorbell.listen(engine, wakeup, stop)
    try:
        time.sleep(0.5)  # listening
        wakeup.clear()
        deliver(channel, {"order": "1", "sku": "A", "qty": 1})
        assert wakeup.wait(10), "the intake's insert did not wake the worker"
        if engine.dialect.name == "postgresql":
            time.sleep(doorbell.QUIET * 2)
            wakeup.clear()
            assert process(new_uow).processed == 1  # queued pushes for A
            assert wakeup.wait(10), "the batch's pushes did not wake the worker"
    finally:
        stop.set()
        listener.join(5)
    assert not listener.is_alive()
    if engine.dialect.name == "sqlite":
        doorbell.ring_pipe(doorbell.pipe_beside(engine))  # no one listening: dropped, nothing waits


def test_deliveries_arriving_at_once_are_stored_together_and_each_gets_its_own_answer(new_uow, engine, shop):
    _, channel_id = shop
    with new_uow() as uow:
        channel = uow.session.get(Channel, channel_id)
    writer = inbox.InboxWriter(engine)
    keys = [f"k{n % 30}" for n in range(40)]  # ten of them sent twice, at the same moment
    answers: dict[int, bool] = {}
    start = threading.Barrier(len(keys))

    def send(n):
        start.wait(10)
        delivery = WebhookDelivery("orders/create", keys[n], b'{"order": "1"}', {})
        answers[n] = writer.store(channel, delivery)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(keys))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(answers) == len(keys)  # every request answered
        assert sum(answers.values()) == 30  # each key stored once; its twin answered "duplicate"
        assert {keys[n] for n, stored in answers.items() if stored} == set(keys)
        with new_uow() as uow:
            assert uow.session.scalar(select(func.count()).select_from(InboxDelivery)) == 30
    finally:
        writer.close()


def test_a_group_that_cannot_be_written_answers_each_with_the_error_and_the_next_goes_on(
    new_uow, engine, shop, monkeypatch
):
    _, channel_id = shop
    with new_uow() as uow:
        channel = uow.session.get(Channel, channel_id)
    writer = inbox.InboxWriter(engine)
    run = writer._insert.run
    calls = []

    def fails_once(*args):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("the database refused the group")
        return run(*args)

    monkeypatch.setattr(writer._insert, "run", fails_once)
    try:
        with pytest.raises(ValueError, match="refused the group"):
            writer.store(channel, WebhookDelivery("orders/create", "a", b"{}", {}))
        assert writer.store(channel, WebhookDelivery("orders/create", "b", b"{}", {}))  # the lead is free
    finally:
        writer.close()


# SQLite: deliveries that find another writer's turn taken are spooled beside the database


@pytest.fixture
def turn_taken(engine):
    """Another writer (the worker, say) has SQLite's turn until the test gives it up."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's writers do not queue on one lock: nothing is spooled")
    holder = engine.raw_connection()
    holder.dbapi_connection.take_turn()
    yield holder.dbapi_connection.end_turn
    holder.dbapi_connection.end_turn()
    holder.close()


def test_deliveries_that_find_the_turn_taken_are_spooled_answered_once_and_moved_before_processing(
    new_uow, engine, shop, turn_taken
):
    merchant, channel_id = shop
    with new_uow().reading() as uow:  # a look: the turn is taken
        channel = uow.session.get(Channel, channel_id)
    writer = inbox.InboxWriter(engine)
    order = WebhookDelivery(
        "orders/create", "o1", json.dumps({"order": "1", "sku": "A", "qty": 2}).encode(), {}
    )
    try:
        assert writer.store(channel, order)  # answered at once, although the turn is taken
        assert not writer.store(channel, order)  # a duplicate while it is spooled
        with new_uow().reading() as uow:  # a look, which waits for no turn
            assert uow.session.scalar(select(func.count()).select_from(InboxDelivery)) == 0
        assert spool.beside(engine).waiting() == 1
        turn_taken()
        assert process(new_uow).processed == 1  # moved into the inbox, then processed
        assert deliveries(new_uow) == [("processed", None)] and spool.beside(engine).waiting() == 0
        assert committed(new_uow, merchant, "A") == 2
        holder = engine.raw_connection()
        holder.dbapi_connection.take_turn()
        try:
            assert not writer.store(channel, order)  # in the inbox already: not spooled again
            assert spool.beside(engine).waiting() == 0
        finally:
            holder.dbapi_connection.end_turn()
            holder.close()
    finally:
        writer.close()


def test_a_move_cut_short_before_the_spool_forgets_stores_each_delivery_once(
    new_uow, engine, shop, turn_taken, monkeypatch
):
    _, channel_id = shop
    with new_uow().reading() as uow:  # a look: the turn is taken
        channel = uow.session.get(Channel, channel_id)
    writer = inbox.InboxWriter(engine)
    try:
        for key in ("a", "b"):
            assert writer.store(channel, WebhookDelivery("orders/create", key, b"{}", {}))
    finally:
        writer.close()
    turn_taken()
    kept = spool.beside(engine)
    forget = kept.forget

    def crashes(up_to):
        raise OSError("the process died here")

    monkeypatch.setattr(kept, "forget", crashes)
    with pytest.raises(OSError):
        spool.move(new_uow)
    monkeypatch.setattr(kept, "forget", forget)
    assert spool.move(new_uow) == 2  # the same two again
    assert len(deliveries(new_uow)) == 2 and kept.waiting() == 0


def test_a_channel_with_spooled_deliveries_is_not_reconciled_yet(new_uow, engine, shop, turn_taken):
    _, channel_id = shop
    with new_uow().reading() as uow:  # a look: the turn is taken
        channel = uow.session.get(Channel, channel_id)
    writer = inbox.InboxWriter(engine)
    try:
        assert writer.store(channel, WebhookDelivery("orders/create", "o9", b"{}", {}))
    finally:
        writer.close()
    turn_taken()
    report = reconcile.reconcile_channel(new_uow, channel_id, FakeStorefront([]))
    assert "still waiting" in report.skipped


def test_a_spooled_delivery_that_cannot_be_moved_holds_up_nothing(new_uow, engine, shop, turn_taken):
    merchant, channel_id = shop
    with new_uow().reading() as uow:
        channel = uow.session.get(Channel, channel_id)
    gone = Channel(id=987654, merchant_id=merchant, kind="shopify", status="active")  # removed meanwhile
    broken = Channel(id=channel_id, merchant_id=876543, kind="shopify", status="active")  # cannot be stored
    writer = inbox.InboxWriter(engine)
    order = json.dumps({"order": "1", "sku": "A", "qty": 1}).encode()
    try:
        assert writer.store(gone, WebhookDelivery("orders/create", "g", b"{}", {}))
        assert writer.store(broken, WebhookDelivery("orders/create", "b", b"{}", {}))
        assert writer.store(channel, WebhookDelivery("orders/create", "o", order, {}))
    finally:
        writer.close()
    turn_taken()
    assert process(new_uow).processed == 1  # the good one, moved and processed
    assert committed(new_uow, merchant, "A") == 1
    kept = spool.beside(engine)
    assert kept.waiting() == 0
    with kept._lock:
        aside = kept._connection.execute("SELECT dedupe_key, reason FROM set_aside").fetchall()
    assert [key for key, _reason in aside] == [f"{channel_id}:orders/create:b"]  # kept, with the reason
    assert "FOREIGN KEY" in aside[0][1]


def test_the_turn_goes_to_the_merchant_waiting_longest_among_those_with_deliveries_due(new_uow, engine):
    # Read off the index of waiting deliveries, one probe per merchant, never a pass over the backlog.
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time and no turns")
    first, second, third = (merchant_with_items(new_uow, {"A": 1}) for _ in range(3))
    now = datetime.now(UTC)

    def waiting(merchant, topic, *, later=timedelta(0)):
        with new_uow() as uow:
            key = f"{merchant}:{topic}:{next(NUMBERS)}"
            uow.session.add(
                InboxDelivery(
                    merchant_id=merchant,
                    platform="shopify",
                    topic=topic,
                    dedupe_key=key,
                    body=b"{}",
                    process_after=now + later,
                )
            )
            uow.commit()

    waiting(first, "inventory_levels/update")
    waiting(second, "inventory_levels/update")
    waiting(third, "orders/create", later=timedelta(minutes=5))  # not due yet: no turn for it
    waiting(second, "orders/create")
    waiting(None, "shop/redact")  # merchantless deliveries have a turn too
    with new_uow() as uow:
        assert inbox._merchants_waiting(uow, now + timedelta(seconds=1)) == [first, second, None]
        uow.session.execute(
            InboxDelivery.__table__.update()
            .where(InboxDelivery.merchant_id == first)
            .values(status="processed")
        )
        assert inbox._merchants_waiting(uow, now + timedelta(seconds=1)) == [second, None]
        assert inbox._merchants_waiting(uow, now + timedelta(minutes=6)) == [second, third, None]


NUMBERS = itertools.count()
