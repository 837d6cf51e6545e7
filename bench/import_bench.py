"""Catalogue import benchmark: `import_catalog` with the real adapters against sandbox stores over HTTP.

    .venv/bin/python bench/import_bench.py [--quick] [--shopify-variants N] [--woo-products N]
        [--memory-items N | --skip-memory] [--memory-platform woocommerce|shopify]
        [--bucket-size N --restore-rate N] [--database-url postgresql://…]

1. Shopify: 10,000 variants (1,000 products of 10 sizes and colours) from a sandbox shop with a
   1,000-point bucket restoring 100 points/s. The lower bound is what the throttle allows for the
   points the import really spent (the sum of `actualQueryCost` of every answer):
   max(0, (points − bucket) / restore rate). Target: measured / lower bound ≤ 1.3.
2. WooCommerce: 10,000 simple products (no throttle, so no lower bound).
3. Peak memory of this process during an import of N and 10 x N items (default 10,000 and 100,000)
   from the WooCommerce sandbox, which does not throttle, so the large run takes minutes, not hours.
   Target: less than 1.5x growth for 10x the items.
Failed requests (HTTP 400 and above) and THROTTLED answers are counted on our side of the wire;
target 0 failed. Each store runs in a child process, so our time and memory are the connector's
alone. Each import gets a fresh database: a temporary SQLite file, or with --database-url a scratch
PostgreSQL database created beside the one named (and dropped after).
The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from common import (
    WOO_KEY,
    WOO_SECRET,
    CountedWooAPI,
    PeakMemory,
    Stopwatch,
    Traffic,
    counted_session,
    mib,
    peak_memory,
    sandbox_store,
    say,
    scratch_database,
)

SHOP = "sandbox.myshopify.com"  # the sandbox shop's own domain
SHOPIFY_TOKEN = "shpat_bench"  # any non-empty token opens the sandbox
RATIO_TARGET = 1.3
MEMORY_GROWTH_TARGET = 1.5
WARM_UP_ITEMS = 100
HUGE = 1e9  # a Shopify bucket that never throttles, for memory runs on Shopify


@dataclass
class ImportRun:
    platform: str
    items: int
    seconds: float
    linked: int
    created: int
    problems: int
    pages: int
    traffic: Traffic
    store_calls: dict[str, int]
    memory: PeakMemory | None


def run_import(
    platform: str,
    items: int,
    *,
    database_url: str | None,
    bucket_size: float = 1000,
    restore_rate: float = 100,
    measure_memory: bool = False,
) -> ImportRun:
    """Stock a sandbox store with `items` listings, connect it, and time one full catalogue import."""
    from connector.db import UnitOfWork, make_engine, session_factory
    from connector.services.channel_import import import_catalog

    say(f"{platform}: stocking a sandbox store with {items:,} items …")
    with (
        sandbox_store(platform, items, bucket_size=bucket_size, restore_rate=restore_rate) as store,
        scratch_database(database_url) as url,
    ):
        engine = make_engine(url)
        sessions = session_factory(engine)
        new_uow = lambda: UnitOfWork(sessions)  # noqa: E731
        traffic = Traffic()
        channel_id, port = _connect(new_uow, platform, store.url, traffic)
        say(f"{platform}: importing from {store.url}")
        report_every = max(1, math.ceil(items / 100 / 10))  # pages between progress lines (~10 lines)
        with peak_memory() if measure_memory else nullcontext() as memory:
            clock = Stopwatch()
            while True:
                progress = import_catalog(new_uow, channel_id, port, max_pages=report_every)
                say(
                    f"  {progress.linked:>7,} linked after {clock.seconds:7.1f}s "
                    f"({traffic.requests} requests, {traffic.throttled} throttled, {traffic.failed} failed)"
                )
                if progress.status == "done":
                    break
            seconds = clock.seconds
        engine.dispose()
    return ImportRun(
        platform,
        items,
        seconds,
        progress.linked,
        progress.created,
        len(progress.problems),
        progress.pages,
        traffic,
        store.calls,
        memory,
    )


def _connect(new_uow: Callable, platform: str, store_url: str, traffic: Traffic):
    """A merchant and its channel as `channel add` stores them, and the real adapter for it, built as
    `open_storefront` builds it but on an HTTP client that counts every answer."""
    from cryptography.fernet import Fernet

    from adapters.shopify import ShopifyChannel
    from adapters.woocommerce import WooCommerceChannel
    from adapters.woocommerce.channel import DEFAULT_TIMEOUT
    from connector.crypto import Vault
    from connector.services import channels
    from connector.services.merchants import create_merchant

    vault = Vault([Fernet.generate_key().decode()])
    merchant_id = create_merchant(new_uow(), f"Bench {platform}")
    if platform == "shopify":
        connection = channels.ShopifyConnection(shop=SHOP, token=SHOPIFY_TOKEN, api_url=store_url)
        port = ShopifyChannel(SHOP, SHOPIFY_TOKEN, api_url=store_url, session=counted_session(traffic))
    else:
        connection = channels.WooCommerceConnection(url=store_url, key=WOO_KEY, secret=WOO_SECRET)
        api = CountedWooAPI(store_url, WOO_KEY, WOO_SECRET, traffic, version="wc/v3", timeout=DEFAULT_TIMEOUT)
        port = WooCommerceChannel(store_url, WOO_KEY, WOO_SECRET, api=api)
    return channels.add_channel(new_uow(), vault, merchant_id, connection), port


# Figures


def shopify_figures(run: ImportRun, bucket_size: float, restore_rate: float) -> dict:
    lower_bound = max(0.0, (run.traffic.cost_actual - bucket_size) / restore_rate)
    ratio = run.seconds / lower_bound if lower_bound > 0 else None
    return {
        "shopify_variants": run.items,
        "shopify_linked": run.linked,
        "shopify_seconds": round(run.seconds, 2),
        "shopify_lower_bound_seconds": round(lower_bound, 2),
        "shopify_ratio": None if ratio is None else round(ratio, 3),
        "shopify_cost_points": run.traffic.cost_actual,
        "shopify_requested_points": run.traffic.cost_requested,
        "shopify_bucket_size": bucket_size,
        "shopify_restore_rate": restore_rate,
        "shopify_pages": run.pages,
        "shopify_requests": run.traffic.requests,
        "shopify_throttled": run.traffic.throttled,
        "shopify_throttled_by_store": run.store_calls.get("THROTTLED", 0),
        "shopify_failed": run.traffic.failed,
        "shopify_problems": run.problems,
    }


def woo_figures(run: ImportRun) -> dict:
    return {
        "woocommerce_products": run.items,
        "woocommerce_linked": run.linked,
        "woocommerce_seconds": round(run.seconds, 2),
        "woocommerce_items_per_second": round(run.items / run.seconds, 1) if run.seconds else None,
        "woocommerce_requests": run.traffic.requests,
        "woocommerce_failed": run.traffic.failed,
        "woocommerce_problems": run.problems,
    }


def memory_figures(small: ImportRun, large: ImportRun) -> dict:
    growth = large.memory.python_bytes / small.memory.python_bytes if small.memory.python_bytes else None
    rss_growth = (
        large.memory.rss_bytes / small.memory.rss_bytes
        if small.memory.rss_bytes and large.memory.rss_bytes
        else None
    )
    return {
        "memory_platform": small.platform,
        "memory_items_small": small.items,
        "memory_items_large": large.items,
        "peak_memory_small_mib": mib(small.memory.python_bytes),
        "peak_memory_large_mib": mib(large.memory.python_bytes),
        "memory_growth": None if growth is None else round(growth, 3),
        "peak_rss_small_mib": mib(small.memory.rss_bytes),
        "peak_rss_large_mib": mib(large.memory.rss_bytes),
        "rss_growth": None if rss_growth is None else round(rss_growth, 3),
        "memory_seconds_small": round(small.seconds, 2),
        "memory_seconds_large": round(large.seconds, 2),
        "memory_linked_large": large.linked,
        "memory_failed": small.traffic.failed + large.traffic.failed,
    }


def verdicts(figures: dict, runs: list[ImportRun]) -> dict:
    """Each target met (True/False), or None where its run was skipped."""
    ratio = figures.get("shopify_ratio")
    growth = figures.get("memory_growth")
    return {
        "ratio_ok": None if ratio is None else ratio <= RATIO_TARGET,
        "failed_ok": sum(r.traffic.failed for r in runs) == 0,
        "memory_ok": None if growth is None else growth < MEMORY_GROWTH_TARGET,
        "all_linked": all(r.linked == r.items and r.problems == 0 for r in runs),
    }


def summary(figures: dict) -> list[str]:
    lines = []
    if "shopify_seconds" in figures:
        lines.append(
            f"Shopify {figures['shopify_variants']:,} variants: {figures['shopify_seconds']}s; the throttle "
            f"allows {figures['shopify_lower_bound_seconds']}s for {figures['shopify_cost_points']:,.0f} points "
            f"-> ratio {figures['shopify_ratio']} (target <= {RATIO_TARGET}); "
            f"{figures['shopify_throttled']} throttled, {figures['shopify_failed']} failed"
        )
    if "woocommerce_seconds" in figures:
        lines.append(
            f"WooCommerce {figures['woocommerce_products']:,} products: {figures['woocommerce_seconds']}s "
            f"({figures['woocommerce_items_per_second']}/s); {figures['woocommerce_failed']} failed"
        )
    if "memory_growth" in figures:
        lines.append(
            f"Peak memory ({figures['memory_platform']}): {figures['peak_memory_small_mib']} MiB at "
            f"{figures['memory_items_small']:,} items, {figures['peak_memory_large_mib']} MiB at "
            f"{figures['memory_items_large']:,} -> x{figures['memory_growth']} (target < {MEMORY_GROWTH_TARGET}); "
            f"resident peak {figures['peak_rss_small_mib']} -> {figures['peak_rss_large_mib']} MiB"
        )
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shopify-variants", type=int, default=10_000, help="0 skips the Shopify import")
    parser.add_argument("--woo-products", type=int, default=10_000, help="0 skips the WooCommerce import")
    parser.add_argument("--memory-items", type=int, default=10_000, help="the smaller memory run (and 10x)")
    parser.add_argument("--memory-platform", choices=("woocommerce", "shopify"), default="woocommerce")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--bucket-size", type=float, default=1000, help="Shopify sandbox bucket (points)")
    parser.add_argument("--restore-rate", type=float, default=100, help="Shopify sandbox restore (points/s)")
    parser.add_argument("--database-url", help="a PostgreSQL server to use instead of temporary SQLite")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run (seconds)")
    args = parser.parse_args(argv)
    if args.quick:
        args.shopify_variants, args.woo_products, args.memory_items = 200, 100, 20
    for name in ("shopify_variants", "woo_products", "memory_items"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be zero or more")
    if args.bucket_size <= 0 or args.restore_rate <= 0:
        parser.error("--bucket-size and --restore-rate must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database = {"database_url": args.database_url}
    figures: dict = {"database": "postgresql" if args.database_url else "sqlite"}
    runs: list[ImportRun] = []
    if args.shopify_variants:
        run = run_import(
            "shopify",
            args.shopify_variants,
            bucket_size=args.bucket_size,
            restore_rate=args.restore_rate,
            **database,
        )
        runs.append(run)
        figures.update(shopify_figures(run, args.bucket_size, args.restore_rate))
    if args.woo_products:
        run = run_import("woocommerce", args.woo_products, **database)
        runs.append(run)
        figures.update(woo_figures(run))
    if args.memory_items and not args.skip_memory:
        unthrottled = {"bucket_size": HUGE, "restore_rate": HUGE} if args.memory_platform == "shopify" else {}
        # A one-page import first, unmeasured: one-time costs (lazy imports, compiled SQL) would
        # otherwise land in the small run only and hide growth.
        run_import(args.memory_platform, WARM_UP_ITEMS, **unthrottled, **database)
        small, large = [
            run_import(args.memory_platform, n, measure_memory=True, **unthrottled, **database)
            for n in (args.memory_items, args.memory_items * 10)
        ]
        runs += [small, large]
        figures.update(memory_figures(small, large))
    figures.update(verdicts(figures, runs))
    for line in summary(figures):
        say(line)
    print(json.dumps(figures), flush=True)
    return 0 if figures["all_linked"] else 1


if __name__ == "__main__":
    sys.exit(main())
