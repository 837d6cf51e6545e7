"""One conversation with Shopify's Admin GraphQL API: pacing, retries and typed errors.

Pacing follows Shopify's own signals. Every answer carries `extensions.cost.throttleStatus` (points
available now, restore rate); before a call whose last requested cost exceeds what the bucket holds now
we sleep until it has refilled, and a `THROTTLED` answer (nothing was executed) waits the same way and
tries again. HTTP 429 waits its `Retry-After`.

Retries after 5xx, timeouts and dropped connections depend on whether a repeat is safe:
- queries, and mutations that carry an `@idempotent` key (Shopify answers a repeated key with the first
  result instead of acting twice), retry with exponential backoff and full jitter, `max_retries` times,
  then raise `ChannelUnavailable`;
- any other mutation raises `OutcomeUnknown` at once: it may or may not have happened, so the caller
  re-reads before sending it again. A connect timeout is the exception: the request never left, so it
  is retried like a read.
401/403 raise `ChannelAuthFailed` without retrying; other GraphQL errors raise `RejectedByChannel`.
The access token goes into one request header and nowhere else: not into logs, messages or reprs.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from adapters.errors import (
    ChannelAuthFailed,
    ChannelError,
    ChannelThrottled,
    ChannelUnavailable,
    OutcomeUnknown,
    RejectedByChannel,
)
from adapters.shopify.documents import Document

log = logging.getLogger(__name__)

BACKOFF_BASE = 0.5  # seconds before the first retry, at most (full jitter draws below it)
BACKOFF_CAP = 30.0


class CostBucket:
    """Our estimate of the shop's query-cost bucket, refilled by the clock since Shopify last told us."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self.maximum: float | None = None
        self.restore_rate: float | None = None
        self._available: float | None = None
        self._seen_at = 0.0

    def observe(self, status: Mapping[str, Any]) -> None:
        try:
            available = float(status["currentlyAvailable"])
            restore_rate = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return
        self._available, self.restore_rate, self._seen_at = available, restore_rate, self._clock()
        maximum = status.get("maximumAvailable")
        self.maximum = float(maximum) if maximum else self.maximum

    def available_now(self) -> float | None:
        if self._available is None or not self.restore_rate:
            return None
        estimate = self._available + (self._clock() - self._seen_at) * self.restore_rate
        return min(estimate, self.maximum) if self.maximum else estimate

    def wait_for(self, cost: float) -> float:
        """Seconds until `cost` points are there; 0 when they are, or while we know nothing yet."""
        available = self.available_now()
        if available is None or not self.restore_rate:
            return 0.0
        if self.maximum:
            cost = min(cost, self.maximum)  # a call never waits for more than the bucket can hold
        wait = (cost - available) / self.restore_rate
        return wait if wait > 0.001 else 0.0  # below a millisecond is float noise, not a shortage


@dataclass
class _Retry:
    """A failed attempt that may be tried again after `delay` seconds (None: back off)."""

    error: ChannelError
    delay: float | None = None


