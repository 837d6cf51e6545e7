"""The demo the way a merchant meets it: an order on the Shopify store lowers stock on the WooCommerce
store within seconds, and an edit on the WooCommerce store reaches Shopify."""

import time

from connector.services import ledger
from tests.integration.conftest import eventually


def test_an_order_on_shopify_reaches_woocommerce_within_seconds(demo, new_uow):
    shopify, woo = demo.sandboxes
    started = time.monotonic()
    result = shopify.place_order([("HOOD-BLA-M", 3)])
    assert result["userErrors"] == []
    eventually(lambda: woo.product_by_sku("HOOD-BLA-M")["stock_quantity"] == 37)
    elapsed = time.monotonic() - started
    print(f"order on Shopify visible on WooCommerce after {elapsed:.2f} s")  # bench/sync_bench.py measures it
    with new_uow() as uow:
        report = ledger.stock_report(uow, demo.merchant_id, "HOOD-BLA-M")
    assert (report["on_hand"], report["committed"], report["available"]) == (40, 3, 37)
    eventually(lambda: shopify.quantity("HOOD-BLA-M", "available") == 37)


def test_an_edit_on_woocommerce_becomes_stock_on_shopify(demo, new_uow):
    shopify, woo = demo.sandboxes
    product = woo.product_by_sku("KNIFE-CHEF")
    assert product["stock_quantity"] == 8
    import requests

    from tests.integration.conftest import basic_auth_for_demo

    url = f"{demo.woocommerce_url}/wp-json/wc/v3/products/{product['id']}"
    requests.put(url, json={"stock_quantity": 11}, auth=basic_auth_for_demo(), timeout=10).raise_for_status()
    eventually(lambda: shopify.quantity("KNIFE-CHEF", "available") == 11, timeout=20)
    with new_uow() as uow:
        assert ledger.stock_report(uow, demo.merchant_id, "KNIFE-CHEF")["on_hand"] == 11
