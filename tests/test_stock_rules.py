"""The stock rules, as plain Python."""

import pytest

from connector.domain.stock import (
    InsufficientStock,
    InvalidQuantity,
    StockLevel,
    adjust,
    commit,
    receive,
    release,
    set_on_hand,
)


def level(on_hand=5, committed=0, safety=0):
    return StockLevel("SKU-1", on_hand, committed, safety)


def test_available_is_on_hand_less_committed_less_safety_stock():
    assert level(10, 3, 2).available == 5


def test_sellable_never_goes_below_zero():
    assert level(1, 3).available == -2
    assert level(1, 3).sellable == 0


def test_held_back_is_the_safety_stock_still_on_the_shelf():
    assert level(10, 3, 2).held_back == 2
    assert level(4, 3, 2).held_back == 1
    assert level(1, 3, 2).held_back == 0


def test_receiving_raises_on_hand():
    assert receive(level(5), 3).apply(level(5)).on_hand == 8


@pytest.mark.parametrize("qty", [0, -1])
def test_receiving_nothing_or_less_is_refused(qty):
    with pytest.raises(InvalidQuantity, match="positive"):
        receive(level(), qty)


def test_an_adjustment_cannot_leave_on_hand_negative():
    with pytest.raises(InvalidQuantity, match="would leave on hand at -1"):
        adjust(level(2), -3)


def test_setting_on_hand_records_the_difference():
    assert set_on_hand(level(7), 4).on_hand_delta == -3


def test_committing_the_last_unit_succeeds_and_the_next_is_refused():
    after = commit(level(1), 1).apply(level(1))
    assert after.available == 0
    with pytest.raises(InsufficientStock) as refused:
        commit(after, 1)
    assert refused.value.shortfalls[0].requested == 1


def test_safety_stock_is_never_committed():
    with pytest.raises(InsufficientStock):
        commit(level(3, safety=2), 2)


def test_a_shortfall_may_be_allowed_for_backorders():
    assert commit(level(0), 2, allow_shortfall=True).committed_delta == 2


def test_release_gives_back_only_what_was_committed():
    assert release(level(5, 2), 2).apply(level(5, 2)).committed == 0
    with pytest.raises(InvalidQuantity, match="only 2 committed"):
        release(level(5, 2), 3)
