"""Signed customer links and support API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from connector.errors import InvalidInput
from connector.models import ApiToken
from connector.services import links, merchants, tokens
from tests.signed_tokens import with_a_changed_signature

SECRET = "a-secret-key-of-enough-length"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_a_cancel_link_carries_its_order_until_it_expires():
    url = links.cancel_url("https://connector.example/", SECRET, 42, NOW, ttl_days=30)
    assert url.startswith("https://connector.example/c/")
    token = url.rsplit("/", 1)[1]
    assert links.read_cancel_token(SECRET, token, NOW + timedelta(days=29)) == 42
    with pytest.raises(links.LinkExpired) as expired:
        links.read_cancel_token(SECRET, token, NOW + timedelta(days=30, seconds=1))
    assert expired.value.status == 410 and expired.value.order_id == 42


@pytest.mark.parametrize(
    "spoil",
    [
        with_a_changed_signature,
        lambda t: t[:10],
        lambda t: "",
        lambda t: t.replace(".", "", 1),
    ],
)
def test_a_tampered_link_is_refused_as_invalid(spoil):
    token = links.cancel_token(SECRET, 42, NOW)
    with pytest.raises(links.LinkInvalid) as invalid:
        links.read_cancel_token(SECRET, spoil(token), NOW)
    assert invalid.value.status == 400


def test_a_link_signed_with_another_key_is_invalid():
    token = links.cancel_token("another-secret-key-entirely", 42, NOW)
    with pytest.raises(links.LinkInvalid):
        links.read_cancel_token(SECRET, token, NOW)


def test_the_wait_link_is_the_cancel_link_with_a_wait_page():
    assert (
        links.wait_url("https://x.example", SECRET, 7, NOW)
        == links.cancel_url("https://x.example", SECRET, 7, NOW) + "/wait"
    )


def test_a_token_is_shown_once_and_kept_only_as_its_hash(new_uow):
    merchant = merchants.create_merchant(new_uow(), "Acme")
    issued = tokens.create_token(new_uow(), merchant, "support", label="desk", now=NOW)
    with new_uow() as uow:
        [row] = uow.session.scalars(select(ApiToken)).all()
    assert row.token_hash == tokens.hash_token(issued.token) and issued.token not in row.token_hash
    caller = tokens.authenticate(new_uow(), issued.token, now=NOW)
    assert (caller.merchant_id, caller.role, caller.actor) == (merchant, "support", f"token:{row.id} (desk)")


def test_a_revoked_unknown_or_missing_token_is_unauthorized(new_uow):
    merchant = merchants.create_merchant(new_uow(), "Acme")
    issued = tokens.create_token(new_uow(), merchant, "admin", now=NOW)
    assert tokens.revoke_token(new_uow(), merchant, issued.id, now=NOW)
    assert not tokens.revoke_token(new_uow(), merchant, issued.id, now=NOW)
    for presented, message in ((issued.token, "revoked"), ("bo_nope", "unknown"), (None, "missing")):
        with pytest.raises(tokens.Unauthorized, match=message):
            tokens.authenticate(new_uow(), presented, now=NOW)


def test_a_token_role_must_be_support_or_admin(new_uow):
    merchant = merchants.create_merchant(new_uow(), "Acme")
    with pytest.raises(InvalidInput, match="--role must be one of support, admin"):
        tokens.create_token(new_uow(), merchant, "root", now=NOW)
