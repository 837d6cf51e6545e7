"""No secret in any log line: a whole install, sync and cancel flow runs with logging at DEBUG, and
every line written is searched for every secret and customer address the flow used."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest
from sqlalchemy import select

from adapters.base import CancelRequest
from connector import logs
from connector.crypto import Vault
from connector.models import Channel, InboxDelivery, Order, OutboxRow, utcnow
from connector.services import tokens
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

SHOPIFY_TOKEN = "shpat_" + "d4" * 16
SHOPPER = "shopper.private@example.com"
WOO_CUSTOMER = "woo.customer.private@example.com"
SKU = "TEE-SAN-S"


def settle(new_uow, check) -> None:
    """Wait for `check`; on timeout, say where the deliveries and pushes stand."""
    try:
        eventually(check)
    except AssertionError:
        with new_uow() as uow:
            inbox = uow.session.execute(
                select(InboxDelivery.topic, InboxDelivery.status, InboxDelivery.outcome)
            )
            outbox = uow.session.execute(
                select(
                    OutboxRow.channel_id,
                    OutboxRow.status,
                    OutboxRow.payload,
                    OutboxRow.attempts,
                    OutboxRow.next_attempt_at,
                    OutboxRow.last_error,
                )
            )
            leases = uow.session.execute(select(Channel.id, Channel.lease_owner, Channel.lease_expires_at))
            state = f"inbox {inbox.all()}; outbox {outbox.all()}; leases {leases.all()}"
        raise AssertionError(f"not settled at {utcnow()}; {state}") from None


class Everything(logging.Handler):
    """Keeps every record's message as our own code formed it, before any redaction."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def logged(tmp_path, database_url, engine):
    """The stack with logging at DEBUG into a buffer (the lines the service writes), plus the raw
    messages of our own loggers (connector, adapters, jobs)."""
    settings = app_settings_for_sandbox(tmp_path, database_url, LOG_LEVEL="DEBUG")
    app = create_app(settings, engine=engine)
    written = io.StringIO()
    logs.configure(production=True, level=logging.DEBUG, secrets=settings.secrets(), stream=written)
    raw = Everything()
    ours = [logging.getLogger(name) for name in ("connector", "adapters", "jobs")]
    for logger in ours:
        logger.addHandler(raw)
    stack = start_stack(app, settings, engine, shopify_token=SHOPIFY_TOKEN)
    yield stack, settings, written, raw
    stack.stop()
    for logger in ours:
        logger.removeHandler(raw)
    logs.configure(production=False, level=logging.INFO, secrets=[])


def test_an_install_sync_cancel_flow_logs_no_secret_and_no_customer_address(logged, new_uow):
    stack, settings, written, raw = logged
    install_shopify(stack)
    connect_woocommerce(stack)
    assert background_tasks(stack.app).wait(60)

    stack.shopify.place_order({SKU: 1}, email=SHOPPER)
    placed = stack.woo.place_order([(SKU, 2)], email=WOO_CUSTOMER)
    settle(new_uow, lambda: stack.woo.product_by_sku(SKU)["stock_quantity"] == 22)
    settle(new_uow, lambda: stack.shopify.quantity(SKU) == 22)

    services = stack.app.extensions["backorder"]
    with new_uow() as uow:
        woo = uow.session.scalar(select(Channel).where(Channel.kind == "woocommerce"))
        order = uow.session.scalar(select(Order).where(Order.external_id == str(placed["id"])))
    # WooCommerce stamps date_modified to the second and the WooCommerce adapter's dedupe key is built
    # from it, so an update in the same second as the last one is taken for a duplicate (reported).
    time.sleep(1.1)
    services.storefronts.get(woo).cancel(
        CancelRequest(order_id=order.external_id, refund=False, notify=False)
    )
    settle(
        new_uow,
        lambda: stack.shopify.quantity(SKU) == 24 and stack.woo.product_by_sku(SKU)["stock_quantity"] == 24,
    )

    api_token = tokens.create_token(new_uow(), woo.merchant_id, "support", now=utcnow()).token
    found = stack.http.get(
        f"{stack.url}/api/v1/orders/{order.id}", headers={"Authorization": f"Bearer {api_token}"}
    )
    assert found.status_code == 200
    jwt = session_token(SHOP, secret=APP_SECRET, audience=APP_KEY)
    assert stack.http.get(f"{stack.url}/app/api/status", headers={"Authorization": f"Bearer {jwt}"}).ok
    stack.shopify.webhooks.flush(timeout=5)
    stack.woo.flush_webhooks(timeout=5)

    vault = Vault(settings.encryption_keys)
    with new_uow() as uow:
        woo = uow.session.get(Channel, woo.id)
        woo_keys = vault.decrypt_json(woo.credentials_encrypted)
        webhook_secrets = json.loads(vault.decrypt(woo.webhook_secret_encrypted))
    secrets = {
        "app secret": APP_SECRET,
        "secret key": settings.secret_key,
        **{f"encryption key {i}": key for i, key in enumerate(settings.encryption_keys)},
        "shopify token": SHOPIFY_TOKEN,
        "woocommerce key": woo_keys["key"],
        "woocommerce secret": woo_keys["secret"],
        **{f"woocommerce webhook secret {k}": v for k, v in webhook_secrets.items()},
        "support API token": api_token,
        "session token": jwt,
        "shopify customer": SHOPPER,
        "woocommerce customer": WOO_CUSTOMER,
    }
    lines = written.getvalue().splitlines()
    assert len(lines) > 50, "the flow should have logged plenty at DEBUG"
    assert any("Shopify install finished" in line for line in lines)
    leaks = [f"{name} in: {line[:200]}" for line in lines for name, value in secrets.items() if value in line]
    assert leaks == []
    own = [
        f"{name} in: {line[:200]}" for line in raw.lines for name, value in secrets.items() if value in line
    ]
    assert own == [], "our own code formed a log message holding a secret (the redactor hid it)"


def test_a_support_search_by_email_leaves_no_customer_address_in_the_request_log(logged, new_uow):
    stack, _, written, _ = logged
    install_shopify(stack)
    assert background_tasks(stack.app).wait(60)
    with new_uow() as uow:
        merchant = uow.session.scalar(select(Channel.merchant_id))
    api_token = tokens.create_token(new_uow(), merchant, "support", now=utcnow()).token
    found = stack.http.get(
        f"{stack.url}/api/v1/orders",
        params={"email": SHOPPER},
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert found.status_code == 200
    assert SHOPPER not in written.getvalue()
