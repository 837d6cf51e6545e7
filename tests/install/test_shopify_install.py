"""Shopify's install and callback: every forged or stale request is refused and stores nothing."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from sqlalchemy import func, select

from connector.models import AuditEntry, Channel, Merchant, OAuthState
from connector.services.install import DEFAULT_SCOPES
from tests.install.support import API_KEY, API_SECRET, SHOP, signed_query

TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"


def stored(new_uow) -> dict[str, int]:
    with new_uow() as uow:
        count = lambda model: uow.session.scalar(select(func.count()).select_from(model))  # noqa: E731
        used = uow.session.scalar(select(func.count()).where(OAuthState.used_at.is_not(None)))
        return {
            "merchants": count(Merchant),
            "channels": count(Channel),
            "audit": count(AuditEntry),
            "states": count(OAuthState),
            "used_states": used,
        }


NOTHING = {"merchants": 0, "channels": 0, "audit": 0, "states": 0, "used_states": 0}


def start_install(client) -> str:
    """Begin an install for SHOP; returns the state nonce the authorize redirect carries."""
    response = client.get(f"/shopify/install?{signed_query(shop=SHOP)}")
    assert response.status_code == 302, response.json
    return parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]


def callback(client, state: str, **overrides):
    params = {
        "code": "a1b2c3",
        "shop": SHOP,
        "state": state,
        "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWNtZQ",
    }
    return client.get(f"/shopify/callback?{signed_query(**(params | overrides))}")


def test_a_signed_install_request_redirects_to_shopify_authorize_with_a_fresh_state(client, new_uow):
    response = client.get(f"/shopify/install?{signed_query(shop=SHOP)}")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert (location.scheme, location.netloc, location.path) == ("https", SHOP, "/admin/oauth/authorize")
    assert query["client_id"] == API_KEY
    assert query["scope"].split(",") == list(DEFAULT_SCOPES)
    assert query["redirect_uri"] == "http://127.0.0.1:8000/shopify/callback"
    assert len(query["state"]) >= 32
    assert "grant_options[]" not in query  # an offline token, not a per-user one
    with new_uow() as uow:
        state = uow.session.scalar(select(OAuthState))
    assert (state.shop, state.nonce, state.used_at) == (SHOP, query["state"], None)


def test_the_scopes_asked_for_can_be_configured(app, client):
    app.config["SHOPIFY_SCOPES"] = "read_products,read_inventory"
    response = client.get(f"/shopify/install?{signed_query(shop=SHOP)}")
    assert parse_qs(urlsplit(response.headers["Location"]).query)["scope"] == ["read_products,read_inventory"]


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        (lambda: signed_query(shop=SHOP, secret="x" * 40), 401, "does not match"),
        (lambda: signed_query(shop=SHOP).replace("hmac=", "hmac=0"), 401, "does not match"),
        (lambda: f"shop={SHOP}&timestamp={int(time.time())}", 401, "no hmac"),
        (lambda: signed_query(shop=SHOP, timestamp=str(int(time.time()) - 25 * 3600)), 400, "24 hours"),
        (lambda: signed_query(shop=SHOP, timestamp="soon"), 400, "timestamp"),
        (lambda: signed_query(shop="evil.example.com"), 400, "myshopify.com"),
        (lambda: signed_query(shop="Acme.myshopify.com"), 400, "myshopify.com"),
        (lambda: signed_query(shop="acme.myshopify.com.evil.example"), 400, "myshopify.com"),
        (lambda: signed_query(shop="https://acme.myshopify.com"), 400, "myshopify.com"),
        (lambda: signed_query(shop=SHOP) + f"&shop={SHOP}", 401, "repeated"),
    ],
    ids=[
        "forged-hmac",
        "tampered-hmac",
        "missing-hmac",
        "stale",
        "no-timestamp",
        "foreign-domain",
        "not-lowercase",
        "suffix-trick",
        "url-not-domain",
        "repeated-shop",
    ],
)
def test_a_bad_install_request_is_refused_and_stores_nothing(client, new_uow, query, status, says):
    response = client.get(f"/shopify/install?{query()}")
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    assert says in response.json["detail"]
    assert stored(new_uow) == NOTHING


def test_install_without_app_credentials_says_what_to_configure(tmp_path, database_url, engine):
    from connector.settings import Settings
    from connector.web.app import create_app

    settings = Settings.from_env({"VAR_DIR": str(tmp_path / "v"), "DATABASE_URL": database_url})
    response = (
        create_app(settings, engine=engine).test_client().get(f"/shopify/install?{signed_query(shop=SHOP)}")
    )
    assert response.status_code == 503
    assert "SHOPIFY_API_KEY" in response.json["detail"]


def test_a_browser_gets_a_readable_page_for_a_refused_install(client):
    response = client.get("/shopify/install?shop=<script>&timestamp=1", headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "<script>" not in response.get_data(as_text=True)
    assert "myshopify.com" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "status", "says"),
    [
        ({"secret": "y" * 40}, 401, "does not match"),
        ({"timestamp": str(int(time.time()) - 25 * 3600)}, 400, "24 hours"),
        ({"shop": "evil.example.com"}, 400, "myshopify.com"),
        ({"state": "not-a-state-we-issued"}, 400, "state"),
        ({"state": ""}, 400, "state"),
        ({"shop": "other-shop.myshopify.com"}, 400, "state"),
    ],
    ids=["forged-hmac", "stale", "foreign-domain", "unknown-state", "no-state", "state-of-another-shop"],
)
def test_a_bad_callback_is_refused_before_any_code_exchange(client, new_uow, overrides, status, says):
    state = start_install(client)
    with responses.RequestsMock() as shopify:  # no request may leave: an unexpected one fails the test
        response = callback(
            client, overrides.get("state", state), **{k: v for k, v in overrides.items() if k != "state"}
        )
        assert len(shopify.calls) == 0
    assert response.status_code == status
    assert says in response.json["detail"]
    assert stored(new_uow) == {**NOTHING, "states": 1}


def test_a_callback_without_an_hmac_is_refused(client, new_uow):
    state = start_install(client)
    response = client.get(f"/shopify/callback?code=x&shop={SHOP}&state={state}&timestamp={int(time.time())}")
    assert response.status_code == 401
    assert stored(new_uow) == {**NOTHING, "states": 1}


def test_a_failing_code_exchange_stores_nothing_and_the_state_cannot_be_replayed(client, new_uow, caplog):
    state = start_install(client)
    with responses.RequestsMock() as shopify, caplog.at_level(logging.INFO):
        shopify.post(TOKEN_URL, status=400, json={"error": "invalid_request"})
        first = callback(client, state, code="used-code-123")
        replay = callback(client, state, code="used-code-123")
        assert len(shopify.calls) == 1  # the replay never reached Shopify
    assert first.status_code == 400
    assert "refused the authorization code" in first.json["detail"]
    assert replay.status_code == 400
    assert "already used" in replay.json["detail"]
    assert stored(new_uow) == {**NOTHING, "states": 1, "used_states": 1}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Shopify callback refused (400)" in logged
    for secret in ("used-code-123", API_SECRET, state):
        assert secret not in logged


def test_an_unreachable_shopify_is_a_502_and_stores_nothing(client, new_uow):
    state = start_install(client)
    with responses.RequestsMock() as shopify:
        shopify.post(TOKEN_URL, body=requests.ConnectionError("refused"))
        response = callback(client, state)
    assert response.status_code == 502
    assert "could not be reached" in response.json["detail"]
    assert stored(new_uow)["channels"] == 0


def test_an_answer_without_a_token_stores_nothing(client, new_uow):
    state = start_install(client)
    with responses.RequestsMock() as shopify:
        shopify.post(TOKEN_URL, status=200, json={"scope": "read_products"})
        response = callback(client, state)
    assert response.status_code == 400
    assert "no access token" in response.json["detail"]
    assert stored(new_uow)["channels"] == 0
