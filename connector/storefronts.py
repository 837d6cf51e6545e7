"""Builds the adapter for a stored channel: the one place that turns a channel row into a `Channel`."""

from __future__ import annotations

from adapters.base import Channel as ChannelPort
from connector.crypto import Vault
from connector.errors import Conflict
from connector.models import Channel
from connector.settings import Settings


def open_storefront(channel: Channel, settings: Settings, vault: Vault) -> ChannelPort:
    """An adapter for `channel` with its decrypted credentials; refuses a disabled channel."""
    if channel.status != "active":
        raise Conflict(f"channel {channel.id} is {channel.status}; reconnect it before using it")
    credentials = vault.decrypt_json(channel.credentials_encrypted or vault.encrypt_json({}))
    webhook_secret = (
        vault.decrypt(channel.webhook_secret_encrypted) if channel.webhook_secret_encrypted else None
    )
    if channel.kind == "shopify":
        from adapters.shopify import ShopifyChannel

        return ShopifyChannel(
            channel.address,
            credentials["token"],
            api_url=channel.api_url,
            api_version=settings.shopify_api_version,
            location_id=channel.location_id,
            webhook_secret=webhook_secret or settings.shopify_api_secret,
        )
    if channel.kind == "woocommerce":
        from adapters.woocommerce import WooCommerceChannel

        return WooCommerceChannel(
            channel.api_url or channel.address,
            credentials["key"],
            credentials["secret"],
            webhook_secret=webhook_secret,
        )
    raise ValueError(f"channel {channel.id} has unknown kind {channel.kind!r}")
