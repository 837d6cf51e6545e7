"""The support API as a support tool calls it: bearer tokens, lookups, cancellations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from connector.models import AuditEntry, Cancellation
from connector.services import incoming, tokens
from tests.cancel_helpers import NOW, expect, level, line_id, make_shop, place, unavailable


@pytest.fixture
def shop(app, new_uow):
    shop = make_shop(new_uow)
    app.extensions["backorder"].storefronts = shop  # the fake storefront stands in for every channel
    place(new_uow, shop, "1001", [("A", 3), ("B", 2), ("C", 1)], email="Ann@Example.com")
    place(new_uow, shop, "1002", [("B", 1)], email="bob@example.com", when=NOW + timedelta(hours=1))
    return shop


@pytest.fixture
def token(new_uow, shop) -> str:
    return tokens.create_token(new_uow(), shop.merchant_id, "support", label="desk", now=NOW).token


def auth(token: str, **headers) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def cancel(client, token, order_id, body, key="key-1"):
    return client.post(
        f"/api/v1/orders/{order_id}/cancellations", json=body, headers=auth(token, **{"Idempotency-Key": key})
    )


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer bo_unknown", "Basic dXNlcjpwYXNz"])
def test_a_missing_or_unknown_token_gets_401_with_a_problem_body(client, shop, header):
    response = client.get("/api/v1/orders", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["status"] == 401


def test_a_revoked_token_gets_401(client, new_uow, shop, token):
    with new_uow() as uow:
        [row] = tokens.list_tokens(uow, shop.merchant_id)
    tokens.revoke_token(new_uow(), shop.merchant_id, row["id"], now=NOW)
    response = client.get("/api/v1/orders", headers=auth(token))
    assert response.status_code == 401 and "revoked" in response.json["detail"]


def test_orders_are_found_by_number_email_or_sku(client, shop, token):
    def numbers(**query):
        response = client.get("/api/v1/orders", query_string=query, headers=auth(token))
        assert response.status_code == 200
        return [order["number"] for order in response.json["orders"]]

    assert numbers(number="1001") == ["#1001"]
    assert numbers(number="#1002") == ["#1002"]
    assert numbers(email="ann@example.COM") == ["#1001"]
    assert numbers(sku="B") == ["#1002", "#1001"]
    assert numbers(sku="C", email="bob@example.com") == []
    assert numbers() == ["#1002", "#1001"]


def test_an_order_shows_its_lines_backorders_eta_and_status(client, shop, token):
    order = shop.orders["1001"]
    response = client.get(f"/api/v1/orders/{order}", headers=auth(token))
    assert response.status_code == 200
    body = response.json
    assert (body["status"], body["units_waiting"], body["channel"]["kind"]) == ("open", 4, "shopify")
    lines = {line["sku"]: line for line in body["lines"]}
    assert (lines["A"]["waiting"], lines["A"]["from_stock"], lines["A"]["cancellable"]) == (2, 1, 2)
    assert (lines["C"]["waiting"], lines["C"]["from_stock"]) == (0, 1)
    [b_waiting] = lines["B"]["backorders"]
    assert b_waiting["status"] == "waiting" and b_waiting["eta_date"] and b_waiting["queue_position"] == 1


def test_backorders_are_listed_by_sku_or_email_in_queue_order(client, shop, token):
    response = client.get("/api/v1/backorders", query_string={"sku": "B"}, headers=auth(token))
    assert [(b["order_number"], b["queue_position"]) for b in response.json["backorders"]] == [
        ("#1001", 1),
        ("#1002", 2),
    ]
    response = client.get(
        "/api/v1/backorders", query_string={"email": "bob@example.com"}, headers=auth(token)
    )
    assert [b["sku"] for b in response.json["backorders"]] == ["B"]


def test_another_merchants_order_is_not_found(client, new_uow, shop, token):
    other = make_shop(new_uow, name="Other Shop", domain="two.myshopify.com")
    theirs = place(new_uow, other, "2001", [("B", 1)])
    assert client.get(f"/api/v1/orders/{theirs}", headers=auth(token)).status_code == 404
    response = cancel(client, token, theirs, {"reason": "nope"})
    assert response.status_code == 404
    assert client.get("/api/v1/orders", query_string={"number": "2001"}, headers=auth(token)).json == {
        "orders": []
    }
    assert other.storefront.cancels == [] and shop.storefront.cancels == []


def test_a_partial_cancellation_is_carried_out_once_and_audited_with_who(client, new_uow, shop, token):
    order = shop.orders["1001"]
    body = {"lines": [{"line_id": line_id(new_uow, order, "B"), "quantity": 1}], "reason": "customer asked"}
    first = cancel(client, token, order, body)
    assert first.status_code == 201, first.json
    assert first.json["status"] == "completed" and first.json["refunded_amount"] == "10.00"
    assert first.headers["Location"] == f"/api/v1/cancellations/{first.json['id']}"
    again = cancel(client, token, order, body)
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(shop.storefront.cancels) == 1
    assert level(new_uow, shop.merchant_id, "B") == (0, 2, 2)
    with new_uow() as uow:
        actors = set(
            uow.session.scalars(select(AuditEntry.actor).where(AuditEntry.action.like("cancellation.%")))
        )
    assert len(actors) == 1 and actors.pop().endswith("(desk)")
    shown = client.get(f"/api/v1/cancellations/{first.json['id']}", headers=auth(token))
    assert shown.status_code == 200 and shown.json["lines"][0]["quantity"] == 1


def test_the_same_key_with_another_body_gets_422(client, new_uow, shop, token):
    order = shop.orders["1001"]
    line = line_id(new_uow, order, "B")
    assert (
        cancel(client, token, order, {"lines": [{"line_id": line, "quantity": 1}], "reason": "x"}).status_code
        == 201
    )
    response = cancel(client, token, order, {"lines": [{"line_id": line, "quantity": 2}], "reason": "x"})
    assert response.status_code == 422 and "different request" in response.json["detail"]


@pytest.mark.parametrize(
    ("sku", "quantity", "status", "words"),
    [
        ("C", 1, 409, "taken from stock"),
        ("A", 3, 422, "only 2 waiting"),
        ("B", 0, 422, "at least 1"),
    ],
)
def test_cancelling_what_is_not_waiting_is_refused_with_the_reason(
    client, new_uow, shop, token, sku, quantity, status, words
):
    order = shop.orders["1001"]
    body = {"lines": [{"line_id": line_id(new_uow, order, sku), "quantity": quantity}], "reason": "x"}
    response = cancel(client, token, order, body)
    assert response.status_code == status
    assert words in response.json["detail"]
    assert shop.storefront.cancels == []


def test_an_allocated_line_gets_409_with_the_reason(client, new_uow, shop, token):
    arrival = expect(new_uow, shop, "B", 3, NOW.date() + timedelta(days=3))
    incoming.receive_incoming(new_uow(), arrival, quantity=None, now=NOW)
    order = shop.orders["1002"]
    response = cancel(client, token, order, {"reason": "too late"})
    assert response.status_code == 409 and "allocated" in response.json["detail"]


def test_an_unknown_order_gets_404_and_an_absurd_id_too(client, shop, token):
    assert cancel(client, token, 99999, {"reason": "x"}).status_code == 404
    assert client.get("/api/v1/orders/99999999999999999999", headers=auth(token)).status_code == 404


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "reason is required"),
        ({"reason": "   "}, "reason is required"),
        ({"reason": "x", "refund": "yes"}, "refund must be true or false"),
        ({"reason": "x", "lines": []}, "lines must be a list"),
        ({"reason": "x", "lines": [{"line_id": 1}]}, "line_id and quantity"),
        ({"reason": "x", "surprise": 1}, "unknown field"),
        (["reason"], "JSON object"),
    ],
)
def test_a_malformed_body_gets_422(client, shop, token, body, words):
    response = cancel(client, token, shop.orders["1001"], body)
    assert response.status_code == 422 and words in response.json["detail"]


def test_the_idempotency_key_is_required(client, shop, token):
    response = client.post(
        f"/api/v1/orders/{shop.orders['1001']}/cancellations", json={"reason": "x"}, headers=auth(token)
    )
    assert response.status_code == 422 and "Idempotency-Key" in response.json["detail"]


def test_a_storefront_failure_gets_502_and_the_same_key_resumes(client, new_uow, shop, token):
    order = shop.orders["1002"]
    shop.storefront.fail_next.append(unavailable())
    failed = cancel(client, token, order, {"reason": "customer asked"})
    assert failed.status_code == 502
    assert (failed.json["cancellation_status"], failed.json["retryable"]) == ("storefront_error", True)
    assert level(new_uow, shop.merchant_id, "B") == (0, 3, 3)
    resumed = cancel(client, token, order, {"reason": "customer asked"})
    assert resumed.status_code == 201 and resumed.json["id"] == failed.json["cancellation_id"]
    assert level(new_uow, shop.merchant_id, "B") == (0, 2, 2)
    with new_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Cancellation)) == 1


def test_the_openapi_document_is_public_and_valid(client):
    import schemathesis

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json["openapi"] == "3.1.0"
    schema = schemathesis.openapi.from_dict(response.json)
    schema.validate()  # raises on a document that breaks the OpenAPI 3.1 meta-schema
    operations = {result.ok().label for result in schema.get_all_operations()}
    assert "POST /api/v1/orders/{order_id}/cancellations" in operations
