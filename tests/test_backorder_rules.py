"""The backorder rules, as plain Python: policy, order line split, expected wait, allocation."""

from datetime import date, timedelta

import pytest

from connector.domain.backorders import (
    Allocation,
    Backorder,
    BackorderPolicy,
    InvalidPolicy,
    LineSplit,
    PolicyOverrides,
    allocate_arrivals,
    effective_policy,
    parse_policy,
    served_from_safety_stock,
    split_order_line,
    storefront_state,
)
from connector.domain.eta import (
    IncomingStock,
    expected_wait,
    lateness_buffer,
    nearest_rank_percentile,
    next_unit_eta,
)
from connector.domain.stock import InvalidQuantity, StockLevel

TODAY = date(2025, 3, 10)
DENY = BackorderPolicy("deny")
ALLOW = BackorderPolicy("allow")


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


def up_to(n: int) -> BackorderPolicy:
    return BackorderPolicy("allow-up-to", n)


def etas(queue, incoming=(), delays=None, lead=14, handling=0):
    found = expected_wait(
        queue, incoming, supplier_delays=delays or {}, today=TODAY, lead_days=lead, handling_days=handling
    )
    return {eta.backorder_id: eta.ships_by for eta in found}


# Policy


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("deny", ("deny", None)), ("allow", ("allow", None)), ("allow-up-to:1", ("allow-up-to", 1))],
)
def test_the_three_policies_are_read(text, parsed):
    assert parse_policy(text) == parsed


@pytest.mark.parametrize(
    "text",
    ["", "Allow", " allow", "allow ", "allow-up-to", "allow-up-to:", "allow-up-to:0", "allow-up-to:-2",
     "allow-up-to:05", "allow-up-to:2.5", "allow-up-to: 3", "allow-up-to:３", "backorder"],
)  # fmt: skip
def test_anything_else_is_refused_with_what_is_accepted(text):
    with pytest.raises(InvalidPolicy, match="allow-up-to:N"):
        parse_policy(text)


def test_a_refused_policy_is_a_value_error():
    with pytest.raises(ValueError):
        parse_policy("maybe")


def test_a_policy_reads_back_as_the_text_it_came_from():
    assert BackorderPolicy(*parse_policy("allow-up-to:7")).text == "allow-up-to:7"
    assert ALLOW.text == "allow"


def test_a_limit_goes_only_with_allow_up_to():
    with pytest.raises(InvalidPolicy):
        BackorderPolicy("allow", 3)
    with pytest.raises(InvalidPolicy):
        BackorderPolicy("allow-up-to")


def test_an_item_inherits_what_it_does_not_set():
    merchant = BackorderPolicy("allow-up-to", 5, lead_days=14, max_wait_days=60, handling_days=1)
    policy = effective_policy(PolicyOverrides(lead_days=30, safety_stock=2), merchant)
    assert policy == BackorderPolicy(
        "allow-up-to", 5, lead_days=30, max_wait_days=60, handling_days=1, safety_stock=2
    )


def test_an_item_kind_never_borrows_the_merchant_limit():
    merchant = BackorderPolicy("allow-up-to", 5)
    assert effective_policy(PolicyOverrides(kind="allow", limit=9), merchant).limit is None
    assert effective_policy(PolicyOverrides(kind="allow-up-to", limit=2), merchant).limit == 2
    assert effective_policy(PolicyOverrides(kind="deny"), merchant).kind == "deny"


# What the storefront shows


def test_anything_available_is_in_stock_whatever_the_policy():
    assert storefront_state(1, 0, DENY) == "in_stock"
    assert storefront_state(1, 50, up_to(2)) == "in_stock"


def test_deny_sells_out_at_zero_and_allow_keeps_selling():
    assert storefront_state(0, 0, DENY) == "sold_out"
    assert storefront_state(0, 1000, ALLOW) == "backorder"
    assert storefront_state(-3, 0, ALLOW) == "backorder"


def test_allow_up_to_sells_out_once_the_limit_is_waiting():
    assert storefront_state(0, 2, up_to(3)) == "backorder"
    assert storefront_state(0, 3, up_to(3)) == "sold_out"
    assert storefront_state(0, 4, up_to(3)) == "sold_out"


def test_a_wait_longer_than_the_maximum_sells_out():
    policy = BackorderPolicy("allow", max_wait_days=30)
    assert storefront_state(0, 0, policy, expected_wait_days=30) == "backorder"
    assert storefront_state(0, 0, policy, expected_wait_days=31) == "sold_out"


def test_safety_stock_is_not_offered():
    level = StockLevel("SKU-1", on_hand=2, committed=0, safety_stock=2)
    assert storefront_state(level.available, 0, DENY) == "sold_out"


