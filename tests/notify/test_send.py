"""Delivery to a real local SMTP server: once, retried with backoff, failed for good, or by order note."""

import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from adapters.errors import ChannelUnavailable, NotSupportedByChannel
from connector.models import Backorder, Notification, NotificationOptOut
from connector.notify import send
from connector.notify.events import create_due
from connector.notify.send import MAX_ATTEMPTS, Sender, send_pending
from connector.notify.smtp import MailNotConfigured, SmtpMailer, SmtpTarget
from connector.settings import Settings
from tests.notify.factories import change, shop, waiting_order
from tests.notify.smtp import AnyPortController, Mailbox, html_of, text_of

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ETA = NOW.date() + timedelta(days=20)


def make_settings(tmp_path, database_url, smtp_url=None) -> Settings:
    env = {"VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url, "APP_URL": "https://bo.example"}
    return Settings.from_env(env | ({"SMTP_URL": smtp_url} if smtp_url else {}))


@pytest.fixture
def sender(smtp, tmp_path, database_url):
    return Sender(make_settings(tmp_path, database_url, smtp[1]))


@pytest.fixture
def confirmation(new_uow):
    merchant = shop(new_uow)
    waiting = waiting_order(new_uow, merchant, placed=NOW, eta=ETA)
    create_due(new_uow, NOW)
    return waiting


def the_notification(new_uow) -> Notification:
    with new_uow() as uow:
        return uow.session.scalars(select(Notification)).one()


def test_a_due_message_is_mailed_once_with_text_html_and_an_unsubscribe_header(
    new_uow, smtp, sender, confirmation
):
    mailbox, _ = smtp
    assert send_pending(new_uow, sender, NOW) == {"claimed": 1, "sent": 1}
    assert send_pending(new_uow, sender, NOW + timedelta(minutes=10)) == {"claimed": 0}
    [mail] = mailbox.messages
    assert mail["To"] == "ada@example.com" and mail["From"] == "Test Shop <noreply@bo.example>"
    assert mail["Subject"] == "Order #1001: Navy Tee is on backorder"
    assert (
        mail["Message-ID"]
        == f"<notification-{the_notification(new_uow).id}.{confirmation.merchant_id}@bo.example>"
    )
    assert mail["List-Unsubscribe"].startswith("<https://bo.example/notifications/unsubscribe/")
    assert "Ships in 2–3 weeks" in text_of(mail) and "Navy Tee" in html_of(mail)
    row = the_notification(new_uow)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 1, NOW, None)
    assert [e["outcome"] for e in row.payload["delivery_log"]] == ["sent"]


def test_a_temporary_refusal_is_retried_after_the_backoff_and_then_sent(new_uow, smtp, sender, confirmation):
    mailbox, _ = smtp
    mailbox.fail_next = 1
    assert send_pending(new_uow, sender, NOW) == {"claimed": 1, "pending": 1}
    row = the_notification(new_uow)
    assert (row.status, row.attempts, row.send_after) == ("pending", 1, NOW + timedelta(minutes=1))
    assert "451" in row.last_error
    assert send_pending(new_uow, sender, NOW + timedelta(seconds=30)) == {"claimed": 0}
    assert send_pending(new_uow, sender, NOW + timedelta(minutes=1)) == {"claimed": 1, "sent": 1}
    assert len(mailbox.messages) == 1
    row = the_notification(new_uow)
    assert (row.status, row.attempts) == ("sent", 2)
    assert [e["outcome"] for e in row.payload["delivery_log"]] == ["pending", "sent"]


def test_an_unreachable_server_is_retried_with_growing_waits_then_given_up(
    new_uow, tmp_path, database_url, confirmation
):
    closed = Sender(make_settings(tmp_path, database_url, "smtp://127.0.0.1:9"))  # discard: nothing listens
    at, waits = NOW, []
    for _ in range(MAX_ATTEMPTS):
        send_pending(new_uow, closed, at)
        row = the_notification(new_uow)
        waits.append(row.send_after - at)
        at = row.send_after
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert "ConnectionRefusedError" in row.last_error
    assert send_pending(new_uow, closed, at + timedelta(days=1)) == {"claimed": 0}


def test_a_recipient_refused_for_good_fails_at_once(new_uow, smtp, sender, confirmation):
    smtp[0].unknown_recipients.add("ada@example.com")
    assert send_pending(new_uow, sender, NOW) == {"claimed": 1, "failed": 1}
    row = the_notification(new_uow)
    assert row.status == "failed" and "recipient refused" in row.last_error


def test_without_smtp_url_messages_wait_and_say_why(new_uow, tmp_path, database_url, confirmation):
    assert send_pending(new_uow, Sender(make_settings(tmp_path, database_url)), NOW)["pending"] == 1
    assert "SMTP_URL is not set" in the_notification(new_uow).last_error


def test_a_message_no_longer_true_is_skipped_not_sent(new_uow, smtp, sender, confirmation):
    change(new_uow, Backorder, confirmation.backorder_id, status="allocated", quantity_allocated=2)
    assert send_pending(new_uow, sender, NOW) == {"claimed": 1, "skipped": 1}
    assert smtp[0].messages == [] and the_notification(new_uow).last_error == "the backorder is allocated now"


