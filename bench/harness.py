"""A multichannel world on loopback: sandbox stores, the connector's web app, workers, and a shopper.

Used by the end-to-end sync tests (small) and bench/sync_bench.py (full size). Everything runs over real
HTTP on 127.0.0.1; workers run in threads or as `backorder worker` processes (which can be killed).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text

from adapters.sandbox.common import Faults
from adapters.sandbox.server import RunningServer, start_in_thread
from connector import migrate
from connector.crypto import Vault
from connector.db import UnitOfWork, make_engine, session_factory
from connector.domain.catalog import ItemDraft
from connector.domain.eta import nearest_rank_percentile
from connector.domain.stock import StockLevel
from connector.models import (
    AuditEntry,
    Backorder,
    Base,
    InboxDelivery,
    Item,
    Merchant,
    Order,
    OrderLine,
    OutboxRow,
    utcnow,
)
from connector.models.messaging import ORDER_DELIVERY, is_order_topic
from connector.services import channels, merchants, policy, spool
from connector.services.channel_import import import_catalog
from connector.services.ledger import level_of
from connector.settings import Settings
from connector.storefronts import StorefrontCache, subscribe
from connector.web.app import create_app
from connector.worker import Worker

KEY = "ck_" + "5" * 40
SECRET = "cs_" + "6" * 40
APP_SECRET = "harness-app-secret"


def catalogue(skus: int, *, stock: tuple[int, int], rng: random.Random) -> list[ItemDraft]:
    return [
        ItemDraft(
            sku=f"SKU-{n:05d}",
            title=f"Item {n}",
            product_type="Things",
            price=Decimal("10.00"),
            on_hand=rng.randint(*stock),
        )
        for n in range(skus)
    ]


@dataclass
class Placed:
    store: str
    order_id: str
    sku: str
    quantity: int
    at: float


@dataclass
class World:
    database_url: str
    skus: int = 100
    stock: tuple[int, int] = (20, 40)
    shopify_stores: int = 2
    woo_stores: int = 1
    latency_ms: int = 0
    fail_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    seed: int = 7
    # The merchant's safety stock (units kept back from every store); the stores start out showing the
    # rest once the connector's first pushes landed (`settle`).
    safety_stock: int = 0
    # "thread": the connector's web app in this process, beside the stores (small tests).
    # "gunicorn": in its own gunicorn, shaped as the Procfile's web process, as a merchant runs it.
    intake: str = "thread"
    var_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="backorder-world-")))
    placed: list[Placed] = field(default_factory=list)
    refused: int = 0
    _processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, *, fresh_database: bool = True) -> World:
        # The stand-in stores' access log (werkzeug, one line per request) costs this process's CPU,
        # which the stores, the shopper and the webhook intake share.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.rng = random.Random(self.seed)
        self.env = {
            "DATABASE_URL": self.database_url,
            "VAR_DIR": str(self.var_dir),
            "LOG_LEVEL": "WARNING",
            "SHOPIFY_API_SECRET": APP_SECRET,
        }
        self.settings = Settings.from_env(self.env)
        self.engine = (
            make_engine(self.settings.database_url, pool_size=20)
            if "postgresql" in self.database_url
            else make_engine(self.settings.database_url)
        )
        if fresh_database:
            _reset(self.engine)
        migrate.upgrade(self.engine)
        self.sessions = session_factory(self.engine)
        self.app = create_app(self.settings, engine=self.engine)
        self._exits = contextlib.ExitStack()
        if self.intake == "gunicorn":
            self.web_url = self._start_gunicorn()
        else:
            web = start_in_thread(self.app)
            self._exits.callback(web.stop)
            self.web_url = web.url
        self.drafts = catalogue(self.skus, stock=self.stock, rng=self.rng)
        self.stores: dict[str, object] = {}
        self.servers: list[RunningServer] = []
        self._start_stores()
        self._connect()
        return self

    def new_uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    # -- stores ---------------------------------------------------------------------------------------

    def _faults(self, n: int) -> Faults:
        return Faults(
            latency_ms=self.latency_ms,
            fail_rate=self.fail_rate,
            duplicate_rate=self.duplicate_rate,
            reorder_rate=self.reorder_rate,
            rng=random.Random(self.seed * 100 + n),
        )

    def _start_stores(self) -> None:
        from adapters.sandbox.shopify import ShopifySandbox
        from adapters.sandbox.woocommerce import WooCommerceSandbox

        for n in range(self.shopify_stores):
            shop = f"harness-{n}.myshopify.com"
            sandbox = ShopifySandbox(
                shop=shop,
                client_secret=APP_SECRET,
                bucket_size=2000,
                restore_rate=1000,
                faults=self._faults(n),
            )
            sandbox.seed(self.drafts)
            self.stores[shop] = sandbox
            self.servers.append(start_in_thread(sandbox.wsgi_app))
        for n in range(self.woo_stores):
            sandbox = WooCommerceSandbox(
                consumer_key=KEY, consumer_secret=SECRET, faults=self._faults(50 + n)
            )
            sandbox.seed(self.drafts)
            server = start_in_thread(sandbox.wsgi_app)
            sandbox.remember_address(server.url)
            self.stores[server.url] = sandbox
            self.servers.append(server)

    def _connect(self) -> None:
        vault = Vault(self.settings.encryption_keys)
        self.merchant_id = merchants.create_merchant(self.new_uow(), "Harness")
        cache = StorefrontCache(self.settings)
        self.channel_ids: dict[str, int] = {}
        for (name, _sandbox), server in zip(self.stores.items(), self.servers, strict=True):
            if name.endswith("myshopify.com"):
                connection = channels.ShopifyConnection(name, "shpat_harness", api_url=server.url)
            else:
                connection = channels.WooCommerceConnection(server.url, KEY, SECRET)
            channel_id = channels.add_channel(self.new_uow(), vault, self.merchant_id, connection)
            with self.new_uow() as uow:
                port = cache.get(channels.get_channel(uow, channel_id))
            progress = import_catalog(self.new_uow, channel_id, port)
            assert progress.linked == self.skus, progress.problems[:3]
            subscribe(self.new_uow, self.settings, vault, channel_id, self.web_url)
            self.channel_ids[name] = channel_id
        if self.safety_stock:  # queues a push of every item's number, now less the safety stock
            policy.set_merchant_defaults(
                self.new_uow(), self.merchant_id, safety_stock=self.safety_stock, now=utcnow()
            )

    def _start_gunicorn(self) -> str:
        from bench.webhook_bench import APPS, ServerConfig, gunicorn

        env = {**os.environ, **self.env}
        log_path = self.var_dir / "gunicorn.log"
        port, _group = self._exits.enter_context(
            gunicorn(APPS["webhook"], ServerConfig(workers=2, threads=8), env, log_path)
        )
        return f"http://127.0.0.1:{port}"

    # -- workers --------------------------------------------------------------------------------------

    def start_thread_workers(self, count: int = 1, threads: int = 2) -> None:
        self._stop = threading.Event()
        services = self.app.extensions["backorder"]
        self._workers = []
        for _ in range(count):
            worker = Worker(self.settings, self.engine, threads=threads, wakeup=services.worker_wakeup)
            self._workers.append(worker.start(self._stop))

    def start_process_worker(self, threads: int = 2) -> subprocess.Popen:
        """`backorder worker` in its own process, as the Procfile runs it; stopped by `stop()`. Its log
        is at INFO, the product's default, so `wait_until_running` can see it start."""
        env = {**os.environ, **self.env, "LOG_LEVEL": "INFO"}
        with self._worker_log(len(self._processes)).open("ab") as log:  # kept for a look after
            process = subprocess.Popen(
                [sys.executable, "-m", "connector.cli", "worker", "--threads", str(threads)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._processes.append(process)
        return process

    def wait_until_running(self, processes: list[subprocess.Popen], timeout: float = 60.0) -> None:
        """Wait until these worker processes have started their threads (the line `Worker.run` logs), as
        a deployment's workers have long before its shoppers arrive."""
        deadline = time.monotonic() + timeout
        waiting = {self._processes.index(process) for process in processes}
        while waiting:
            for n in list(waiting):
                if self._processes[n].poll() is not None:
                    raise RuntimeError(f"worker process {n} exited; see {self._worker_log(n)}")
                if " dispatcher threads" in self._worker_log(n).read_text(errors="replace"):
                    waiting.discard(n)
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker processes {sorted(waiting)} not running after {timeout:.0f} s")
            time.sleep(0.05)

    def _worker_log(self, n: int) -> Path:
        return self.var_dir / f"worker-{n}.log"

    # -- shopping -------------------------------------------------------------------------------------

    def place_random_order(self) -> Placed | None:
        """A shopper buys 1-2 units of a random SKU on a random store; refused when the store is out."""
        return self.place_random_order_for(self.rng.choice(self.drafts).sku)

    def place_random_order_for(self, sku: str) -> Placed | None:
        """1-2 units of `sku` on a random store; None when the store refused (out of stock)."""
        from adapters.sandbox.woocommerce.sandbox import CheckoutRefused

        name = self.rng.choice(list(self.stores))
        sandbox = self.stores[name]
        quantity = self.rng.randint(1, 2)
        at = time.monotonic()
        if name.endswith("myshopify.com"):
            result = sandbox.place_order([(sku, quantity)])
            if result["userErrors"] or not result["order"]:
                self.refused += 1
                return None
            order_id = result["order"]["id"]
        else:
            try:
                order_id = str(sandbox.place_order([(sku, quantity)])["id"])
            except CheckoutRefused:
                self.refused += 1
                return None
        placed = Placed(name, order_id, sku, quantity, at)
        self.placed.append(placed)
        return placed

    def place_orders(self, count: int, per_second: float) -> None:
        started = time.monotonic()
        for n in range(count):
            delay = started + n / per_second - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.place_random_order()

    # -- observing ------------------------------------------------------------------------------------

    def store_quantity(self, name: str, sku: str) -> int:
        sandbox = self.stores[name]
        if name.endswith("myshopify.com"):
            return sandbox.quantity(sku, "available")
        return sandbox.product_by_sku(sku)["stock_quantity"]

    def ledger(self) -> dict[str, StockLevel]:
        with self.new_uow().reading() as uow:  # the bench's looks never hold up the writers
            merchant = uow.session.get(Merchant, self.merchant_id)
            items = uow.session.scalars(select(Item).where(Item.merchant_id == self.merchant_id)).all()
            return {item.sku: level_of(item, merchant) for item in items}

    def backlog(self) -> tuple[int, int]:
        spooled = spool.beside(self.engine)  # SQLite: stored while the worker had the turn, not moved yet
        with self.new_uow().reading() as uow:  # the bench's looks never hold up the writers
            inbox = uow.session.scalar(
                select(func.count()).select_from(InboxDelivery).where(InboxDelivery.status == "received")
            ) + (spooled.waiting() if spooled is not None else 0)
            outbox = uow.session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.status.in_(("pending", "in_flight")))
            )
        return inbox, outbox

    def mismatches(self) -> list[tuple[str, str, int, int]]:
        found = []
        for sku, level in self.ledger().items():
            wanted = level.sellable
            for name in self.stores:
                shown = self.store_quantity(name, sku)
                if shown != wanted:
                    found.append((name, sku, shown, wanted))
        return found

    def settle(self, timeout: float = 120.0) -> float:
        """Wait until webhooks are delivered, the inbox and outbox are empty, and every store agrees."""
        started = time.monotonic()
        deadline = started + timeout
        for sandbox in self.stores.values():
            if hasattr(sandbox, "flush_webhooks"):
                sandbox.flush_webhooks()
            else:
                sandbox.webhooks.flush(timeout=timeout)
        while time.monotonic() < deadline:
            inbox, outbox = self.backlog()
            if inbox == 0 and outbox == 0 and not self.mismatches():
                return time.monotonic() - started
            time.sleep(0.5)
        raise AssertionError(
            f"not settled after {timeout:.0f} s: backlog {self.backlog()}, mismatches {self.mismatches()[:5]}"
        )

    def delays(self) -> dict[str, float]:
        """Where the race window between two stores goes, p50/p95 in seconds: from an event on a stand-in
        store to our intake accepting its webhook, by platform, for orders and for everything else
        (mostly echoes of our pushes; deliveries that failed are not in it, their retries are); and
        from our intake to the worker applying an order delivery (its wait in the inbox)."""
        found: dict[str, list[float]] = {}
        for name, sandbox in self.stores.items():
            shopify = name.endswith("myshopify.com")
            sender = sandbox.webhooks if shopify else sandbox.sender
            for topic, seconds in list(sender.delivered_after):
                kind = "orders" if is_order_topic(topic) else "other"
                found.setdefault(
                    f"webhook_delay_{'shopify' if shopify else 'woocommerce'}_{kind}", []
                ).append(seconds)
        with self.new_uow().reading() as uow:
            found["inbox_wait_orders"] = [
                (processed - received).total_seconds()
                for processed, received in uow.session.execute(
                    select(InboxDelivery.processed_at, InboxDelivery.received_at).where(
                        ORDER_DELIVERY, InboxDelivery.processed_at.is_not(None)
                    )
                )
            ]
        figures = {}
        for key, values in sorted(found.items()):
            if values:
                figures[f"{key}_p50_s"] = round(nearest_rank_percentile(values, 50), 2)
                figures[f"{key}_p95_s"] = round(nearest_rank_percentile(values, 95), 2)
        return figures

    def counts(self) -> dict[str, int]:
        """Correctness figures: orders recorded vs placed, units committed vs sold; oversold as the product
        flags it (units past the merchant's policy, for support) and, as a cross-check, SKUs with more
        committed than on hand; and the races the safety stock absorbed: units sold beyond what the
        stores offered, the SKUs that drew on it, the most drawn on one, and the uses on record."""
        with self.new_uow().reading() as uow:  # the bench's looks never hold up the writers
            merchant = uow.session.get(Merchant, self.merchant_id)
            flagged = uow.session.execute(
                select(
                    func.count(func.distinct(Backorder.item_id)),
                    func.coalesce(func.sum(Backorder.quantity), 0),
                ).where(Backorder.merchant_id == self.merchant_id, Backorder.oversold.is_(True))
            ).one()
            safety_uses = uow.session.execute(
                select(AuditEntry.subject, AuditEntry.details).where(
                    AuditEntry.merchant_id == self.merchant_id, AuditEntry.action == "stock.safety_stock_used"
                )
            ).all()
            orders = uow.session.scalar(select(func.count()).select_from(Order))
            units = uow.session.scalar(select(func.coalesce(func.sum(OrderLine.quantity_committed), 0)))
            failed = uow.session.scalar(
                select(func.count()).select_from(InboxDelivery).where(InboxDelivery.status == "failed")
            )
            dead = uow.session.execute(
                select(OutboxRow.kind, OutboxRow.channel_id, OutboxRow.attempts, OutboxRow.last_error).where(
                    OutboxRow.status == "dead"
                )
            ).all()
        ledger = self.ledger()
        drawn: dict[str, int] = {}
        for subject, details in safety_uses:
            drawn[subject] = drawn.get(subject, 0) + int(details["units"])
        return {
            "orders_placed": len(self.placed),
            "orders_recorded": int(orders),
            "units_sold": sum(p.quantity for p in self.placed),
            "units_committed": int(units),
            "orders_refused_by_stores": self.refused,
            "backorder_policy": merchant.backorder_policy,
            "safety_stock": self.safety_stock,
            "oversold_skus_flagged": int(flagged[0]),
            "oversold_units_flagged": int(flagged[1]),
            "oversold_skus": sum(1 for level in ledger.values() if level.committed > level.on_hand),
            "skus_sold_out": sum(1 for level in ledger.values() if level.available <= 0),
            "units_sold_beyond_offered": sum(max(-level.available, 0) for level in ledger.values()),
            # From the product's record of each use: races the safety stock absorbed, not oversold ones.
            "safety_stock_uses_recorded": len(safety_uses),
            "skus_drawing_on_safety_stock": len(drawn),
            "most_drawn_on_one_sku": max(drawn.values(), default=0),
            "store_mismatches": len(self.mismatches()),
            "failed_deliveries": int(failed),
            "dead_pushes": len(dead),
            "dead_reasons": [
                f"{kind} on channel {channel} after {attempts}: {error}"
                for kind, channel, attempts, error in dead
            ][:5],
        }

    def stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
        if getattr(self, "_stop", None) is not None:
            self._stop.set()
            self.app.extensions["backorder"].wake_worker()
            for thread in self._workers:
                thread.join(timeout=10)
        for server in self.servers:
            server.stop()
        self._exits.close()
        self.engine.dispose()


def _reset(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        Base.metadata.drop_all(engine)  # a fresh file in practice; drop anything a previous run left
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
