"""Stock sync benchmark: propagation latency, calls per change under a burst, and correctness.

Three parts, each on a fresh world of two Shopify and one WooCommerce sandbox store over loopback:
1. latency: orders on random stores (distinct SKUs), each store answering every call after a delay;
   time from an order to its number showing on every other store;
2. burst: N stock changes at once; Shopify inventorySetQuantities calls and WooCommerce batch calls per
   store, against the minimum (changes/250 and changes/100);
3. correctness: orders at a steady rate with duplicated, reordered and failing calls; afterwards every
   store must show the ledger's number and every order must be counted once.

    .venv/bin/python bench/sync_bench.py [--database-url URL] [--quick] [--parts latency,burst,correctness]
        [--worker-processes N [--kill-a-worker]] [--seed N] [--safety-stock N]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import World
from connector.models import Item
from connector.services import ledger, outbox


def database(args, name: str) -> str:
    if args.database_url:
        return args.database_url
    return f"sqlite:///{Path(tempfile.mkdtemp(prefix='sync-bench-')) / name}.sqlite3"


def latency(args) -> dict:
    world = World(
        database(args, "latency"), skus=args.latency_orders, stock=(50, 50), latency_ms=args.latency_ms
    ).start()
    try:
        world.start_thread_workers(count=1, threads=4)
        samples = []
        for n in range(args.latency_orders):
            placed = None
            while placed is None:
                placed = world.place_random_order_for(world.drafts[n].sku)
            others = [name for name in world.stores if name != placed.store]
            expected = 50 - placed.quantity
            deadline = time.monotonic() + 30
            while any(world.store_quantity(o, placed.sku) != expected for o in others):
                if time.monotonic() > deadline:
                    raise SystemExit(f"order {placed.order_id} never reached the other stores")
                time.sleep(0.01)
            samples.append(time.monotonic() - placed.at)
            time.sleep(max(0.0, 1 / args.latency_rate - (time.monotonic() - placed.at)))
        samples.sort()
        return {
            "latency_p50_s": round(statistics.median(samples), 3),
            "latency_p95_s": round(samples[max(0, math.ceil(0.95 * len(samples)) - 1)], 3),
            "latency_max_s": round(samples[-1], 3),
            "latency_samples": len(samples),
            "sandbox_latency_ms": args.latency_ms,
        }
    finally:
        world.stop()


def burst(args) -> dict:
    world = World(database(args, "burst"), skus=args.burst_changes, stock=(10, 10)).start()
    try:
        for sandbox in world.stores.values():
            sandbox.calls.reset()
        with world.new_uow() as uow:
            movements = [ledger.Movement(d.sku, "receive", 1, f"burst:{d.sku}") for d in world.drafts]
            ledger.apply(uow, world.merchant_id, movements)
            ids = [i for (i,) in uow.session.query(Item.id).filter(Item.merchant_id == world.merchant_id)]
            outbox.enqueue_stock(uow, world.merchant_id, ids)
            uow.commit()
        started = time.monotonic()
        world.start_thread_workers(count=1, threads=4)
        world.settle(timeout=600)
        seconds = time.monotonic() - started
        changes = args.burst_changes
        figures = {"burst_changes": changes, "burst_seconds": round(seconds, 2)}
        shopify = [
            s.calls.snapshot().get("inventorySetQuantities", 0)
            for n, s in world.stores.items()
            if n.endswith("myshopify.com")
        ]
        woo = [
            s.calls.snapshot().get("products/batch", 0)
            + s.calls.snapshot().get("products/<id>/variations/batch", 0)
            for n, s in world.stores.items()
            if not n.endswith("myshopify.com")
        ]
        figures["shopify_mutations_per_store"] = shopify
        figures["shopify_ratio_to_minimum"] = round(max(shopify) / math.ceil(changes / 250), 3)
        figures["woocommerce_batches_per_store"] = woo
        figures["woocommerce_ratio_to_minimum"] = round(max(woo) / math.ceil(changes / 100), 3)
        return figures
    finally:
        world.stop()


def correctness(args) -> dict:
    world = World(
        database(args, "correctness"),
        skus=args.skus,
        stock=(5, 30),
        fail_rate=0.05,
        duplicate_rate=0.1,
        reorder_rate=0.1,
        intake=args.intake,
        seed=args.seed,
        safety_stock=args.safety_stock,
    ).start()
    try:
        workers = []
        if args.worker_processes:
            workers = [
                world.start_process_worker(threads=args.worker_threads) for _ in range(args.worker_processes)
            ]
            world.wait_until_running(workers)  # the first orders waited seconds for them to start
        else:
            world.start_thread_workers(count=1, threads=args.worker_threads)
        if args.safety_stock:
            # The stores show what is offered (on hand less the safety stock) before anyone buys.
            world.settle(timeout=300)
        started = time.monotonic()
        if args.kill_a_worker:
            # Half the orders, SIGKILL one worker mid-run and start another in its place (as a process
            # manager would, a second later), then the rest of the orders.
            world.place_orders(args.orders // 2, per_second=args.rate)
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].wait(timeout=10)
            time.sleep(1)
            world.start_process_worker(threads=args.worker_threads)
            world.place_orders(args.orders - args.orders // 2, per_second=args.rate)
        else:
            world.place_orders(args.orders, per_second=args.rate)
        settle = world.settle(timeout=900)
        counts = world.counts()
        counts["workers_killed"] = 1 if args.kill_a_worker else 0
        counts["run_seconds"] = round(time.monotonic() - started, 1)
        counts["settle_seconds_after_last_order"] = round(settle, 1)
        counts.update(world.delays())
        return counts
    finally:
        world.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file per part")
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0, help="orders per second")
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=1,
        help="correctness part: run this many `backorder worker` processes, as the Procfile's worker"
        " (default 1; 0 runs one worker in this process instead)",
    )
    parser.add_argument(
        "--intake",
        choices=("gunicorn", "thread"),
        default="gunicorn",
        help="correctness part: the webhook intake in its own gunicorn (2 workers x 8 threads, as the"
        " Procfile's web) or in a thread of this process, beside the stores (default: gunicorn)",
    )
    parser.add_argument("--worker-threads", type=int, default=4, help="dispatcher threads per worker")
    parser.add_argument(
        "--seed",
        type=int,
        default=7,
        help="correctness part: the catalogue's stock and the shoppers' choices",
    )
    parser.add_argument(
        "--safety-stock",
        type=int,
        default=0,
        help="correctness part: the merchant's safety stock, units of every SKU the stores are not offered"
        " and that serve an order racing a sell-out on another store (default 0, the product's default:"
        " two stores sometimes sell an item's last units before either's order has reached the other,"
        " which under this load takes seconds, and such races show as oversold units; 2, one order's worth"
        " here, absorbs most of them)",
    )
    parser.add_argument(
        "--kill-a-worker",
        action="store_true",
        help="correctness part: SIGKILL one worker process halfway and start a new one (needs --worker-processes)",
    )
    parser.add_argument("--latency-orders", type=int, default=100)
    parser.add_argument("--latency-rate", type=float, default=5.0)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--burst-changes", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--parts",
        default="latency,burst,correctness",
        help="comma-separated parts to run (default: all three)",
    )
    args = parser.parse_args()
    if args.kill_a_worker and not args.worker_processes:
        parser.error("--kill-a-worker needs --worker-processes (at least 1)")
    if args.quick:
        args.skus, args.orders, args.latency_orders, args.burst_changes = 50, 100, 10, 600
    figures = {}
    parts = {"latency": latency, "burst": burst, "correctness": correctness}
    chosen = [name.strip() for name in args.parts.split(",") if name.strip()]
    unknown = sorted(set(chosen) - parts.keys())
    if unknown or not chosen:
        parser.error(
            f"--parts: unknown part(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(parts)}"
        )
    for part in (parts[name] for name in chosen):
        print(f"running {part.__name__} …", flush=True)
        result = part(args)
        print(f"  {result}", flush=True)
        figures.update(result)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
