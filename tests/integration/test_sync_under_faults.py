"""Three stores sharing SKUs, orders at 50/s, duplicated, reordered and failing calls: afterwards every
store shows the ledger's number for every SKU and every order is counted exactly once."""

import os
import signal
import time

import pytest

from bench.harness import World
from tests.conftest import PG_URL


def settle_and_check(world: World) -> dict:
    world.settle(timeout=180)
    counts = world.counts()
    print(counts)
    assert counts["orders_recorded"] == counts["orders_placed"]
    assert counts["units_committed"] == counts["units_sold"]
    assert counts["store_mismatches"] == 0
    assert counts["oversold_skus"] == 0
    assert counts["failed_deliveries"] == 0 and counts["dead_pushes"] == 0
    return counts


def test_stores_agree_with_the_ledger_after_a_faulty_burst(tmp_path):
    world = World(
        f"sqlite:///{tmp_path / 'world.sqlite3'}",
        skus=60,
        fail_rate=0.05,
        duplicate_rate=0.1,
        reorder_rate=0.1,
    ).start()
    try:
        world.start_thread_workers(count=1, threads=2)
        world.place_orders(150, per_second=50)
        settle_and_check(world)
    finally:
        world.stop()


@pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_a_worker_killed_mid_run_loses_nothing_on_postgresql(pg_database_url):
    world = World(pg_database_url, skus=60, fail_rate=0.05, duplicate_rate=0.1, reorder_rate=0.1).start()
    workers = [world.start_process_worker(), world.start_process_worker()]
    try:
        world.wait_until_running(workers)  # killed mid-run, not while starting
        world.place_orders(75, per_second=50)
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=10)
        world.place_orders(75, per_second=50)
        time.sleep(1)
        workers[0] = world.start_process_worker()
        settle_and_check(world)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=20)
        world.stop()
