"""Embedded-app requests: only a valid, unexpired session token for an installed shop gets through."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from connector.crypto import Vault
from connector.models import Channel
from connector.services import channels, merchants
from tests.install.support import API_KEY, SHOP, session_token


@pytest.fixture
def shop_channel(new_uow, settings) -> tuple[int, int]:
    """SHOP installed for one merchant, plus another merchant with a store of its own."""
    vault = Vault(settings.encryption_keys)
    other = merchants.create_merchant(new_uow(), "Other")
    channels.add_channel(
        new_uow(), vault, other, channels.ShopifyConnection("other.myshopify.com", "shpat_x")
    )
    merchant = merchants.create_merchant(new_uow(), "Acme")
    channel = channels.add_channel(new_uow(), vault, merchant, channels.ShopifyConnection(SHOP, "shpat_y"))
    return merchant, channel


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_session_token_shows_that_merchants_stores_only(client, shop_channel):
    merchant, channel = shop_channel
    response = client.get("/app/api/status", headers=bearer(session_token()))
    assert response.status_code == 200
    assert response.json["shop"] == SHOP
    assert response.json["merchant_id"] == merchant
    assert [c["id"] for c in response.json["channels"]] == [channel]


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        (lambda: bearer(session_token(lifetime=-60)), "expired"),
        (lambda: bearer(session_token(secret="another-apps-secret-" + "0" * 32)), "not valid"),
        (lambda: bearer(session_token(audience="another-app")), "not valid"),
        (lambda: bearer(session_token(exp=None)), "no expiry"),
        (lambda: bearer(session_token(iss="https://evil.example.com/admin")), "not valid"),
        (lambda: bearer(session_token(dest="https://other.myshopify.com")), "not valid"),
        (lambda: bearer(session_token(jti=None)), "not valid"),
        (lambda: bearer("not.a.jwt"), "not valid"),
        (lambda: {"Authorization": "Basic dXNlcjpwYXNz"}, "not valid"),
        (lambda: {}, "Bearer"),
    ],
    ids=[
        "expired",
        "foreign-secret",
        "foreign-audience",
        "no-expiry",
        "foreign-issuer",
        "issuer-dest-mismatch",
        "missing-claim",
        "malformed",
        "not-bearer",
        "missing",
    ],
)
def test_a_bad_session_token_gets_a_401_problem(client, shop_channel, headers, says):
    sent = headers()
    response = client.get("/app/api/status", headers=sent)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert says in response.json["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    token = sent.get("Authorization", "").removeprefix("Bearer ")
    assert not token or token not in response.get_data(as_text=True)


def test_a_token_for_a_shop_that_uninstalled_the_app_is_refused(client, shop_channel, new_uow):
    _, channel = shop_channel
    with new_uow() as uow:
        uow.session.execute(update(Channel).where(Channel.id == channel).values(status="uninstalled"))
        uow.commit()
    response = client.get("/app/api/status", headers=bearer(session_token()))
    assert response.status_code == 401
    assert "not installed" in response.json["detail"]


def test_a_token_for_a_shop_never_installed_is_refused(client, shop_channel):
    response = client.get("/app/api/status", headers=bearer(session_token("stranger.myshopify.com")))
    assert response.status_code == 401


def test_the_app_page_may_only_be_framed_by_the_shop_and_the_admin(client):
    response = client.get(f"/app?shop={SHOP}")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{SHOP} https://admin.shopify.com;"
    )
    assert f'content="{API_KEY}"' in response.get_data(as_text=True)
    assert (
        client.get("/app?shop=evil.example.com").headers["Content-Security-Policy"]
        == "frame-ancestors 'none';"
    )


def test_the_app_page_refuses_a_forged_hmac(client):
    response = client.get(f"/app?shop={SHOP}&timestamp={int(time.time())}&hmac=forged")
    assert response.status_code == 401
