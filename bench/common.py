"""What the benchmarks share: generated catalogues, sandbox stores in child processes, scratch
databases, counted HTTP traffic and peak memory.

Run as a script (`python bench/common.py serve shopify|woocommerce …`) it is the child process that
serves one sandbox store: a store of its own process keeps the benchmark's CPU and memory figures about
the connector alone, as they would be against a real storefront.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import requests
import woocommerce

from connector.domain.catalog import ItemDraft

SIZES = ("XS", "S", "M", "L", "XL")
COLOURS = ("Black", "Navy", "Sand", "Olive")
CHILD_START_TIMEOUT = 300.0  # seeding 100,000 products in the child takes a while
SEED_CHUNK = 100
WOO_KEY = "ck_" + "b3" * 20
WOO_SECRET = "cs_" + "c4" * 20


# Catalogues


def apparel_catalog(variants: int, *, per_product: int = 10) -> list[ItemDraft]:
    """`variants` T-shirt variants, `per_product` (size x colour) to a product, as a Shopify shop has."""
    drafts = []
    for n in range(variants):
        product, position = divmod(n, per_product)
        drafts.append(
            ItemDraft(
                sku=f"TEE-{product:05d}-{position:02d}",
                title=f"Bench tee {product:05d}",
                product_type="T-shirts",
                vendor="Bench Apparel",
                tags=["bench", "cotton"],
                price=Decimal("24.00"),
                options={"Size": SIZES[position % len(SIZES)], "Colour": COLOURS[position // len(SIZES)]},
                on_hand=n % 7,
            )
        )
    return drafts


def simple_catalog(products: int) -> list[ItemDraft]:
    """`products` simple products (no options), as a WooCommerce store of one-size goods has."""
    return [
        ItemDraft(
            sku=f"MUG-{n:06d}",
            title=f"Bench mug {n:06d}",
            product_type="Mugs",
            tags=["bench"],
            price=Decimal("9.50"),
            on_hand=n % 5,
        )
        for n in range(products)
    ]


# Sandbox stores in a child process


@dataclass
class StoreProcess:
    """A sandbox store served by a child process; `calls` is its own call count once it has stopped."""

    platform: str
    url: str
    process: subprocess.Popen
    calls: dict[str, int] = field(default_factory=dict)


@contextmanager
def sandbox_store(
    platform: str, items: int, *, bucket_size: float = 1000, restore_rate: float = 100
) -> Iterator[StoreProcess]:
    """Start a stocked sandbox store (`shopify`: apparel variants; `woocommerce`: simple products) on a
    free loopback port in a child process, and stop it on leaving."""
    command = [sys.executable, str(Path(__file__).resolve()), "serve", platform, "--items", str(items)]
    command += ["--bucket-size", str(bucket_size), "--restore-rate", str(restore_rate)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    store = None
    try:
        ready = _first_line(process, CHILD_START_TIMEOUT)
        store = StoreProcess(platform, json.loads(ready)["url"], process)
        yield store
    finally:
        calls = _stop(process)
        if store is not None:
            store.calls = calls


def _first_line(process: subprocess.Popen, timeout: float) -> str:
    """The child's READY line; a thread reads it so a child that hangs cannot hang the benchmark."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not lines or not lines[0].strip():
        code = process.poll()
        why = f"exited with {code}" if code is not None else f"was not serving after {timeout:.0f}s"
        process.kill()
        raise RuntimeError(f"the sandbox store's child process {why}")
    return lines[0]


def _stop(process: subprocess.Popen) -> dict[str, int]:
    """Closing stdin tells the child to stop; it answers with its call counts."""
    try:
        out, _ = process.communicate(timeout=30)  # closes stdin first
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {}
    last = out.strip().splitlines()[-1] if out.strip() else "{}"
    try:
        return json.loads(last).get("calls", {})
    except ValueError:
        return {}


