"""`backorder sandbox shopify …`: serve a sandbox store in the foreground until interrupted."""

from __future__ import annotations

import argparse
import logging
import random

from werkzeug.serving import make_server

from ..common import Faults, load_catalog
from .sandbox import ShopifySandbox

log = logging.getLogger("adapters.sandbox.shopify")


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `run_sandbox_cli` reads, for the CLI to attach to its `sandbox shopify` parser."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--shop", default="sandbox.myshopify.com")
    parser.add_argument("--catalog", help="catalogue CSV to seed the store with")
    parser.add_argument("--webhook-secret", help="the app's client secret: signs webhooks and OAuth")
    parser.add_argument("--client-id", default="sandbox-client-id")
    parser.add_argument("--token", help="accept only this access token (default: any non-empty one)")
    parser.add_argument("--bucket-size", type=float, default=1000)
    parser.add_argument("--restore-rate", type=float, default=50)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--timeout-rate", type=float, default=0.0)
    parser.add_argument("--duplicate-rate", type=float, default=0.0)
    parser.add_argument("--reorder-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, help="random seed for repeatable faults")


def build_sandbox(options: argparse.Namespace) -> ShopifySandbox:
    """A sandbox configured from parsed options (missing attributes take the defaults above)."""
    get = lambda name, default=None: getattr(options, name, default)  # noqa: E731
    faults = Faults(
        latency_ms=get("latency_ms", 0) or 0,
        fail_rate=get("fail_rate", 0.0) or 0.0,
        timeout_rate=get("timeout_rate", 0.0) or 0.0,
        duplicate_rate=get("duplicate_rate", 0.0) or 0.0,
        reorder_rate=get("reorder_rate", 0.0) or 0.0,
        rng=random.Random(get("seed")),
    )
    sandbox = ShopifySandbox(
        shop=get("shop") or "sandbox.myshopify.com",
        token=get("token"),
        client_id=get("client_id") or "sandbox-client-id",
        client_secret=get("webhook_secret") or "sandbox-client-secret",
        bucket_size=get("bucket_size") or 1000,
        restore_rate=get("restore_rate") or 50,
        faults=faults,
    )
    sandbox.seed(load_catalog(get("catalog")))
    return sandbox


def run_sandbox_cli(options: argparse.Namespace, *, announce=print) -> int:
    """Serve until Ctrl-C. `announce` gets one line saying where the store is and how to reach it."""
    sandbox = build_sandbox(options)
    server = make_server(getattr(options, "host", "127.0.0.1"), options.port, sandbox.wsgi_app, threaded=True)
    version = sandbox.api_versions[-1]
    announce(
        f"Shopify sandbox {sandbox.shop} at http://{server.host}:{server.server_port}"
        f"/admin/api/{version}/graphql.json; location {sandbox.location_id}; "
        f"{len(sandbox.store.variants)} variants; "
        + (f"token {sandbox.token}" if sandbox.token else "any non-empty token accepted")
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("Shopify sandbox stopped")
    finally:
        server.server_close()
        sandbox.webhooks.flush(timeout=5)
    return 0
