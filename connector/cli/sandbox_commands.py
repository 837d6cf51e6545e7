"""`backorder sandbox shopify|woocommerce`: run a stand-in store for tests, demos and benchmarks."""

from __future__ import annotations

import argparse

from connector.cli.context import Context, Outcome, UsageError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from adapters.sandbox.shopify.cli import add_cli_arguments

    sandbox = sub.add_parser("sandbox", help="run a sandbox store").add_subparsers(
        dest="platform", required=True
    )
    shopify = sandbox.add_parser(
        "shopify", parents=[common], help="a Shopify store (Admin GraphQL, OAuth, webhooks)"
    )
    add_cli_arguments(shopify)
    shopify.set_defaults(handler=run_shopify)

    woo = sandbox.add_parser(
        "woocommerce", parents=[common], help="a WooCommerce store (wc/v3 REST, webhooks)"
    )
    woo.add_argument("--host", default="127.0.0.1")
    woo.add_argument("--port", type=int, default=8082)
    woo.add_argument("--catalog", help="catalogue CSV to seed the store with")
    woo.add_argument("--webhook-secret", help="signs webhooks created without a secret of their own")
    woo.add_argument("--key", help="accept only this consumer key (with --secret)")
    woo.add_argument("--secret", help="accept only this consumer secret (with --key)")
    woo.add_argument("--latency-ms", type=int, default=0)
    woo.add_argument("--fail-rate", type=float, default=0.0)
    woo.add_argument("--timeout-rate", type=float, default=0.0)
    woo.add_argument("--duplicate-rate", type=float, default=0.0)
    woo.add_argument("--reorder-rate", type=float, default=0.0)
    woo.add_argument("--seed", type=int, help="random seed for repeatable faults")
    woo.set_defaults(handler=run_woocommerce)


def run_shopify(args: argparse.Namespace, ctx: Context) -> Outcome:
    from adapters.sandbox.shopify.cli import run_sandbox_cli

    _check_rates(args)
    try:
        run_sandbox_cli(args, announce=lambda line: print(line, flush=True))
    except (ValueError, OSError) as error:
        raise UsageError(f"sandbox shopify: {error}") from None
    return Outcome({"stopped": True}, "stopped")


def run_woocommerce(args: argparse.Namespace, ctx: Context) -> Outcome:
    from adapters.sandbox.woocommerce import serve

    options = {
        name: getattr(args, name)
        for name in (
            "catalog",
            "webhook_secret",
            "key",
            "secret",
            "latency_ms",
            "fail_rate",
            "timeout_rate",
            "duplicate_rate",
            "reorder_rate",
            "seed",
        )
    }
    try:
        serve(args.port, host=args.host, **options)
    except (ValueError, OSError) as error:
        raise UsageError(f"sandbox woocommerce: {error}") from None
    return Outcome({"stopped": True}, "stopped")


def _check_rates(args: argparse.Namespace) -> None:
    for name in ("fail_rate", "timeout_rate", "duplicate_rate", "reorder_rate"):
        value = getattr(args, name, 0.0)
        if not 0.0 <= value <= 1.0:
            raise UsageError(f"--{name.replace('_', '-')} must be between 0 and 1, not {value}")
    if getattr(args, "bucket_size", 1) <= 0 or getattr(args, "restore_rate", 1) <= 0:
        raise UsageError("--bucket-size and --restore-rate must be positive")