class GraphQLTransport:
    """POSTs documents to `{api_url}/admin/api/{version}/graphql.json` on the channel's own session."""

    def __init__(
        self,
        *,
        endpoint: str,
        token: str,
        session: requests.Session,
        timeouts: tuple[float, float],
        max_retries: int,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: random.Random,
        channel: str,
    ):
        self.endpoint = endpoint
        self._headers = {"X-Shopify-Access-Token": token, "Accept": "application/json"}
        self._session = session
        self._timeouts = timeouts
        self._max_retries = max_retries
        self._sleep = sleep
        self._rng = rng
        self._channel = channel
        self.bucket = CostBucket(clock)
        self._requested_cost: dict[str, float] = {}  # per document, as Shopify last priced it

    def __repr__(self) -> str:
        return f"GraphQLTransport({self.endpoint!r})"

    def execute(
        self,
        document: Document,
        variables: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Run `document` and answer its `data`; raise a typed ChannelError when that cannot be done."""
        body_variables = dict(variables or {})
        if idempotency_key is not None:
            body_variables["key"] = idempotency_key  # the document declares `$key` for @idempotent
        retry_safe = not document.is_mutation or idempotency_key is not None
        body = {"query": document.text, "variables": body_variables}
        retries = 0
        while True:
            self._pace(document)
            outcome = self._attempt(document, body, retry_safe=retry_safe)
            if not isinstance(outcome, _Retry):
                return outcome
            if retries >= self._max_retries:
                raise outcome.error
            retries += 1
            delay = outcome.delay if outcome.delay is not None else self._backoff(retries)
            log.info(
                "%s %s: %s; retry %d in %.2fs",
                self._channel,
                document.operation,
                outcome.error,
                retries,
                delay,
            )
            if delay > 0:
                self._sleep(delay)

    def _pace(self, document: Document) -> None:
        cost = self._requested_cost.get(document.name)
        wait = self.bucket.wait_for(cost) if cost else 0.0
        if wait > 0:
            log.debug(
                "%s %s: waiting %.2fs for %s cost points", self._channel, document.operation, wait, cost
            )
            self._sleep(wait)

    def _backoff(self, retries: int) -> float:
        return self._rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (retries - 1)))

    def _attempt(
        self, document: Document, body: dict[str, Any], *, retry_safe: bool
    ) -> dict[str, Any] | _Retry:
        op = document.operation
        try:
            response = self._session.post(
                self.endpoint, json=body, headers=self._headers, timeout=self._timeouts
            )
        except requests.ConnectTimeout:
            # Checked before Timeout (it is one): the request never left, so nothing can have happened.
            return _Retry(ChannelUnavailable(f"{op}: could not connect", channel=self._channel))
        except (requests.Timeout, requests.ConnectionError) as exc:
            return self._transient(op, f"{type(exc).__name__} before an answer", retry_safe=retry_safe)
        status = response.status_code
        if status in (401, 403):
            raise ChannelAuthFailed(
                f"{op}: HTTP {status}: the access token was refused or lacks a scope; reconnect the store",
                channel=self._channel,
            )
        if status == 429:
            delay = _retry_after(response)
            message = f"{op}: HTTP 429 Too Many Requests"
            return _Retry(ChannelThrottled(message, retry_after=delay or 1.0, channel=self._channel), delay)
        if status >= 500:
            return self._transient(op, f"HTTP {status}", retry_safe=retry_safe)
        if status in (402, 423):
            raise ChannelUnavailable(
                f"{op}: HTTP {status}: the shop is frozen or locked", channel=self._channel
            )
        if status != 200:
            raise RejectedByChannel(f"{op}: HTTP {status}: {response.text[:300]}", channel=self._channel)
        try:
            payload = response.json()
        except ValueError:
            return self._transient(op, "an unreadable answer", retry_safe=retry_safe)
        return self._read_payload(
            document, payload if isinstance(payload, dict) else {}, retry_safe=retry_safe
        )

    def _read_payload(
        self, document: Document, payload: dict[str, Any], *, retry_safe: bool
    ) -> dict[str, Any] | _Retry:
        op = document.operation
        cost = (payload.get("extensions") or {}).get("cost") or {}
        if cost.get("requestedQueryCost") is not None:
            self._requested_cost[document.name] = float(cost["requestedQueryCost"])
        self.bucket.observe(cost.get("throttleStatus") or {})
        errors = payload.get("errors") or []
        if isinstance(errors, str | dict):
            errors = [errors]
        codes = {_error_code(e) for e in errors}
        if "THROTTLED" in codes:
            # Nothing ran, mutation or not: wait until the bucket holds what this call asked for.
            requested = self._requested_cost.get(document.name) or 0.0
            wait = self.bucket.wait_for(requested) or self._backoff(1)
            message = f"{op}: THROTTLED (asked {requested:g} points)"
            return _Retry(ChannelThrottled(message, retry_after=wait, channel=self._channel), wait)
        if "INTERNAL_SERVER_ERROR" in codes:
            return self._transient(op, "INTERNAL_SERVER_ERROR", retry_safe=retry_safe)
        if errors:
            messages = "; ".join(_error_message(e) for e in errors)
            raise RejectedByChannel(f"{op}: {messages}", channel=self._channel)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise RejectedByChannel(f"{op}: the answer holds no data", channel=self._channel)
        log.debug("%s %s: cost %s", self._channel, op, cost.get("actualQueryCost"))
        return data

    def _transient(self, op: str, what: str, *, retry_safe: bool) -> _Retry:
        if not retry_safe:
            raise OutcomeUnknown(
                f"{op}: {what} during a write without an idempotency key; it may or may not have "
                "happened: re-read before sending it again",
                channel=self._channel,
            )
        return _Retry(ChannelUnavailable(f"{op}: {what}", channel=self._channel))


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def _error_code(error: object) -> str | None:
    if isinstance(error, dict):
        return (error.get("extensions") or {}).get("code")
    return None


def _error_message(error: object) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)
