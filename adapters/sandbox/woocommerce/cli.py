"""Running a sandbox WooCommerce store from the command line: what `backorder sandbox woocommerce`
calls, and `python -m adapters.sandbox.woocommerce` for the same thing without the connector's CLI."""

from __future__ import annotations

import argparse
import logging
import random
from pathlib import Path

from werkzeug.serving import make_server

from adapters.sandbox.common import Faults, load_catalog

from .sandbox import WooCommerceSandbox

log = logging.getLogger("adapters.sandbox.woocommerce")


def build_sandbox(
    *,
    catalog: str | Path | None = None,
    webhook_secret: str | None = None,
    key: str | None = None,
    secret: str | None = None,
    latency_ms: int = 0,
    fail_rate: float = 0.0,
    timeout_rate: float = 0.0,
    duplicate_rate: float = 0.0,
    reorder_rate: float = 0.0,
    store_url: str | None = None,
    seed: int | None = None,
) -> WooCommerceSandbox:
    """A sandbox store stocked from `catalog` (a catalogue CSV; a bad row raises ValueError).
    `webhook_secret` signs webhooks created without a secret of their own (WooCommerce would make up a
    random one). `seed` makes the injected faults repeatable."""
    if (key is None) != (secret is None):
        raise ValueError("--key and --secret go together")
    for name, rate in (
        ("fail", fail_rate),
        ("timeout", timeout_rate),
        ("duplicate", duplicate_rate),
        ("reorder", reorder_rate),
    ):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"--{name}-rate must be between 0 and 1, not {rate}")
    if latency_ms < 0:
        raise ValueError("--latency-ms must be zero or more")
    faults = Faults(
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        timeout_rate=timeout_rate,
        duplicate_rate=duplicate_rate,
        reorder_rate=reorder_rate,
        rng=random.Random(seed),
    )
    sandbox = WooCommerceSandbox(
        consumer_key=key,
        consumer_secret=secret,
        faults=faults,
        store_url=store_url,
        webhook_secret=webhook_secret,
    )
    sandbox.seed(load_catalog(catalog))
    return sandbox


def serve(port: int, *, host: str = "127.0.0.1", **options) -> None:
    """Build a sandbox store (options as for `build_sandbox`) and serve it in the foreground until
    interrupted. The site address defaults to http://HOST:PORT."""
    options.setdefault("store_url", f"http://{host}:{port}")
    sandbox = build_sandbox(**options)
    server = make_server(host, port, sandbox.wsgi_app, threaded=True)
    log.info("sandbox WooCommerce store at %s/wp-json/wc/v3/", sandbox.address)
    print(f"sandbox WooCommerce store at {sandbox.address}/wp-json/wc/v3/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="sandbox-woocommerce", description="Serve a sandbox WooCommerce store."
    )
    cli.add_argument("--port", type=int, required=True)
    cli.add_argument("--host", default="127.0.0.1")
    cli.add_argument("--catalog", help="catalogue CSV to stock the store with")
    cli.add_argument("--webhook-secret", help="secret for webhooks created without one")
    cli.add_argument("--key", help="the only consumer key accepted (with --secret)")
    cli.add_argument("--secret", help="its consumer secret")
    cli.add_argument("--latency-ms", type=int, default=0)
    cli.add_argument("--fail-rate", type=float, default=0.0)
    cli.add_argument("--timeout-rate", type=float, default=0.0)
    cli.add_argument("--duplicate-rate", type=float, default=0.0)
    cli.add_argument("--reorder-rate", type=float, default=0.0)
    cli.add_argument("--seed", type=int, help="make injected faults repeatable")
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = {k: v for k, v in vars(args).items() if k not in ("port", "host")}
    try:
        serve(args.port, host=args.host, **options)
    except (ValueError, OSError) as error:
        print(f"error: {error}", flush=True)
        return 2
    return 0
