"""The Shopify sandbox's code discounts, over real HTTP: `discountCodeBasicCreate` and the look-ups
answer as Shopify's Admin API does, user errors included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from adapters.sandbox.server import start_in_thread
from adapters.sandbox.shopify import ShopifySandbox

TOKEN = "shpat_discounts"
CREATE = """
mutation Create($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode {
      id
      codeDiscount {
        __typename
        ... on DiscountCodeBasic {
          title status usageLimit appliesOncePerCustomer startsAt endsAt
          codes(first: 5) { nodes { code } }
          customerSelection { ... on DiscountCustomerAll { allCustomers } }
          customerGets {
            items { ... on AllDiscountItems { allItems } }
            value {
              ... on DiscountPercentage { percentage }
              ... on DiscountAmount { amount { amount currencyCode } appliesOnEachItem }
            }
          }
        }
      }
    }
    userErrors { field code message }
  }
}"""
BY_CODE = """
query($code: String!) {
  codeDiscountNodeByCode(code: $code) { id codeDiscount { ... on DiscountCodeBasic { title } } }
}"""
APOLOGY = {
    "title": "Apology for the late order #1001",
    "code": "SORRY-7K3M9Q2XAB",
    "startsAt": "2026-01-01T00:00:00Z",
    "endsAt": "2099-01-01T00:00:00Z",
    "customerSelection": {"all": True},
    "customerGets": {"value": {"percentage": 0.1}, "items": {"all": True}},
    "usageLimit": 1,
    "appliesOncePerCustomer": True,
}


class Plug:
    def __init__(self) -> None:
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def plug() -> Iterator[tuple[Plug, str]]:
    board = Plug()
    server = start_in_thread(board)
    yield board, server.url
    server.stop()


@pytest.fixture
def shop(plug):
    board, url = plug
    sandbox = ShopifySandbox(token=TOKEN)
    board.app = sandbox.wsgi_app

    def call(query: str, variables: dict) -> dict:
        response = requests.post(
            f"{url}/admin/api/2026-10/graphql.json",
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": TOKEN},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    return sandbox, call


def create(call, **changes) -> dict:
    return call(CREATE, {"basicCodeDiscount": {**APOLOGY, **changes}})["discountCodeBasicCreate"]


def test_a_percentage_code_is_created_active_for_everyone_once(shop):
    sandbox, call = shop
    made = create(call)
    assert made["userErrors"] == []
    node = made["codeDiscountNode"]
    assert node["id"].startswith("gid://shopify/DiscountCodeNode/")
    assert node["codeDiscount"] == {
        "__typename": "DiscountCodeBasic",
        "title": "Apology for the late order #1001",
        "status": "ACTIVE",
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2099-01-01T00:00:00Z",
        "codes": {"nodes": [{"code": "SORRY-7K3M9Q2XAB"}]},
        "customerSelection": {"allCustomers": True},
        "customerGets": {"items": {"allItems": True}, "value": {"percentage": 0.1}},
    }
    assert [d["code"] for d in sandbox.discount_codes] == ["SORRY-7K3M9Q2XAB"]


def test_a_fixed_amount_is_in_the_shops_currency(shop):
    _, call = shop
    value = {"discountAmount": {"amount": "5", "appliesOnEachItem": False}}
    made = create(call, customerGets={"value": value, "items": {"all": True}})
    assert made["codeDiscountNode"]["codeDiscount"]["customerGets"]["value"] == {
        "amount": {"amount": "5.00", "currencyCode": "USD"},
        "appliesOnEachItem": False,
    }


def test_a_taken_code_in_any_case_is_refused_with_taken_and_nothing_is_added(shop):
    sandbox, call = shop
    create(call)
    again = create(call, code="sorry-7k3m9q2xab", title="Another")
    assert again == {
        "codeDiscountNode": None,
        "userErrors": [
            {
                "field": ["basicCodeDiscount", "code"],
                "code": "TAKEN",
                "message": "Code must be unique. Please try a different code.",
            }
        ],
    }
    assert len(sandbox.discount_codes) == 1


def test_a_code_is_found_by_its_string_in_any_case_and_an_unknown_one_is_null(shop):
    _, call = shop
    made = create(call)["codeDiscountNode"]
    found = call(BY_CODE, {"code": "sorry-7k3m9q2xab"})["codeDiscountNodeByCode"]
    assert found == {"id": made["id"], "codeDiscount": {"title": "Apology for the late order #1001"}}
    assert call(BY_CODE, {"code": "NOPE"})["codeDiscountNodeByCode"] is None


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"title": ""}, ["basicCodeDiscount", "title"], "BLANK"),
        ({"code": " "}, ["basicCodeDiscount", "code"], "BLANK"),
        ({"customerSelection": None}, ["basicCodeDiscount", "customerSelection"], "BLANK"),
        (
            {"customerGets": {"value": {"percentage": 1.5}, "items": {"all": True}}},
            ["basicCodeDiscount", "customerGets", "value", "percentage"],
            "VALUE_OUTSIDE_RANGE",
        ),
        (
            {"customerGets": {"value": {"discountAmount": {"amount": "0"}}, "items": {"all": True}}},
            ["basicCodeDiscount", "customerGets", "value", "discountAmount", "amount"],
            "GREATER_THAN",
        ),
        ({"endsAt": "2025-12-31T00:00:00Z"}, ["basicCodeDiscount", "endsAt"], "INVALID"),
        ({"usageLimit": 0}, ["basicCodeDiscount", "usageLimit"], "GREATER_THAN"),
    ],
)
def test_invalid_input_is_a_user_error_on_its_field_and_creates_nothing(shop, changes, field, code):
    sandbox, call = shop
    made = create(call, **changes)
    assert made["codeDiscountNode"] is None
    assert [(e["field"], e["code"]) for e in made["userErrors"]] == [(field, code)]
    assert sandbox.discount_codes == []


def test_a_code_that_starts_later_is_scheduled_and_one_past_its_end_expired(shop):
    _, call = shop
    later = create(call, startsAt="2098-01-01T00:00:00Z")
    assert later["codeDiscountNode"]["codeDiscount"]["status"] == "SCHEDULED"
    over = create(call, code="OLD", startsAt="2020-01-01T00:00:00Z", endsAt="2020-02-01T00:00:00Z")
    assert over["codeDiscountNode"]["codeDiscount"]["status"] == "EXPIRED"
