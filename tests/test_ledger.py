"""The ledger service against a real database (SQLite, and PostgreSQL when configured)."""

import pytest
from sqlalchemy import func, select

from connector.domain.stock import InsufficientStock
from connector.errors import Conflict, NotFound
from connector.models import StockMovement
from connector.services import ledger
from tests.factories import merchant_with_items


def movements(new_uow):
    with new_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(StockMovement))


def test_replaying_a_receipt_changes_nothing_and_returns_the_first_result(new_uow):
    merchant = merchant_with_items(new_uow, {"A": 0})
    first = ledger.record(new_uow(), merchant, [ledger.Movement("A", "receive", 5, "po-1")])
    again = ledger.record(new_uow(), merchant, [ledger.Movement("A", "receive", 5, "po-1")])
    assert first[0].level.on_hand == again[0].level.on_hand == 5
    assert again[0].replayed and not first[0].replayed
    with new_uow() as uow:
        assert ledger.stock_report(uow, merchant, "A")["on_hand"] == 5


def test_a_reference_reused_for_a_different_change_is_refused(new_uow):
    merchant = merchant_with_items(new_uow, {"A": 0})
    ledger.record(new_uow(), merchant, [ledger.Movement("A", "receive", 5, "po-1")])
    with pytest.raises(Conflict, match="already used"):
        ledger.record(new_uow(), merchant, [ledger.Movement("A", "receive", 7, "po-1")])


def test_committing_more_than_available_writes_nothing_and_names_every_shortfall(new_uow):
    merchant = merchant_with_items(new_uow, {"A": 1, "B": 1, "C": 5})
    before = movements(new_uow)
    lines = [
        ledger.Movement("C", "commit", 2, "o1:l3"),
        ledger.Movement("A", "commit", 2, "o1:l1"),
        ledger.Movement("B", "commit", 3, "o1:l2"),
    ]
    with pytest.raises(InsufficientStock) as refused:
        ledger.record(new_uow(), merchant, lines)
    assert [s.sku for s in refused.value.shortfalls] == ["A", "B"]
    assert movements(new_uow) == before
    with new_uow() as uow:
        assert ledger.stock_report(uow, merchant, "C")["committed"] == 0


def test_commit_then_release_restores_availability(new_uow):
    merchant = merchant_with_items(new_uow, {"A": 3})
    ledger.record(new_uow(), merchant, [ledger.Movement("A", "commit", 2, "o1:l1")])
    ledger.record(new_uow(), merchant, [ledger.Movement("A", "release", 2, "o1:l1:release")])
    ledger.record(new_uow(), merchant, [ledger.Movement("A", "release", 2, "o1:l1:release")])
    with new_uow() as uow:
        report = ledger.stock_report(uow, merchant, "A")
    assert (report["on_hand"], report["committed"], report["available"]) == (3, 0, 3)


def test_safety_stock_is_held_back_from_available(new_uow):
    merchant = merchant_with_items(new_uow, {"A": 5}, safety_stock=2)
    with new_uow() as uow:
        assert ledger.stock_report(uow, merchant, "A")["available"] == 3


def test_set_on_hand_is_a_count(new_uow):
    merchant = merchant_with_items(new_uow, {"A": 5})
    [result] = ledger.record(new_uow(), merchant, [ledger.Movement("A", "set", 2, "count-1")])
    assert result.level.on_hand == 2


def test_unknown_sku_is_not_found(new_uow):
    merchant = merchant_with_items(new_uow, {"A": 5})
    with pytest.raises(NotFound, match="unknown SKU NOPE"):
        ledger.record(new_uow(), merchant, [ledger.Movement("NOPE", "receive", 1, "x")])


def test_stock_belongs_to_its_merchant(new_uow):
    first = merchant_with_items(new_uow, {"A": 5})
    second = merchant_with_items(new_uow, {"B": 5})
    with new_uow() as uow, pytest.raises(NotFound):
        ledger.stock_report(uow, second, "A")
    with pytest.raises(NotFound):
        ledger.record(new_uow(), first, [ledger.Movement("B", "receive", 1, "x")])
