"""Pushing available quantities to Shopify: request shape, chunks, per-item outcomes, stale quantities."""

from __future__ import annotations

import pytest
import responses

from adapters.base import ListingRef, QuantityUpdate
from tests.adapters.shopify_support import (
    ENDPOINT,
    LOCATION,
    FakeTime,
    answer,
    make_channel,
    operation,
    operations,
    sent,
    user_error,
)


@pytest.fixture
def shopify():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def time():
    return FakeTime()


def ref(n: int) -> ListingRef:
    return ListingRef(
        f"gid://shopify/Product/{n}", f"gid://shopify/ProductVariant/{n}", f"gid://shopify/InventoryItem/{n}"
    )


APPLIED = {"inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/1"}, "userErrors": []}


def refused(*errors: dict) -> dict:
    return answer({"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": list(errors)}})


def quantities_answer(**available: int) -> dict:
    nodes = [
        {
            "id": item,
            "tracked": True,
            "inventoryLevel": {"quantities": [{"name": "available", "quantity": q}]},
        }
        for item, q in available.items()
    ]
    return answer({"nodes": nodes})


def test_quantities_are_set_absolutely_with_compare_and_set_and_an_idempotency_key(shopify, time):
    shopify.post(ENDPOINT, json=answer({"inventorySetQuantities": APPLIED}))

    outcomes = make_channel(time).set_quantities(
        [QuantityUpdate(ref(1), 4, expected=6), QuantityUpdate(ref(2), 0)], idempotency_key="push-1"
    )

    call = shopify.calls[0]
    assert operation(call) == "InventorySetQuantities"
    assert "@idempotent(key: $key)" in sent(call)["query"]
    variables = sent(call)["variables"]
    assert variables["key"] == "push-1"
    assert variables["input"]["name"] == "available"
    assert variables["input"]["reason"] == "correction"
    assert variables["input"]["referenceDocumentUri"].startswith("gid://backorder-connector/")
    assert variables["input"]["quantities"] == [
        {
            "inventoryItemId": "gid://shopify/InventoryItem/1",
            "locationId": LOCATION,
            "quantity": 4,
            "changeFromQuantity": 6,
        },
        # changeFromQuantity must be sent even when we expect nothing: null skips the check.
        {
            "inventoryItemId": "gid://shopify/InventoryItem/2",
            "locationId": LOCATION,
            "quantity": 0,
            "changeFromQuantity": None,
        },
    ]
    assert [(o.ref, o.status, o.quantity) for o in outcomes] == [(ref(1), "ok", 4), (ref(2), "ok", 0)]


def test_more_than_250_quantities_go_in_chunks_each_with_its_own_key(shopify, time):
    shopify.post(ENDPOINT, json=answer({"inventorySetQuantities": APPLIED}))
    updates = [QuantityUpdate(ref(n), 1) for n in range(251)]

    outcomes = make_channel(time).set_quantities(updates, idempotency_key="push-2")

    sizes = [len(sent(call)["variables"]["input"]["quantities"]) for call in shopify.calls]
    assert sizes == [250, 1]
    assert [sent(call)["variables"]["key"] for call in shopify.calls] == ["push-2:0", "push-2:1"]
    assert len(outcomes) == 251 and {o.status for o in outcomes} == {"ok"}


def test_a_batch_with_one_refused_item_reports_it_and_sends_the_others_again(shopify, time):
    # The call is all or nothing: Shopify wrote none of it, so the fine items go again without the bad one.
    shopify.post(
        ENDPOINT,
        json=refused(
            user_error(
                ["input", "quantities", "1", "inventoryItemId"],
                "The specified inventory item could not be found.",
                "INVALID_INVENTORY_ITEM",
            )
        ),
    )
    shopify.post(ENDPOINT, json=answer({"inventorySetQuantities": APPLIED}))
    updates = [QuantityUpdate(ref(1), 3), QuantityUpdate(ref(2), 3), QuantityUpdate(ref(3), 3)]

    outcomes = make_channel(time).set_quantities(updates, idempotency_key="push-3")

    assert [o.status for o in outcomes] == ["ok", "not_found", "ok"]
    assert "INVALID_INVENTORY_ITEM" in outcomes[1].reason
    resent = sent(shopify.calls[1])["variables"]
    assert [q["inventoryItemId"] for q in resent["input"]["quantities"]] == [
        "gid://shopify/InventoryItem/1",
        "gid://shopify/InventoryItem/3",
    ]
    assert resent["key"] != "push-3"  # other parameters need another key


def test_an_item_refused_for_another_reason_fails_with_it(shopify, time):
    shopify.post(
        ENDPOINT,
        json=refused(
            user_error(
                ["input", "quantities", "0", "quantity"],
                "The quantity can't be negative.",
                "INVALID_QUANTITY_NEGATIVE",
            )
        ),
    )

    [outcome] = make_channel(time).set_quantities([QuantityUpdate(ref(1), -1)], idempotency_key="push-4")

    assert outcome.status == "failed"
    assert outcome.reason == "INVALID_QUANTITY_NEGATIVE: The quantity can't be negative."


