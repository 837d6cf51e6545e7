"""Tenant isolation: every route in the app, called with another merchant's ids, links and tokens,
never shows that merchant's data, and a route that names a record answers 404 or 401.

The walk is generic over `app.url_map`, so routes added later are covered as they land."""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.routing import Rule

from connector.crypto import Vault
from connector.models import (
    AuditEntry,
    Backorder,
    Cancellation,
    ComplianceRequest,
    IncomingStock,
    Item,
    Notification,
    Order,
    OrderLine,
    PendingConnect,
    Supplier,
    utcnow,
)
from connector.services import channels, merchants, tokens
from tests.install.support import SHOP, session_token

# What the other merchant (Bravo) holds and no request ever names: none may appear in a response.
BRAVO_NAME = "Bianca Bravo-Secret"
BRAVO_TITLE = "Bravo Secret Lamp"
BRAVO_SHOP = "bravo-secret.myshopify.com"
BRAVO_STORE = "https://bravo-secret-store.example"
BRAVO_TOKEN = "shpat_" + "b7" * 16
# Named in queries (so echoing them back is no leak), to tempt search routes.
BRAVO_EMAIL = "bianca@bravo.example"
BRAVO_SKU = "BRAVO-LAMP"
# A route that names no record yet is public by design; its answer may show the other merchant's data.
PUBLIC_BY_DESIGN = {
    "storefront.get_availability": "product-page availability is public: theme code reads it with no credentials",
}
OPAQUE_LINK_STATUSES = {400, 401, 403, 404, 410}  # a signed link from elsewhere is a tampered link
ID_STATUSES = {401, 404}


@pytest.fixture
def tenants(app, new_uow, settings) -> dict:
    """Bravo is created first, so every table's lowest ids are Bravo's; then Alpha, whose credentials
    every request carries."""
    app.config["RATE_LIMIT_ENABLED"] = "false"
    vault = Vault(settings.encryption_keys)
    bravo = merchants.create_merchant(new_uow(), "Bravo")
    bravo_shop = channels.add_channel(
        new_uow(),
        vault,
        bravo,
        channels.ShopifyConnection(BRAVO_SHOP, BRAVO_TOKEN, webhook_secret="bravo-whsec-1"),
    )
    channels.add_channel(new_uow(), vault, bravo, channels.WooCommerceConnection(BRAVO_STORE, "ck_b", "cs_b"))
    ids = _bravo_records(new_uow, bravo, bravo_shop)
    bravo_api = tokens.create_token(new_uow(), bravo, "admin", now=utcnow()).token
    alpha = merchants.create_merchant(new_uow(), "Alpha")
    alpha_shop = channels.add_channel(
        new_uow(), vault, alpha, channels.ShopifyConnection(SHOP, "shpat_alpha")
    )
    alpha_api = tokens.create_token(new_uow(), alpha, "admin", now=utcnow()).token
    return {
        "ids": {"merchant_id": bravo, "channel_id": bravo_shop, **ids},
        "bravo_api": bravo_api,
        "credentials": {
            "alpha-api-token": {"Authorization": f"Bearer {alpha_api}"},
            "alpha-session-token": {"Authorization": f"Bearer {session_token()}"},
            "none": {},
        },
        "alpha_channel": alpha_shop,
    }


