"""The demo: a merchant with one Shopify and one WooCommerce sandbox store sharing a 50-item catalogue.

`backorder serve --demo` starts both stores in this process, connects them to a "Demo Shop" merchant,
imports and links their catalogues, subscribes them to this service's webhooks, and pushes the ledger's
numbers to them, so an order placed on either store shows up on the other within seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from adapters.sandbox.common import load_catalog
from adapters.sandbox.server import RunningServer, start_in_thread
from connector.crypto import Vault
from connector.db import UnitOfWork
from connector.models import Channel, Merchant
from connector.services import channels, merchants
from connector.services.channel_import import import_catalog
from connector.services.reconcile import reconcile_channel
from connector.settings import Settings
from connector.storefronts import StorefrontCache, subscribe

log = logging.getLogger("connector.demo")
CATALOG = Path(__file__).with_name("catalog.csv")
MERCHANT = "Demo Shop"
SHOP = "demo-shop.myshopify.com"
SHOPIFY_TOKEN = "shpat_demo0000000000000000000000000000"  # noqa: S105 - the sandbox's, not a real store's
SHOPIFY_SECRET = "demo-app-client-secret"  # noqa: S105
WOO_KEY = "ck_" + "0" * 40
WOO_SECRET = "cs_" + "0" * 40


@dataclass
class DemoStores:
    merchant_id: int
    shopify_url: str
    woocommerce_url: str
    servers: list[RunningServer] = field(default_factory=list)
    sandboxes: list = field(default_factory=list)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def start_demo(settings: Settings, sessions, app_url: str) -> DemoStores:
    """Start both sandbox stores and connect them to the demo merchant (idempotent across restarts)."""
    from adapters.sandbox.shopify import ShopifySandbox
    from adapters.sandbox.woocommerce import WooCommerceSandbox

    drafts = load_catalog(CATALOG)
    shopify = ShopifySandbox(shop=SHOP, token=SHOPIFY_TOKEN, client_secret=SHOPIFY_SECRET, restore_rate=100)
    shopify.seed(drafts)
    woo = WooCommerceSandbox(consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    woo.seed(drafts)
    shopify_server, woo_server = start_in_thread(shopify.wsgi_app), start_in_thread(woo.wsgi_app)
    woo.remember_address(woo_server.url)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(sessions)

    vault = Vault(settings.encryption_keys)
    merchant_id = _merchant(new_uow)
    shop_channel = _channel(
        new_uow,
        vault,
        merchant_id,
        "shopify",
        SHOP,
        shopify_server.url,
        channels.ShopifyConnection(
            SHOP, SHOPIFY_TOKEN, api_url=shopify_server.url, webhook_secret=SHOPIFY_SECRET
        ),
    )
    woo_channel = _channel(
        new_uow,
        vault,
        merchant_id,
        "woocommerce",
        woo_server.url,
        woo_server.url,
        channels.WooCommerceConnection(woo_server.url, WOO_KEY, WOO_SECRET),
    )
    cache = StorefrontCache(settings)
    for channel_id in (shop_channel, woo_channel):
        with new_uow() as uow:
            port = cache.get(uow.session.get(Channel, channel_id))
        progress = import_catalog(new_uow, channel_id, port)
        subscribe(new_uow, settings, vault, channel_id, app_url)
        # The stores start from the catalogue file each time; the ledger is the truth, so push it.
        reconcile_channel(new_uow, channel_id, port)
        log.info(
            "demo channel %s: %d linked, %d problems", channel_id, progress.linked, len(progress.problems)
        )
    stores = DemoStores(
        merchant_id, shopify_server.url, woo_server.url, [shopify_server, woo_server], [shopify, woo]
    )
    log.info("demo Shopify store at %s, WooCommerce store at %s", stores.shopify_url, stores.woocommerce_url)
    return stores


def _merchant(new_uow) -> int:
    with new_uow() as uow:
        found = uow.session.scalar(select(Merchant.id).where(Merchant.name == MERCHANT).order_by(Merchant.id))
    return found or merchants.create_merchant(new_uow(), MERCHANT)


def _channel(new_uow, vault, merchant_id, kind, address, api_url, connection) -> int:
    """The demo channel, pointed at this run's sandbox (its port changes between runs)."""
    with new_uow() as uow:
        query = select(Channel).where(Channel.merchant_id == merchant_id, Channel.kind == kind)
        existing = uow.session.scalars(query.order_by(Channel.id)).first()
        if existing is not None:
            existing.address, existing.api_url, existing.status = address, api_url, "active"
            existing.webhook_secret_encrypted = None  # new stores, new webhook secrets
            if kind == "shopify":
                existing.webhook_secret_encrypted = vault.encrypt(SHOPIFY_SECRET)
            existing.import_state = None
            uow.commit()
            return existing.id
    return channels.add_channel(new_uow(), vault, merchant_id, connection)
