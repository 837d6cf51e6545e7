"""Backorder states and substitutes on Shopify: inventory policy, app metafields, per-item outcomes."""

from __future__ import annotations

import json
from datetime import date

import pytest
import responses

from adapters.base import BackorderState, ListingRef, SubstituteList
from tests.adapters.shopify_support import (
    ENDPOINT,
    FakeTime,
    answer,
    make_channel,
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


def ref(product: int, variant: int) -> ListingRef:
    return ListingRef(f"gid://shopify/Product/{product}", f"gid://shopify/ProductVariant/{variant}")


METAFIELDS_SET = answer({"metafieldsSet": {"metafields": [], "userErrors": []}})
METAFIELDS_DELETED = answer({"metafieldsDelete": {"deletedMetafields": [], "userErrors": []}})
VARIANTS_UPDATED = answer({"productVariantsBulkUpdate": {"productVariants": [], "userErrors": []}})


def test_allowing_backorders_writes_the_texts_then_continue_grouped_by_product(shopify, time):
    shopify.post(ENDPOINT, json=METAFIELDS_SET)
    shopify.post(ENDPOINT, json=VARIANTS_UPDATED)
    shopify.post(ENDPOINT, json=VARIANTS_UPDATED)
    shopify.post(ENDPOINT, json=METAFIELDS_DELETED)
    states = [
        BackorderState(ref(1, 11), "allow", wait_text="Ships in 2–3 weeks", expected_date=date(2026, 12, 14)),
        BackorderState(ref(2, 21), "allow", wait_text="Ships by 14 December"),
        BackorderState(ref(1, 12), "allow", wait_text="Ships in 1 week"),
    ]

    outcomes = make_channel(time).set_backorder_states(states)

    # Texts before the policy: a variant never sells at zero without its wait text. The missing date of
    # the second state is removed last.
    assert operations(shopify.calls) == [
        "MetafieldsSet",
        "VariantsSetPolicy",
        "VariantsSetPolicy",
        "MetafieldsDelete",
    ]
    metafields = sent(shopify.calls[0])["variables"]["metafields"]
    assert metafields[:2] == [
        {
            "ownerId": "gid://shopify/ProductVariant/11",
            "namespace": "$app:backorder",
            "key": "wait_text",
            "type": "single_line_text_field",
            "value": "Ships in 2–3 weeks",
        },
        {
            "ownerId": "gid://shopify/ProductVariant/11",
            "namespace": "$app:backorder",
            "key": "expected_date",
            "type": "date",
            "value": "2026-12-14",
        },
    ]
    assert len(metafields) == 4
    policies = [sent(call)["variables"] for call in shopify.calls[1:3]]
    assert policies == [
        {
            "productId": "gid://shopify/Product/1",
            "variants": [
                {"id": "gid://shopify/ProductVariant/11", "inventoryPolicy": "CONTINUE"},
                {"id": "gid://shopify/ProductVariant/12", "inventoryPolicy": "CONTINUE"},
            ],
        },
        {
            "productId": "gid://shopify/Product/2",
            "variants": [{"id": "gid://shopify/ProductVariant/21", "inventoryPolicy": "CONTINUE"}],
        },
    ]
    assert [o.status for o in outcomes] == ["ok", "ok", "ok"]


def test_restocking_puts_the_merchants_policy_back_and_removes_the_texts(shopify, time):
    shopify.post(ENDPOINT, json=VARIANTS_UPDATED)
    shopify.post(ENDPOINT, json=METAFIELDS_DELETED)
    states = [
        BackorderState(ref(1, 11), "deny", restore_policy="CONTINUE"),
        BackorderState(ref(1, 12), "deny"),
    ]

    outcomes = make_channel(time).set_backorder_states(states)

    assert operations(shopify.calls) == ["VariantsSetPolicy", "MetafieldsDelete"]
    assert [v["inventoryPolicy"] for v in sent(shopify.calls[0])["variables"]["variants"]] == [
        "CONTINUE",
        "DENY",
    ]
    deleted = sent(shopify.calls[1])["variables"]["metafields"]
    assert deleted == [
        {"ownerId": "gid://shopify/ProductVariant/11", "namespace": "$app:backorder", "key": "wait_text"},
        {"ownerId": "gid://shopify/ProductVariant/11", "namespace": "$app:backorder", "key": "expected_date"},
        {"ownerId": "gid://shopify/ProductVariant/12", "namespace": "$app:backorder", "key": "wait_text"},
        {"ownerId": "gid://shopify/ProductVariant/12", "namespace": "$app:backorder", "key": "expected_date"},
    ]
    assert [o.status for o in outcomes] == ["ok", "ok"]


def test_metafields_go_at_most_25_a_call(shopify, time):
    shopify.post(ENDPOINT, json=METAFIELDS_SET)
    shopify.post(ENDPOINT, json=METAFIELDS_SET)
    shopify.post(ENDPOINT, json=VARIANTS_UPDATED)
    states = [
        BackorderState(ref(1, n), "allow", wait_text="Soon", expected_date=date(2026, 12, 1))
        for n in range(13)
    ]

    make_channel(time).set_backorder_states(states)

    sizes = [
        len(sent(c)["variables"]["metafields"]) for c in shopify.calls if "metafields" in sent(c)["variables"]
    ]
    assert sizes == [25, 1]


def test_a_missing_variant_is_not_found_and_the_others_are_sent_again(shopify, time):
    missing = user_error(
        ["variants", "1", "id"], "Product variant does not exist", "PRODUCT_VARIANT_DOES_NOT_EXIST"
    )
    shopify.post(
        ENDPOINT,
        json=answer({"productVariantsBulkUpdate": {"productVariants": None, "userErrors": [missing]}}),
    )
    shopify.post(ENDPOINT, json=VARIANTS_UPDATED)
    shopify.post(ENDPOINT, json=METAFIELDS_DELETED)
    states = [BackorderState(ref(1, n), "deny") for n in (11, 12, 13)]

    outcomes = make_channel(time).set_backorder_states(states)

    assert [o.status for o in outcomes] == ["ok", "not_found", "ok"]
    assert [v["id"] for v in sent(shopify.calls[1])["variables"]["variants"]] == [
        "gid://shopify/ProductVariant/11",
        "gid://shopify/ProductVariant/13",
    ]
    # The missing variant's texts are not touched.
    owners = {m["ownerId"] for m in sent(shopify.calls[2])["variables"]["metafields"]}
    assert owners == {"gid://shopify/ProductVariant/11", "gid://shopify/ProductVariant/13"}


def test_a_refused_text_fails_its_state_and_leaves_its_policy_alone(shopify, time):
    too_long = user_error(["metafields", "0", "value"], "Value is too long", "TOO_LONG")
    shopify.post(
        ENDPOINT,
        json=answer({"metafieldsSet": {"metafields": None, "userErrors": [dict(too_long, elementIndex=0)]}}),
    )
    shopify.post(ENDPOINT, json=METAFIELDS_SET)
    shopify.post(ENDPOINT, json=VARIANTS_UPDATED)
    shopify.post(ENDPOINT, json=METAFIELDS_DELETED)
    states = [
        BackorderState(ref(1, 11), "allow", wait_text="x" * 300),
        BackorderState(ref(1, 12), "allow", wait_text="Soon"),
    ]

    outcomes = make_channel(time).set_backorder_states(states)

    assert (outcomes[0].status, outcomes[0].reason) == ("failed", "TOO_LONG: Value is too long")
    assert outcomes[1].status == "ok"
    assert sent(shopify.calls[2])["variables"]["variants"] == [
        {"id": "gid://shopify/ProductVariant/12", "inventoryPolicy": "CONTINUE"}
    ]


def test_an_unknown_restore_policy_fails_without_a_call(shopify, time):
    [outcome] = make_channel(time).set_backorder_states(
        [BackorderState(ref(1, 11), "deny", restore_policy="notify")]
    )

    assert outcome.status == "failed"
    assert not shopify.calls


def test_substitutes_are_a_product_reference_list_on_the_product(shopify, time):
    shopify.post(ENDPOINT, json=METAFIELDS_SET)
    shopify.post(ENDPOINT, json=METAFIELDS_DELETED)
    lists = [
        SubstituteList(ref(1, 11), (ref(2, 21), ref(3, 31))),
        SubstituteList(ref(1, 12), (ref(3, 32), ref(1, 11))),  # same product: merged, never itself
        SubstituteList(ref(4, 41), ()),
    ]

    outcomes = make_channel(time).set_substitutes(lists)

    [metafield] = sent(shopify.calls[0])["variables"]["metafields"]
    assert metafield["ownerId"] == "gid://shopify/Product/1"
    assert (metafield["namespace"], metafield["key"], metafield["type"]) == (
        "$app:backorder",
        "substitutes",
        "list.product_reference",
    )
    assert json.loads(metafield["value"]) == ["gid://shopify/Product/2", "gid://shopify/Product/3"]
    assert sent(shopify.calls[1])["variables"]["metafields"] == [
        {"ownerId": "gid://shopify/Product/4", "namespace": "$app:backorder", "key": "substitutes"}
    ]
    assert [o.status for o in outcomes] == ["ok", "ok", "ok"]
