"""The customer's self-cancel and wait-confirmation pages behind a signed link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.models import AuditEntry, Backorder, Cancellation, Merchant, utcnow
from connector.services import auto_cancel, links
from tests.cancel_helpers import backorders_of, level, make_shop, place, unavailable
from tests.signed_tokens import with_a_changed_signature


@pytest.fixture
def shop(app, new_uow):
    shop = make_shop(new_uow)
    app.extensions["backorder"].storefronts = shop
    # 1 A from stock, 2 A waiting, 2 B waiting, 1 C from stock.
    place(new_uow, shop, "1001", [("A", 3), ("B", 2), ("C", 1)], when=utcnow())
    return shop


@pytest.fixture
def link(settings, shop) -> str:
    return links.cancel_url("", settings.secret_key, shop.orders["1001"], utcnow())


def test_the_page_shows_only_the_waiting_units_and_a_confirm_button(client, link):
    response = client.get(link)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<form method="post">' in page and "Cancel the waiting items" in page
    assert "<td>A</td><td>2</td>" in page and "<td>B</td><td>2</td>" in page
    assert "<td>C</td>" not in page  # taken from stock: not the customer's to cancel here
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_confirming_cancels_just_the_waiting_units_once(client, new_uow, shop, link):
    response = client.post(link)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "A refund of 40.00" in response.get_data(as_text=True)
    [request] = shop.storefront.cancels
    assert sorted((line.line_id, line.quantity) for line in request.lines) == [
        ("gid://shopify/LineItem/1001A", 2),
        ("gid://shopify/LineItem/1001B", 2),
    ]
    assert level(new_uow, shop.merchant_id, "A") == (1, 1, 0)
    assert level(new_uow, shop.merchant_id, "C") == (5, 1, 0)
    assert {b.status for b in backorders_of(new_uow, shop.orders["1001"])} == {"cancelled"}

    again = client.post(link)
    assert again.status_code == 409 and "Already cancelled" in again.get_data(as_text=True)
    shown = client.get(link)
    assert shown.status_code == 409 and "Already cancelled" in shown.get_data(as_text=True)
    assert len(shop.storefront.cancels) == 1
    with new_uow() as uow:
        [row] = uow.session.scalars(select(Cancellation)).all()
    assert (row.source, row.requested_by) == ("customer", "customer:ann@example.com")


def test_a_tampered_link_gets_a_clear_400_page(client, link):
    spoiled = with_a_changed_signature(link)
    response = client.get(spoiled)
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)
    assert client.post(spoiled).status_code == 400


def test_an_expired_link_gets_a_clear_410_page(client, settings, shop):
    old = links.cancel_url("", settings.secret_key, shop.orders["1001"], utcnow() - timedelta(days=31))
    for response in (client.get(old), client.post(old)):
        assert response.status_code == 410
        assert "This link has expired" in response.get_data(as_text=True)
    assert shop.storefront.cancels == []


def test_when_nothing_waits_any_more_the_page_says_so(client, new_uow, shop, link):
    with new_uow() as uow:
        for row in uow.session.scalars(select(Backorder)):
            row.quantity_allocated, row.status = row.quantity, "allocated"
        uow.commit()
    assert "Nothing is waiting any more" in client.get(link).get_data(as_text=True)
    response = client.post(link)
    assert response.status_code == 409 and shop.storefront.cancels == []


def test_a_storefront_failure_asks_to_retry_and_the_same_link_then_works(client, new_uow, shop, link):
    shop.storefront.fail_next.append(unavailable())
    failed = client.post(link)
    assert failed.status_code == 503 and "try again" in failed.get_data(as_text=True)
    assert level(new_uow, shop.merchant_id, "B") == (0, 2, 2)
    assert client.post(link).status_code == 200
    assert level(new_uow, shop.merchant_id, "B") == (0, 0, 0)


def test_the_wait_page_confirms_a_customer_who_was_asked(client, new_uow, settings, shop, link):
    with new_uow() as uow:
        uow.session.get(Merchant, shop.merchant_id).settings = {"confirm_before_cancel": True}
        uow.commit()
    assert "Nothing to confirm" in client.get(link + "/wait").get_data(as_text=True)
    policy_links = auto_cancel.LinkSettings("https://x.example", settings.secret_key)
    auto_cancel.sweep(new_uow, shop.storefront_for, policy_links, now=utcnow() + timedelta(days=61))
    page = client.get(link + "/wait")
    assert page.status_code == 200 and "Yes, I will wait" in page.get_data(as_text=True)
    confirmed = client.post(link + "/wait")
    assert confirmed.status_code == 200 and "Thank you" in confirmed.get_data(as_text=True)
    assert all(b.wait_confirmed_at for b in backorders_of(new_uow, shop.orders["1001"]))
    with new_uow() as uow:
        actions = uow.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("backorder.wait%"))
        )
        assert sorted(set(actions)) == ["backorder.wait_confirm_requested", "backorder.wait_confirmed"]
    assert shop.storefront.cancels == []
