"""The delay apology's discount code: made once on the storefront, whatever fails, or told why not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from adapters.base import DiscountCode
from adapters.errors import ChannelUnavailable, OutcomeUnknown, RejectedByChannel
from connector.cli import main
from connector.errors import InvalidInput
from connector.models import AuditEntry, Merchant, Notification
from connector.notify import apology, send
from connector.notify.discount_setting import ApologyDiscount
from connector.notify.events import create_due
from connector.notify.send import Sender, send_pending
from connector.settings import Settings
from tests.notify.factories import shop, waiting_order
from tests.notify.smtp import html_of, text_of

PLACED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PROMISED = PLACED.date() + timedelta(days=20)
LATE = PLACED + timedelta(days=23)  # three days past the promised date
TEN_PERCENT = {"type": "percentage", "value": "10", "expiry_days": 30}


class FakeStore:
    """A storefront keeping discount codes as the adapters present them: a code it already has comes
    back as existing. `fail` raises before anything happens; `lose_answers` makes that many creates
    land and then time out."""

    def __init__(self, *fail: Exception, lose_answers: int = 0):
        self.fail, self.lose_answers = list(fail), lose_answers
        self.codes: dict[str, str] = {}
        self.requests = []

    def get(self, channel):
        return self

    def create_discount_code(self, request):
        self.requests.append(request)
        if self.fail:
            raise self.fail.pop(0)
        if request.code in self.codes:
            return DiscountCode(request.code, self.codes[request.code], created=False)
        self.codes[request.code] = f"gid://shopify/DiscountCodeNode/{len(self.codes) + 1}"
        if self.lose_answers:
            self.lose_answers -= 1
            raise OutcomeUnknown("discountCodeBasicCreate: ReadTimeout before an answer")
        return DiscountCode(request.code, self.codes[request.code], created=True)


@pytest.fixture
def sender(smtp, tmp_path, database_url):
    env = {"VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url, "APP_URL": "https://bo.example"}
    return Sender(Settings.from_env({**env, "SMTP_URL": smtp[1]}))


def late_backorder(new_uow, sender, settings: dict | None = None):
    """A backorder confirmed when placed and now past its promised date: its apology is recorded."""
    merchant = shop(new_uow, settings=settings)
    waiting = waiting_order(new_uow, merchant, placed=PLACED, eta=PROMISED)
    create_due(new_uow, PLACED)
    send_pending(new_uow, sender, PLACED)
    assert create_due(new_uow, LATE)["delayed"] == 1
    return waiting


def apology_row(new_uow) -> Notification:
    with new_uow() as uow:
        return uow.session.scalars(select(Notification).where(Notification.kind == "delayed")).one()


def apologies(smtp):
    return [m for m in smtp[0].messages if "we are sorry" in m["Subject"]]


def test_the_apology_carries_a_code_made_once_on_the_orders_storefront(new_uow, smtp, sender):
    waiting = late_backorder(new_uow, sender, {"apology_discount": TEN_PERCENT})
    sender.storefronts = FakeStore()

    assert send_pending(new_uow, sender, LATE)["sent"] == 1
    create_due(new_uow, LATE + timedelta(hours=1))
    send_pending(new_uow, sender, LATE + timedelta(hours=1))

    [request] = sender.storefronts.requests
    code = apology.code_for(sender.settings.secret_key, waiting.merchant_id, waiting.backorder_id)
    assert (request.code, request.kind, str(request.value)) == (code, "percentage", "10")
    assert (request.starts_at, request.ends_at) == (LATE, LATE + timedelta(days=30))
    assert request.customer_email == "ada@example.com" and "#1001" in request.title
    assert list(sender.storefronts.codes) == [code]
    [mail] = apologies(smtp)
    assert f"discount code for your next order: {code}" in text_of(mail)
    assert "10% off, single use, valid until December 25, 2026" in text_of(mail)
    assert code in html_of(mail)
    discount = apology_row(new_uow).payload["discount"]
    assert (discount["status"], discount["reference"]) == ("created", "gid://shopify/DiscountCodeNode/1")


def test_a_store_slow_enough_to_outlast_the_hold_leaves_the_apology_to_the_run_that_took_it_over(
    new_uow, smtp, sender
):
    late_backorder(new_uow, sender, {"apology_discount": TEN_PERCENT})
    store = FakeStore()

    class SlowStore(FakeStore):
        def create_discount_code(self, request):
            # While this call hangs, the hold runs out and the next run sends the apology.
            sender.storefronts = store
            assert send_pending(new_uow, sender, LATE + send.LEASE)["sent"] == 1
            return store.create_discount_code(request)

    sender.storefronts = SlowStore()
    assert send_pending(new_uow, sender, LATE) == {"claimed": 1, "taken_over": 1}
    assert len(apologies(smtp)) == 1 and len(store.codes) == 1


def test_codes_differ_per_backorder_and_cannot_be_made_without_the_key():
    one, two = apology.code_for("key-a" * 4, 1, 7), apology.code_for("key-a" * 4, 1, 8)
    assert one != two and one.startswith("SORRY-") and len(one) == 16
    assert apology.code_for("key-b" * 4, 1, 7) != one
    assert apology.code_for("key-a" * 4, 1, 7) == one


def test_a_create_that_landed_but_timed_out_is_found_on_the_retry_and_not_made_twice(new_uow, smtp, sender):
    late_backorder(new_uow, sender, {"apology_discount": TEN_PERCENT})
    sender.storefronts = FakeStore(lose_answers=1)

    assert send_pending(new_uow, sender, LATE) == {"claimed": 1, "pending": 1}
    held = apology_row(new_uow)
    assert apologies(smtp) == []
    assert held.payload["discount"]["status"] == "creating"  # recorded before the storefront was asked
    assert "discount code not created yet" in held.last_error

    assert send_pending(new_uow, sender, LATE + timedelta(minutes=1))["sent"] == 1

    first, second = sender.storefronts.requests
    assert first.code == second.code and len(sender.storefronts.codes) == 1
    [mail] = apologies(smtp)
    assert first.code in text_of(mail)


def test_a_code_the_storefront_refuses_leaves_it_out_and_records_why(new_uow, smtp, sender):
    waiting = late_backorder(new_uow, sender, {"apology_discount": TEN_PERCENT})
    sender.storefronts = FakeStore(
        RejectedByChannel("discount code: Access denied for discountCodeBasicCreate")
    )

    assert send_pending(new_uow, sender, LATE)["sent"] == 1

    [mail] = apologies(smtp)
    assert "discount code" not in text_of(mail) and "we are sorry" in mail["Subject"]
    discount = apology_row(new_uow).payload["discount"]
    assert discount["status"] == "refused" and "Access denied" in discount["reason"]
    assert "discount_code" not in apology_row(new_uow).payload
    with new_uow() as uow:
        actions = uow.session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject == f"backorder:{waiting.backorder_id}")
        ).all()
    assert actions == ["notification.discount_planned", "notification.discount_refused"]


class UnreachableStores:
    """A storefront cache failing in a way nobody planned for."""

    def get(self, channel):
        raise KeyError("api_version")


@pytest.mark.parametrize(
    ("storefronts", "error"),
    [
        (lambda: FakeStore(KeyError("codeDiscountNodeByCode")), "KeyError"),  # an answer of another shape
        (UnreachableStores, "KeyError"),  # before the store is even asked
        (lambda: FakeStore(TypeError("'NoneType' object is not subscriptable")), "TypeError"),
    ],
    ids=["answer-of-another-shape", "failing-storefront-cache", "none-where-a-dict-was-expected"],
)
def test_an_unexpected_error_sends_the_apology_without_a_code_and_does_not_block_the_run(
    new_uow, smtp, sender, storefronts, error
):
    late_backorder(new_uow, sender, {"apology_discount": TEN_PERCENT})
    sender.storefronts = storefronts()

    assert send_pending(new_uow, sender, LATE)["sent"] == 1

    [mail] = apologies(smtp)
    assert "discount code" not in text_of(mail)
    discount = apology_row(new_uow).payload["discount"]
    assert discount["status"] == "refused" and discount["reason"].startswith(f"unexpected {error}")
    assert send_pending(new_uow, sender, LATE + timedelta(minutes=1)).get("sent", 0) == 0
    assert len(apologies(smtp)) == 1


def test_a_store_that_stays_down_holds_the_apology_for_three_tries_then_it_goes_without(
    new_uow, smtp, sender
):
    late_backorder(new_uow, sender, {"apology_discount": TEN_PERCENT})
    down = ChannelUnavailable("HTTP 503, still failing after 6 attempts")
    sender.storefronts = FakeStore(down, down, down)

    assert send_pending(new_uow, sender, LATE)["pending"] == 1
    assert send_pending(new_uow, sender, LATE + timedelta(minutes=1))["pending"] == 1
    assert send_pending(new_uow, sender, LATE + timedelta(minutes=3))["sent"] == 1

    assert len(sender.storefronts.requests) == 3 and len(apologies(smtp)) == 1
    discount = apology_row(new_uow).payload["discount"]
    assert discount["status"] == "failed" and "gave up after 3" in discount["reason"]


def test_without_the_setting_no_code_is_asked_for(new_uow, smtp, sender):
    late_backorder(new_uow, sender)
    sender.storefronts = FakeStore()
    assert send_pending(new_uow, sender, LATE)["sent"] == 1
    assert sender.storefronts.requests == [] and "discount" not in apology_row(new_uow).payload
    assert "discount code" not in text_of(apologies(smtp)[0])


def test_an_unusable_stored_setting_sends_the_apology_without_a_code_and_says_so(new_uow, smtp, sender):
    late_backorder(new_uow, sender, {"apology_discount": {"type": "half-price"}})
    sender.storefronts = FakeStore()
    assert send_pending(new_uow, sender, LATE)["sent"] == 1
    assert sender.storefronts.requests == []
    discount = apology_row(new_uow).payload["discount"]
    assert discount["status"] == "refused" and "percentage or fixed_amount" in discount["reason"]


def test_a_disconnected_store_sends_the_apology_without_a_code(new_uow, smtp, sender):
    late_backorder(new_uow, sender, {"apology_discount": TEN_PERCENT})
    sender.storefronts = None
    assert send_pending(new_uow, sender, LATE)["sent"] == 1
    assert apology_row(new_uow).payload["discount"]["status"] == "refused"


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        ({"type": "percentage", "value": "101"}, "at most 100"),
        ({"type": "percentage", "value": "0"}, "above 0"),
        ({"type": "fixed_amount", "value": "4.999"}, "two decimals"),
        ({"type": "fixed_amount", "value": "five"}, "must be a number"),
        ({"type": "fixed_amount", "value": "5", "expiry_days": 0}, "from 1 to 365"),
        ({"type": "fixed_amount", "value": "5", "code": "X"}, "unknown apology_discount setting"),
    ],
)
def test_a_malformed_setting_names_what_is_wrong(stored, problem):
    with pytest.raises(InvalidInput, match=problem):
        ApologyDiscount.from_mapping(stored)


def test_the_setting_defaults_to_thirty_days():
    assert ApologyDiscount.from_mapping({"type": "fixed_amount", "value": 5}).expiry_days == 30
    assert ApologyDiscount.from_mapping(None) is None


@pytest.fixture
def cli(monkeypatch, tmp_path, database_url, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))

    def run(*args: str) -> tuple[int, dict]:
        code = main([*args, "--json"])
        lines = capsys.readouterr().out.strip().splitlines()
        return code, json.loads(lines[-1]) if lines else {}

    return run


def test_the_cli_sets_changes_shows_and_turns_off_the_discount(cli, new_uow):
    merchant = str(shop(new_uow))
    assert cli("apology-discount", "--merchant", merchant) == (0, {"merchant": int(merchant), "apology_discount": None})  # fmt: skip
    code, set_ = cli("apology-discount", "--merchant", merchant, "--percentage", "15")
    assert code == 0 and set_["apology_discount"] == {"type": "percentage", "value": "15", "expiry_days": 30}
    assert cli("apology-discount", "--merchant", merchant, "--expiry-days", "14")[1]["apology_discount"] == {
        "type": "percentage",
        "value": "15",
        "expiry_days": 14,
    }
    assert cli("apology-discount", "--merchant", merchant, "--fixed-amount", "5.5")[1][
        "apology_discount"
    ] == {
        "type": "fixed_amount",
        "value": "5.5",
        "expiry_days": 14,
    }
    assert cli("apology-discount", "--merchant", merchant, "--percentage", "150")[0] == 1
    assert cli("apology-discount", "--merchant", merchant, "--off")[1]["apology_discount"] is None
    with new_uow() as uow:
        assert "apology_discount" not in uow.session.get(Merchant, int(merchant)).settings
        audited = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "settings.apology_discount")
        ).all()
    assert len(audited) == 4
    assert (
        cli("apology-discount", "--merchant", merchant, "--expiry-days", "3")[0] == 1
    )  # off: nothing to change