# Splitting an order line


def test_units_beyond_stock_are_backordered_when_allowed():
    assert split_order_line(5, 3, 0, ALLOW) == LineSplit(committed=3, backordered=2, oversold=0)


def test_a_line_within_stock_is_all_committed():
    assert split_order_line(2, 3, 10, DENY) == (2, 0, 0)


def test_the_limit_counts_units_already_waiting():
    split = split_order_line(4, 0, 1, up_to(3))
    assert split == (0, 2, 2)
    assert split.needs_support
    assert split.waiting == 4


def test_a_deny_line_that_raced_the_storefront_is_oversold_not_dropped():
    split = split_order_line(3, 1, 0, DENY)
    assert split == LineSplit(committed=1, backordered=0, oversold=2)
    assert split.needs_support


def test_a_line_that_raced_a_sell_out_is_served_from_safety_stock_on_the_shelf():
    split = split_order_line(3, 0, 0, DENY, held_back=2)
    assert split == LineSplit(committed=2, backordered=0, oversold=1)
    assert served_from_safety_stock(split, available=0) == 2  # recorded, so the merchant sees the race
    assert served_from_safety_stock(split_order_line(3, 5, 0, DENY, held_back=2), available=5) == 0


def test_safety_stock_never_serves_a_line_ahead_of_earlier_waiting_orders():
    assert split_order_line(2, 0, 1, up_to(1), held_back=5) == (0, 0, 2)


def test_units_the_policy_lets_wait_do_not_take_the_safety_stock():
    assert split_order_line(2, 0, 0, ALLOW, held_back=5) == (0, 2, 0)


def test_negative_available_commits_nothing():
    assert split_order_line(2, -4, 0, ALLOW) == (0, 2, 0)


def test_every_requested_unit_is_accounted_for_exactly_once():
    for policy in (DENY, ALLOW, up_to(1), up_to(4), BackorderPolicy("allow", max_wait_days=0)):
        for requested in range(1, 8):
            for available in range(-2, 6):
                for waiting in range(6):
                    for held_back in range(3):
                        split = split_order_line(
                            requested, available, waiting, policy, expected_wait_days=3, held_back=held_back
                        )
                        assert min(split) >= 0
                        assert sum(split) == requested


def test_an_empty_order_line_is_refused():
    with pytest.raises(InvalidQuantity):
        split_order_line(0, 3, 0, ALLOW)


# Expected wait


def test_queue_positions_take_incoming_batches_in_expected_date_order():
    incoming = [IncomingStock(2, 3, day(20)), IncomingStock(1, 2, day(10))]
    queue = [Backorder(10, 2), Backorder(11, 1), Backorder(12, 2)]
    assert etas(queue, incoming) == {10: day(10), 11: day(20), 12: day(20)}


def test_batches_due_the_same_day_are_taken_by_id():
    incoming = [IncomingStock(9, 1, day(5), "Late"), IncomingStock(3, 1, day(5))]
    found = expected_wait(
        [Backorder(1, 1)], incoming, supplier_delays={"Late": [4]}, today=TODAY, lead_days=0, handling_days=0
    )
    assert found[0].parts[0].batch_id == 3


def test_a_backorder_spanning_two_batches_waits_for_the_later_one():
    incoming = [IncomingStock(1, 2, day(5)), IncomingStock(2, 10, day(12))]
    found = expected_wait(
        [Backorder(7, 3)], incoming, supplier_delays={}, today=TODAY, lead_days=30, handling_days=2
    )
    assert found[0].ships_by == day(14)
    assert [(p.batch_id, p.units, p.ships_by) for p in found[0].parts] == [(1, 2, day(7)), (2, 1, day(14))]


def test_a_partial_receipt_covers_only_what_is_still_to_come():
    # 10 ordered, 8 already received: 2 still to arrive.
    incoming = [IncomingStock(1, 10 - 8, day(3))]
    assert etas([Backorder(1, 2), Backorder(2, 1)], incoming, lead=21) == {1: day(3), 2: day(21)}


def test_fully_received_batches_cover_nothing():
    assert etas([Backorder(1, 1)], [IncomingStock(1, 0, day(2))], lead=9) == {1: day(9)}


def test_with_nothing_incoming_the_lead_time_and_handling_apply():
    assert etas([Backorder(1, 4)], [], lead=14, handling=2) == {1: day(16)}


def test_the_supplier_buffer_is_added_to_its_batches():
    incoming = [IncomingStock(1, 5, day(10), None), IncomingStock(2, 5, day(10), "Slowco")]
    delays = {"Slowco": [0, 1, 2, 3, 4, 5, 6, 7, 8, 30]}
    found = expected_wait(
        [Backorder(1, 5), Backorder(2, 5)],
        incoming,
        supplier_delays=delays,
        today=TODAY,
        lead_days=0,
        handling_days=1,
    )
    assert [e.ships_by for e in found] == [day(10 + 1), day(10 + 7 + 1)]


