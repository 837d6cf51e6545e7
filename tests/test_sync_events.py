"""Storefront events become ledger movements and outbox rows, exactly once."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from adapters.base import (
    ListingRef,
    OrderCancelled,
    OrderInfo,
    OrderLineInfo,
    OrderPlaced,
    OrderUpdated,
    StockChanged,
)
from connector.crypto import Vault
from connector.models import Channel, Listing, OutboxRow
from connector.services import channels, ledger
from connector.services.channel_import import import_catalog
from connector.services.sync import Deferred, apply_event
from tests.factories import merchant_with_items
from tests.fakes import FakeStorefront, entry

KEY = "8Xv0H4W3mvy0lLDWZ-x4sWw3u9w9VQk1wM1a3D7pH5c="
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop(new_uow):
    merchant = merchant_with_items(new_uow, {"A": 5, "B": 2})
    ids = []
    for domain in ("one.myshopify.com", "two.myshopify.com"):
        channel = channels.add_channel(
            new_uow(), Vault([KEY]), merchant, channels.ShopifyConnection(domain, "t")
        )
        import_catalog(new_uow, channel, FakeStorefront([entry("1", "A", 5), entry("2", "B", 2)]))
        ids.append(channel)
    return merchant, ids


def order(order_id="1001", qty=2, sku="A", variant="1", updated=NOW, cancelled=False):
    line = OrderLineInfo(
        line_id=f"L{order_id}", sku=sku, quantity=qty, ref=ListingRef(f"P{variant}", variant)
    )
    return OrderInfo(
        order_id, f"#{order_id}", NOW, updated, "Ann", "ann@example.com", (line,), cancelled=cancelled
    )


def apply(new_uow, channel_id, event, *, received_at=NOW, now=NOW, store=None):
    with new_uow() as uow:
        channel = uow.session.get(Channel, channel_id)
        result = apply_event(uow, channel, event, received_at=received_at, now=now, port=store)
        uow.commit()
    return result.summary


def level(new_uow, merchant, sku="A"):
    with new_uow() as uow:
        report = ledger.stock_report(uow, merchant, sku)
    return report["on_hand"], report["committed"], report["available"]


def pending_rows(new_uow):
    with new_uow() as uow:
        return uow.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending")
        )


def test_an_order_commits_stock_and_queues_a_push_to_every_channel(new_uow, shop):
    merchant, (one, _) = shop
    apply(new_uow, one, OrderPlaced(order()))
    assert level(new_uow, merchant) == (5, 2, 3)
    assert pending_rows(new_uow) == 2


def test_a_duplicate_order_delivery_changes_nothing(new_uow, shop):
    merchant, (one, _) = shop
    apply(new_uow, one, OrderPlaced(order()))
    assert "ignored" in apply(new_uow, one, OrderPlaced(order()))
    assert "already recorded" in apply(new_uow, one, OrderUpdated(order(updated=NOW + timedelta(seconds=1))))
    assert level(new_uow, merchant) == (5, 2, 3)


def test_a_cancellation_releases_once_even_when_delivered_twice(new_uow, shop):
    merchant, (one, _) = shop
    apply(new_uow, one, OrderPlaced(order()))
    apply(new_uow, one, OrderCancelled(order(cancelled=True)))
    apply(new_uow, one, OrderCancelled(order(cancelled=True)))
    apply(new_uow, one, OrderUpdated(order(cancelled=True, updated=NOW + timedelta(minutes=1))))
    assert level(new_uow, merchant) == (5, 0, 5)


def test_an_older_update_arriving_after_a_newer_one_changes_nothing(new_uow, shop):
    merchant, (one, _) = shop
    apply(new_uow, one, OrderUpdated(order(updated=NOW + timedelta(minutes=5))))
    stale = order(updated=NOW, cancelled=True)
    assert "older" in apply(new_uow, one, OrderUpdated(stale))
    assert level(new_uow, merchant) == (5, 2, 3)


def test_a_cancellation_seen_before_its_order_nets_to_nothing(new_uow, shop):
    merchant, (one, _) = shop
    apply(new_uow, one, OrderCancelled(order(cancelled=True)))
    apply(new_uow, one, OrderPlaced(order()))
    assert level(new_uow, merchant) == (5, 0, 5)


def test_an_order_beyond_stock_is_recorded_never_dropped(new_uow, shop):
    merchant, (one, _) = shop
    apply(new_uow, one, OrderPlaced(order(qty=4, sku="B", variant="2")))
    assert level(new_uow, merchant, "B") == (2, 4, -2)


def test_the_echo_of_our_own_push_is_ignored(new_uow, shop):
    merchant, (one, _) = shop
    summary = apply(new_uow, one, StockChanged(ListingRef("P1", "1", "I1"), 5))
    assert "agrees" in summary
    assert level(new_uow, merchant) == (5, 0, 5)
    assert pending_rows(new_uow) == 0


def test_the_stock_drop_from_an_order_on_that_store_is_not_counted_twice(new_uow, shop):
    merchant, (one, _) = shop
    apply(new_uow, one, OrderPlaced(order(qty=2)))
    apply(new_uow, one, StockChanged(ListingRef("P1", "1", "I1"), 3), now=NOW + timedelta(minutes=1))
    assert level(new_uow, merchant) == (5, 2, 3)


def test_a_storefront_drop_waits_for_a_late_order_before_counting_as_an_edit(new_uow, shop):
    merchant, (one, _) = shop
    with pytest.raises(Deferred):
        apply(new_uow, one, StockChanged(ListingRef("P1", "1", "I1"), 3))
    apply(new_uow, one, OrderPlaced(order(qty=2)))
    later = NOW + timedelta(seconds=30)
    assert "agrees" in apply(new_uow, one, StockChanged(ListingRef("P1", "1", "I1"), 3), now=later)
    assert level(new_uow, merchant) == (5, 2, 3)


def showing(**quantities):
    """A storefront that answers a read with these numbers, by variant id (`v1=9`)."""
    store = FakeStorefront()
    store.quantities = {variant.removeprefix("v"): quantity for variant, quantity in quantities.items()}
    return store


def announced(new_uow, channel_id, quantity, store):
    """Store one announces `quantity` of A, judged past the grace with `store` answering the read."""
    event = StockChanged(ListingRef("P1", "1", "I1"), quantity)
    return apply(new_uow, channel_id, event, now=NOW + timedelta(seconds=30), store=store)


def test_an_edit_made_on_the_storefront_becomes_a_ledger_adjustment_that_propagates(new_uow, shop):
    merchant, (one, two) = shop
    summary = announced(new_uow, one, 9, showing(v1=9))
    assert "+4" in summary
    assert level(new_uow, merchant) == (9, 0, 9)
    with new_uow() as uow:
        rows = uow.session.scalars(select(OutboxRow)).all()
        assert {row.channel_id for row in rows} == {one, two}
        listing = uow.session.scalar(
            select(Listing).where(Listing.channel_id == one, Listing.variant_id == "1")
        )
        assert listing.last_pushed_quantity == 9


def test_a_late_stock_change_older_than_orders_already_counted_is_not_an_edit(new_uow, shop):
    # The store went 5 → 3 → 2 with two orders; both orders were counted before the "3" arrived.
    merchant, (one, _) = shop
    apply(new_uow, one, OrderPlaced(order("1001", qty=2)))
    apply(new_uow, one, OrderPlaced(order("1002", qty=1)))
    summary = announced(new_uow, one, 3, showing(v1=2))
    assert "stale" in summary
    assert level(new_uow, merchant) == (5, 3, 2)


def test_a_stock_change_the_store_has_moved_past_is_left_to_the_next_one(new_uow, shop):
    merchant, (one, _) = shop
    summary = announced(new_uow, one, 9, showing(v1=8))
    assert "superseded" in summary
    assert level(new_uow, merchant) == (5, 0, 5)


def test_an_order_delivery_still_queued_from_that_store_holds_the_judgement(new_uow, shop):
    from connector.models import InboxDelivery

    merchant, (one, _) = shop
    with new_uow() as uow:
        uow.session.add(
            InboxDelivery(
                merchant_id=merchant,
                channel_id=one,
                platform="shopify",
                topic="orders/create",
                dedupe_key="queued-order",
                body=b"{}",
                received_at=NOW + timedelta(seconds=5),
            )
        )
        uow.commit()
    with pytest.raises(Deferred):
        announced(new_uow, one, 3, showing(v1=3))
    assert level(new_uow, merchant) == (5, 0, 5)


def test_two_orders_for_the_last_unit_processed_at_once_leave_exactly_one_waiting(new_uow, shop):
    import threading

    from connector.models import Backorder, Item
    from connector.services import policy as policies

    merchant, (one, two) = shop
    ledger.record(new_uow(), merchant, [ledger.Movement("B", "set", 1, "count-b")])
    policies.set_policy(new_uow(), merchant, "B", backorders="allow", now=NOW)
    barrier = threading.Barrier(2)

    def buy(channel_id, order_id):
        barrier.wait()
        apply(new_uow, channel_id, OrderPlaced(order(order_id, qty=1, sku="B", variant="2")))

    threads = [threading.Thread(target=buy, args=args) for args in ((one, "A1"), (two, "B1"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with new_uow() as uow:
        waiting = uow.session.scalars(select(Backorder)).all()
        item = uow.session.scalar(select(Item).where(Item.sku == "B"))
    assert [row.quantity for row in waiting] == [1]
    assert (item.on_hand, item.committed) == (1, 2)


def test_moves_of_the_number_a_store_shows_add_up(new_uow, shop):
    from connector.services import shown

    _, (one, _) = shop
    query = select(Listing).where(Listing.channel_id == one, Listing.variant_id == "1")
    with new_uow() as uow:
        listing = uow.session.scalar(query)
        shown.shift(listing, -2)
        shown.shift(listing, -1)  # before any flush: builds on the first
        uow.commit()
    with new_uow() as uow:
        shown.shift(uow.session.scalar(query), 4)
        uow.commit()
    with new_uow() as uow:
        assert uow.session.scalar(query).last_pushed_quantity == 5 - 2 - 1 + 4


def test_a_store_that_cannot_answer_leaves_the_judgement_for_later(new_uow, shop):
    from adapters.errors import ChannelUnavailable

    merchant, (one, _) = shop
    store = showing(v1=9)
    store.read_quantities = lambda refs: (_ for _ in ()).throw(ChannelUnavailable("503"))
    with pytest.raises(Deferred):
        announced(new_uow, one, 9, store)
    assert level(new_uow, merchant) == (5, 0, 5)


def test_our_number_moving_while_the_store_is_read_leaves_the_judgement_for_later(new_uow, shop):
    from connector.services import shown

    merchant, (one, _) = shop
    with new_uow() as probe:
        if not probe.locks_rows:
            pytest.skip("another writer during a transaction is PostgreSQL's; SQLite reads its snapshot")
    store = showing(v1=9)
    read = store.read_quantities

    def an_order_is_counted_meanwhile(refs):
        with new_uow() as other:
            shown.shift(
                other.session.scalar(
                    select(Listing).where(Listing.channel_id == one, Listing.variant_id == "1")
                ),
                -1,
            )
            other.commit()
        return read(refs)

    store.read_quantities = an_order_is_counted_meanwhile
    with pytest.raises(Deferred):
        announced(new_uow, one, 9, store)
    assert level(new_uow, merchant) == (5, 0, 5)