def _serve(options: argparse.Namespace) -> int:
    from adapters.sandbox.server import start_in_thread

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per request

    if options.platform == "shopify":
        from adapters.sandbox.shopify import ShopifySandbox

        sandbox = ShopifySandbox(bucket_size=options.bucket_size, restore_rate=options.restore_rate)
        _seed_unique(sandbox.store, "variant_by_sku", sandbox.seed, apparel_catalog(options.items))
    else:
        from adapters.sandbox.woocommerce import WooCommerceSandbox

        sandbox = WooCommerceSandbox(consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
        _seed_unique(sandbox.store, "by_sku", sandbox.seed, simple_catalog(options.items))
    server = start_in_thread(sandbox.wsgi_app)
    if options.platform == "woocommerce":
        sandbox.remember_address(server.url)
    print(json.dumps({"url": server.url}), flush=True)
    sys.stdin.read()  # until the parent closes the pipe (or dies)
    server.stop()
    print(json.dumps({"calls": sandbox.calls.snapshot()}), flush=True)
    return 0


def _seed_unique(store, lookup: str, seed, drafts: list[ItemDraft]) -> None:
    """Seed an empty store with drafts whose SKUs are unique by construction, fast.

    Two things in the sandbox stores are quadratic in the products seeded at once, which makes
    100,000 take hours: the SKU look-up of a new SKU scans every product, and a WooCommerce
    transaction checks each new event against a list of all its events. So the drafts go in chunks of
    whole products (one transaction each), and, since the SKUs are unique, the look-up answers None
    during the seeding alone; the store serves requests with its own look-up."""
    if len({draft.sku for draft in drafts}) != len(drafts) or store.products:
        raise ValueError("fast seeding needs unique SKUs and an empty store")
    setattr(store, lookup, lambda sku: None)
    try:
        for chunk in _whole_products(drafts, SEED_CHUNK):
            seed(chunk)
    finally:
        delattr(store, lookup)


def _whole_products(drafts: list[ItemDraft], size: int) -> Iterator[list[ItemDraft]]:
    """Chunks of about `size` drafts that never split the variants of one product (one title)."""
    chunk: list[ItemDraft] = []
    for draft in drafts:
        if len(chunk) >= size and draft.title != chunk[-1].title:
            yield chunk
            chunk = []
        chunk.append(draft)
    if chunk:
        yield chunk


# Scratch databases


@contextmanager
def scratch_database(database_url: str | None) -> Iterator[str]:
    """A new, migrated database: a temporary SQLite file, or (given a PostgreSQL URL) a scratch
    database created beside the named one and dropped afterwards. Yields its URL."""
    from connector import migrate
    from connector.db import make_engine

    if not database_url:
        with tempfile.TemporaryDirectory(prefix="bench-") as directory:
            url = f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
            yield url
        return
    with _postgres_scratch(database_url) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url


@contextmanager
def _postgres_scratch(database_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(database_url)
    if server.get_backend_name() != "postgresql":
        raise ValueError("--database-url must be a postgresql:// URL (SQLite is the default)")
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# Counted traffic


@dataclass
class Traffic:
    """What the adapter sent and got back, as seen from our side of the wire."""

    requests: int = 0
    failed: int = 0  # HTTP status 400 and above
    throttled: int = 0  # Shopify THROTTLED answers (HTTP 200, nothing executed)
    statuses: Counter = field(default_factory=Counter)
    cost_requested: float = 0.0
    cost_actual: float = 0.0

    def count(self, response: requests.Response) -> None:
        self.requests += 1
        self.statuses[response.status_code] += 1
        if response.status_code >= 400:
            self.failed += 1

    def count_graphql(self, response: requests.Response, *_args, **_kwargs) -> None:
        """A `requests` response hook: also reads Shopify's `extensions.cost` and THROTTLED."""
        self.count(response)
        try:
            payload = response.json()
        except ValueError:
            return
        if not isinstance(payload, dict):
            return
        cost = (payload.get("extensions") or {}).get("cost") or {}
        self.cost_requested += cost.get("requestedQueryCost") or 0
        self.cost_actual += cost.get("actualQueryCost") or 0  # None when throttled: nothing ran
        errors = payload.get("errors")
        if isinstance(errors, list) and any(
            ((e.get("extensions") or {}).get("code") == "THROTTLED") for e in errors if isinstance(e, dict)
        ):
            self.throttled += 1


def counted_session(traffic: Traffic) -> requests.Session:
    """A session for ShopifyChannel whose every response is counted."""
    session = requests.Session()
    session.hooks["response"].append(traffic.count_graphql)
    return session


class CountedWooAPI(woocommerce.API):
    """The `woocommerce` package's API for WooCommerceChannel(api=…), counting every response."""

    def __init__(self, url: str, key: str, secret: str, traffic: Traffic, **kwargs):
        super().__init__(url, key, secret, **kwargs)
        self.traffic = traffic

    def get(self, endpoint, **kwargs):
        return self._counted(super().get(endpoint, **kwargs))

    def post(self, endpoint, data, **kwargs):
        return self._counted(super().post(endpoint, data, **kwargs))

    def put(self, endpoint, data, **kwargs):
        return self._counted(super().put(endpoint, data, **kwargs))

    def delete(self, endpoint, **kwargs):
        return self._counted(super().delete(endpoint, **kwargs))

    def _counted(self, response: requests.Response) -> requests.Response:
        self.traffic.count(response)
        return response


# Memory


@dataclass
class PeakMemory:
    """Peak memory while the block ran: Python allocations (tracemalloc) and, on Linux, resident size."""

    python_bytes: int = 0
    rss_bytes: int | None = None


@contextmanager
def peak_memory() -> Iterator[PeakMemory]:
    """Measure this process only. tracemalloc counts what Python allocated inside the block; the
    resident high-water mark (reset first where Linux allows) also sees C allocations like SQLite's."""
    result = PeakMemory()
    rss_reset = _reset_rss_peak()
    tracemalloc.start()
    try:
        yield result
    finally:
        result.python_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        result.rss_bytes = _rss_peak() if rss_reset else None


def _reset_rss_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # "5" resets VmHWM (Linux 4.0+)
    except OSError:
        return False
    return True


def _rss_peak() -> int | None:
    with suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


# Small things


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


def say(message: str) -> None:
    """A progress line (the figures come after them, as the last line)."""
    print(message, flush=True)


def mib(n: int | None) -> float | None:
    return None if n is None else round(n / 2**20, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a stocked sandbox store for a benchmark.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("platform", choices=("shopify", "woocommerce"))
    serve.add_argument("--items", type=int, required=True)
    serve.add_argument("--bucket-size", type=float, default=1000)
    serve.add_argument("--restore-rate", type=float, default=100)
    return _serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