def test_a_stale_quantity_is_read_again_and_sent_from_the_fresh_value(shopify, time):
    stale = user_error(
        ["input", "quantities", "0", "changeFromQuantity"],
        "The changeFromQuantity value does not match persisted value.",
        "CHANGE_FROM_QUANTITY_STALE",
    )
    shopify.post(ENDPOINT, json=refused(stale))
    shopify.post(ENDPOINT, json=quantities_answer(**{"gid://shopify/InventoryItem/1": 7}))
    shopify.post(ENDPOINT, json=answer({"inventorySetQuantities": APPLIED}))
    updates = [QuantityUpdate(ref(1), 4, expected=6), QuantityUpdate(ref(2), 2, expected=2)]

    outcomes = make_channel(time).set_quantities(updates, idempotency_key="push-5")

    assert operations(shopify.calls) == [
        "InventorySetQuantities",
        "InventoryQuantities",
        "InventorySetQuantities",
    ]
    assert sent(shopify.calls[1])["variables"]["ids"] == ["gid://shopify/InventoryItem/1"]
    again = sent(shopify.calls[2])["variables"]["input"]["quantities"]
    assert [(q["inventoryItemId"], q["quantity"], q["changeFromQuantity"]) for q in again] == [
        ("gid://shopify/InventoryItem/1", 4, 7),
        ("gid://shopify/InventoryItem/2", 2, 2),
    ]
    assert [o.status for o in outcomes] == ["ok", "ok"]
    assert "7" in outcomes[0].reason


def test_stale_twice_fails_with_reason_stale(shopify, time):
    stale = user_error(
        ["input", "quantities", "0", "changeFromQuantity"], "stale", "CHANGE_FROM_QUANTITY_STALE"
    )
    shopify.post(ENDPOINT, json=refused(stale))
    shopify.post(ENDPOINT, json=quantities_answer(**{"gid://shopify/InventoryItem/1": 7}))
    shopify.post(ENDPOINT, json=refused(stale))

    [outcome] = make_channel(time).set_quantities(
        [QuantityUpdate(ref(1), 4, expected=6)], idempotency_key="push-6"
    )

    assert (outcome.status, outcome.reason) == ("failed", "stale")
    assert len(shopify.calls) == 3


def test_a_stale_item_already_at_the_wanted_quantity_is_done(shopify, time):
    stale = user_error(
        ["input", "quantities", "0", "changeFromQuantity"], "stale", "CHANGE_FROM_QUANTITY_STALE"
    )
    shopify.post(ENDPOINT, json=refused(stale))
    shopify.post(ENDPOINT, json=quantities_answer(**{"gid://shopify/InventoryItem/1": 4}))

    [outcome] = make_channel(time).set_quantities(
        [QuantityUpdate(ref(1), 4, expected=3)], idempotency_key="push-7"
    )

    assert (outcome.status, outcome.quantity) == ("ok", 4)
    assert len(shopify.calls) == 2


@pytest.mark.parametrize(
    ("now", "sent_quantity"),
    [
        (5, 3),  # it sold 1 we have not heard of: 1 less than the 4 we want shown
        (1, 0),  # it sold 5: more than we want shown, so none
    ],
)
def test_units_the_store_sold_that_we_have_not_heard_of_are_not_offered_again(
    shopify, time, now, sent_quantity
):
    # We believe 6 are shown and want 4 (another store sold 2); this store sold some meanwhile.
    stale = user_error(
        ["input", "quantities", "0", "changeFromQuantity"], "stale", "CHANGE_FROM_QUANTITY_STALE"
    )
    shopify.post(ENDPOINT, json=refused(stale))
    shopify.post(ENDPOINT, json=quantities_answer(**{"gid://shopify/InventoryItem/1": now}))
    shopify.post(ENDPOINT, json=answer({"inventorySetQuantities": APPLIED}))

    [outcome] = make_channel(time).set_quantities(
        [QuantityUpdate(ref(1), 4, expected=6)], idempotency_key="push-9"
    )

    [again] = sent(shopify.calls[2])["variables"]["input"]["quantities"]
    assert (again["quantity"], again["changeFromQuantity"]) == (sent_quantity, now)
    assert (outcome.status, outcome.quantity, outcome.replaced) == ("ok", sent_quantity, now)


def test_items_without_an_inventory_item_or_named_twice_are_not_sent(shopify, time):
    shopify.post(ENDPOINT, json=answer({"inventorySetQuantities": APPLIED}))
    no_item = ListingRef("gid://shopify/Product/9", "gid://shopify/ProductVariant/9")
    updates = [QuantityUpdate(ref(1), 1), QuantityUpdate(no_item, 2), QuantityUpdate(ref(1), 5)]

    outcomes = make_channel(time).set_quantities(updates, idempotency_key="push-8")

    assert [o.status for o in outcomes] == ["failed", "failed", "ok"]
    assert "superseded" in outcomes[0].reason
    assert "inventory item" in outcomes[1].reason
    assert [q["quantity"] for q in sent(shopify.calls[0])["variables"]["input"]["quantities"]] == [5]


def test_a_call_that_changes_nothing_is_done_without_sending_it_again(shopify, time):
    # Every quantity was already as asked: no adjustment group, no userErrors. Sending it again would
    # get the same answer, and reporting it failed would hold the item's later pushes back.
    shopify.post(
        ENDPOINT,
        json=answer({"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": []}}),
    )

    outcomes = make_channel(time).set_quantities(
        [QuantityUpdate(ref(1), 4, expected=4), QuantityUpdate(ref(2), 0, expected=0)],
        idempotency_key="push-8",
    )

    assert [(o.status, o.quantity) for o in outcomes] == [("ok", 4), ("ok", 0)]
    assert len(shopify.calls) == 1
