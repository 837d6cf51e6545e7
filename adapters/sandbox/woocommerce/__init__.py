"""A sandbox WooCommerce store: the `wc/v3` REST API, webhooks and `wc-auth` of a real store, in
memory, over real HTTP. See `WooCommerceSandbox` and, for the command line, `cli.serve`."""

from .cli import build_sandbox, serve
from .sandbox import CheckoutRefused, WooCommerceSandbox
from .webhooks import MAX_DELIVERY_FAILURES, signature

__all__ = [
    "MAX_DELIVERY_FAILURES",
    "CheckoutRefused",
    "WooCommerceSandbox",
    "build_sandbox",
    "serve",
    "signature",
]
