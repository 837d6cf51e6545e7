"""WooCommerce orders: reading, cancelling with refunds, notes and tags, against `responses`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses

from adapters.base import CancelRequest, LineCancel, ListingRef
from adapters.errors import ChannelUnavailable, NotFoundOnChannel, OutcomeUnknown, RejectedByChannel
from adapters.woocommerce import WooCommerceChannel

STORE = "https://shop.example.com"
API = f"{STORE}/wp-json/wc/v3"


def order(oid: int = 727, **fields: Any) -> dict[str, Any]:
    """An order as `GET orders/<id>` shows it: one simple line, one variation line, state tax."""
    return {
        "id": oid,
        "number": str(oid),
        "status": "processing",
        "currency": "USD",
        "date_created": "2026-11-20T16:28:02",
        "date_created_gmt": "2026-11-20T19:28:02",
        "date_modified_gmt": "2026-11-20T19:28:08",
        "date_paid_gmt": "2026-11-20T19:28:08",
        "total": "29.35",
        "billing": {"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com"},
        "meta_data": [{"id": 13106, "key": "_download_permissions_granted", "value": "yes"}],
        "line_items": [
            {
                "id": 315,
                "name": "Woo Single #1",
                "product_id": 93,
                "variation_id": 0,
                "quantity": 2,
                "subtotal": "6.00",
                "total": "6.00",
                "total_tax": "0.45",
                "taxes": [{"id": 75, "total": "0.45", "subtotal": "0.45"}],
                "sku": "",
                "price": 3,
            },
            {
                "id": 316,
                "name": "Ship Your Idea &ndash; Color: Black",
                "product_id": 22,
                "variation_id": 23,
                "quantity": 3,
                "subtotal": "12.00",
                "total": "12.00",
                "total_tax": "0.90",
                "taxes": [{"id": 75, "total": "0.9", "subtotal": "0.9"}],
                "sku": "Bar3",
                "price": 4,
            },
        ],
        "refunds": [],
        **fields,
    }


def refund_answer(rid: int = 726, **fields: Any) -> dict[str, Any]:
    return {"id": rid, "date_created_gmt": "2026-11-21T20:07:11", "amount": "10.00", "reason": "", "refunded_payment": True, "meta_data": [], "line_items": [], **fields}  # fmt: skip


@pytest.fixture
def store() -> WooCommerceChannel:
    return WooCommerceChannel(STORE, "ck_test", "cs_test", sleep=lambda s: None)


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def sent_json(call: Any) -> Any:
    return json.loads(call.request.body)


def test_read_order_gives_lines_refs_and_aware_utc_times(store, mocked):
    mocked.get(f"{API}/orders/727", json=order(meta_data=[{"id": 1, "key": "_backorder_tags", "value": "backorder,waiting"}]))  # fmt: skip

    info = store.read_order("727")

    assert (info.order_id, info.number, info.customer_name, info.customer_email) == ("727", "727", "John Doe", "john.doe@example.com")  # fmt: skip
    assert info.placed_at == datetime(2026, 11, 20, 19, 28, 2, tzinfo=UTC)
    assert info.updated_at == datetime(2026, 11, 20, 19, 28, 8, tzinfo=UTC)
    simple, varied = info.lines
    assert (simple.line_id, simple.sku, simple.quantity, simple.ref) == (
        "315",
        None,
        2,
        ListingRef("93", "93"),
    )
    assert (varied.sku, varied.ref, varied.title, varied.price) == ("Bar3", ListingRef("22", "23"), "Ship Your Idea – Color: Black", Decimal(4))  # fmt: skip
    assert info.tags == ("backorder", "waiting")
    assert not info.cancelled and info.financial_status == "paid"


def test_a_line_whose_product_was_deleted_has_no_ref(store, mocked):
    body = order()
    body["line_items"][0]["product_id"] = 0
    mocked.get(f"{API}/orders/727", json=body)
    assert store.read_order("727").lines[0].ref is None


def test_an_unknown_order_is_not_found(store, mocked):
    mocked.get(f"{API}/orders/9", status=404, json={"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.", "data": {"status": 404}})  # fmt: skip
    with pytest.raises(NotFoundOnChannel):
        store.read_order("9")


def test_cancelling_a_whole_order_refunds_it_then_sets_cancelled(store, mocked):
    mocked.get(f"{API}/orders/727", json=order())
    mocked.post(f"{API}/orders/727/refunds", status=201, json=refund_answer(amount="29.35"))
    mocked.put(f"{API}/orders/727", json=order(status="cancelled"))
    mocked.post(
        f"{API}/orders/727/notes", status=201, json={"id": 281, "note": "Sorry!", "customer_note": True}
    )

    result = store.cancel(CancelRequest("727", refund=True, restock=True, note="Sorry!"))

    assert (result.cancelled_whole_order, result.refunded_amount, result.storefront_reference) == (True, Decimal("29.35"), "refund:726")  # fmt: skip
    refund = sent_json(mocked.calls[1])
    assert {k: refund[k] for k in ("amount", "api_refund", "api_restock", "reason")} == {
        "amount": "29.35",
        "api_refund": True,
        "api_restock": False,  # setting "cancelled" restocks; restocking in the refund too would count twice
        "reason": "Sorry!",
    }
    assert refund["meta_data"][0]["key"] == "_backorder_refund_request"
    assert sent_json(mocked.calls[2]) == {"status": "cancelled"}
    assert sent_json(mocked.calls[3]) == {"note": "Sorry!", "customer_note": True}


def test_cancelling_again_refunds_only_what_is_left_and_does_not_cancel_twice(store, mocked):
    mocked.get(f"{API}/orders/727", json=order(status="cancelled", refunds=[{"id": 700, "reason": "", "total": "-10.00"}]))  # fmt: skip
    mocked.post(f"{API}/orders/727/refunds", status=201, json=refund_answer(701, amount="19.35"))

    result = store.cancel(CancelRequest("727", refund=True))

    assert result.refunded_amount == Decimal("19.35")
    assert sent_json(mocked.calls[1])["amount"] == "19.35"
    assert [c.request.method for c in mocked.calls] == ["GET", "POST"]


def test_cancelling_without_a_refund_only_changes_the_status(store, mocked):
    mocked.get(f"{API}/orders/727", json=order())
    mocked.put(f"{API}/orders/727", json=order(status="cancelled"))
    result = store.cancel(CancelRequest("727", refund=False))
    assert result.refunded_amount == 0 and [c.request.method for c in mocked.calls] == ["GET", "PUT"]


def test_cancelling_lines_refunds_their_share_with_tax_and_the_requested_restock(store, mocked):
    mocked.get(f"{API}/orders/727", json=order())
    mocked.post(f"{API}/orders/727/refunds", status=201, json=refund_answer(726))

    result = store.cancel(CancelRequest("727", lines=(LineCancel("316", 1), LineCancel("315", 2)), refund=True, restock=False))  # fmt: skip

    body = sent_json(mocked.calls[1])
    assert body["line_items"] == [
        {
            "id": 316,
            "quantity": 1,
            "refund_total": "4.00",
            "refund_tax": [{"id": 75, "refund_total": "0.30"}],
        },
        {
            "id": 315,
            "quantity": 2,
            "refund_total": "6.00",
            "refund_tax": [{"id": 75, "refund_total": "0.45"}],
        },
    ]
    assert (body["amount"], body["api_refund"], body["api_restock"]) == ("10.75", True, False)
    assert (result.cancelled_whole_order, result.refunded_amount, result.storefront_reference) == (False, Decimal("10.75"), "refund:726")  # fmt: skip


def test_cancelling_lines_without_money_back_restocks_them_at_zero(store, mocked):
    mocked.get(f"{API}/orders/727", json=order())
    mocked.post(f"{API}/orders/727/refunds", status=201, json=refund_answer(727, amount="0.00"))
    store.cancel(CancelRequest("727", lines=(LineCancel("315", 1),), refund=False, restock=True))
    body = sent_json(mocked.calls[1])
    assert (body["amount"], body["api_refund"], body["api_restock"]) == ("0.00", False, True)
    assert body["line_items"][0]["refund_total"] == "0.00"


def test_cancelling_a_line_the_order_does_not_have_or_too_many_units_sends_nothing(store, mocked):
    mocked.get(f"{API}/orders/727", json=order())
    with pytest.raises(NotFoundOnChannel, match="999"):
        store.cancel(CancelRequest("727", lines=(LineCancel("999", 1),)))
    with pytest.raises(RejectedByChannel, match="cannot cancel 5 of 2"):
        store.cancel(CancelRequest("727", lines=(LineCancel("315", 5),)))
    assert all(c.request.method == "GET" for c in mocked.calls)


def test_a_refund_that_timed_out_but_landed_is_found_by_its_marker(store, mocked):
    mocked.get(f"{API}/orders/727", json=order())
    mocked.post(f"{API}/orders/727/refunds", body=requests.ReadTimeout("read timed out"))

    def refunds(request):
        marker = sent_json(mocked.calls[1])["meta_data"][0]
        landed = refund_answer(730, meta_data=[{"id": 5, **marker}])
        return 200, {}, json.dumps([refund_answer(700), landed])

    mocked.add_callback(responses.GET, f"{API}/orders/727/refunds", callback=refunds)

    result = store.cancel(CancelRequest("727", lines=(LineCancel("315", 1),)))

    assert result.storefront_reference == "refund:730"
    assert [c.request.method for c in mocked.calls] == ["GET", "POST", "GET"]


def test_a_refund_that_timed_out_and_is_not_found_is_unknown_and_never_sent_again(store, mocked):
    mocked.get(f"{API}/orders/727", json=order())
    mocked.post(f"{API}/orders/727/refunds", body=requests.ReadTimeout("read timed out"))
    mocked.get(f"{API}/orders/727/refunds", json=[refund_answer(700)])
    with pytest.raises(OutcomeUnknown, match="re-read"):
        store.cancel(CancelRequest("727", lines=(LineCancel("315", 1),)))
    assert [c.request.method for c in mocked.calls].count("POST") == 1


def test_a_refund_the_gateway_declined_is_rejected_not_retried(store, mocked):
    mocked.get(f"{API}/orders/727", json=order())
    mocked.post(f"{API}/orders/727/refunds", status=500, json={"code": "woocommerce_rest_cannot_create_order_refund", "message": "The payment gateway for this order does not support automatic refunds.", "data": {"status": 500}})  # fmt: skip
    with pytest.raises(RejectedByChannel, match="does not support automatic refunds"):
        store.cancel(CancelRequest("727", refund=True))
    assert len(mocked.calls) == 2


def test_a_note_for_the_customer_sets_customer_note(store, mocked):
    mocked.post(f"{API}/orders/727/notes", status=201, json={"id": 281, "note": "Ships 14 December", "customer_note": True})  # fmt: skip
    store.add_order_note("727", "Ships 14 December", customer_visible=True)
    assert sent_json(mocked.calls[0]) == {"note": "Ships 14 December", "customer_note": True}


def test_tags_are_added_to_the_backorder_tags_meta_keeping_existing_ones(store, mocked):
    mocked.get(f"{API}/orders/727", json=order(meta_data=[{"id": 1, "key": "_backorder_tags", "value": "backorder"}]))  # fmt: skip
    mocked.put(f"{API}/orders/727", json=order())
    store.tag_order("727", ["waiting", "backorder"])
    assert sent_json(mocked.calls[1]) == {
        "meta_data": [{"key": "_backorder_tags", "value": "backorder,waiting"}]
    }


def test_tags_already_there_cause_no_write(store, mocked):
    mocked.get(f"{API}/orders/727", json=order(meta_data=[{"id": 1, "key": "_backorder_tags", "value": "backorder"}]))  # fmt: skip
    store.tag_order("727", ["backorder"])
    assert len(mocked.calls) == 1


def test_a_cancelled_or_refunded_order_reads_as_cancelled(store, mocked):
    mocked.get(f"{API}/orders/1", json=order(1, status="cancelled"))
    mocked.get(f"{API}/orders/2", json=order(2, status="refunded", refunds=[{"id": 9, "total": "-29.35"}]))
    assert store.read_order("1").cancelled
    refunded = store.read_order("2")
    assert refunded.cancelled and refunded.financial_status == "refunded"


def test_an_unpaid_order_is_cancelled_without_sending_money_back(store, mocked):
    mocked.get(f"{API}/orders/727", json=order(status="on-hold", date_paid_gmt=None))
    mocked.put(f"{API}/orders/727", json=order(status="cancelled"))
    result = store.cancel(CancelRequest("727", refund=True))
    assert result.refunded_amount == 0 and [c.request.method for c in mocked.calls] == ["GET", "PUT"]


def test_a_failed_note_does_not_undo_or_repeat_a_cancellation(store, mocked):
    mocked.get(f"{API}/orders/727", json=order())
    mocked.post(f"{API}/orders/727/refunds", status=201, json=refund_answer(726))
    mocked.post(f"{API}/orders/727/notes", body=requests.ReadTimeout("read timed out"))
    result = store.cancel(CancelRequest("727", lines=(LineCancel("315", 1),), note="One mug is gone"))
    assert result.storefront_reference == "refund:726 (note not added)"


KEY = "backorder-cancellation:9:3f1c2a7b9d0e4f65"


def marked(rid: int, amount: str, key: str = KEY) -> dict[str, Any]:
    return refund_answer(rid, amount=amount, meta_data=[{"id": 5, "key": "_backorder_refund_request", "value": key}])  # fmt: skip


def test_a_cancellation_retried_after_a_lost_refund_answer_finds_its_refund_and_refunds_once(store, mocked):
    """First attempt: the store applies the refund but answers 502, and it cannot be read back then, so
    the outcome stays unknown. The retry, under the same key, finds the refund and sends nothing."""
    request = CancelRequest("727", lines=(LineCancel("315", 2),), idempotency_key=KEY)
    store_refunds: list[dict[str, Any]] = []
    reads = iter([200, 503, 503, 503, 503, 503, 503, 200])  # the first attempt's reads, then the retry's

    def refunds(prepared):
        status = next(reads)
        return (status, {}, json.dumps(store_refunds if status == 200 else {}))

    def refund_applied_then_lost(prepared):
        body = json.loads(prepared.body)
        store_refunds.append(marked(730, body["amount"], body["meta_data"][0]["value"]))
        return (502, {"Content-Type": "text/html"}, "<html><body>502 Bad Gateway</body></html>")

    mocked.get(f"{API}/orders/727", json=order())
    mocked.add_callback(responses.GET, f"{API}/orders/727/refunds", callback=refunds)
    mocked.add_callback(responses.POST, f"{API}/orders/727/refunds", callback=refund_applied_then_lost)

    with pytest.raises(ChannelUnavailable):
        store.cancel(request)
    result = store.cancel(request)

    posts = [c for c in mocked.calls if c.request.method == "POST"]
    assert len(posts) == 1 and len(store_refunds) == 1
    assert sent_json(posts[0])["meta_data"] == [{"key": "_backorder_refund_request", "value": KEY}]
    assert (result.refunded_amount, result.storefront_reference) == (Decimal("6.45"), "refund:730")


def test_a_refund_answered_5xx_that_landed_is_found_by_its_key_in_the_same_attempt(store, mocked):
    mocked.get(f"{API}/orders/727", json=order())
    mocked.get(f"{API}/orders/727/refunds", json=[refund_answer(700)])  # looked for first: not there
    mocked.post(f"{API}/orders/727/refunds", status=502, body="<html>Bad Gateway</html>")
    mocked.get(f"{API}/orders/727/refunds", json=[refund_answer(700), marked(731, "3.23")])

    result = store.cancel(CancelRequest("727", lines=(LineCancel("315", 1),), idempotency_key=KEY))

    assert result.storefront_reference == "refund:731"
    assert [c.request.method for c in mocked.calls] == ["GET", "GET", "POST", "GET"]


def test_a_whole_order_cancellation_retried_reports_its_earlier_refund_and_only_sets_the_status(
    store, mocked
):
    refunded = order(refunds=[{"id": 732, "reason": "", "total": "-29.35"}], status="refunded")
    mocked.get(f"{API}/orders/727", json=refunded)
    mocked.get(f"{API}/orders/727/refunds", json=[marked(732, "29.35")])
    mocked.put(f"{API}/orders/727", json=order(status="cancelled"))

    result = store.cancel(CancelRequest("727", refund=True, idempotency_key=KEY))

    assert (result.refunded_amount, result.storefront_reference) == (Decimal("29.35"), "refund:732")
    assert [c.request.method for c in mocked.calls] == ["GET", "GET", "PUT"]


def test_an_earlier_refund_past_the_first_page_of_refunds_is_found_and_not_made_again(store, mocked):
    """An order refunded line by line can have more than 100 refunds: the look-up reads every page."""
    first_page = [refund_answer(600 + n) for n in range(100)]
    mocked.get(f"{API}/orders/727", json=order())
    mocked.get(
        f"{API}/orders/727/refunds",
        json=first_page,
        headers={"X-WP-Total": "101", "X-WP-TotalPages": "2"},
        match=[responses.matchers.query_param_matcher({"page": "1", "per_page": "100"})],
    )
    mocked.get(
        f"{API}/orders/727/refunds",
        json=[marked(733, "3.23")],
        headers={"X-WP-Total": "101", "X-WP-TotalPages": "2"},
        match=[responses.matchers.query_param_matcher({"page": "2", "per_page": "100"})],
    )

    result = store.cancel(CancelRequest("727", lines=(LineCancel("315", 1),), idempotency_key=KEY))

    assert result.storefront_reference == "refund:733"
    assert [c.request.method for c in mocked.calls] == ["GET", "GET", "GET"]
