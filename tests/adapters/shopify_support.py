"""What the Shopify adapter tests share: a channel on fake time, and Shopify-shaped answers."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from adapters.shopify import ShopifyChannel

SHOP = "acme.myshopify.com"
TOKEN = "shpat_secret_token_0123456789"
SECRET = "app-client-secret"
LOCATION = "gid://shopify/Location/905684977"
ENDPOINT = f"https://{SHOP}/admin/api/2026-10/graphql.json"


class FakeTime:
    """A clock that moves only when the code under test sleeps, so no test ever waits."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def make_channel(time: FakeTime, **options: Any) -> ShopifyChannel:
    settings: dict[str, Any] = {"location_id": LOCATION, "webhook_secret": SECRET, "rng": random.Random(7)}
    settings.update(options)
    return ShopifyChannel(SHOP, TOKEN, sleep=time.sleep, clock=time.clock, **settings)


def answer(
    data: dict[str, Any], *, requested: float = 10, available: float = 990, restore: float = 50
) -> dict:
    """A successful GraphQL answer with Shopify's cost extension."""
    return {"data": data, "extensions": cost(requested, available, restore)}


def throttled(*, requested: float, available: float, restore: float = 50) -> dict:
    """Shopify's answer (HTTP 200) when the bucket holds less than the query asks for."""
    return {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": cost(requested, available, restore, actual=None),
    }


def cost(requested: float, available: float, restore: float, *, actual: float | None = 0) -> dict:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested if actual == 0 else actual,
            "throttleStatus": {
                "maximumAvailable": 1000.0,
                "currentlyAvailable": available,
                "restoreRate": restore,
            },
        }
    }


def sent(call: Any) -> dict[str, Any]:
    """The JSON body of one recorded request."""
    return json.loads(call.request.body)


def operation(call: Any) -> str:
    """The GraphQL operation name a recorded request ran."""
    match = re.search(r"\b(?:query|mutation)\s+(\w+)", sent(call)["query"])
    assert match, sent(call)["query"]
    return match.group(1)


def operations(calls: Any) -> list[str]:
    return [operation(call) for call in calls]


def user_error(field: list[str] | None, message: str, code: str | None = None) -> dict[str, Any]:
    return {"field": field, "message": message, "code": code}
