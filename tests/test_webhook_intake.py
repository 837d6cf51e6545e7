"""Webhook intake: verify over the raw bytes, store once, answer at once; refuse what is not genuine."""

import base64
import hashlib
import hmac
import json
import logging

import pytest
from sqlalchemy import select, text

from connector.crypto import Vault
from connector.models import Channel, InboxDelivery, utcnow
from connector.services import channels, merchants

SECRET = "app-secret-for-tests"
SHOP = "intake.myshopify.com"
BODY = json.dumps({"inventory_item_id": 1, "location_id": 2, "available": 5}).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(
    body: bytes = BODY, *, signature=None, webhook_id="w-1", shop=SHOP, topic="inventory_levels/update"
):
    values = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": f"e-{webhook_id}",
        "X-Shopify-Triggered-At": "2026-11-22T12:00:00Z",
        "Content-Type": "application/json",
    }
    if signature is not False:
        values["X-Shopify-Hmac-Sha256"] = signature or sign(body)
    return values


@pytest.fixture
def shop_channel(settings, new_uow):
    merchant = merchants.create_merchant(new_uow(), "Intake")
    connection = channels.ShopifyConnection(
        SHOP, "shpat_x", api_url="http://127.0.0.1:9", webhook_secret=SECRET
    )
    return channels.add_channel(new_uow(), Vault(settings.encryption_keys), merchant, connection)


def inbox(new_uow):
    with new_uow() as uow:
        return uow.session.scalars(select(InboxDelivery).order_by(InboxDelivery.id)).all()


def test_a_signed_delivery_is_stored_once_and_answered_200(client, shop_channel, new_uow):
    first = client.post("/webhooks/shopify", data=BODY, headers=headers())
    again = client.post("/webhooks/shopify", data=BODY, headers=headers())
    assert (first.status_code, first.json["duplicate"]) == (200, False)
    assert (again.status_code, again.json["duplicate"]) == (200, True)
    [stored] = inbox(new_uow)
    assert (stored.status, stored.topic, stored.body) == ("received", "inventory_levels/update", BODY)


def test_a_stored_delivery_keeps_its_key_its_headers_and_when_it_came(client, shop_channel, new_uow):
    before = utcnow()
    client.post("/webhooks/shopify", data=BODY, headers=headers(webhook_id="w-7"))
    [stored] = inbox(new_uow)
    assert (stored.channel_id, stored.platform, stored.attempts) == (shop_channel, "shopify", 0)
    assert stored.dedupe_key == f"{shop_channel}:inventory_levels/update:e-w-7"
    assert (
        stored.headers["X-Shopify-Webhook-Id"] == "w-7"
        and stored.headers["Content-Type"] == "application/json"
    )
    assert "Host" not in stored.headers  # only the platform's and the content headers are kept
    assert before <= stored.received_at == stored.process_after <= utcnow()


def test_the_intake_stores_on_a_new_connection_when_the_server_dropped_its_own(
    client, shop_channel, new_uow, engine
):
    if engine.dialect.name != "postgresql":
        pytest.skip("only a database server drops a connection from under us")
    assert client.post("/webhooks/shopify", data=BODY, headers=headers(webhook_id="w-1")).status_code == 200
    with engine.connect() as connection:  # as a server restart or an idle timeout would
        dropped = connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
                "current_database() AND pid <> pg_backend_pid() AND query LIKE '%INSERT INTO webhook_inbox%'"
            )
        )
    assert dropped >= 1
    answer = client.post("/webhooks/shopify", data=BODY, headers=headers(webhook_id="w-2"))
    assert (answer.status_code, answer.json["duplicate"]) == (200, False)
    assert len(inbox(new_uow)) == 2


def test_accepted_deliveries_are_logged_at_debug_and_refusals_at_info_both_with_their_request_id(
    client, shop_channel, caplog
):
    with caplog.at_level(logging.DEBUG, logger="connector.web"):
        accepted = client.post("/webhooks/shopify", data=BODY, headers=headers() | {"X-Request-Id": "r-1"})
        refused = client.post("/webhooks/shopify", data=BODY, headers=headers(signature=sign(BODY, "wrong")))
    assert accepted.headers["X-Request-Id"] == "r-1" and len(refused.headers["X-Request-Id"]) == 32
    access = [
        (r.levelno, r.getMessage().split()[:3], r.request_id)
        for r in caplog.records
        if r.name == "connector.web"
    ]
    assert access == [
        (logging.DEBUG, ["POST", "/webhooks/shopify", "200"], "r-1"),
        (logging.INFO, ["POST", "/webhooks/shopify", "401"], refused.headers["X-Request-Id"]),
    ]


