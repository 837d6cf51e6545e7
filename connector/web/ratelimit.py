"""Rate limits on the public routes: a token bucket per client address and group of routes.

Groups: the storefront API (`/storefront/v1/`, read by theme code on every product page), the
customers' pages behind signed links (self-cancel `/c/`, unsubscribe) and the install routes (`/shopify/install`, `/shopify/callback`,
`/woocommerce/…`). Over the limit a request gets a 429 problem body with `Retry-After`. The buckets live
in this process: with several web processes each one limits on its own, which bounds abuse well enough
for routes that do little work.

Configuration (app config first, then the environment): `RATE_LIMIT_ENABLED` (default true),
`RATE_LIMIT_STOREFRONT`, `RATE_LIMIT_SELF_CANCEL`, `RATE_LIMIT_INSTALL` as `COUNT/second|minute|hour`
(the bucket holds COUNT and refills over the period), and `RATE_LIMIT_PROXY_HOPS`: how many proxies in
front of us append to X-Forwarded-For (0, the default, uses the socket's address).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, request

from connector.errors import ConfigError
from connector.web.problems import error_response

bp = Blueprint("ratelimit", __name__)
EXTENSION = "backorder_ratelimit"
PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
MAX_CLIENTS = 20_000


@dataclass(frozen=True)
class Group:
    name: str
    label: str
    prefixes: tuple[str, ...]
    default: str


GROUPS = (
    Group("storefront", "the storefront API", ("/storefront/v1/",), "600/minute"),
    Group("self_cancel", "the customer pages", ("/c/", "/notifications/unsubscribe/"), "30/minute"),
    Group(
        "install",
        "the install pages",
        ("/shopify/install", "/shopify/callback", "/woocommerce/"),
        "30/minute",
    ),
)

LIMITED_PREFIXES = tuple(prefix for group in GROUPS for prefix in group.prefixes)


@dataclass(frozen=True)
class Limit:
    capacity: float
    per_second: float

    @classmethod
    def parse(cls, text: str, name: str) -> Limit:
        count, _, period = text.strip().partition("/")
        if not count.strip().isdigit() or int(count) < 1 or period.strip() not in PERIODS:
            raise ValueError(f"{name} must look like 600/minute (COUNT/second|minute|hour), got {text!r}")
        return cls(float(count), int(count) / PERIODS[period.strip()])


class TokenBuckets:
    """Buckets by key; `take` answers 0 when a token was taken, else the seconds until one is due."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_CLIENTS):
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # key → (tokens, updated at)
        self._lock = threading.Lock()

    def take(self, key: tuple[str, str], limit: Limit) -> float:
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(key, (limit.capacity, now))
            tokens = min(limit.capacity, tokens + (now - updated) * limit.per_second)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                self._trim()
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / limit.per_second

    def _trim(self) -> None:
        if len(self._buckets) <= self._max_keys:
            return
        # Forget the buckets idle longest; a forgotten client starts again with a full bucket.
        oldest = sorted(self._buckets.items(), key=lambda kv: kv[1][1])[: len(self._buckets) // 2]
        for key, _ in oldest:
            del self._buckets[key]


@dataclass
class RateLimiter:
    enabled: bool
    limits: dict[str, Limit]
    proxy_hops: int
    buckets: TokenBuckets

    @classmethod
    def configure(cls, config: Mapping[str, Any], env: Mapping[str, str]) -> RateLimiter:
        def setting(name: str, default: str) -> str:
            value = config.get(name, env.get(name))
            return default if value is None or str(value).strip() == "" else str(value)

        enabled = setting("RATE_LIMIT_ENABLED", "true").strip().lower() not in ("0", "false", "no", "off")
        limits = {
            g.name: Limit.parse(
                setting(f"RATE_LIMIT_{g.name.upper()}", g.default), f"RATE_LIMIT_{g.name.upper()}"
            )
            for g in GROUPS
        }
        hops = setting("RATE_LIMIT_PROXY_HOPS", "0")
        if not hops.isdigit():
            raise ValueError(f"RATE_LIMIT_PROXY_HOPS must be a whole number, got {hops!r}")
        return cls(enabled, limits, int(hops), TokenBuckets())

    def client(self) -> str:
        if self.proxy_hops:
            forwarded = [
                a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()
            ]
            if len(forwarded) >= self.proxy_hops:
                return forwarded[-self.proxy_hops]
        return request.remote_addr or "-"


def limiter() -> RateLimiter:
    """The app's limiter, configured on first use (so tests may change the app config before)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions[EXTENSION] = RateLimiter.configure(app.config, os.environ)
    return found


@bp.record_once
def _check_configuration(state: Any) -> None:
    # A malformed limit stops the app at start, not at its first public request.
    try:
        RateLimiter.configure(state.app.config, os.environ)
    except ValueError as error:
        raise ConfigError("RATE_LIMIT_*", str(error)) from None


@bp.before_app_request
def _limit() -> Response | None:
    path = request.path
    if not path.startswith(LIMITED_PREFIXES):
        return None  # most requests (webhooks above all) in one test
    group = next((g for g in GROUPS if path.startswith(g.prefixes)), None)
    if group is None or request.method == "OPTIONS":
        return None
    active = limiter()
    if not active.enabled:
        return None
    wait = active.buckets.take((group.name, active.client()), active.limits[group.name])
    if wait <= 0:
        return None
    seconds = max(1, math.ceil(wait))
    response = error_response(
        429,
        f"too many requests to {group.label} from your address; try again in {seconds} s",
        title="Too Many Requests",
    )
    response.headers["Retry-After"] = str(seconds)
    if group.name == "storefront":
        response.headers["Access-Control-Allow-Origin"] = "*"  # theme code must be able to read it
    return response
