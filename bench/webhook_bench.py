"""Webhook intake under gunicorn: accepted webhooks/s, latency and lost deliveries, against a trivial
Flask endpoint served the same way, in one run.

For each gunicorn configuration (`--configs WORKERSxTHREADS,...`) two servers run side by side: the
connector, with a fresh Shopify channel, and bench/trivial_app.py. A separate process sends both the
same signed `inventory_levels/update` deliveries (about 1% of them twice) over a fixed number of
keep-alive connections, in rounds that alternate which app goes first, so that other work on the
machine weighs on both alike. Then the inbox is counted: every delivery answered 200 must be stored,
each duplicate exactly once. The CPU time of each server's processes is measured too (from /proc), a
figure that other load on the machine disturbs far less than the rates, and with PostgreSQL on this
machine that of the server processes serving the bench's database. "cpu_ratio" compares what one
request costs in all (server, database, load generator): the ratio the rates would show if both apps
were bound by CPU alone on an otherwise idle machine (waits, such as SQLite's for its write lock, are
not in it). The headline is the configuration with the most accepted webhooks/s; every
configuration's figures are in "configs". The exit status is 1 when a delivery was lost or a duplicate
stored twice.

    .venv/bin/python bench/webhook_bench.py [--requests 5000] [--concurrency 24] [--configs 2x8,4x2]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

With --database-url the bench creates a throwaway database on that server and drops it at the end;
without it, a SQLite file under a temporary directory. Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
TOPIC = "inventory_levels/update"
PATH = "/webhooks/shopify"
LOCATION_ID = 6884556842
# App name: (gunicorn app spec, the directory it is imported from).
APPS = {"webhook": ("connector:create_app()", ROOT), "trivial": ("trivial_app:create_app()", BENCH_DIR)}


@dataclass(frozen=True)
class ServerConfig:
    """A gunicorn shape: worker processes times threads per worker."""

    workers: int
    threads: int

    @property
    def label(self) -> str:
        return f"{self.workers}x{self.threads}"


@dataclass(frozen=True)
class Delivery:
    event_id: str
    webhook_id: str
    item: int


@dataclass(frozen=True)
class LoadSpec:
    """Everything the load process needs; plain values, so it crosses the process boundary."""

    ports: dict[str, int]  # app name ("webhook", "trivial") to its gunicorn's port
    groups: dict[str, int]  # app name to its gunicorn's process group, for its CPU time
    database: str | None  # the PostgreSQL database's name, for its server processes' CPU time
    shop: str
    secret: str
    warmup: list[Delivery]
    timed: list[Delivery]
    concurrency: int
    rounds: int
    timeout_s: float = 15.0


@dataclass
class AppLoad:
    """What one app answered: per timed delivery a status (0 = no answer) and a latency."""

    statuses: list[int]
    latencies_s: list[float]
    elapsed_s: float = 0.0
    cpu_s: float = 0.0  # the load generator's own CPU time while driving this app
    server_cpu_s: float = 0.0  # the app's gunicorn master and workers' CPU time meanwhile
    database_cpu_s: float = 0.0  # the PostgreSQL processes serving the bench's database, meanwhile
    duplicate_answers: int = 0


@dataclass
class LoadResult:
    apps: dict[str, AppLoad]
    warmup_statuses: dict[str, list[int]]


# The load generator (runs in its own process)


def run_load(spec: LoadSpec) -> LoadResult:
    """Warm every app up, then send the timed deliveries in rounds, alternating which app goes first,
    so a change in the machine's background load falls on both apps alike."""
    warmup = [_signed(spec, d) for d in spec.warmup]
    timed = [_signed(spec, d) for d in spec.timed]
    result = LoadResult({}, {})
    for app, port in spec.ports.items():
        scratch = AppLoad([0] * len(warmup), [0.0] * len(warmup))
        _drive(spec, port, warmup, range(len(warmup)), scratch)
        result.warmup_statuses[app] = scratch.statuses
        result.apps[app] = AppLoad([0] * len(timed), [0.0] * len(timed))
    for round_no, chunk in enumerate(_chunks(len(timed), spec.rounds)):
        order = list(spec.ports) if round_no % 2 == 0 else list(reversed(spec.ports))
        for app in order:
            load = result.apps[app]
            cpu, server_cpu = time.process_time(), group_cpu_s(spec.groups[app])
            database_cpu = database_cpu_s(spec.database)
            load.elapsed_s += _drive(spec, spec.ports[app], timed, chunk, load)
            load.cpu_s += time.process_time() - cpu
            load.server_cpu_s += group_cpu_s(spec.groups[app]) - server_cpu
            load.database_cpu_s += database_cpu_s(spec.database) - database_cpu
    return result


