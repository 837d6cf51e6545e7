"""Substitutes for a merchant's SKU from the database: what can ship now, pins, reasons, settings."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from connector.errors import InvalidInput, NotFound
from connector.models import Item, Merchant, Order, OrderLine
from connector.services import substitutes
from tests.substitutes.world import connect, labelled_shop

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def shop(new_uow):
    return labelled_shop(new_uow)


def suggest(new_uow, merchant, sku):
    with new_uow() as uow:
        return substitutes.suggest(uow, merchant, sku, NOW)


def test_suggestions_come_from_items_that_can_ship_now_in_the_same_size(new_uow, shop):
    report = suggest(new_uow, shop, "TEE-ORG-NAV-M")
    assert report.status == "sold_out"
    assert [s.sku for s in report.substitutes][:2] == ["TEE-ORG-SAN-M", "TEE-ORG-WHT-M"]
    assert all(s.sku.endswith("-M") for s in report.substitutes)
    assert report.substitutes[0].reason == "same type, same size, same brand, same price"
    assert report.reason == "" and report.skipped_pins == []


def test_an_unknown_sku_is_not_found(new_uow, shop):
    with pytest.raises(NotFound, match="unknown SKU 'NOPE'"):
        suggest(new_uow, shop, "NOPE")


def test_an_item_with_no_plausible_substitute_gets_an_empty_list_and_the_reason(new_uow, shop):
    unique = suggest(new_uow, shop, "TELESCOPE")
    assert (unique.substitutes, unique.reason) == ([], "no other Decor item can ship now")
    bread = suggest(new_uow, shop, "KNIFE-BREAD")
    assert bread.substitutes == []
    assert bread.reason.startswith("no Knives item that can ship now is close enough")


def test_pins_come_first_and_pins_to_deleted_or_sold_out_items_are_skipped_and_reported(new_uow, shop):
    pins = {"TEE-ORG-NAV-M": ["TEE-SLB-WHT-M", "GONE-1", "TEE-ORG-WHT-XL"]}
    substitutes.configure(new_uow(), shop, {"pins": pins}, NOW)
    report = suggest(new_uow, shop, "TEE-ORG-NAV-M")
    assert report.substitutes[0].sku == "TEE-SLB-WHT-M"
    assert report.substitutes[0].reason.startswith("pinned")
    assert report.skipped_pins == [
        {"sku": "GONE-1", "reason": "not in the catalogue (deleted?)"},
        {"sku": "TEE-ORG-WHT-XL", "reason": "sold out: cannot ship now"},
    ]
    assert report.as_dict()["skipped_pins"] == report.skipped_pins


def test_exclusions_and_the_band_come_from_the_merchant_settings(new_uow, shop):
    before = [s.sku for s in suggest(new_uow, shop, "KNIFE-CHEF-KAS").substitutes]
    assert before == ["KNIFE-CHEF-FER", "KNIFE-SANTOKU"]
    substitutes.configure(new_uow(), shop, {"exclude_skus": ["KNIFE-CHEF-FER"], "band": 0.1}, NOW)
    assert [s.sku for s in suggest(new_uow, shop, "KNIFE-CHEF-KAS").substitutes] == ["KNIFE-SANTOKU"]
    substitutes.configure(new_uow(), shop, {"exclude_types": ["knives"]}, NOW)
    assert suggest(new_uow, shop, "KNIFE-CHEF-KAS").substitutes == []


def test_a_substitute_must_cover_the_items_typical_order(new_uow, shop):
    assert [s.sku for s in suggest(new_uow, shop, "HUB-6IN1").substitutes] == ["HUB-7IN1"]  # 40 in stock
    channel, _ = connect(new_uow, shop, "typical")
    with new_uow() as uow:
        order = Order(merchant_id=shop, channel_id=channel, external_id="1", placed_at=NOW)
        uow.session.add(order)
        uow.session.flush()
        item_id = uow.session.scalar(select(Item.id).where(Item.merchant_id == shop, Item.sku == "HUB-6IN1"))
        for n, quantity in enumerate((50, 60, 1)):  # office fit-outs: a typical order is 50
            uow.session.add(
                OrderLine(order_id=order.id, item_id=item_id, external_id=str(n), quantity=quantity)
            )
        uow.commit()
    report = suggest(new_uow, shop, "HUB-6IN1")
    assert report.substitutes == []
    assert report.reason.startswith("no Hubs item that can ship now is close enough")


def test_settings_are_checked_before_they_are_saved(new_uow, shop):
    with pytest.raises(InvalidInput, match="band must be a fraction"):
        substitutes.configure(new_uow(), shop, {"band": 2}, NOW)
    with new_uow() as uow:
        assert "substitutes" not in (uow.session.get(Merchant, shop).settings or {})


def test_the_storefront_api_offers_substitutes_listed_on_that_storefront(new_uow, shop, client):
    channel, store = connect(new_uow, shop, "front")
    sold_out = client.get(f"/storefront/v1/availability?channel={channel}&sku=KNIFE-CHEF-KAS").get_json()
    assert sold_out["status"] == "sold_out"
    first = sold_out["substitutes"][0]
    assert (first["sku"], first["title"]) == ("KNIFE-CHEF-FER", "German Steel Chef's Knife 20cm")
    assert {"reason", "score", "product_id", "variant_id"} <= first.keys()
    assert store.sku_of[first["variant_id"]] == "KNIFE-CHEF-FER"
    in_stock = client.get(f"/storefront/v1/availability?channel={channel}&sku=KNIFE-CHEF-FER").get_json()
    assert (in_stock["status"], in_stock["substitutes"]) == ("in_stock", [])


def test_the_storefront_api_still_answers_when_substitute_settings_are_malformed(new_uow, shop, client):
    channel, _ = connect(new_uow, shop, "broken")
    with new_uow() as uow:
        uow.session.get(Merchant, shop).settings = {"substitutes": {"band": "wide"}}
        uow.commit()
    shown = client.get(f"/storefront/v1/availability?channel={channel}&sku=KNIFE-CHEF-KAS").get_json()
    assert (shown["status"], shown["substitutes"]) == ("sold_out", [])