def test_no_unit_ships_before_the_units_ahead_of_it():
    # The late supplier's batch is due first but, with its buffer, lands after the punctual one.
    incoming = [IncomingStock(1, 1, day(5), "Late"), IncomingStock(2, 1, day(8), "OnTime")]
    delays = {"Late": [10], "OnTime": [0]}
    found = expected_wait(
        [Backorder(1, 1), Backorder(2, 1)],
        incoming,
        supplier_delays=delays,
        today=TODAY,
        lead_days=0,
        handling_days=0,
    )
    assert [e.ships_by for e in found] == [day(15), day(15)]


def test_a_past_due_batch_counts_as_arriving_today_plus_its_buffer():
    incoming = [IncomingStock(1, 5, day(-6), "Slowco")]
    found = expected_wait(
        [Backorder(1, 1)],
        incoming,
        supplier_delays={"Slowco": [2, 3]},
        today=TODAY,
        lead_days=30,
        handling_days=1,
    )
    assert found[0].ships_by == day(3 + 1)


def test_a_past_due_batch_never_gives_a_date_before_today():
    found = etas([Backorder(1, 1)], [IncomingStock(1, 5, day(-30))])
    assert found == {1: TODAY}


def test_the_next_unit_waits_behind_every_unit_already_waiting():
    incoming = [IncomingStock(1, 3, day(10))]
    eta = dict(supplier_delays={}, today=TODAY, lead_days=40, handling_days=1)
    assert next_unit_eta(0, incoming, **eta) == day(11)
    assert next_unit_eta(2, incoming, **eta) == day(11)
    assert next_unit_eta(3, incoming, **eta) == day(41)


def test_acceptance_three_on_hand_allow_ten_incoming_from_a_supplier_five_days_late():
    handling = 2
    split = split_order_line(5, 3, 0, ALLOW)
    assert split == (3, 2, 0)
    found = expected_wait(
        [Backorder(1, split.backordered)],
        [IncomingStock(1, 10, day(20), "Acme")],
        supplier_delays={"Acme": [5, 5, 5, 5]},
        today=TODAY,
        lead_days=14,
        handling_days=handling,
    )
    assert found[0].ships_by == day(25 + handling)


# The lateness buffer


@pytest.mark.parametrize(
    ("values", "p80"),
    [
        ([7], 7),
        ([1, 2], 2),  # rank ceil(1.6) = 2
        ([1, 2, 3, 4, 5], 4),  # rank ceil(4.0) = 4, exactly, with no float rounding
        ([5, 1, 4, 2, 3, 6], 5),  # rank ceil(4.8) = 5, order does not matter
        (list(range(1, 11)), 8),
        (list(range(1, 101)), 80),
    ],
)
def test_the_80th_percentile_is_the_nearest_rank(values, p80):
    assert nearest_rank_percentile(values, 80) == p80


def test_a_supplier_without_history_gets_no_buffer():
    assert lateness_buffer([]) == 0


def test_an_early_supplier_never_brings_a_date_forward():
    assert lateness_buffer([-5, -3, -2]) == 0
    assert lateness_buffer([-5, -3, 2, 4, 6]) == 4


# Allocation when stock arrives


def test_arriving_stock_goes_to_the_oldest_backorder_first():
    queue = [Backorder(1, 2), Backorder(2, 3), Backorder(3, 1)]
    arrival = allocate_arrivals(queue, 4)
    assert arrival.allocations == [Allocation(1, 2), Allocation(2, 2)]
    assert arrival.remainder == 0


def test_only_what_is_left_after_the_queue_is_for_sale():
    allocations, remainder = allocate_arrivals([Backorder(1, 2), Backorder(2, 1)], 10)
    assert allocations == [(1, 2), (2, 1)]
    assert remainder == 7


def test_nothing_arriving_or_nobody_waiting_allocates_nothing():
    assert allocate_arrivals([Backorder(1, 2)], 0) == ([], 0)
    assert allocate_arrivals([], 5) == ([], 5)


def test_allocation_reads_only_as_much_of_the_queue_as_it_needs():
    def queue():
        yield Backorder(1, 1)
        raise AssertionError("read past the last backorder served")

    assert allocate_arrivals(queue(), 1) == ([(1, 1)], 0)


def test_negative_arrivals_and_empty_backorders_are_refused():
    with pytest.raises(InvalidQuantity):
        allocate_arrivals([], -1)
    with pytest.raises(InvalidQuantity):
        Backorder(1, 0)
