"""Discount codes on Shopify (`discountCodeBasicCreate`): the input sent, and never two codes for one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
import responses

from adapters.base import DiscountCode, DiscountCodeRequest
from adapters.errors import OutcomeUnknown, RejectedByChannel
from tests.adapters.shopify_support import ENDPOINT, FakeTime, answer, make_channel, operations, sent

STARTS = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NODE = "gid://shopify/DiscountCodeNode/1057371145"


@pytest.fixture
def shopify():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def channel():
    return make_channel(FakeTime())


def request(kind: str = "percentage", value: str = "10") -> DiscountCodeRequest:
    return DiscountCodeRequest(
        code="SORRY-7K3M9Q2XAB",
        kind=kind,
        value=Decimal(value),
        title="Apology for the late order #1001",
        starts_at=STARTS,
        ends_at=STARTS + timedelta(days=30),
        customer_email="bob@example.com",
    )


def created(code: str = "SORRY-7K3M9Q2XAB") -> dict:
    node = {"id": NODE, "codeDiscount": {"codes": {"nodes": [{"code": code}]}}}
    return answer({"discountCodeBasicCreate": {"codeDiscountNode": node, "userErrors": []}})


def refused(*errors: dict) -> dict:
    return answer({"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": list(errors)}})


def found(code: str | None = "SORRY-7K3M9Q2XAB") -> dict:
    node = {"id": NODE, "codeDiscount": {"codes": {"nodes": [{"code": code}]}}} if code else None
    return answer({"codeDiscountNodeByCode": node})


TAKEN = {
    "field": ["basicCodeDiscount", "code"],
    "code": "TAKEN",
    "message": "Code must be unique. Please try a different code.",
}


def test_a_percentage_code_is_one_use_on_everything_with_its_dates(shopify, channel):
    shopify.post(ENDPOINT, json=created())

    made = channel.create_discount_code(request())

    assert made == DiscountCode("SORRY-7K3M9Q2XAB", NODE, created=True)
    assert operations(shopify.calls) == ["DiscountCodeBasicCreate"]
    assert sent(shopify.calls[0])["variables"] == {
        "basicCodeDiscount": {
            "title": "Apology for the late order #1001",
            "code": "SORRY-7K3M9Q2XAB",
            "startsAt": "2026-11-27T09:00:00Z",
            "endsAt": "2026-12-27T09:00:00Z",
            "customerSelection": {"all": True},
            "customerGets": {"value": {"percentage": 0.1}, "items": {"all": True}},
            "usageLimit": 1,
            "appliesOncePerCustomer": True,
        }
    }


def test_a_fixed_amount_is_taken_off_the_order_once_not_off_each_item(shopify, channel):
    shopify.post(ENDPOINT, json=created())
    channel.create_discount_code(request("fixed_amount", "5.00"))
    value = sent(shopify.calls[0])["variables"]["basicCodeDiscount"]["customerGets"]["value"]
    assert value == {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}}


def test_a_code_already_taken_is_the_one_made_before_and_not_a_second(shopify, channel):
    shopify.post(ENDPOINT, json=refused(TAKEN))
    shopify.post(ENDPOINT, json=found())

    made = channel.create_discount_code(request())

    assert made == DiscountCode("SORRY-7K3M9Q2XAB", NODE, created=False)
    assert operations(shopify.calls) == ["DiscountCodeBasicCreate", "DiscountCodeByCode"]
    assert sent(shopify.calls[1])["variables"] == {"code": "SORRY-7K3M9Q2XAB"}


def test_invalid_terms_are_refused_for_good_with_shopifys_message(shopify, channel):
    shopify.post(
        ENDPOINT,
        json=refused(
            {
                "field": ["basicCodeDiscount", "customerGets", "value", "percentage"],
                "code": "VALUE_OUTSIDE_RANGE",
                "message": "Value must be between 0.0 and 1.0",
            }
        ),
    )
    with pytest.raises(RejectedByChannel, match=r"Value must be between 0\.0 and 1\.0") as raised:
        channel.create_discount_code(request(value="150"))
    assert not raised.value.retryable
    assert operations(shopify.calls) == ["DiscountCodeBasicCreate"]


def test_a_create_that_timed_out_but_landed_is_found_by_its_code(shopify, channel):
    shopify.post(ENDPOINT, body=requests.ReadTimeout("read timed out"))
    shopify.post(ENDPOINT, json=found())

    made = channel.create_discount_code(request())

    assert made == DiscountCode("SORRY-7K3M9Q2XAB", NODE, created=False)
    assert operations(shopify.calls) == ["DiscountCodeBasicCreate", "DiscountCodeByCode"]


def test_a_create_that_failed_with_5xx_and_did_not_land_stays_unknown_and_is_not_resent(shopify, channel):
    shopify.post(ENDPOINT, status=502, body="Bad Gateway")
    shopify.post(ENDPOINT, json=found(None))
    with pytest.raises(OutcomeUnknown):
        channel.create_discount_code(request())
    assert operations(shopify.calls) == ["DiscountCodeBasicCreate", "DiscountCodeByCode"]


def test_a_taken_code_that_cannot_be_found_is_someone_elses_and_refused(shopify, channel):
    shopify.post(ENDPOINT, json=refused(TAKEN))
    shopify.post(ENDPOINT, json=found(None))
    with pytest.raises(RejectedByChannel, match="Code must be unique"):
        channel.create_discount_code(request())
