"""Calls to one WooCommerce store's REST API (`wc/v3`) with retries, pacing and typed errors.

The `woocommerce` package builds each request (Basic auth over HTTPS, OAuth 1.0a query signatures over
plain HTTP, or keys in the query string) and sends it with the module-level `requests.request`, which
opens a fresh `requests.Session` per call: it takes no session of ours. `responses` still intercepts it
because it patches the HTTP adapter every session uses.

Never put a URL or a `requests` exception's text into a message or a log line: in query-string mode the
URL carries the consumer secret.
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
import woocommerce
from urllib3.exceptions import NewConnectionError

from adapters.errors import (
    ChannelAuthFailed,
    ChannelError,
    ChannelThrottled,
    ChannelUnavailable,
    NotFoundOnChannel,
    OutcomeUnknown,
    RejectedByChannel,
)

log = logging.getLogger("adapters.woocommerce")

BACKOFF_BASE = 0.5  # seconds; the n-th retry waits up to BACKOFF_BASE * 2**n (full jitter)
BACKOFF_CAP = 20.0
MAX_RETRY_AFTER = 60.0  # a longer Retry-After is handed to the dispatcher instead of blocking a worker
# WooCommerce answers these 401 codes when the request reached WordPress without credentials, which is
# what a server that strips the Authorization header produces; a wrong key gets
# `woocommerce_rest_authentication_error` instead, and no fallback will fix that.
_CREDENTIALS_LOST = ("woocommerce_rest_cannot_", "rest_forbidden", "rest_cannot_")


class PayloadTooLarge(RejectedByChannel):
    """413: the batch was bigger than the store accepts (`woocommerce_rest_request_entity_too_large`)."""


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any
    headers: dict[str, str]


class Transport:
    """One `woocommerce.API` per channel, wrapped in the retry and error rules of DESIGN.md."""

    def __init__(
        self,
        api: woocommerce.API,
        *,
        channel: str,
        max_retries: int,
        sleep: Callable[[float], None],
        rng: random.Random,
    ):
        self.api = api
        self.channel = channel
        self.max_retries = max_retries
        self.sleep = sleep
        self.rng = rng
        self._fallback_tried = False

    @property
    def uses_query_string_auth(self) -> bool:
        return bool(self.api.query_string_auth)

    def read(self, endpoint: str, params: dict[str, Any] | None = None) -> Reply:
        """GET, retried on timeouts, connection failures, 5xx and 429."""
        return self._call("GET", endpoint, None, params, write=False, idempotent=True)

    def write(
        self, method: str, endpoint: str, data: Any, *, idempotent: bool, params: dict[str, Any] | None = None
    ) -> Reply:
        """PUT/POST/DELETE. A timeout raises OutcomeUnknown; 5xx is retried only when `idempotent`."""
        return self._call(method, endpoint, data, params, write=True, idempotent=idempotent)

    def _call(
        self,
        method: str,
        endpoint: str,
        data: Any,
        params: dict[str, Any] | None,
        *,
        write: bool,
        idempotent: bool,
    ) -> Reply:
        attempt = 0
        while True:
            try:
                response = self._send(method, endpoint, data, params)
            except requests.RequestException as exc:
                if write and not _never_sent(exc):
                    raise OutcomeUnknown(
                        f"{method} {endpoint}: {type(exc).__name__}; it may or may not have been applied, "
                        "re-read before retrying",
                        channel=self.channel,
                    ) from None
                attempt = self._backoff(attempt, f"{method} {endpoint}: {type(exc).__name__}")
                continue
            status = response.status_code
            log.debug("%s %s -> %s (attempt %d)", method, endpoint, status, attempt + 1)
            if status < 300:
                return Reply(status, _json(response), dict(response.headers))
            if status in (401, 403):
                if self._should_fall_back(response):
                    continue
                raise self._error(ChannelAuthFailed, response, "the keys were refused")
            if status == 429:
                attempt = self._wait_retry_after(attempt, response)
                continue
            if status >= 500:
                if write and not idempotent:
                    self._raise_for_unsafe_5xx(method, endpoint, response)
                attempt = self._backoff(attempt, f"{method} {endpoint}: HTTP {status}")
                continue
            self._raise_client_error(response)

    def _send(
        self, method: str, endpoint: str, data: Any, params: dict[str, Any] | None
    ) -> requests.Response:
        kwargs: dict[str, Any] = {"params": dict(params)} if params else {}
        if method == "GET":
            return self.api.get(endpoint, **kwargs)
        if method == "DELETE":
            return self.api.delete(endpoint, **kwargs)
        return getattr(self.api, method.lower())(endpoint, data, **kwargs)

    def _should_fall_back(self, response: requests.Response) -> bool:
        """Once per channel: Basic auth over HTTPS that lost its header is retried with keys in the query."""
        if self._fallback_tried or self.api.query_string_auth or not self.api.url.startswith("https"):
            return False
        if response.status_code != 401 or not _error_code(response).startswith(_CREDENTIALS_LOST):
            return False
        self._fallback_tried = True
        self.api.query_string_auth = True
        log.warning(
            "%s: Basic auth was refused as if no credentials arrived (%s); switching to query-string auth",
            self.channel,
            _error_code(response),
        )
        return True

    def _backoff(self, attempt: int, what: str) -> int:
        if attempt >= self.max_retries:
            raise ChannelUnavailable(
                f"{what}, still failing after {attempt + 1} attempts", channel=self.channel
            )
        delay = self.rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
        log.info("%s: %s; retrying in %.2fs", self.channel, what, delay)
        self.sleep(delay)
        return attempt + 1

    def _wait_retry_after(self, attempt: int, response: requests.Response) -> int:
        retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
        if attempt >= self.max_retries or retry_after > MAX_RETRY_AFTER:
            raise ChannelThrottled(
                "the store asked us to slow down (429)", retry_after=retry_after, channel=self.channel
            )
        log.info("%s: 429, waiting %.1fs as Retry-After asks", self.channel, retry_after)
        self.sleep(retry_after)
        return attempt + 1

    def _raise_for_unsafe_5xx(self, method: str, endpoint: str, response: requests.Response) -> None:
        """A non-idempotent write that got 5xx: WooCommerce's own error body means it refused (e.g. a refund
        the gateway declined, 500 `woocommerce_rest_cannot_create_order_refund`); anything else may have
        happened half-way."""
        if _error_code(response):
            raise self._error(RejectedByChannel, response, "server error")
        raise OutcomeUnknown(
            f"{method} {endpoint}: HTTP {response.status_code} without a WooCommerce error; "
            "re-read before retrying",
            channel=self.channel,
        )

    def _raise_client_error(self, response: requests.Response) -> None:
        if response.status_code == 413:
            raise self._error(PayloadTooLarge, response, "request entity too large")
        if response.status_code == 404:
            raise self._error(NotFoundOnChannel, response, "not found")
        raise self._error(RejectedByChannel, response, f"HTTP {response.status_code}")

    def _error(self, cls: type[ChannelError], response: requests.Response, default: str) -> ChannelError:
        """A typed error carrying WooCommerce's `code` (as `.code`) and message."""
        error = cls(_describe(response, default), channel=self.channel)
        error.code = _error_code(response)  # type: ignore[attr-defined]
        return error


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the store (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError)
    return False


def _json(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _error_code(response: requests.Response) -> str:
    body = _json(response)
    return str(body.get("code") or "") if isinstance(body, dict) else ""


def _describe(response: requests.Response, default: str) -> str:
    """`code: message` from WooCommerce's error body, or the default when the body is not one."""
    body = _json(response)
    if isinstance(body, dict) and body.get("code"):
        return f"HTTP {response.status_code} {body['code']}: {body.get('message') or default}"
    return f"HTTP {response.status_code}: {default}"


def _retry_after_seconds(value: str | None) -> float:
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
