"""Public routes are rate-limited per client address, with a clear 429 problem body."""

from __future__ import annotations

import pytest

from connector.errors import ConfigError
from connector.web.app import create_app
from connector.web.ratelimit import Limit, TokenBuckets


def test_the_install_routes_answer_429_with_retry_after_past_the_limit(app, client):
    app.config["RATE_LIMIT_INSTALL"] = "3/minute"
    statuses = [client.get("/shopify/install").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    refused = client.get("/woocommerce/connect")
    assert refused.status_code == 429
    assert refused.content_type == "application/problem+json"
    assert refused.json["title"] == "Too Many Requests"
    assert "try again in" in refused.json["detail"]
    assert int(refused.headers["Retry-After"]) >= 1


def test_the_storefront_api_limit_is_per_client_and_readable_by_theme_code(app, client):
    app.config["RATE_LIMIT_STOREFRONT"] = "2/minute"
    for _ in range(2):
        client.get("/storefront/v1/availability?channel=1&sku=X")
    refused = client.get("/storefront/v1/availability?channel=1&sku=X")
    assert refused.status_code == 429
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    elsewhere = client.get(
        "/storefront/v1/availability?channel=1&sku=X", environ_base={"REMOTE_ADDR": "10.9.8.7"}
    )
    assert elsewhere.status_code != 429


def test_the_self_cancel_pages_are_limited_too(app, client):
    app.config["RATE_LIMIT_SELF_CANCEL"] = "1/hour"
    client.get("/c/some-token")
    assert client.get("/c/another-token").status_code == 429


def test_other_routes_are_never_limited(app, client):
    app.config["RATE_LIMIT_INSTALL"] = "1/hour"
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))


def test_limits_can_be_switched_off(app, client):
    app.config.update(RATE_LIMIT_ENABLED="false", RATE_LIMIT_INSTALL="1/hour")
    assert {client.get("/shopify/install").status_code for _ in range(5)} == {400}


def test_behind_a_proxy_the_forwarded_address_is_the_client(app, client):
    app.config.update(RATE_LIMIT_INSTALL="1/hour", RATE_LIMIT_PROXY_HOPS="1")
    first = client.get("/shopify/install", headers={"X-Forwarded-For": "203.0.113.5"})
    second = client.get("/shopify/install", headers={"X-Forwarded-For": "203.0.113.6"})
    again = client.get("/shopify/install", headers={"X-Forwarded-For": "203.0.113.5"})
    assert (first.status_code, second.status_code, again.status_code) == (400, 400, 429)


def test_a_bucket_refills_over_its_period():
    now = [0.0]
    buckets = TokenBuckets(clock=lambda: now[0])
    limit = Limit.parse("2/minute", "X")
    assert [buckets.take(("g", "ip"), limit) for _ in range(2)] == [0.0, 0.0]
    assert buckets.take(("g", "ip"), limit) == pytest.approx(30.0)
    now[0] = 30.0
    assert buckets.take(("g", "ip"), limit) == 0.0


def test_a_malformed_limit_stops_the_app_at_start(settings, engine, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_STOREFRONT", "lots")
    with pytest.raises(ConfigError, match="RATE_LIMIT_STOREFRONT"):
        create_app(settings, engine=engine)