def group_cpu_s(group: int) -> float:
    """CPU time (user + system) used so far by the live processes of a process group, from /proc
    (0 where there is no /proc: the figure is then missing, not wrong)."""
    return _cpu_s(lambda fields, _entry: int(fields[2]) == group)


def database_cpu_s(database: str | None) -> float:
    """CPU time used so far by the PostgreSQL server processes serving `database`, found by the titles
    they give themselves ("postgres: ... USER DATABASE HOST(PORT) ..."); 0 without a database, or where
    the server does not run on this machine."""
    if not database:
        return 0.0
    marker = f" {database} ".encode()

    def serves(_fields: list[str], entry: os.DirEntry) -> bool:
        title = Path(entry.path, "cmdline").read_bytes()
        return title.startswith(b"postgres: ") and marker in title

    return _cpu_s(serves)


def _cpu_s(wanted) -> float:
    if not Path("/proc/self/stat").exists():
        return 0.0
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
            if wanted(fields, entry):
                ticks += int(fields[11]) + int(fields[12])
        except OSError:
            continue  # gone meanwhile
    return ticks / os.sysconf("SC_CLK_TCK")


def _chunks(total: int, rounds: int) -> list[range]:
    size = -(-total // max(1, rounds))
    return [range(start, min(start + size, total)) for start in range(0, total, size)]


def _signed(spec: LoadSpec, delivery: Delivery) -> tuple[bytes, dict[str, str]]:
    body = _inventory_body(delivery.item)
    digest = hmac.new(spec.secret.encode(), body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": TOPIC,
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Shop-Domain": spec.shop,
        "X-Shopify-Webhook-Id": delivery.webhook_id,
        "X-Shopify-Event-Id": delivery.event_id,
        "X-Shopify-Triggered-At": "2026-11-02T10:15:00.000000Z",
        "X-Shopify-API-Version": "2026-10",
    }
    return body, headers


def _inventory_body(item: int) -> bytes:
    """The REST shape Shopify sends for inventory_levels/update; the same item always gives the same bytes."""
    item_id = 40_000_000_000 + item
    return json.dumps(
        {
            "inventory_item_id": item_id,
            "location_id": LOCATION_ID,
            "available": item % 50,
            "updated_at": "2026-11-02T10:15:00-05:00",
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{LOCATION_ID}?inventory_item_id={item_id}",
        }
    ).encode()


def _drive(spec: LoadSpec, port: int, requests: list, indices: range, load: AppLoad) -> float:
    """Send requests[i] for each i in `indices` once over `concurrency` connections (one thread each);
    returns the wall time from the first request to the last answer."""
    pending = iter(indices)
    take = threading.Lock()
    start = threading.Barrier(spec.concurrency + 1)

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=spec.timeout_s)
        start.wait()
        while True:
            with take:
                i = next(pending, None)
            if i is None:
                break
            body, headers = requests[i]
            began = time.perf_counter()
            try:
                connection.request("POST", PATH, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                load.statuses[i] = response.status
            except (OSError, http.client.HTTPException):
                connection.close()  # the next request reconnects
                load.statuses[i], answer = 0, b""
            load.latencies_s[i] = time.perf_counter() - began
            if load.statuses[i] == 200 and b'"duplicate":true' in answer:
                with take:
                    load.duplicate_answers += 1
        connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(spec.concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def load_from_another_process(spec: LoadSpec) -> LoadResult:
    """Run the load in a freshly spawned process, so the client shares nothing with the servers; the
    process is stopped whatever happens here (an interrupted bench must not leave it sending)."""
    context = get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_load_and_send, args=(spec, sender), name="webhook-load", daemon=True)
    process.start()
    sender.close()
    try:
        return receiver.recv()
    except EOFError:
        process.join(timeout=5)
        raise RuntimeError(f"the load process died (exit code {process.exitcode})") from None
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join(timeout=10)


def _load_and_send(spec: LoadSpec, sender) -> None:
    sender.send(run_load(spec))
    sender.close()


# The plan: which deliveries, with which duplicates


def plan(n: int, duplicate_rate: float, rng: random.Random) -> list[Delivery]:
    """`n` deliveries of which about `duplicate_rate` repeat an earlier event: half right behind it
    (in flight together), half later (a retry)."""
    duplicates = round(n * duplicate_rate) if n >= 2 else 0
    unique = [Delivery(str(uuid.uuid4()), str(uuid.uuid4()), item) for item in range(n - duplicates)]
    deliveries = list(unique)
    for k, original in enumerate(rng.sample(unique[: max(1, len(unique) // 2)], duplicates)):
        at = deliveries.index(original) + 1
        if k % 2:
            at = rng.randint(at, len(deliveries))
        deliveries.insert(at, Delivery(original.event_id, str(uuid.uuid4()), original.item))
    return deliveries


# Databases, servers


@contextmanager
def database(url: str | None, workdir: Path) -> Iterator[str]:
    """A SQLite file under `workdir`, or a throwaway database on the PostgreSQL server of `url`."""
    if not url:
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(url)
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"webhook_bench_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        print(f"created database {name} on {server.host}:{server.port or 5432}", flush=True)
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"dropped database {name}", flush=True)
    finally:
        admin.dispose()


class Store:
    """The bench's own view of the connector's database: migrate, add shops, count the inbox.

    Connector modules are imported here, not at the top, so the spawned load process stays light."""

    def __init__(self, url: str, encryption_key: str):
        from connector import migrate
        from connector.crypto import Vault
        from connector.db import UnitOfWork, make_engine, session_factory
        from connector.services.merchants import create_merchant

        self.engine = make_engine(url)
        migrate.upgrade(self.engine)
        self._sessions = session_factory(self.engine)
        self._uow = lambda: UnitOfWork(self._sessions)
        self._vault = Vault([encryption_key])
        self.merchant_id = create_merchant(self._uow(), "Webhook bench")

    def add_shop(self, shop: str, webhook_secret: str) -> int:
        from connector.services.channels import ShopifyConnection, add_channel

        connection = ShopifyConnection(shop=shop, token="shpat_bench", webhook_secret=webhook_secret)
        return add_channel(self._uow(), self._vault, self.merchant_id, connection)

    def stored_keys(self, channel_id: int) -> list[str]:
        from sqlalchemy import select

        from connector.models import InboxDelivery
        from connector.services import spool

        spool.move(self._uow)  # SQLite: what the intake spooled while the turn was taken, as a worker would
        with self._uow() as uow:
            query = select(InboxDelivery.dedupe_key).where(InboxDelivery.channel_id == channel_id)
            return list(uow.session.scalars(query))

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def gunicorn(
    app: tuple[str, Path], config: ServerConfig, env: dict[str, str], log_path: Path
) -> Iterator[tuple[int, int]]:
    """Serve `app` on a fresh loopback port; yields the port and the process group of the master and
    its workers; always stops them all."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))  # handed to gunicorn as an fd: no window for another to take the port
    listener.listen(1024)
    port = listener.getsockname()[1]
    spec, directory = app
    command = [
        _gunicorn_binary(),
        *("--bind", f"fd://{listener.fileno()}", "--pythonpath", str(directory)),
        *("--workers", str(config.workers), "--threads", str(config.threads)),
        *("--keep-alive", "5", "--graceful-timeout", "5", "--backlog", "1024", spec),
    ]
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
            start_new_session=True,  # its own process group, so the workers can be stopped with it
        )
    listener.close()
    try:
        _wait_healthy(server, port, log_path)
        yield port, server.pid
    finally:
        _stop(server)


def _gunicorn_binary() -> str:
    beside = Path(sys.executable).parent / "gunicorn"
    found = str(beside) if beside.exists() else shutil.which("gunicorn")
    if not found:
        raise SystemExit("gunicorn not found: run the bench with the project's .venv/bin/python")
    return found


def _wait_healthy(server: subprocess.Popen, port: int, log_path: Path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{_tail(log_path)}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return
            connection.close()
        except (OSError, http.client.HTTPException):
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout_s:.0f}s:\n{_tail(log_path)}")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()  # the master stops its workers gracefully
        with suppress(subprocess.TimeoutExpired):
            server.wait(timeout=10)
    with suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # anything of that group still alive
    server.wait()


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# One configuration, both apps


@dataclass
class Bench:
    store: Store
    env: dict[str, str]
    workdir: Path
    requests: int
    concurrency: int
    warmup: int
    rounds: int
    duplicate_rate: float
    rng: random.Random
    database_name: str | None = None  # PostgreSQL's, to count its server processes' CPU time
    runs: int = 0

    def measure(self, config: ServerConfig) -> dict[str, object]:
        """Figures for the connector and the trivial app, both served under `config`, fed alike."""
        self.runs += 1
        shop = f"bench-{self.runs}-{config.label}.myshopify.com"
        secret = secrets.token_hex(16)
        channel_id = self.store.add_shop(shop, secret)
        logs = {app: self.workdir / f"{app}-{self.runs}-{config.label}.log" for app in APPS}
        warmup = plan(self.warmup, 0.0, self.rng)
        timed = plan(self.requests, self.duplicate_rate, self.rng)
        print(
            f"[{config.label}] {self.requests} deliveries to each app in {self.rounds} alternating rounds, "
            f"{self.concurrency} connections",
            flush=True,
        )
        with (
            gunicorn(APPS["webhook"], config, self.env, logs["webhook"]) as (webhook_port, webhook_group),
            gunicorn(APPS["trivial"], config, self.env, logs["trivial"]) as (trivial_port, trivial_group),
        ):
            spec = LoadSpec(
                ports={"webhook": webhook_port, "trivial": trivial_port},
                groups={"webhook": webhook_group, "trivial": trivial_group},
                database=self.database_name,
                shop=shop,
                secret=secret,
                warmup=warmup,
                timed=timed,
                concurrency=self.concurrency,
                rounds=self.rounds,
            )
            result = load_from_another_process(spec)
        hooks, trivial = result.apps["webhook"], result.apps["trivial"]
        figures = {"config": config.label, **_rates("webhook", hooks), **_rates("trivial", trivial)}
        figures["ratio"] = round(figures["webhooks_per_s"] / max(figures["trivial_per_s"], 1e-9), 3)
        figures |= _losses(spec, result, self.store.stored_keys(channel_id), channel_id)
        figures["server_cpu_ms_per_request"] = _per_request(result, "server_cpu_s", len(spec.timed))
        figures["database_cpu_ms_per_request"] = _per_request(result, "database_cpu_s", len(spec.timed))
        figures["loadgen_cpu_ms_per_request"] = _per_request(result, "cpu_s", len(spec.timed))
        figures["cpu_ratio"] = _cpu_ratio(figures)
        cpu, db = figures["server_cpu_ms_per_request"], figures["database_cpu_ms_per_request"]
        print(
            f"[{config.label}] connector: {_brief(figures, 'webhook')}, server CPU {cpu['webhook']} ms each"
            + (f" + database {db['webhook']} ms" if self.database_name else "")
        )
        print(
            f"[{config.label}] trivial:   {_brief(figures, 'trivial')}, server CPU {cpu['trivial']} ms each"
        )
        print(
            f"[{config.label}] lost {figures['lost']}, ratio {figures['ratio']} (CPU per request: "
            f"{figures['cpu_ratio']})",
            flush=True,
        )
        for app, log in logs.items():
            if figures[f"{app}_errors"]:
                print(f"[{config.label}] {app} answered errors; its log ends:\n{_tail(log)}", flush=True)
        return figures


def _per_request(result: LoadResult, what: str, requests: int) -> dict[str, float]:
    return {app: round(getattr(load, what) / requests * 1000, 3) for app, load in result.apps.items()}


def _cpu_ratio(figures: dict) -> float | None:
    """The trivial app's CPU per request over the connector's, each with its share of the database and
    of the load generator: the rates' ratio if both were bound by CPU alone, with nothing else running."""
    parts = ("server_cpu_ms_per_request", "database_cpu_ms_per_request", "loadgen_cpu_ms_per_request")
    webhook, trivial = (sum(figures[part][app] for part in parts) for app in ("webhook", "trivial"))
    return round(trivial / webhook, 3) if webhook > 0 and trivial > 0 else None  # None: no /proc


def _rates(prefix: str, load: AppLoad) -> dict[str, object]:
    ok = [lat for status, lat in zip(load.statuses, load.latencies_s, strict=True) if status == 200]
    per_s = "webhooks_per_s" if prefix == "webhook" else "trivial_per_s"
    return {
        per_s: round(len(ok) / load.elapsed_s, 1) if load.elapsed_s else 0.0,
        f"{prefix}_p50_ms": round(statistics.median(ok) * 1000, 2) if ok else None,
        f"{prefix}_p99_ms": round(_p99(ok) * 1000, 2) if ok else None,
        f"{prefix}_errors": sum(1 for status in load.statuses if status != 200),
    }


def _p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def _losses(spec: LoadSpec, result: LoadResult, stored: list[str], channel_id: int) -> dict[str, object]:
    """Compare what the connector answered 200 with what its inbox holds."""
    key = f"{channel_id}:{TOPIC}:"
    sent = [
        *zip(spec.warmup, result.warmup_statuses["webhook"], strict=True),
        *zip(spec.timed, result.apps["webhook"].statuses, strict=True),
    ]
    accepted = {d.event_id for d, status in sent if status == 200}
    kept = [k.removeprefix(key) for k in stored]
    repeated: dict[str, list[int]] = {}
    for delivery, status in sent:
        repeated.setdefault(delivery.event_id, []).append(status)
    duplicated = {event for event, statuses in repeated.items() if len(statuses) > 1}
    once = all(kept.count(event) == 1 for event in duplicated) and all(
        status == 200 for event in duplicated for status in repeated[event]
    )
    return {
        "lost": len(accepted - set(kept)),
        "stored": len(kept),
        "unexpected_rows": len(set(kept) - set(repeated)) + len(kept) - len(set(kept)),
        "duplicates_sent": sum(len(repeated[event]) - 1 for event in duplicated),
        "duplicates_answered_as_such": result.apps["webhook"].duplicate_answers,
        "duplicates_stored_once": bool(duplicated) and once,
    }


def _brief(figures: dict[str, object], prefix: str) -> str:
    per_s = figures["webhooks_per_s" if prefix == "webhook" else "trivial_per_s"]
    return (
        f"{per_s}/s, p50 {figures[f'{prefix}_p50_ms']} ms, p99 {figures[f'{prefix}_p99_ms']} ms, "
        f"{figures[f'{prefix}_errors']} errors"
    )


# Putting it together


def parse_configs(text: str) -> list[ServerConfig]:
    """`2x4,4x2` → two configurations (workers x threads)."""
    configs = []
    for part in text.split(","):
        workers, _, threads = part.strip().lower().partition("x")
        if not (workers.isdigit() and threads.isdigit() and int(workers) > 0 and int(threads) > 0):
            raise argparse.ArgumentTypeError(f"expected WORKERSxTHREADS like 2x4, got {part!r}")
        configs.append(ServerConfig(int(workers), int(threads)))
    return configs


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000, help="timed deliveries per app and config")
    parser.add_argument("--concurrency", type=int, default=24, help="connections (one thread each)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed deliveries to each app first")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds the deliveries are cut in")
    parser.add_argument("--duplicate-rate", type=float, default=0.01, help="share sent a second time")
    parser.add_argument("--configs", type=parse_configs, default=parse_configs("2x8,4x2"))
    parser.add_argument("--database-url", help="a PostgreSQL server to make a throwaway database on")
    parser.add_argument("--log-level", default="INFO", help="the connector's LOG_LEVEL (INFO as deployed)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.requests < 2 or args.concurrency < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--requests must be at least 2, --concurrency and --rounds at least 1, --warmup >= 0")
    return args


def server_env(database_url: str, workdir: Path, encryption_key: str, log_level: str) -> dict[str, str]:
    """The connector's environment as a production web process would have it (JSON logs to stderr)."""
    return {
        **os.environ,
        "APP_ENV": "production",
        "APP_URL": "https://connector.bench.invalid",
        "VAR_DIR": str(workdir / "var"),
        "DATABASE_URL": database_url,
        "ENCRYPTION_KEY": encryption_key,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "LOG_LEVEL": log_level,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }


def _postgresql_database(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() == "postgresql" else None


def headline(runs: list[dict[str, object]], database_kind: str, args: argparse.Namespace) -> dict:
    """The fastest configuration's figures first; losses and duplicate checks cover every run."""
    best = max(runs, key=lambda run: run["webhooks_per_s"])
    return {
        "webhooks_per_s": best["webhooks_per_s"],
        "webhook_p50_ms": best["webhook_p50_ms"],
        "webhook_p99_ms": best["webhook_p99_ms"],
        "lost": sum(run["lost"] for run in runs),
        "duplicates_stored_once": all(run["duplicates_stored_once"] for run in runs),
        "trivial_per_s": best["trivial_per_s"],
        "trivial_p99_ms": best["trivial_p99_ms"],
        "ratio": best["ratio"],
        "cpu_ratio": best["cpu_ratio"],
        "config": best["config"],
        "database": database_kind,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "errors": sum(run["webhook_errors"] + run["trivial_errors"] for run in runs),
        "configs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    # A SIGTERM must still run the finally blocks that stop gunicorn and drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from cryptography.fernet import Fernet

    encryption_key = Fernet.generate_key().decode()
    kind = "postgresql" if args.database_url else "sqlite"
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as tmp:
        workdir = Path(tmp)
        with database(args.database_url, workdir) as url:
            store = Store(url, encryption_key)
            try:
                env = server_env(url, workdir, encryption_key, args.log_level)
                bench = Bench(
                    store=store,
                    env=env,
                    workdir=workdir,
                    requests=args.requests,
                    concurrency=args.concurrency,
                    warmup=args.warmup,
                    rounds=args.rounds,
                    duplicate_rate=args.duplicate_rate,
                    rng=random.Random(args.seed),
                    database_name=_postgresql_database(url),
                )
                print(f"{os.cpu_count()} cores, {kind}, configs {[c.label for c in args.configs]}")
                runs = [bench.measure(config) for config in args.configs]
            finally:
                store.close()
    figures = headline(runs, kind, args)
    print(json.dumps(figures))
    return 0 if figures["lost"] == 0 and figures["duplicates_stored_once"] else 1


if __name__ == "__main__":
    sys.exit(main())
