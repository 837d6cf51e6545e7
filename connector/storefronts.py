"""Builds the adapter for a stored channel: the one place that turns a channel row into a `Channel`."""

from __future__ import annotations

import json
import threading

from adapters.base import Channel as ChannelPort
from connector.crypto import Vault
from connector.errors import Conflict
from connector.models import Channel
from connector.settings import Settings


def open_storefront(
    channel: Channel, settings: Settings, vault: Vault, *, allow_inactive: bool = False
) -> ChannelPort:
    """An adapter for `channel` with its decrypted credentials; refuses a disabled channel unless asked
    (verifying a late webhook from an uninstalled store still needs its secret)."""
    if channel.status != "active" and not allow_inactive:
        raise Conflict(f"channel {channel.id} is {channel.status}; reconnect it before using it")
    credentials = vault.decrypt_json(channel.credentials_encrypted or vault.encrypt_json({}))
    secret, secrets_by_webhook = webhook_secrets(channel, vault)
    if channel.kind == "shopify":
        from adapters.shopify import ShopifyChannel

        return ShopifyChannel(
            channel.address,
            credentials.get("token", ""),  # discarded on uninstall; verification needs only the secret
            api_url=channel.api_url,
            api_version=settings.shopify_api_version,
            location_id=channel.location_id,
            webhook_secret=secret or settings.shopify_api_secret,
        )
    if channel.kind == "woocommerce":
        from adapters.woocommerce import WooCommerceChannel

        return WooCommerceChannel(
            channel.api_url or channel.address,
            credentials["key"],
            credentials["secret"],
            webhook_secret=secret,
            webhook_secrets=secrets_by_webhook,
        )
    raise ValueError(f"channel {channel.id} has unknown kind {channel.kind!r}")


def webhook_secrets(channel: Channel, vault: Vault) -> tuple[str | None, dict[str, str]]:
    """The channel's webhook secret: one for the store (Shopify, or given by hand), or one per webhook
    (WooCommerce webhooks we created, stored as a JSON object of webhook id to secret)."""
    if not channel.webhook_secret_encrypted:
        return None, {}
    value = vault.decrypt(channel.webhook_secret_encrypted)
    if value.startswith("{"):
        return None, json.loads(value)
    return value, {}


def store_webhook_secrets(channel: Channel, vault: Vault, secrets: dict[str, str]) -> None:
    """Keep per-webhook secrets (WooCommerce), merged with any kept before, encrypted."""
    _, kept = webhook_secrets(channel, vault)
    channel.webhook_secret_encrypted = vault.encrypt(json.dumps({**kept, **secrets}, sort_keys=True))


class StorefrontCache:
    """One adapter per channel per process (each with its own HTTP session), rebuilt when the channel's
    credentials or status change."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._vault = Vault(settings.encryption_keys)
        self._ports: dict[int, tuple[tuple, ChannelPort]] = {}
        self._lock = threading.Lock()

    def get(self, channel: Channel, *, allow_inactive: bool = False) -> ChannelPort:
        version = (
            channel.status,
            channel.credentials_encrypted,
            channel.webhook_secret_encrypted,
            channel.api_url,
        )
        with self._lock:
            cached = self._ports.get(channel.id)
            if cached is not None and cached[0] == version:
                return cached[1]
        port = open_storefront(channel, self._settings, self._vault, allow_inactive=allow_inactive)
        with self._lock:
            self._ports[channel.id] = (version, port)
        return port


def subscribe(
    new_uow, settings: Settings, vault: Vault, channel_id: int, base_url: str
) -> tuple[str, list[str]]:
    """Subscribe a store to this service's webhook route under `base_url`; keeps any secrets it made."""
    with new_uow() as uow:
        channel = uow.session.get(Channel, channel_id)
        port = open_storefront(channel, settings, vault)
        kind = channel.kind
    base = base_url.rstrip("/")
    address = base if kind == "shopify" else f"{base}/webhooks/woocommerce/{channel_id}"
    ids = port.register_webhooks(address)
    if kind == "woocommerce":
        with new_uow() as uow:
            store_webhook_secrets(uow.session.get(Channel, channel_id), vault, dict(port.webhook_secrets))
            uow.commit()
    return address, ids
