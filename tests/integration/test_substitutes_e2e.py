"""Substitute lists follow stock on both demo stores: a Shopify product metafield and WooCommerce meta."""

import json
import time

from sqlalchemy import select

from connector.models import Item, utcnow
from connector.services import ledger
from tests.integration.conftest import eventually

LATENCY_LIMIT = 10.0  # seconds; the worker polls every 0.5 s, the sync target is "within seconds"


def shopify_list(shopify, sku):
    """Product ids in the product's `$app:backorder.substitutes` list.product_reference metafield."""
    product = int(shopify.variant(sku)["product_id"].rsplit("/", 1)[1])
    key = (f"app--{shopify.app_id}--backorder", "substitutes")
    with shopify.store.lock:
        for field in shopify.store.metafields.values():
            if (field.owner_kind, field.owner_id, field.namespace, field.key) == ("Product", product, *key):
                assert field.type == "list.product_reference"
                return json.loads(field.value)
    return []


def woo_list(woo, sku):
    meta = {m["key"]: m["value"] for m in woo.product_by_sku(sku)["meta_data"]}
    return meta.get("_backorder_substitutes") or []


def change(new_uow, merchant, sku, kind, quantity):
    if kind == "sell_out":
        with new_uow() as uow:
            on_hand = uow.session.scalar(
                select(Item.on_hand).where(Item.merchant_id == merchant, Item.sku == sku)
            )
        kind, quantity = "adjust", -on_hand
    movement = ledger.Movement(sku, kind, quantity, ledger.manual_key(sku, None))
    ledger.record_and_propagate(new_uow(), merchant, [movement], utcnow())
    return time.monotonic()


def both_show(demo, sku, expected_skus, started, seen):
    shopify, woo = demo.sandboxes
    want_shopify = [shopify.variant(s)["product_id"] for s in expected_skus]
    want_woo = [woo.product_by_sku(s)["id"] for s in expected_skus]
    eventually(
        lambda: shopify_list(shopify, sku) == want_shopify and woo_list(woo, sku) == want_woo, LATENCY_LIMIT
    )
    seen.append(time.monotonic() - started)


def test_substitute_lists_follow_stock_on_both_stores(demo, new_uow, capsys):
    merchant, seen = demo.merchant_id, []
    started = change(new_uow, merchant, "KNIFE-SANTOKU", "sell_out", 0)
    both_show(demo, "KNIFE-SANTOKU", ["KNIFE-CHEF"], started, seen)  # the original ran out

    started = change(new_uow, merchant, "KNIFE-CHEF", "sell_out", 0)
    both_show(demo, "KNIFE-SANTOKU", [], started, seen)  # its substitute ran out

    started = change(new_uow, merchant, "KNIFE-CHEF", "receive", 3)
    both_show(demo, "KNIFE-SANTOKU", ["KNIFE-CHEF"], started, seen)  # the substitute came back

    started = change(new_uow, merchant, "KNIFE-SANTOKU", "receive", 5)
    both_show(demo, "KNIFE-SANTOKU", [], started, seen)  # the original came back
    with capsys.disabled():
        print(
            f"\nsubstitute lists on both stores after a stock change: {', '.join(f'{s:.2f} s' for s in seen)}"
        )
