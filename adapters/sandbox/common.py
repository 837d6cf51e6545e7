"""What both sandbox storefronts share: fault injection, call counting, and webhook delivery."""

from __future__ import annotations

import http.client
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connector.domain.catalog import ItemDraft, parse_catalog

log = logging.getLogger("adapters.sandbox")


@dataclass
class Faults:
    """Injected misbehaviour. Rates are probabilities in [0, 1]; `rng` makes runs repeatable."""

    latency_ms: int = 0
    fail_rate: float = 0.0  # answer 5xx to an API call
    timeout_rate: float = 0.0  # hold the request past the client's timeout, then answer
    timeout_seconds: float = 30.0
    duplicate_rate: float = 0.0  # deliver a webhook twice
    reorder_rate: float = 0.0  # hold a webhook back and deliver it after the next one
    rng: random.Random = field(default_factory=random.Random)
    scripted: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def roll(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def script(self, method: str, call: str, *outcomes: str) -> None:
        """What the next calls of `method` to `call` (named as CallCounter names it, e.g.
        "orders/<id>/refunds") meet, in turn: "ok"; "fail", a 5xx with nothing done; or "lost", the
        work done and then a 5xx, as from a proxy that gave up waiting. Later calls are left alone."""
        unknown = set(outcomes) - {"ok", "fail", "lost"}
        if unknown:
            raise ValueError(f"unknown scripted outcome(s): {', '.join(sorted(unknown))}")
        with self._lock:
            self.scripted.setdefault((method, call), []).extend(outcomes)

    def scripted_outcome(self, method: str, call: str) -> str:
        with self._lock:
            queue = self.scripted.get((method, call))
            return queue.pop(0) if queue else "ok"

    def delay(self) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)


