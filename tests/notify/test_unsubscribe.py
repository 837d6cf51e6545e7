"""The unsubscribe link: a confirmation page first, then an opt-out recorded once; forged links refused."""

from sqlalchemy import select

from connector.models import NotificationOptOut
from connector.notify.optout import read_token, unsubscribe_token, unsubscribe_url
from tests.notify.factories import shop
from tests.signed_tokens import with_a_changed_signature


def opted_out(new_uow):
    with new_uow() as uow:
        return list(uow.session.scalars(select(NotificationOptOut.email)))


def test_opening_the_link_asks_first_and_confirming_records_the_opt_out_once(client, settings, new_uow):
    merchant = shop(new_uow)
    path = f"/notifications/unsubscribe/{unsubscribe_token(settings.secret_key, merchant, 'Ada@Example.com')}"
    page = client.get(path)
    assert page.status_code == 200 and "Test Shop" in page.text and '<form method="post">' in page.text
    assert opted_out(new_uow) == []  # a mail scanner following the link unsubscribes nobody
    for _ in range(2):
        done = client.post(path)
        assert done.status_code == 200 and "will send no more" in done.text
    assert opted_out(new_uow) == ["ada@example.com"]
    assert done.headers["Cache-Control"] == "no-store"


def test_one_click_unsubscribe_from_the_mail_header_works_without_the_page(client, settings, new_uow):
    merchant = shop(new_uow)
    path = f"/notifications/unsubscribe/{unsubscribe_token(settings.secret_key, merchant, 'ada@example.com')}"
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert opted_out(new_uow) == ["ada@example.com"]


def test_a_changed_or_foreign_link_is_refused_with_a_clear_page(client, settings, new_uow):
    merchant = shop(new_uow)
    token = unsubscribe_token(settings.secret_key, merchant, "ada@example.com")
    forged = unsubscribe_token("another-secret-key-entirely", merchant, "ada@example.com")
    for bad in (with_a_changed_signature(token), forged, "nonsense"):
        response = client.post(f"/notifications/unsubscribe/{bad}")
        assert response.status_code == 400 and "not valid" in response.text
    assert opted_out(new_uow) == []


def test_a_token_names_the_merchant_and_the_address_and_nothing_else():
    url = unsubscribe_url("https://bo.example/", "k" * 32, 4, " Ada@Example.com ")
    assert url.startswith("https://bo.example/notifications/unsubscribe/")
    assert read_token("k" * 32, url.rsplit("/", 1)[1]) == (4, "ada@example.com")