@pytest.mark.parametrize(
    "case",
    ["tampered body", "wrong secret", "missing signature", "truncated body", "unknown shop"],
)
def test_a_delivery_that_is_not_genuine_gets_401_and_nothing_is_stored(client, shop_channel, new_uow, case):
    body, kwargs = BODY, {}
    if case == "tampered body":
        body = BODY.replace(b"5", b"9")
        kwargs["signature"] = sign(BODY)
    elif case == "wrong secret":
        kwargs["signature"] = sign(BODY, "another-secret")
    elif case == "missing signature":
        kwargs["signature"] = False
    elif case == "truncated body":
        body, kwargs["signature"] = BODY[:-5], sign(BODY)
    elif case == "unknown shop":
        kwargs["shop"] = "stranger.myshopify.com"
    response = client.post("/webhooks/shopify", data=body, headers=headers(body, **kwargs))
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert inbox(new_uow) == []


def test_a_huge_body_is_refused_before_it_is_read(client, shop_channel, new_uow):
    body = b"{" + b" " * (3 * 1024 * 1024) + b"}"
    response = client.post("/webhooks/shopify", data=body, headers=headers(body))
    assert response.status_code == 413
    assert inbox(new_uow) == []


def test_a_signed_but_malformed_delivery_is_kept_as_failed_for_inspection(
    client, shop_channel, new_uow, settings, engine
):
    body = b"this is not json"
    assert client.post("/webhooks/shopify", data=body, headers=headers(body)).status_code == 200
    from connector.worker import Worker

    Worker(settings, engine, threads=1).step("t")
    [stored] = inbox(new_uow)
    assert stored.status == "failed" and "not JSON" in stored.error


def test_an_operator_finds_a_failed_delivery_reads_it_and_sends_it_through_again(
    client, shop_channel, new_uow, settings, engine, monkeypatch, capsys
):
    from connector.cli import main
    from connector.worker import Worker

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("VAR_DIR", str(settings.var_dir))

    def backorder(*args: str) -> tuple[int, dict]:
        code = main([*args, "--json"])
        return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    body = b'{"inventory_item_id": "not a number"'
    client.post("/webhooks/shopify", data=BODY, headers=headers(webhook_id="fine"))
    client.post("/webhooks/shopify", data=body, headers=headers(body, webhook_id="broken"))
    Worker(settings, engine, threads=1).step("t")

    code, listed = backorder("inbox", "list", "--status", "failed")
    [failed] = listed["deliveries"]
    assert code == 0 and failed["topic"] == "inventory_levels/update" and "not JSON" in failed["error"]
    code, shown = backorder("inbox", "show", str(failed["id"]))
    assert (code, shown["body"], shown["status"]) == (0, body.decode(), "failed")
    assert shown["headers"]["X-Shopify-Webhook-Id"] == "broken"
    assert not [name for name in shown["headers"] if "hmac" in name.lower()]  # never the signature

    assert backorder("inbox", "retry", str(failed["id"])) == (0, {"requeued": 1})
    [again] = [row for row in inbox(new_uow) if row.id == failed["id"]]
    assert (again.status, again.attempts, again.error) == ("received", 0, None)
    [processed] = backorder("inbox", "list", "--status", "processed")[1]["deliveries"]
    code, refused = backorder("inbox", "retry", str(processed["id"]))
    assert code == 1 and "only failed ones are retried" in refused["error"]
    assert backorder("inbox", "retry", "999999")[0] == 1
    Worker(settings, engine, threads=1).step("t")  # still malformed: failed again, and found by its store
    assert backorder("inbox", "retry", "--channel", str(shop_channel)) == (0, {"requeued": 1})
    assert main(["inbox", "retry"]) == 2  # which ones: a usage error


def test_a_delivery_for_an_uninstalled_store_is_answered_and_kept_as_ignored(client, shop_channel, new_uow):
    with new_uow() as uow:
        uow.session.get(Channel, shop_channel).status = "uninstalled"
        uow.commit()
    assert client.post("/webhooks/shopify", data=BODY, headers=headers()).status_code == 200
    assert [row.status for row in inbox(new_uow)] == ["ignored"]


def test_webhook_routes_never_redirect(client, shop_channel):
    response = client.post("/webhooks/shopify/", data=BODY, headers=headers())
    assert response.status_code == 200


def test_the_woocommerce_ping_gets_exactly_200(client, settings, new_uow):
    merchant = merchants.create_merchant(new_uow(), "Woo")
    connection = channels.WooCommerceConnection(
        "http://127.0.0.1:9", "ck_1", "cs_1", webhook_secret="woo-secret"
    )
    channel_id = channels.add_channel(new_uow(), Vault(settings.encryption_keys), merchant, connection)
    response = client.post(
        f"/webhooks/woocommerce/{channel_id}",
        data="webhook_id=12",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert inbox(new_uow) == []
    unsigned = client.post(f"/webhooks/woocommerce/{channel_id}", json={"id": 1})
    assert unsigned.status_code == 401
    assert client.post("/webhooks/woocommerce/999", data="webhook_id=1").status_code == 404
