"""An order on a WooCommerce store reaches the ledger through signed webhooks, end to end over HTTP."""

from sqlalchemy import func, select

from connector.crypto import Vault
from connector.models import InboxDelivery
from connector.services import channels, ledger, merchants
from connector.services.channel_import import import_catalog
from connector.storefronts import StorefrontCache, subscribe
from connector.worker import Worker
from tests.integration.conftest import WOO_KEY, WOO_SECRET


def run_worker_until_idle(worker, rounds=20):
    for _ in range(rounds):
        if not worker.step("test-worker"):
            return
    raise AssertionError("the worker never went idle")


def test_an_order_on_the_store_is_committed_once_and_the_store_agrees(
    woo_store, connector_url, settings, engine, new_uow
):
    sandbox, store_url = woo_store
    vault = Vault(settings.encryption_keys)
    merchant = merchants.create_merchant(new_uow(), "Demo")
    connection = channels.WooCommerceConnection(url=store_url, key=WOO_KEY, secret=WOO_SECRET)
    channel_id = channels.add_channel(new_uow(), vault, merchant, connection)
    cache = StorefrontCache(settings)
    with new_uow() as uow:
        port = cache.get(channels.get_channel(uow, channel_id))
    progress = import_catalog(new_uow, channel_id, port)
    assert (progress.linked, progress.problems) == (50, [])

    address, hooks = subscribe(new_uow, settings, vault, channel_id, connector_url)
    assert address.endswith(f"/webhooks/woocommerce/{channel_id}") and len(hooks) >= 3
    assert {hook.ping_status for hook in sandbox.webhooks.listing("all")} == {200}, (
        "every creation ping got 200"
    )

    sandbox.place_order([("TEE-SAN-S", 2)])
    sandbox.flush_webhooks()
    with new_uow() as uow:
        stored = uow.session.scalar(select(func.count()).select_from(InboxDelivery))
    assert stored >= 2  # order.created, order.updated, product.updated (stored once each)

    run_worker_until_idle(Worker(settings, engine, threads=1))
    with new_uow() as uow:
        report = ledger.stock_report(uow, merchant, "TEE-SAN-S")
        failed = uow.session.scalars(select(InboxDelivery).where(InboxDelivery.status == "failed")).all()
    assert failed == []
    assert (report["on_hand"], report["committed"], report["available"]) == (25, 2, 23)
    assert sandbox.product_by_sku("TEE-SAN-S")["stock_quantity"] == 23
