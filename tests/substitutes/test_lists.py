"""Substitute lists on storefronts follow stock: a stock change queues the lists it may move, the
dispatcher computes each when it sends, pushes the changed ones as the same channel's ids, and a row is
done (holding the list) only when the storefront confirmed."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from adapters.base import ListingRef, SubstituteList
from connector.models import Item, Merchant, OutboxRow
from connector.services import dispatch, ledger, substitute_lists, substitutes
from connector.services.dispatch_substitutes import _batches, _ListPush
from connector.substitutes import SubstituteIndex
from tests.substitutes.world import connect, labelled_shop


class Clock:
    def __init__(self):
        self.now = datetime.now(UTC) + timedelta(minutes=1)

    def __call__(self):
        return self.now


@pytest.fixture
def world(new_uow):
    merchant = labelled_shop(new_uow)
    stores = [connect(new_uow, merchant, name) for name in ("north", "south")]
    return merchant, stores


def move(new_uow, merchant, sku, kind, quantity):
    key = f"test:{sku}:{kind}:{quantity}:{random.random()}"
    ledger.record_and_propagate(
        new_uow(), merchant, [ledger.Movement(sku, kind, quantity, key)], datetime.now(UTC)
    )


def sell_out(new_uow, merchant, sku):
    with new_uow() as uow:
        on_hand = uow.session.scalar(
            select(Item.on_hand).where(Item.merchant_id == merchant, Item.sku == sku)
        )
    move(new_uow, merchant, sku, "adjust", -on_hand)


def run(new_uow, channel, store, clock):
    assert dispatch.lease_channel(new_uow(), "w1", clock()) == channel
    report = dispatch.dispatch_round(new_uow, channel, store, clock, worker="w1", rng=random.Random(1))
    dispatch.release_lease(new_uow(), channel, "w1")
    return report


def settle(new_uow, world):
    _, stores = world
    clock = Clock()
    for channel, store in stores:
        run(new_uow, channel, store, clock)


def refresh(new_uow, merchant):
    with new_uow() as uow:
        queued = substitute_lists.refresh_substitutes(uow, merchant, datetime.now(UTC))
        uow.commit()
    return queued


def list_rows(new_uow, status=None):
    with new_uow() as uow:
        query = select(OutboxRow).where(OutboxRow.kind == "substitutes")
        if status:
            query = query.where(OutboxRow.status == status)
        return uow.session.scalars(query).all()


def test_an_item_running_out_gets_its_list_on_every_storefront(new_uow, world):
    merchant, [(_, north), (_, south)] = world
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    settle(new_uow, world)
    assert north.shown("KNIFE-SANTOKU") == south.shown("KNIFE-SANTOKU") == ["KNIFE-CHEF-FER"]
    assert {r.status for r in list_rows(new_uow)} == {"done"}


def test_when_a_substitute_runs_out_the_lists_naming_it_are_recomputed(new_uow, world):
    merchant, [(_, north), (_, south)] = world
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    settle(new_uow, world)
    sell_out(new_uow, merchant, "KNIFE-CHEF-FER")
    settle(new_uow, world)
    assert north.shown("KNIFE-SANTOKU") == south.shown("KNIFE-SANTOKU") == []


def test_when_the_original_comes_back_its_list_goes(new_uow, world):
    merchant, [(_, north), (_, south)] = world
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    settle(new_uow, world)
    move(new_uow, merchant, "KNIFE-SANTOKU", "receive", 4)
    settle(new_uow, world)
    assert north.shown("KNIFE-SANTOKU") == south.shown("KNIFE-SANTOKU") == []


def test_an_item_back_in_stock_returns_to_the_lists_of_its_type(new_uow, world):
    merchant, [(_, north), _] = world
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    settle(new_uow, world)
    sell_out(new_uow, merchant, "KNIFE-CHEF-FER")
    settle(new_uow, world)
    assert north.shown("KNIFE-SANTOKU") == []
    move(new_uow, merchant, "KNIFE-CHEF-FER", "receive", 3)
    settle(new_uow, world)
    assert north.shown("KNIFE-SANTOKU") == ["KNIFE-CHEF-FER"]
    assert north.shown("KNIFE-CHEF-KAS") == ["KNIFE-CHEF-FER"]  # sold out from the start: of the same type


def test_a_stock_change_that_moves_no_list_queues_nothing(new_uow, world):
    merchant, _ = world
    move(new_uow, merchant, "TEE-ORG-NAV-S", "commit", 1)
    move(new_uow, merchant, "CHG-GAN-100", "receive", 2)
    assert list_rows(new_uow) == []
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    settle(new_uow, world)
    before = len(list_rows(new_uow))
    move(new_uow, merchant, "KNIFE-CHEF-FER", "commit", 1)  # the substitute is still in stock
    assert len(list_rows(new_uow)) == before


def test_only_an_item_running_out_makes_a_stock_change_look_through_every_list(new_uow, world, monkeypatch):
    merchant, _ = world
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")  # KNIFE-CHEF-KAS is sold out from the start
    settle(new_uow, world)
    read = []
    shown_lists = substitute_lists.shown_lists

    def reading(uow, merchant_id, item_ids, **kwargs):
        read.append(set(uow.session.scalars(item_ids)))
        return shown_lists(uow, merchant_id, item_ids, **kwargs)

    monkeypatch.setattr(substitute_lists, "shown_lists", reading)
    with new_uow() as uow:
        ids = dict(uow.session.execute(select(Item.sku, Item.id).where(Item.merchant_id == merchant)).all())
    for sku in ("KNIFE-SANTOKU", "KNIFE-CHEF-FER"):  # already out (another order waits); still in stock
        with new_uow() as uow:
            substitute_lists.enqueue_substitutes(uow, merchant, [ids[sku]], datetime.now(UTC))
    assert read == [{ids["KNIFE-SANTOKU"]}, {ids["KNIFE-CHEF-FER"]}]  # the lists of what moved, no more
    read.clear()
    sell_out(new_uow, merchant, "KNIFE-CHEF-FER")
    assert {ids["KNIFE-SANTOKU"], ids["KNIFE-CHEF-KAS"]} <= read[-1]  # running out: every list naming it


def test_a_list_sent_while_an_item_it_names_runs_out_is_sent_again_without_it(new_uow, world):
    merchant, [(north_id, north), _] = world
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    send = north.set_substitutes

    def racing(lists):  # the substitute sells out while its list is on its way to the store
        sell_out(new_uow, merchant, "KNIFE-CHEF-FER")
        return send(lists)

    north.set_substitutes = racing
    run(new_uow, north_id, north, Clock())
    assert north.shown("KNIFE-SANTOKU") == ["KNIFE-CHEF-FER"]  # confirmed, but sold out by now
    north.set_substitutes = send
    settle(new_uow, world)
    assert north.shown("KNIFE-SANTOKU") == []


def test_a_state_push_parked_as_dead_is_not_taken_for_what_the_store_shows(new_uow, world):
    merchant, [(north_id, _), _] = world
    with new_uow() as uow:
        item_id = uow.session.scalar(
            select(Item.id).where(Item.merchant_id == merchant, Item.sku == "KNIFE-CHEF-FER")
        )
        uow.session.add(
            OutboxRow(
                merchant_id=merchant,
                channel_id=north_id,
                item_id=item_id,
                kind="backorder_state",
                payload={"status": "sold_out"},
                status="dead",
            )
        )
        uow.commit()
    with new_uow() as uow:
        assert substitute_lists._shown_status(uow, {item_id}).get(item_id, "in_stock") == "in_stock"


def test_a_list_that_has_not_changed_is_settled_without_a_call(new_uow, world):
    merchant, [(_, north), (_, south)] = world
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    refresh(new_uow, merchant)  # every out-of-stock item gets its first list
    settle(new_uow, world)
    calls = len(north.substitute_calls), len(south.substitute_calls)
    assert refresh(new_uow, merchant) > 0
    settle(new_uow, world)
    assert (len(north.substitute_calls), len(south.substitute_calls)) == calls
    assert {r.status for r in list_rows(new_uow)} == {"done"}


def test_each_list_goes_out_as_ids_of_its_own_storefront(new_uow, world):
    merchant, [(_, north), (_, south)] = world
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    settle(new_uow, world)
    for store, prefix in ((north, "north-"), (south, "south-")):
        [[sent]] = store.substitute_calls
        assert store.sku_of[sent.ref.variant_id] == "KNIFE-SANTOKU"
        assert [s.variant_id.startswith(prefix) for s in sent.substitutes] == [True]
        assert sent.cross_sell is False


def test_a_products_other_variants_go_out_with_the_lists_they_show(new_uow, world):
    merchant, [(_, north), _] = world
    move(new_uow, merchant, "TEE-ORG-NAV-M", "receive", 1)
    move(new_uow, merchant, "TEE-ORG-NAV-M", "adjust", -1)  # out again: Navy M gets a list
    settle(new_uow, world)
    navy_m = north.shown("TEE-ORG-NAV-M")
    assert navy_m and all(s.endswith("-M") for s in navy_m)
    sell_out(new_uow, merchant, "TEE-ORG-SAN-S")  # another variant of the same product
    settle(new_uow, world)
    last = {north.sku_of[e.ref.variant_id]: e for e in north.substitute_calls[-1]}
    assert {"TEE-ORG-SAN-S", "TEE-ORG-NAV-M"} <= last.keys()
    assert [north.sku_of[s.variant_id] for s in last["TEE-ORG-NAV-M"].substitutes] == navy_m


def test_a_refused_list_is_retried_and_one_for_a_listing_the_store_lost_is_parked(new_uow, world):
    merchant, [(north, store), _] = world
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    sell_out(new_uow, merchant, "MUG-ENAMEL")
    store.fail_refs.add(next(v for v, sku in store.sku_of.items() if sku == "KNIFE-SANTOKU"))
    store.not_found.add(next(v for v, sku in store.sku_of.items() if sku == "MUG-ENAMEL"))
    run(new_uow, north, store, Clock())
    with new_uow() as uow:
        rows = uow.session.execute(
            select(Item.sku, OutboxRow.status, OutboxRow.attempts)
            .join(Item, Item.id == OutboxRow.item_id)
            .where(OutboxRow.kind == "substitutes", OutboxRow.channel_id == north)
        ).all()
    assert sorted(rows) == [("KNIFE-SANTOKU", "pending", 1), ("MUG-ENAMEL", "dead", 1)]


def test_cross_sells_are_asked_for_only_when_the_merchant_opted_in(new_uow, world):
    merchant, [(_, north), _] = world
    substitutes.configure(new_uow(), merchant, {"cross_sell": True}, datetime.now(UTC))
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    settle(new_uow, world)
    assert {e.cross_sell for call in north.substitute_calls for e in call} == {True}


def test_changing_the_settings_recomputes_every_list(new_uow, world):
    merchant, [(_, north), _] = world
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    settle(new_uow, world)
    result = substitutes.configure(
        new_uow(), merchant, {"exclude_skus": ["KNIFE-CHEF-FER"]}, datetime.now(UTC)
    )
    assert result["lists_queued"] >= 2
    settle(new_uow, world)
    assert north.shown("KNIFE-SANTOKU") == []


def test_malformed_settings_never_fail_a_stock_change_and_the_lists_wait(new_uow, world):
    merchant, [(north, store), _] = world
    with new_uow() as uow:
        uow.session.get(Merchant, merchant).settings = {"substitutes": {"band": "wide"}}
        uow.commit()
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    run(new_uow, north, store, Clock())
    assert store.substitute_calls == []
    [row] = [r for r in list_rows(new_uow) if r.channel_id == north]
    assert row.status == "pending" and "band must be a fraction" in row.last_error


def test_a_stock_change_queues_lists_without_ranking_in_its_transaction(new_uow, world, monkeypatch):
    merchant, _ = world

    def no_ranking(*args, **kwargs):
        raise AssertionError("ranked inside the stock change's transaction")

    monkeypatch.setattr(SubstituteIndex, "build", no_ranking)
    monkeypatch.setattr(SubstituteIndex, "matches", no_ranking)
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    assert len(list_rows(new_uow, "pending")) == 2


def test_batches_keep_a_products_lists_together():
    def push(product, variant):
        return _ListPush(variant, SubstituteList(ListingRef(str(product), str(variant)), ()), {}, variant)

    pushes = [push(1, 10), push(2, 20), push(1, 11), push(3, 30)]
    grouped = [[p.item_id for p in batch] for batch in _batches(pushes, 3)]
    assert grouped == [[10, 11, 20], [30]]
    assert [[p.item_id for p in b] for b in _batches([push(1, n) for n in range(5)], 2)] == [
        [0, 1],
        [2, 3],
        [4],
    ]


def test_a_quantity_queued_while_lists_are_sent_goes_out_in_the_same_round(new_uow, world):
    # Ranking and sending lists takes a second or more under load; a sale elsewhere meanwhile must reach
    # this store before the next round, or it sells units that are gone.
    merchant, [(north_id, north), _] = world
    calls: list[str] = []

    class Store(type(north)):
        def set_quantities(self, updates, *, idempotency_key):
            calls.append("quantities")
            return super().set_quantities(updates, idempotency_key=idempotency_key)

        def set_substitutes(self, lists):
            calls.append("lists")
            if calls.count("lists") == 1:
                move(new_uow, merchant, "KNIFE-CHEF-FER", "adjust", -1)  # sold elsewhere meanwhile
            return super().set_substitutes(lists)

    store = Store(prefix="north-")
    sell_out(new_uow, merchant, "KNIFE-SANTOKU")
    run(new_uow, north_id, store, Clock())
    assert calls[0] == "quantities" and "lists" in calls
    assert calls[calls.index("lists") + 1 :] == ["quantities"]
    with new_uow() as uow:
        pending = uow.session.scalars(
            select(OutboxRow).where(
                OutboxRow.channel_id == north_id, OutboxRow.kind == "quantity", OutboxRow.status != "done"
            )
        ).all()
    assert pending == []
