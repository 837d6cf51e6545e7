"""`backorder channel …`: connect storefronts, list them, import their catalogues."""

from __future__ import annotations

import argparse

from connector.cli.context import Context, Outcome
from connector.services import channels
from connector.services.channel_import import import_catalog
from connector.services.merchants import find_merchant
from connector.storefronts import open_storefront, subscribe


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    channel = sub.add_parser("channel", help="storefronts").add_subparsers(
        dest="channel_command", required=True
    )
    add = channel.add_parser("add", help="connect a storefront").add_subparsers(dest="kind", required=True)

    shopify = add.add_parser("shopify", parents=[common], help="connect a Shopify store")
    shopify.add_argument("--merchant", required=True)
    shopify.add_argument("--shop", required=True, help="the store's myshopify.com domain")
    shopify.add_argument("--token", required=True, help="Admin API access token")
    shopify.add_argument(
        "--api-url", help="API base URL (default https://SHOP; a sandbox's URL in development)"
    )
    shopify.add_argument("--location", help="location GID to keep stock at (default: the primary location)")
    shopify.add_argument(
        "--webhook-secret", help="secret that signs this store's webhooks (default SHOPIFY_API_SECRET)"
    )
    shopify.set_defaults(handler=add_shopify)

    woo = add.add_parser("woocommerce", parents=[common], help="connect a WooCommerce store")
    woo.add_argument("--merchant", required=True)
    woo.add_argument("--url", required=True, help="the store's base URL")
    woo.add_argument("--key", required=True, help="REST API consumer key")
    woo.add_argument("--secret", required=True, help="REST API consumer secret")
    woo.add_argument("--webhook-secret", help="secret for this store's webhooks (default: generated)")
    woo.set_defaults(handler=add_woocommerce)

    listing = channel.add_parser("list", parents=[common], help="list channels")
    listing.add_argument("--merchant")
    listing.set_defaults(handler=list_channels)

    imp = channel.add_parser("import", parents=[common], help="link the storefront's catalogue by SKU")
    imp.add_argument("channel")
    imp.set_defaults(handler=import_channel)

    hooks = channel.add_parser(
        "webhooks", parents=[common], help="subscribe the storefront to our webhook routes"
    )
    hooks.add_argument("channel")
    hooks.add_argument("--address", help="this service's public base URL (default APP_URL)")
    hooks.set_defaults(handler=subscribe_webhooks)


def add_shopify(args: argparse.Namespace, ctx: Context) -> Outcome:
    connection = channels.ShopifyConnection(
        shop=args.shop,
        token=args.token,
        api_url=args.api_url,
        location_id=args.location,
        webhook_secret=args.webhook_secret,
    )
    return _added(ctx, args.merchant, connection)


def add_woocommerce(args: argparse.Namespace, ctx: Context) -> Outcome:
    connection = channels.WooCommerceConnection(
        url=args.url, key=args.key, secret=args.secret, webhook_secret=args.webhook_secret
    )
    return _added(ctx, args.merchant, connection)


def list_channels(args: argparse.Namespace, ctx: Context) -> Outcome:
    merchant_id = None
    if args.merchant:
        with ctx.uow() as uow:
            merchant_id = find_merchant(uow, args.merchant).id
    rows = channels.list_channels(ctx.uow(), merchant_id)
    text = "\n".join(
        f"{r['id']:>4}  {r['kind']:<12} {r['address']:<40} {r['status']:<10} {r['listings']} listings"
        for r in rows
    )
    return Outcome({"channels": rows}, text or "no channels")


def import_channel(args: argparse.Namespace, ctx: Context) -> Outcome:
    with ctx.uow() as uow:
        channel = channels.get_channel(uow, args.channel)
        port = open_storefront(channel, ctx.settings, ctx.vault)
        channel_id = channel.id
    progress = import_catalog(ctx.new_uow, channel_id, port)
    data = {"channel": channel_id, **progress.dump()}
    data.pop("cursor", None)
    data.pop("conflicted", None)
    text = f"channel {channel_id}: {progress.linked} linked, {progress.created} items created, "
    text += f"{len(progress.problems)} not linked"
    text += "".join(
        f"\n  {p['product_id']} / {p['variant_id']} sku={p['sku']!r}: {p['reason']}"
        for p in progress.problems
    )
    return Outcome(data, text)


def subscribe_webhooks(args: argparse.Namespace, ctx: Context) -> Outcome:
    base = (args.address or ctx.settings.app_url).rstrip("/")
    with ctx.uow() as uow:
        channel_id = channels.get_channel(uow, args.channel).id
    address, ids = subscribe(ctx.new_uow, ctx.settings, ctx.vault, channel_id, base)
    return Outcome(
        {"channel": channel_id, "address": address, "webhooks": ids},
        f"channel {channel_id}: {len(ids)} webhook(s) deliver to {address}",
    )


def _added(ctx: Context, merchant_ref: str, connection) -> Outcome:
    with ctx.uow() as uow:
        merchant_id = find_merchant(uow, merchant_ref).id
    channel_id = channels.add_channel(ctx.uow(), ctx.vault, merchant_id, connection)
    return Outcome({"id": channel_id}, f"channel {channel_id} added")
