"""Install end to end: the Shopify sandbox through OAuth and the WooCommerce sandbox through wc-auth,
both for one merchant, then an order on one store lowers stock on the other."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.crypto import Vault
from connector.models import Channel
from connector.services.ledger import stock_report
from connector.web.app import create_app
from connector.web.install import background_tasks
from tests.install.support import session_token
from tests.integration.conftest import eventually
from tests.integration.install_flow import (
    APP_KEY,
    APP_SECRET,
    SHOP,
    app_settings_for_sandbox,
    connect_woocommerce,
    install_shopify,
    start_stack,
)

SKU = "TEE-SAN-S"  # 25 in stock in the demo catalogue


@pytest.fixture
def stack(tmp_path, database_url, engine):
    settings = app_settings_for_sandbox(tmp_path, database_url)
    app = create_app(settings, engine=engine)
    stack = start_stack(app, settings, engine)
    yield stack
    stack.stop()


def channel_of(new_uow, kind: str) -> Channel:
    with new_uow() as uow:
        return uow.session.scalar(select(Channel).where(Channel.kind == kind))


def test_install_both_stores_then_an_order_on_woocommerce_lowers_stock_on_shopify(stack, new_uow):
    landing = install_shopify(stack)
    assert landing.startswith(f"/app?shop={SHOP}")

    shop = channel_of(new_uow, "shopify")
    vault = Vault(stack.app.extensions["backorder"].settings.encryption_keys)
    token = vault.decrypt_json(shop.credentials_encrypted)["token"]
    assert token.startswith("shpat_") and token not in shop.credentials_encrypted
    assert stack.shopify.accepts(token)
    assert (shop.address, shop.status, shop.api_url) == (SHOP, "active", stack.shopify_server.url)
    subscribed = {s.topic: s.callback_url for s in stack.shopify.store.subscriptions.values()}
    assert set(subscribed) >= {"ORDERS_CREATE", "INVENTORY_LEVELS_UPDATE", "APP_UNINSTALLED"}
    assert set(subscribed.values()) == {f"{stack.url}/webhooks/shopify"}

    page = connect_woocommerce(stack)
    assert "Store connected" in page
    assert background_tasks(stack.app).wait(60)

    woo = channel_of(new_uow, "woocommerce")
    shop = channel_of(new_uow, "shopify")
    assert woo.merchant_id == shop.merchant_id
    keys = vault.decrypt_json(woo.credentials_encrypted)
    issued = stack.woo.keys.find(keys["key"])
    assert issued is not None and issued.key_id > 1 and issued.consumer_secret == keys["secret"]
    hooks = stack.woo.webhooks.listing("all")
    assert hooks and {h.delivery_url for h in hooks} == {f"{stack.url}/webhooks/woocommerce/{woo.id}"}
    assert {h.ping_status for h in hooks} == {200}
    for channel in (shop, woo):
        assert (channel.import_state["status"], channel.import_state["linked"]) == ("done", 50)

    status = stack.http.get(
        f"{stack.url}/app/api/status",
        headers={"Authorization": f"Bearer {session_token(SHOP, secret=APP_SECRET, audience=APP_KEY)}"},
    )
    assert [c["kind"] for c in status.json()["channels"]] == ["shopify", "woocommerce"]

    before = stack.shopify.quantity(SKU)
    stack.woo.place_order([(SKU, 3)])
    eventually(lambda: stack.shopify.quantity(SKU) == before - 3, timeout=20)
    with new_uow() as uow:
        report = stock_report(uow, shop.merchant_id, SKU)
    assert (report["on_hand"], report["committed"], report["available"]) == (25, 3, 22)


def test_an_order_on_shopify_lowers_stock_on_woocommerce_and_uninstall_stops_the_channel(stack, new_uow):
    install_shopify(stack)
    connect_woocommerce(stack)
    assert background_tasks(stack.app).wait(60)
    stack.shopify.place_order({SKU: 2})
    eventually(lambda: stack.woo.product_by_sku(SKU)["stock_quantity"] == 23, timeout=20)

    stack.shopify.uninstall()
    eventually(lambda: channel_of(new_uow, "shopify").status == "uninstalled", timeout=20)
    shop = channel_of(new_uow, "shopify")
    assert shop.credentials_encrypted is None
    with new_uow() as uow:
        merchant = uow.session.get(Channel, shop.id).merchant_id
    stack.woo.place_order([(SKU, 1)])
    eventually(lambda: stack_report(new_uow, merchant)["committed"] == 3, timeout=20)
    assert stack.shopify.quantity(SKU) == 23  # nothing more was sent to the uninstalled shop

    install_shopify(stack)  # the merchant installs the app again: same channel, same merchant, new token
    again = channel_of(new_uow, "shopify")
    assert (again.id, again.merchant_id, again.status) == (shop.id, merchant, "active")
    vault = Vault(stack.app.extensions["backorder"].settings.encryption_keys)
    assert stack.shopify.accepts(vault.decrypt_json(again.credentials_encrypted)["token"])
    assert background_tasks(stack.app).wait(60)
    eventually(lambda: stack.shopify.quantity(SKU) == 22, timeout=20)  # the ledger's number, pushed again


def stack_report(new_uow, merchant_id: int) -> dict:
    with new_uow() as uow:
        return stock_report(uow, merchant_id, SKU)