def _bravo_records(new_uow, merchant_id: int, channel_id: int) -> dict[str, int]:
    now = utcnow()
    with new_uow() as uow:
        session = uow.session
        item = Item(merchant_id=merchant_id, sku=BRAVO_SKU, title=BRAVO_TITLE)
        supplier = Supplier(merchant_id=merchant_id, name="Bravo Supplies")
        order = Order(
            merchant_id=merchant_id,
            channel_id=channel_id,
            external_id="gid://shopify/Order/1",
            number="#B1001",
            customer_name=BRAVO_NAME,
            customer_email=BRAVO_EMAIL,
            placed_at=now,
        )
        session.add_all([item, supplier, order])
        session.flush()
        line = OrderLine(order_id=order.id, item_id=item.id, external_id="l1", sku=BRAVO_SKU, quantity=2)
        session.add(line)
        session.flush()
        wait = Backorder(merchant_id=merchant_id, item_id=item.id, order_line_id=line.id, quantity=2)
        incoming = IncomingStock(
            merchant_id=merchant_id,
            item_id=item.id,
            supplier_id=supplier.id,
            quantity=5,
            expected_date=date(2030, 1, 1),
        )
        cancellation = Cancellation(
            merchant_id=merchant_id,
            order_id=order.id,
            source="support",
            requested_by=BRAVO_NAME,
            reason=BRAVO_TITLE,
        )
        session.add_all([wait, incoming, cancellation])
        session.flush()
        session.add_all(
            [
                Notification(
                    merchant_id=merchant_id,
                    order_id=order.id,
                    backorder_id=wait.id,
                    kind="confirmed",
                    dedupe_key="b1",
                    recipient=BRAVO_EMAIL,
                    payload={"name": BRAVO_NAME},
                ),
                AuditEntry(merchant_id=merchant_id, actor=BRAVO_NAME, action="x", subject=BRAVO_TITLE),
                ComplianceRequest(
                    merchant_id=merchant_id, topic="customers/data_request", payload={"n": BRAVO_NAME}
                ),
                PendingConnect(merchant_id=merchant_id, store_url=BRAVO_STORE, user_ref="bravo-pending-ref"),
            ]
        )
        session.flush()
        ids = {
            "item_id": item.id,
            "order_id": order.id,
            "order_line_id": line.id,
            "line_id": line.id,
            "backorder_id": wait.id,
            "incoming_id": incoming.id,
            "supplier_id": supplier.id,
            "cancellation_id": cancellation.id,
        }
        uow.commit()
    return ids


def _requests(app, tenants):
    """(rule, method, path, is_int_route, is_link_route) for every route and method in the app."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method, _path(rule, tenants)


def _path(rule: Rule, tenants) -> str:
    values = {}
    for name, converter in rule._converters.items():
        if type(converter).__name__ in ("IntegerConverter", "NumberConverter"):
            values[name] = tenants["ids"].get(name, 1)  # id 1 of any table is Bravo's or nobody's
        else:
            values[name] = tenants["bravo_api"]  # another merchant's secret, where a link is expected
    path = rule.build(values, append_unknown=False)[1]
    query = f"email={BRAVO_EMAIL}&sku={BRAVO_SKU}&number=%23B1001&channel={tenants['ids']['channel_id']}"
    return f"{path}?{query}&user_id=bravo-pending-ref&success=1"


def test_no_route_shows_another_merchants_records_to_any_credentials(app, client, tenants):
    markers = [BRAVO_NAME, BRAVO_TITLE, BRAVO_SHOP, BRAVO_STORE, BRAVO_TOKEN, tenants["bravo_api"]]
    walked, problems = 0, []
    for rule, method, path in _requests(app, tenants):
        for label, headers in tenants["credentials"].items():
            response = client.open(
                path,
                method=method,
                headers={**headers, "Idempotency-Key": f"walk-{walked}"},
                # A valid whole-order cancellation, so body checks cannot stand in for the 404.
                json={"reason": "walk", "refund": False, "restock": False, "notify": False},
            )
            walked += 1
            body = response.get_data(as_text=True)
            where = f"{method} {rule.rule} with {label} -> {response.status_code}"
            if response.status_code >= 500:
                problems.append(f"{where}: server error")
            if rule.endpoint in PUBLIC_BY_DESIGN:
                continue
            leaked = [m for m in markers if m.lower() in body.lower()]
            if leaked:
                problems.append(f"{where}: shows {leaked}")
            ints = [
                n
                for n, c in rule._converters.items()
                if type(c).__name__ in ("IntegerConverter", "NumberConverter")
            ]
            allowed = ID_STATUSES if ints else OPAQUE_LINK_STATUSES if rule.arguments else None
            if allowed is not None and response.status_code not in allowed:
                problems.append(f"{where}: expected one of {sorted(allowed)}")
    assert walked >= 3 * 20
    assert problems == []


def test_the_walk_covers_every_route_of_the_app(app, tenants):
    walked = {(rule.rule, method) for rule, method, _ in _requests(app, tenants)}
    expected = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert walked == expected
    assert ("/app/api/status", "GET") in walked and ("/shopify/callback", "GET") in walked


def test_the_walk_would_see_a_leak_bravos_own_token_shows_bravos_order(app, client, tenants):
    order = tenants["ids"]["order_id"]
    own = client.get(f"/api/v1/orders/{order}", headers={"Authorization": f"Bearer {tenants['bravo_api']}"})
    assert own.status_code == 200
    assert BRAVO_NAME in own.get_data(as_text=True) or BRAVO_EMAIL in own.get_data(as_text=True)
