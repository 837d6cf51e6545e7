"""WooCommerce connect: checked store URLs, a pending record behind an opaque user_id, and a callback
that only a matching pending record can complete."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, update

from connector.crypto import Vault
from connector.models import Channel, Merchant, PendingConnect, utcnow
from connector.services import channels, merchants
from connector.services import install as install_service
from connector.web.install import background_tasks
from tests.install.support import SHOP, app_settings, session_token

STORE = "http://127.0.0.1:8089"
KEY, SECRET = "ck_" + "1" * 40, "cs_" + "2" * 40


@pytest.fixture
def finished(monkeypatch) -> list[int]:
    """Channels whose install follow-up (webhooks, import) was started; nothing reaches a store."""
    started: list[int] = []
    monkeypatch.setattr(install_service, "finish_install", lambda *a, **k: started.append(a[3]))
    return started


def counts(new_uow) -> tuple[int, int, int]:
    with new_uow() as uow:
        count = lambda model: uow.session.scalar(select(func.count()).select_from(model))  # noqa: E731
        return count(Merchant), count(Channel), count(PendingConnect)


def begin(client, store_url: str = STORE, **kwargs):
    return client.post("/woocommerce/connect", data={"store_url": store_url}, **kwargs)


def user_ref(response) -> str:
    return parse_qs(urlsplit(response.headers["Location"]).query)["user_id"][0]


def keys_for(ref: str, **overrides) -> dict:
    body = {
        "key_id": 1,
        "user_id": ref,
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        "key_permissions": "read_write",
    }
    return body | overrides


def test_connect_redirects_to_the_stores_wc_auth_with_an_opaque_user_id(client, new_uow):
    response = begin(client, STORE + "/")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{STORE}/wc-auth/v1/authorize"
    assert query["app_name"] == "Backorder Connector"
    assert query["scope"] == "read_write"
    assert query["return_url"] == "http://127.0.0.1:8000/woocommerce/return"
    assert query["callback_url"] == "http://127.0.0.1:8000/woocommerce/callback"
    assert len(query["user_id"]) >= 32
    with new_uow() as uow:
        pending = uow.session.scalar(select(PendingConnect))
    assert (pending.store_url, pending.user_ref, pending.merchant_id) == (STORE, query["user_id"], None)


def test_connect_from_the_embedded_app_ties_the_store_to_that_merchant(client, new_uow, settings):
    merchant = merchants.create_merchant(new_uow(), "Acme")
    vault = Vault(settings.encryption_keys)
    channels.add_channel(new_uow(), vault, merchant, channels.ShopifyConnection(SHOP, "shpat_1"))
    response = client.post(
        "/woocommerce/connect",
        json={"store_url": STORE},
        headers={"Authorization": f"Bearer {session_token()}"},
    )
    assert response.status_code == 200
    assert response.json["redirect"].startswith(f"{STORE}/wc-auth/v1/authorize?")
    with new_uow() as uow:
        assert uow.session.scalar(select(PendingConnect.merchant_id)) == merchant


def test_connect_with_a_bad_session_token_is_refused(client, new_uow):
    response = client.post(
        "/woocommerce/connect", json={"store_url": STORE}, headers={"Authorization": "Bearer x"}
    )
    assert response.status_code == 401
    assert counts(new_uow) == (0, 0, 0)


@pytest.mark.parametrize(
    ("store_url", "says"),
    [
        ("http://10.0.0.5", "private address"),
        ("http://192.168.1.10:8080/shop", "private address"),
        ("http://172.16.0.1", "private address"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fd00::1]/", "private address"),
        ("http://[::ffff:10.1.2.3]/", "private address"),
        ("http://0.0.0.0", "address"),
        ("ftp://127.0.0.1", "must start with"),
        ("http://user:pw@127.0.0.1", "user name"),
        ("127.0.0.1", "must start with"),
        ("", "must start with"),
    ],
)
def test_a_store_url_that_is_not_publicly_reachable_is_refused(client, new_uow, store_url, says):
    response = begin(client, store_url)
    assert response.status_code == 422
    assert says in response.json["detail"]
    assert counts(new_uow) == (0, 0, 0)


@pytest.mark.parametrize(
    "store_url",
    ["http://127.0.0.1:8089", "https://127.0.0.1", "https://localhost", "http://shop.example.com"],
)
def test_production_refuses_loopback_and_plain_http_store_urls(tmp_path, database_url, engine, store_url):
    from connector.web.app import create_app

    settings = app_settings(
        tmp_path,
        database_url,
        APP_ENV="production",
        APP_URL="https://backorder.example.com",
        SECRET_KEY="s" * 32,
        ENCRYPTION_KEY=Fernet.generate_key().decode(),
    )
    client = create_app(settings, engine=engine).test_client()
    response = begin(client, store_url)
    assert response.status_code == 422


def test_the_callback_stores_the_keys_encrypted_and_answers_exactly_200(
    client, app, new_uow, settings, finished
):
    ref = user_ref(begin(client))
    response = client.post("/woocommerce/callback", json=keys_for(ref))
    assert response.status_code == 200
    background_tasks(app).wait()
    with new_uow() as uow:
        channel = uow.session.scalar(select(Channel))
        pending = uow.session.scalar(select(PendingConnect))
    assert (channel.kind, channel.address, channel.status) == ("woocommerce", STORE, "active")
    assert KEY not in channel.credentials_encrypted and SECRET not in channel.credentials_encrypted
    assert Vault(settings.encryption_keys).decrypt_json(channel.credentials_encrypted) == {
        "key": KEY,
        "secret": SECRET,
    }
    assert (pending.channel_id, pending.completed_at is not None) == (channel.id, True)
    assert finished == [channel.id]


def test_a_callback_with_no_matching_pending_connect_is_refused_and_stores_nothing(client, new_uow, finished):
    begin(client)
    response = client.post("/woocommerce/callback", json=keys_for("an-id-we-never-issued"))
    assert response.status_code == 404
    assert counts(new_uow) == (0, 0, 1)
    assert finished == []


def test_a_replayed_callback_is_refused(client, app, new_uow, finished):
    ref = user_ref(begin(client))
    assert client.post("/woocommerce/callback", json=keys_for(ref)).status_code == 200
    replay = client.post("/woocommerce/callback", json=keys_for(ref, consumer_key="ck_" + "9" * 40))
    background_tasks(app).wait()
    assert replay.status_code == 404
    assert counts(new_uow)[1] == 1
    assert len(finished) == 1


def test_an_expired_pending_connect_cannot_be_completed(client, new_uow, finished):
    ref = user_ref(begin(client))
    with new_uow() as uow:
        uow.session.execute(update(PendingConnect).values(created_at=utcnow() - timedelta(hours=2)))
        uow.commit()
    assert client.post("/woocommerce/callback", json=keys_for(ref)).status_code == 404
    assert counts(new_uow)[:2] == (0, 0)


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"user_id": "x"},
        lambda ref: keys_for(ref, key_permissions="read"),
        lambda ref: keys_for(ref, consumer_key="not-a-key"),
        lambda ref: keys_for(ref, consumer_secret=""),
    ],
    ids=["no-body", "list", "missing-keys", "read-only", "malformed-key", "empty-secret"],
)
def test_a_malformed_callback_is_refused_and_stores_nothing(client, new_uow, finished, body):
    ref = user_ref(begin(client))
    sent = body(ref) if callable(body) else body
    response = client.post("/woocommerce/callback", json=sent)
    assert response.status_code in (400, 422)
    assert response.content_type == "application/problem+json"
    assert counts(new_uow)[:2] == (0, 0)


def test_the_return_page_says_whether_the_store_was_connected(client, finished):
    ref = user_ref(begin(client))
    assert "Not connected yet" in client.get(f"/woocommerce/return?success=1&user_id={ref}").get_data(
        as_text=True
    )
    client.post("/woocommerce/callback", json=keys_for(ref))
    assert "Store connected" in client.get(f"/woocommerce/return?success=1&user_id={ref}").get_data(
        as_text=True
    )
    assert "Not connected" in client.get(f"/woocommerce/return?success=0&user_id={ref}").get_data(
        as_text=True
    )
    assert client.get("/woocommerce/return?success=1&user_id=unknown").status_code == 404


def test_a_store_connected_to_one_merchant_cannot_be_claimed_by_another(client, new_uow, settings):
    merchant = merchants.create_merchant(new_uow(), "First")
    vault = Vault(settings.encryption_keys)
    channels.add_channel(new_uow(), vault, merchant, channels.WooCommerceConnection(STORE, KEY, SECRET))
    response = begin(client)
    assert response.status_code == 409
