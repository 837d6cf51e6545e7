"""Two transactions that each take the last unit: exactly one wins, on every engine, every time."""

import threading

import pytest

from connector.domain.stock import InsufficientStock
from connector.services import ledger
from tests.factories import merchant_with_items

REPETITIONS = 50


def race_for_the_last_unit(new_uow, merchant_id: int, sku: str, round_: int) -> list[str]:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buyer(name: str) -> None:
        barrier.wait()
        try:
            ledger.record(new_uow(), merchant_id, [ledger.Movement(sku, "commit", 1, f"r{round_}:{name}")])
            result = "won"
        except InsufficientStock:
            result = "lost"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buyer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


@pytest.mark.parametrize("engine_name", ["any"])
def test_exactly_one_of_two_concurrent_buyers_gets_the_last_unit(new_uow, database_url, engine_name):
    merchant = merchant_with_items(new_uow, {f"LAST-{i}": 1 for i in range(REPETITIONS)})
    results = [race_for_the_last_unit(new_uow, merchant, f"LAST-{i}", i) for i in range(REPETITIONS)]
    winners = sum(r.count("won") for r in results)
    print(f"{database_url.split(':')[0]}: {REPETITIONS} races, {winners} winners")
    assert results == [["lost", "won"]] * REPETITIONS
    with new_uow() as uow:
        assert all(
            ledger.stock_report(uow, merchant, f"LAST-{i}")["available"] == 0 for i in range(REPETITIONS)
        )
