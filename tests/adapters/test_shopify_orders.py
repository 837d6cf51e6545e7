"""Orders on Shopify: reading, cancelling whole orders or lines, notes, tags, webhook subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses

from adapters.base import CancelRequest, LineCancel, ListingRef
from adapters.errors import NotFoundOnChannel, NotSupportedByChannel, RejectedByChannel
from tests.adapters.shopify_support import (
    ENDPOINT,
    LOCATION,
    FakeTime,
    answer,
    make_channel,
    operation,
    operations,
    sent,
    user_error,
)

ORDER = "gid://shopify/Order/450789469"


@pytest.fixture
def shopify():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def time():
    return FakeTime()


def line(n: int, *, quantity: int = 2, current: int = 2) -> dict:
    return {
        "id": f"gid://shopify/LineItem/{n}",
        "sku": f"SKU-{n}",
        "title": "Rain jacket",
        "quantity": quantity,
        "currentQuantity": current,
        "originalUnitPriceSet": {"shopMoney": {"amount": "19.90"}},
        "variant": {
            "id": f"gid://shopify/ProductVariant/{n}",
            "product": {"id": "gid://shopify/Product/77"},
            "inventoryItem": {"id": f"gid://shopify/InventoryItem/{n}"},
        },
    }


def order_answer(lines: list[dict], *, next_cursor: str | None = None) -> dict:
    return answer(
        {
            "order": {
                "id": ORDER,
                "name": "#1001",
                "createdAt": "2026-11-20T10:00:00Z",
                "updatedAt": "2026-11-21T09:30:00Z",
                "cancelledAt": None,
                "displayFinancialStatus": "PARTIALLY_REFUNDED",
                "email": "bob@example.com",
                "tags": ["backorder"],
                "customer": {"displayName": "Bob Norman"},
                "lineItems": {
                    "pageInfo": {"hasNextPage": next_cursor is not None, "endCursor": next_cursor},
                    "nodes": lines,
                },
            }
        }
    )


def summary_answer(*, note: str | None = None, cancelled: bool = False, net: str = "39.80") -> dict:
    return answer(
        {
            "order": {
                "id": ORDER,
                "note": note,
                "cancelledAt": "2026-11-21T09:30:00Z" if cancelled else None,
                "netPaymentSet": {"shopMoney": {"amount": net, "currencyCode": "EUR"}},
            }
        }
    )


def test_reading_an_order_follows_its_line_pages(shopify, time):
    shopify.post(ENDPOINT, json=order_answer([line(1)], next_cursor="lines-1"))
    shopify.post(ENDPOINT, json=order_answer([line(2, quantity=3, current=1)]))

    order = make_channel(time).read_order("450789469")

    assert operations(shopify.calls) == ["OrderRead", "OrderRead"]
    assert sent(shopify.calls[0])["variables"] == {"id": ORDER, "linesAfter": None}
    assert sent(shopify.calls[1])["variables"] == {"id": ORDER, "linesAfter": "lines-1"}
    assert (order.order_id, order.number, order.customer_name, order.customer_email) == (
        ORDER,
        "#1001",
        "Bob Norman",
        "bob@example.com",
    )
    assert order.placed_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert (order.financial_status, order.tags, order.cancelled) == (
        "partially_refunded",
        ("backorder",),
        False,
    )
    assert [(li.line_id, li.sku, li.quantity, li.price) for li in order.lines] == [
        ("gid://shopify/LineItem/1", "SKU-1", 2, Decimal("19.90")),
        ("gid://shopify/LineItem/2", "SKU-2", 1, Decimal("19.90")),  # what is still on the order
    ]
    assert order.lines[0].ref == ListingRef(
        "gid://shopify/Product/77", "gid://shopify/ProductVariant/1", "gid://shopify/InventoryItem/1"
    )


def test_reading_a_missing_order_is_not_found(shopify, time):
    shopify.post(ENDPOINT, json=answer({"order": None}))

    with pytest.raises(NotFoundOnChannel):
        make_channel(time).read_order(ORDER)


def test_cancelling_a_whole_order_sends_order_cancel_with_the_choices(shopify, time):
    shopify.post(ENDPOINT, json=summary_answer())
    job = {"id": "gid://shopify/Job/abc", "done": False}
    shopify.post(ENDPOINT, json=answer({"orderCancel": {"job": job, "orderCancelUserErrors": []}}))

    result = make_channel(time).cancel(
        CancelRequest(
            ORDER, refund=True, restock=True, notify=False, reason="inventory", note="Supplier gone"
        )
    )

    assert operations(shopify.calls) == ["OrderSummary", "OrderCancel"]
    assert sent(shopify.calls[1])["variables"] == {
        "orderId": ORDER,
        "reason": "INVENTORY",
        "refund": True,
        "restock": True,
        "notifyCustomer": False,
        "staffNote": "Supplier gone",
    }
    assert result.cancelled_whole_order
    assert (result.refunded_amount, result.storefront_reference) == (
        Decimal("39.80"),
        "gid://shopify/Job/abc",
    )


def test_an_unknown_reason_is_other_and_no_refund_is_zero(shopify, time):
    shopify.post(ENDPOINT, json=summary_answer())
    shopify.post(
        ENDPOINT,
        json=answer({"orderCancel": {"job": {"id": "j", "done": False}, "orderCancelUserErrors": []}}),
    )

    result = make_channel(time).cancel(CancelRequest(ORDER, refund=False, reason="changed my mind"))

    assert sent(shopify.calls[1])["variables"]["reason"] == "OTHER"
    assert result.refunded_amount == Decimal(0)


def test_an_order_cancel_refusal_is_raised(shopify, time):
    shopify.post(ENDPOINT, json=summary_answer())
    refusal = user_error(["orderId"], "Cannot cancel an order with open returns", "INVALID")
    shopify.post(ENDPOINT, json=answer({"orderCancel": {"job": None, "orderCancelUserErrors": [refusal]}}))

    with pytest.raises(RejectedByChannel, match="open returns"):
        make_channel(time).cancel(CancelRequest(ORDER))


def test_cancelling_an_order_already_cancelled_sends_nothing_more(shopify, time):
    shopify.post(ENDPOINT, json=summary_answer(cancelled=True))

    result = make_channel(time).cancel(CancelRequest(ORDER))

    assert result.cancelled_whole_order
    assert operations(shopify.calls) == ["OrderSummary"]


def test_cancelling_lines_with_a_refund_pays_back_what_shopify_suggests(shopify, time):
    suggestion = {
        "order": {
            "id": ORDER,
            "suggestedRefund": {
                "amountSet": {"presentmentMoney": {"amount": "19.90", "currencyCode": "EUR"}},
                "suggestedTransactions": [
                    {
                        "gateway": "shopify_payments",
                        "kind": "SUGGESTED_REFUND",
                        "amountSet": {"presentmentMoney": {"amount": "19.90", "currencyCode": "EUR"}},
                        "parentTransaction": {"id": "gid://shopify/OrderTransaction/389404469"},
                    }
                ],
            },
        }
    }
    shopify.post(ENDPOINT, json=answer(suggestion))
    refund = {
        "id": "gid://shopify/Refund/929361462",
        "totalRefundedSet": {"presentmentMoney": {"amount": "19.90", "currencyCode": "EUR"}},
    }
    shopify.post(ENDPOINT, json=answer({"refundCreate": {"refund": refund, "userErrors": []}}))

    result = make_channel(time).cancel(
        CancelRequest(
            ORDER,
            lines=(LineCancel("466157049", 1),),
            refund=True,
            restock=True,
            notify=True,
            note="Backorder",
        )
    )

    assert operations(shopify.calls) == ["SuggestedRefund", "RefundCreate"]
    refund_lines = [
        {
            "lineItemId": "gid://shopify/LineItem/466157049",
            "quantity": 1,
            "restockType": "CANCEL",
            "locationId": LOCATION,
        }
    ]
    assert sent(shopify.calls[0])["variables"] == {"id": ORDER, "refundLineItems": refund_lines}
    create = sent(shopify.calls[1])
    assert "@idempotent(key: $key)" in create["query"]
    assert create["variables"]["key"].startswith("refund-")
    assert create["variables"]["input"] == {
        "orderId": ORDER,
        "notify": True,
        "note": "Backorder",
        "refundLineItems": refund_lines,
        "currency": "EUR",
        "transactions": [
            {
                "orderId": ORDER,
                "parentId": "gid://shopify/OrderTransaction/389404469",
                "gateway": "shopify_payments",
                "kind": "REFUND",
                "amount": "19.90",
            }
        ],
    }
    assert not result.cancelled_whole_order
    assert (result.refunded_amount, result.storefront_reference) == (
        Decimal("19.90"),
        "gid://shopify/Refund/929361462",
    )


def test_cancelling_lines_without_refund_or_restock_moves_no_money_or_stock(shopify, time):
    refund = {
        "id": "gid://shopify/Refund/1",
        "totalRefundedSet": {"presentmentMoney": {"amount": "0.00", "currencyCode": "EUR"}},
    }
    shopify.post(ENDPOINT, json=answer({"refundCreate": {"refund": refund, "userErrors": []}}))

    result = make_channel(time).cancel(
        CancelRequest(ORDER, lines=(LineCancel("gid://shopify/LineItem/5", 2),), refund=False, restock=False)
    )

    assert operations(shopify.calls) == ["RefundCreate"]
    refund_input = sent(shopify.calls[0])["variables"]["input"]
    assert refund_input["refundLineItems"] == [
        {"lineItemId": "gid://shopify/LineItem/5", "quantity": 2, "restockType": "NO_RESTOCK"}
    ]
    assert refund_input["transactions"] == []
    assert result.refunded_amount == Decimal("0.00")


def test_a_line_refund_carries_the_cancellations_own_key_not_one_made_from_its_lines(shopify, time):
    """Attempts of one cancellation share its key (Shopify answers the first refund); two cancellations of
    the same line, quantity and reason are two refunds, so they must not share one."""
    refund = {"id": "gid://shopify/Refund/1", "totalRefundedSet": None}
    shopify.post(ENDPOINT, json=answer({"refundCreate": {"refund": refund, "userErrors": []}}))
    first = CancelRequest(ORDER, lines=(LineCancel("5", 1),), refund=False, idempotency_key="cancellation:1")
    second = CancelRequest(ORDER, lines=(LineCancel("5", 1),), refund=False, idempotency_key="cancellation:2")
    channel = make_channel(time)

    channel.cancel(first)
    channel.cancel(first)
    channel.cancel(second)

    keys = [sent(call)["variables"]["key"] for call in shopify.calls]
    assert keys == ["cancellation:1", "cancellation:1", "cancellation:2"]


def test_a_line_refund_without_a_key_is_never_taken_for_another(shopify, time):
    refund = {"id": "gid://shopify/Refund/1", "totalRefundedSet": None}
    shopify.post(ENDPOINT, json=answer({"refundCreate": {"refund": refund, "userErrors": []}}))
    request = CancelRequest(ORDER, lines=(LineCancel("5", 1),), refund=False)
    channel = make_channel(time)

    channel.cancel(request)
    channel.cancel(request)

    keys = [sent(call)["variables"]["key"] for call in shopify.calls]
    assert keys[0] != keys[1]


def test_a_note_is_appended_to_the_staff_note(shopify, time):
    shopify.post(ENDPOINT, json=summary_answer(note="Gift wrap"))
    shopify.post(
        ENDPOINT, json=answer({"orderUpdate": {"order": {"id": ORDER, "note": "..."}, "userErrors": []}})
    )

    make_channel(time).add_order_note(ORDER, "Backordered: ships by 14 December", customer_visible=False)

    assert operation(shopify.calls[1]) == "OrderUpdateNote"
    assert sent(shopify.calls[1])["variables"] == {
        "input": {"id": ORDER, "note": "Gift wrap\nBackordered: ships by 14 December"}
    }


def test_a_note_already_there_is_not_written_again(shopify, time):
    shopify.post(ENDPOINT, json=summary_answer(note="Gift wrap\nBackordered"))

    make_channel(time).add_order_note(ORDER, "Backordered", customer_visible=False)

    assert operations(shopify.calls) == ["OrderSummary"]


def test_a_customer_visible_note_is_not_supported_by_shopify(shopify, time):
    with pytest.raises(NotSupportedByChannel, match="no customer-visible order note") as raised:
        make_channel(time).add_order_note(ORDER, "Your jacket ships soon", customer_visible=True)

    assert isinstance(raised.value, RejectedByChannel) and not raised.value.retryable
    assert not shopify.calls


def test_tagging_an_order_uses_tags_add(shopify, time):
    shopify.post(ENDPOINT, json=answer({"tagsAdd": {"node": {"id": ORDER}, "userErrors": []}}))

    make_channel(time).tag_order("450789469", ["backorder", "waiting"])

    assert operation(shopify.calls[0]) == "TagsAdd"
    assert sent(shopify.calls[0])["variables"] == {"id": ORDER, "tags": ["backorder", "waiting"]}


def test_tagging_a_missing_order_is_not_found(shopify, time):
    missing = user_error(["id"], "Order does not exist")
    shopify.post(ENDPOINT, json=answer({"tagsAdd": {"node": None, "userErrors": [missing]}}))

    with pytest.raises(NotFoundOnChannel):
        make_channel(time).tag_order(ORDER, ["backorder"])


def test_webhooks_are_subscribed_once_per_topic_at_our_address(shopify, time):
    callback = "https://connector.example/webhooks/shopify"
    existing = [
        {
            "id": "gid://shopify/WebhookSubscription/1",
            "topic": "ORDERS_CREATE",
            "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": callback},
        },
        {
            "id": "gid://shopify/WebhookSubscription/2",
            "topic": "ORDERS_UPDATED",
            "endpoint": {
                "__typename": "WebhookHttpEndpoint",
                "callbackUrl": "https://elsewhere.example/hook",
            },
        },
    ]
    page = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": existing}
    shopify.post(ENDPOINT, json=answer({"webhookSubscriptions": page}))
    for n in range(3, 8):
        created = {
            "webhookSubscription": {"id": f"gid://shopify/WebhookSubscription/{n}", "topic": "T"},
            "userErrors": [],
        }
        shopify.post(ENDPOINT, json=answer({"webhookSubscriptionCreate": created}))

    ids = make_channel(time).register_webhooks("https://connector.example/")

    assert operations(shopify.calls) == ["WebhookSubscriptions"] + ["WebhookSubscriptionCreate"] * 5
    created_topics = [sent(call)["variables"]["topic"] for call in shopify.calls[1:]]
    assert created_topics == [
        "ORDERS_UPDATED",
        "ORDERS_CANCELLED",
        "INVENTORY_LEVELS_UPDATE",
        "PRODUCTS_UPDATE",
        "APP_UNINSTALLED",
    ]
    assert {sent(call)["variables"]["webhookSubscription"]["callbackUrl"] for call in shopify.calls[1:]} == {
        callback
    }
    assert ids[0] == "gid://shopify/WebhookSubscription/1" and len(ids) == 6
