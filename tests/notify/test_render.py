"""How messages read: the merchant's name and language, dates by Babel, links, and safe HTML."""

import pytest

from connector.notify.render import Links, RenderError, render

PAYLOAD = {
    "order_number": "1001",
    "customer_name": "Ada Lovelace",
    "sku": "TEE",
    "title": "Navy Tee",
    "quantity": 2,
    "eta": "2026-12-14",
    "promised_date": "2026-12-10",
    "wait_text": "Ships in 3–4 weeks",
    "substitutes": [
        {"sku": "TEE-GREY", "title": "Grey Tee", "reason": "same cut"},
        {"sku": "TEE-BLK", "title": "Black Tee", "reason": ""},
        {"sku": "POLO", "title": "Navy Polo", "reason": "same colour"},
        {"sku": "CAP", "title": "Cap", "reason": "fourth"},
    ],
}
LINKS = Links("https://app.example/cancel/abc", "https://app.example/notifications/unsubscribe/xyz")


def test_a_confirmation_shows_the_eta_wait_text_three_substitutes_and_both_links():
    message = render("confirmed", PAYLOAD, shop="Demo Shop", locale="en", links=LINKS)
    assert message.subject == "Order #1001: Navy Tee is on backorder"
    for shown in (
        "Hello Ada,",
        "December 14, 2026",
        "Ships in 3–4 weeks",
        "Grey Tee (same cut)",
        "Navy Polo",
    ):
        assert shown in message.text
    assert "Cap" not in message.text
    assert LINKS.cancel_url in message.text and LINKS.unsubscribe_url in message.text
    assert "Demo Shop" in message.text
    assert f'href="{LINKS.cancel_url}"' in message.html and "<li>Grey Tee" in message.html


def test_dates_follow_the_merchant_locale():
    british = render("confirmed", PAYLOAD, shop="S", locale="en_GB", links=Links())
    german = render("confirmed", PAYLOAD, shop="S", locale="de_DE", links=Links())
    assert "14 December 2026" in british.text
    assert "14. Dezember 2026" in german.text  # English wording (no German templates yet), German date


def test_an_unknown_locale_falls_back_to_english():
    assert "December 14, 2026" in render("confirmed", PAYLOAD, shop="S", locale="zz", links=Links()).text


def test_the_html_escapes_what_customers_and_merchants_typed():
    payload = {**PAYLOAD, "title": "<script>alert(1)</script>", "customer_name": "<b>Eve</b>"}
    message = render("ready", payload, shop="A & B <Shop>", locale="en", links=Links())
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "A &amp; B &lt;Shop&gt;" in message.html
    assert "<script>alert(1)</script>" in message.text  # plain text is not HTML


def test_a_subject_is_one_line_whatever_the_title_holds():
    message = render(
        "ready",
        {**PAYLOAD, "title": "Tee\r\nBcc: everyone@example.com"},
        shop="S",
        locale="en",
        links=Links(),
    )
    assert "\n" not in message.subject and "\r" not in message.subject


def test_an_eta_move_says_from_what_to_what():
    payload = {**PAYLOAD, "previous_eta": "2026-12-20"}
    text = render("eta_moved", payload, shop="S", locale="en", links=Links()).text
    assert "Before: December 20, 2026" in text and "Now: December 14, 2026" in text
    assert "for the better" in text


def test_a_cancellation_names_the_lines_and_the_refund_in_the_shop_currency():
    payload = {
        "order_number": "#5",
        "lines": [{"sku": "TEE", "title": "Navy Tee", "quantity": 1}],
        "refunded_amount": "19.9",
        "currency": "EUR",
    }
    text = render("cancelled", payload, shop="S", locale="de", links=Links()).text
    assert "1 × Navy Tee" in text and "19,90\xa0€ is refunded" in text


def test_an_unknown_kind_cannot_be_rendered():
    with pytest.raises(RenderError, match="no txt template"):
        render("nonsense", PAYLOAD, shop="S", locale="en", links=Links())
