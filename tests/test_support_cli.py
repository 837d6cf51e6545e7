"""`backorder token …` and `backorder cancel …`, run the way support runs them."""

from __future__ import annotations

import json

import pytest

from connector.cli import main, support_commands
from connector.models import utcnow
from connector.services import tokens
from tests.cancel_helpers import level, line_id, make_shop, place


@pytest.fixture
def cli(monkeypatch, tmp_path, database_url, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("APP_ENV", raising=False)

    def run(*args: str) -> tuple[int, dict]:
        code = main([*args, "--json"])
        lines = capsys.readouterr().out.strip().splitlines()
        return code, json.loads(lines[-1]) if lines else {}

    return run


@pytest.fixture
def shop(new_uow, monkeypatch):
    shop = make_shop(new_uow)
    monkeypatch.setattr(support_commands, "StorefrontCache", lambda settings: shop)
    place(new_uow, shop, "1001", [("A", 3), ("B", 2)])
    return shop


def test_a_token_is_created_shown_once_listed_without_secret_and_revoked(cli, new_uow, shop):
    code, created = cli("token", "create", "--merchant", "Test Shop", "--role", "support", "--label", "desk")
    assert code == 0 and created["token"].startswith("bo_") and created["role"] == "support"
    code, listed = cli("token", "list", "--merchant", "Test Shop")
    assert code == 0
    assert set(listed["tokens"][0]) == {"id", "role", "label", "created_at", "last_used_at", "revoked_at"}
    assert tokens.authenticate(new_uow(), created["token"], now=utcnow()).role == "support"
    code, revoked = cli("token", "revoke", str(created["id"]), "--merchant", "Test Shop")
    assert code == 0 and revoked["changed"] is True
    with pytest.raises(tokens.Unauthorized):
        tokens.authenticate(new_uow(), created["token"], now=utcnow())


def test_a_token_needs_a_known_role(cli, shop):
    code, result = cli("token", "create", "--merchant", "Test Shop", "--role", "root")
    assert code == 2 and "invalid choice" in result["error"]


def test_cancel_by_order_number_and_sku_cancels_the_waiting_units_of_that_line(cli, new_uow, shop):
    code, result = cli(
        "cancel", "#1001", "--line", "B", "--qty", "1", "--reason", "asked", "--merchant", "Test Shop"
    )
    assert code == 0, result
    assert (result["status"], result["lines"][0]["quantity"], result["refunded_amount"]) == (
        "completed",
        1,
        "10.00",
    )
    assert level(new_uow, shop.merchant_id, "B") == (0, 1, 1)
    # The same command again is the same request: nothing happens twice.
    code, again = cli(
        "cancel", "#1001", "--line", "B", "--qty", "1", "--reason", "asked", "--merchant", "Test Shop"
    )
    assert code == 0 and again["replayed"] is True and again["id"] == result["id"]
    assert len(shop.storefront.cancels) == 1


def test_cancel_without_qty_takes_every_waiting_unit_and_honours_the_flags(cli, new_uow, shop):
    order = shop.orders["1001"]
    code, result = cli(
        "cancel", str(order), "--line", str(line_id(new_uow, order, "A")), "--reason", "r",
        "--no-refund", "--no-restock", "--no-notify", "--merchant", "Test Shop",
    )  # fmt: skip
    assert code == 0, result
    [request] = shop.storefront.cancels
    assert [(line.quantity, request.refund, request.restock) for line in request.lines] == [(2, False, False)]
    assert (result["refund"], result["notify"]) == (False, False)


def test_cancelling_the_whole_order_with_units_from_stock_fails_with_the_reason(cli, shop):
    code, result = cli("cancel", "1001", "--reason", "r", "--merchant", "Test Shop")
    assert code == 1 and "taken from stock" in result["error"]


def test_an_unknown_order_fails_clearly(cli, shop):
    code, result = cli("cancel", "#9999", "--reason", "r", "--merchant", "Test Shop")
    assert code == 1 and "no order" in result["error"]