class CallCounter:
    """Counts calls per endpoint (or per GraphQL operation) for tests and benchmarks."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass
class Delivery:
    url: str
    headers: dict[str, str]
    body: bytes
    on_result: Callable[[bool], None] | None = None  # told whether the receiver accepted it
    attempts: int = 0
    queued_at: float = field(default_factory=time.monotonic)


class WebhookSender:
    """Delivers webhooks at least once from background threads, like the platforms do.

    With `concurrency` above one, several deliveries are in flight at once (Shopify delivers in parallel
    and promises no order), so a slow receiver delays them without turning them into a queue.

        A delivery counts as accepted on any 2xx (and, like WooCommerce, on a redirect, which the receiver
        must therefore never answer with). Failures are retried with backoff up to `max_attempts`.
        Duplicates and reordering come from `faults`."""

    def __init__(
        self,
        faults: Faults,
        *,
        max_attempts: int = 8,
        base_delay: float = 0.2,
        timeout: float = 5.0,
        concurrency: int = 1,
    ):
        self.faults = faults
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.timeout = timeout
        self.sent: list[Delivery] = []
        self.failed: list[Delivery] = []
        # (topic, seconds from the event to the receiver's acceptance), for benches that ask where time goes
        self.delivered_after: list[tuple[str, float]] = []
        self._queue: list[tuple[float, int, Delivery]] = []
        self._held: Delivery | None = None
        self._seq = 0
        self._cond = threading.Condition()
        self._local = threading.local()  # kept-alive connections per sending thread
        self._busy = 0
        self._threads = [
            threading.Thread(target=self._run, name=f"sandbox-webhooks-{n}", daemon=True)
            for n in range(max(1, concurrency))
        ]
        for thread in self._threads:
            thread.start()

    def send(self, delivery: Delivery) -> None:
        with self._cond:
            if self._held is None and self.faults.roll(self.faults.reorder_rate):
                self._held = delivery  # goes out right after the next one
                self._cond.notify()
                return
            self._push(delivery, 0.0)
            if self._held is not None:
                self._push(self._held, 0.0)
                self._held = None
            if self.faults.roll(self.faults.duplicate_rate):
                self._push(Delivery(delivery.url, dict(delivery.headers), delivery.body), 0.0)
            self._cond.notify()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued (held ones included) has been delivered or given up on."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._held is not None:
                self._push(self._held, 0.0)
                self._held = None
                self._cond.notify()
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def _push(self, delivery: Delivery, delay: float) -> None:
        self._seq += 1
        self._queue.append((time.monotonic() + delay, self._seq, delivery))
        self._queue.sort(key=lambda entry: (entry[0], entry[1]))

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue or self._queue[0][0] > time.monotonic():
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(wait)
                _, _, delivery = self._queue.pop(0)
                self._busy += 1
            try:
                self._deliver(delivery)
            except Exception:  # a sender thread outlives any one delivery
                log.exception("webhook to %s: delivery failed unexpectedly", delivery.url)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _deliver(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        try:
            status = self._post(delivery)
            accepted = 200 <= status < 400
        except Exception as error:  # a refused connection or a URL it cannot send to: failed, retried
            log.info("webhook to %s failed: %s", delivery.url, type(error).__name__)
            accepted = False
        if accepted:
            self.sent.append(delivery)
            self.delivered_after.append((_topic(delivery.headers), time.monotonic() - delivery.queued_at))
        elif delivery.attempts < self.max_attempts:
            with self._cond:
                self._push(delivery, self.base_delay * 2 ** (delivery.attempts - 1))
        else:
            self.failed.append(delivery)
        if delivery.on_result is not None:
            delivery.on_result(accepted)

    def _post(self, delivery: Delivery) -> int:
        """POST the delivery on this thread's kept-alive connection to its host; the response status.

        Plain `http.client`, as a platform's sender is a lean HTTP client: `requests` spent more of the
        stand-in stores' shared process on each delivery than the receiver did. Redirects are not followed.
        A kept connection that fails as one the receiver closed while idle does is replaced and the delivery
        sent once more, in the same attempt (the receiver may have had it: a duplicate, which the
        platforms send anyway)."""
        target = urlsplit(delivery.url)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        kept = self._local.__dict__.setdefault("connections", {})
        where = (target.scheme, target.netloc)
        while True:
            connection = kept.pop(where, None)
            reused = connection is not None
            if connection is None:
                kind = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
                connection = kind(target.hostname, target.port, timeout=self.timeout)
            try:
                connection.request("POST", path, body=delivery.body, headers=delivery.headers)
                response = connection.getresponse()
                response.read()
            except _CLOSED_WHILE_IDLE:
                connection.close()
                if reused:
                    continue  # on a fresh connection
                raise
            except BaseException:
                connection.close()
                raise
            if response.will_close:
                connection.close()
            else:
                kept[where] = connection
            return response.status


# What a kept-alive connection the receiver closed while it sat idle fails with on its next use.
_CLOSED_WHILE_IDLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class SkuIndex:
    """The first live record with a SKU, found without scanning every record (callers hold the store's
    lock, as for every other read of its records).

    Records may change SKU or die at any time, so a remembered position is checked on every lookup. A
    lookup it cannot answer scans the records, as a store without the index would, and rebuilds the
    index when the scan finds one: a new SKU (a product being created) costs one scan, not a rebuild.
    With duplicate SKUs it gives the first record in insertion order as of its last rebuild."""

    def __init__(self, records: dict, live: Callable[[Any], bool] = lambda _record: True):
        self._records = records
        self._live = live
        self._keys: dict[str, Any] = {}

    def find(self, sku: str | None):
        if not sku:
            return None
        record = self._records.get(self._keys.get(sku))
        if record is not None and record.sku == sku and self._live(record):
            return record
        found = next((r for r in self._records.values() if r.sku == sku and self._live(r)), None)
        if found is not None:
            self._keys = {}
            for key, candidate in self._records.items():
                if candidate.sku and self._live(candidate):
                    self._keys.setdefault(candidate.sku, key)
        return found


def _topic(headers: dict[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() in ("x-shopify-topic", "x-wc-webhook-topic"):
            return value
    return ""


def load_catalog(path: str | Path | None) -> list[ItemDraft]:
    """Seed items from a catalogue CSV (the `items import` columns); bad rows stop the sandbox."""
    if path is None:
        return []
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        parsed = parse_catalog(handle)
    if parsed.problems:
        line, reason = parsed.problems[0]
        raise ValueError(f"{path}: line {line}: {reason}")
    return parsed.drafts


def chunks(items: Iterable, size: int):
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
