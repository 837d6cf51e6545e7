"""The inbox as operators see it: which headers are shown, and which deliveries a bulk retry takes."""

from sqlalchemy import select

from connector.models import InboxDelivery, utcnow
from connector.services import deliveries


def store(new_uow, status, headers=None, body=b"{}", channel_id=None):
    with new_uow() as uow:
        row = InboxDelivery(
            channel_id=channel_id,
            platform="woocommerce",
            topic="product.updated",
            dedupe_key=f"{status}-{utcnow().isoformat()}-{len(headers or {})}-{body!r}",
            headers=headers or {},
            body=body,
            status=status,
            attempts=5 if status == "failed" else 1,
            error="ValueError: no such product" if status == "failed" else None,
        )
        uow.session.add(row)
        uow.commit()
        return row.id


def test_a_delivery_is_shown_with_the_platforms_headers_and_never_a_signature_or_a_proxys(new_uow):
    delivery_id = store(
        new_uow,
        "failed",
        {
            "X-Wc-Webhook-Topic": "product.updated",
            "X-Wc-Webhook-Signature": "c2lnbmF0dXJl",
            "X-Shopify-Hmac-Sha256": "aG1hYw==",
            "X-Proxy-Api-Key": "proxy-secret",
            "Content-Type": "application/json",
        },
        body=b'{"id": 7}',
    )
    with new_uow() as uow:
        shown = deliveries.show_delivery(uow, delivery_id)
    assert shown["headers"] == {"X-Wc-Webhook-Topic": "product.updated", "Content-Type": "application/json"}
    assert (shown["body"], shown["error"]) == ({"id": 7}, "ValueError: no such product")


def test_a_bulk_retry_takes_failed_deliveries_only(new_uow):
    failed = {store(new_uow, "failed", body=f"{n}".encode()) for n in range(2)}
    others = {store(new_uow, status) for status in ("processed", "ignored", "received")}
    with new_uow() as uow:
        assert deliveries.requeue_failed(uow, utcnow()) == 2
        uow.commit()
    with new_uow() as uow:
        rows = {row.id: row for row in uow.session.scalars(select(InboxDelivery))}
    assert {i for i, row in rows.items() if row.status == "received"} == failed | {max(others)}
    assert all(rows[i].attempts == 0 and rows[i].error is None for i in failed)
    assert [rows[i].status for i in sorted(others)] == ["processed", "ignored", "received"]