def test_still_waiting_is_not_sent_to_a_customer_who_opted_out_after_it_was_recorded(new_uow, smtp, sender):
    merchant = shop(new_uow, settings={"still_waiting_days": 7})
    waiting_order(new_uow, merchant, placed=NOW, eta=ETA)
    create_due(new_uow, NOW)
    send_pending(new_uow, sender, NOW)
    create_due(new_uow, NOW + timedelta(days=7))
    with new_uow() as uow:
        uow.session.add(NotificationOptOut(merchant_id=merchant, email="ada@example.com"))
        uow.commit()
    assert send_pending(new_uow, sender, NOW + timedelta(days=7)) == {"claimed": 1, "skipped": 1}
    assert len(smtp[0].messages) == 1


class FakeNotes:
    """A storefront port that takes customer-visible notes, or refuses them like Shopify does."""

    def __init__(self, error: Exception | None = None):
        self.error, self.notes = error, []

    def get(self, channel):
        return self

    def add_order_note(self, order_id, note, *, customer_visible):
        if self.error:
            raise self.error
        self.notes.append((order_id, note, customer_visible))


def note_merchant(new_uow):
    merchant = shop(new_uow, settings={"notify_by_order_note": True})
    waiting_order(new_uow, merchant, placed=NOW, eta=ETA)
    create_due(new_uow, NOW)


def test_by_order_note_the_customer_gets_a_visible_note_and_no_email(new_uow, smtp, sender):
    note_merchant(new_uow)
    sender.storefronts = FakeNotes()
    assert send_pending(new_uow, sender, NOW)["sent"] == 1
    [(order, text, visible)] = sender.storefronts.notes
    assert (order, visible) == ("ext-#1001", True) and "Navy Tee" in text and "unsubscribe" not in text
    assert smtp[0].messages == [] and the_notification(new_uow).delivery == "order_note"


def test_a_storefront_without_customer_notes_gets_an_email_instead_and_the_row_says_why(
    new_uow, smtp, sender
):
    note_merchant(new_uow)
    sender.storefronts = FakeNotes(NotSupportedByChannel("Shopify has no customer-visible order note"))
    assert send_pending(new_uow, sender, NOW)["sent"] == 1
    assert len(smtp[0].messages) == 1
    row = the_notification(new_uow)
    assert (row.delivery, row.status) == ("email", "sent")
    assert "Shopify has no customer-visible order note" in row.last_error


def test_a_storefront_that_is_down_gets_the_note_later(new_uow, smtp, sender):
    note_merchant(new_uow)
    sender.storefronts = FakeNotes(ChannelUnavailable("503 from the store"))
    assert send_pending(new_uow, sender, NOW)["pending"] == 1
    assert smtp[0].messages == [] and the_notification(new_uow).delivery == "order_note"


def test_two_senders_at_once_send_each_message_once(new_uow, smtp, sender):
    merchant = shop(new_uow)
    for n in range(10):
        waiting_order(new_uow, merchant, placed=NOW, eta=ETA, number=f"#{n}", email=f"c{n}@example.com")
    create_due(new_uow, NOW)
    start = threading.Barrier(2)

    def run():
        start.wait()
        send_pending(new_uow, sender, NOW)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(m["To"] for m in smtp[0].messages) == sorted(f"c{n}@example.com" for n in range(10))


def test_a_crashed_run_leaves_its_claim_to_be_taken_again_after_the_lease(
    new_uow, smtp, sender, confirmation
):
    assert send.claim(new_uow, NOW, 10) != []  # claimed, then the process died before sending
    assert send_pending(new_uow, sender, NOW + timedelta(minutes=1)) == {"claimed": 0}
    assert send_pending(new_uow, sender, NOW + send.LEASE)["sent"] == 1


def test_a_run_whose_hold_ran_out_does_not_send_what_another_run_took_over(
    new_uow, smtp, sender, confirmation
):
    # A slow store (apology codes) can keep a run past its hold; the row is then another run's.
    slow_run = send.claim(new_uow, NOW, 10)
    assert send_pending(new_uow, sender, NOW + send.LEASE)["sent"] == 1
    assert send.send_claimed(new_uow, sender, slow_run, NOW + send.LEASE) == {"claimed": 1, "taken_over": 1}
    assert len(smtp[0].messages) == 1


def test_smtp_credentials_stay_out_of_repr_and_are_never_sent_in_clear_to_a_remote_host():
    target = SmtpTarget.from_url("smtp://mailer:s3cr%40t@mail.example:2525")
    assert (target.username, target.password, target.port) == ("mailer", "s3cr@t", 2525)
    assert "s3cr" not in repr(target) and target.where == "mail.example:2525"
    with pytest.raises(MailNotConfigured, match="SMTP_URL is not set"):
        SmtpTarget.from_url(None)
    assert SmtpTarget.from_url("smtps://mail.example").port == 465


def test_login_with_the_credentials_from_the_url():
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)

    mailbox = Mailbox()
    controller = AnyPortController(
        mailbox, hostname="127.0.0.1", port=0, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        target = SmtpTarget.from_url(f"smtp://mailer:pa%3Ass@127.0.0.1:{controller.port}")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "hi"
        message.set_content("hello")
        with SmtpMailer(target, timeout=5) as mailer:
            mailer.send(message)
    finally:
        controller.stop()
    assert seen == [(b"mailer", b"pa:ss")] and len(mailbox.messages) == 1
