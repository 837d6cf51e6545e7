"""The store URL guard: a URL a merchant types in is only ever called when it is safe to call.

A WooCommerce store URL comes from whoever fills in the connect form, and the service then sends
requests to it (wc-auth, the REST API, webhook registration). Without a guard that is a server-side
request forgery: `http://169.254.169.254/` or `http://10.0.0.5/admin` would be called from inside our
network. So a store URL must be https and every address its host resolves to must be public. Outside
production, http and loopback are allowed too, for the sandbox stores; private and link-local ranges
never are.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from connector.errors import InvalidInput

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeStoreUrl(InvalidInput):
    """A store URL we refuse to call; the message says why, in words a merchant can act on."""

    title = "Store URL refused"


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (numeric forms such as 2130706433 included)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({info[4][0] for info in found})


def check_store_url(url: str, *, production: bool, resolver: Resolver = resolve) -> str:
    """The store's base URL, normalised (no trailing slash), or UnsafeStoreUrl naming the problem."""
    text = (url or "").strip()
    parts = urlsplit(text)
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed:
        need = "https://" if production else "http:// or https://"
        raise UnsafeStoreUrl(f"the store URL must start with {need}")
    if parts.username is not None or parts.password is not None:
        raise UnsafeStoreUrl("the store URL must not carry a user name or password")
    if parts.query or parts.fragment:
        raise UnsafeStoreUrl("the store URL must not carry a query or fragment")
    host = parts.hostname
    if not host:
        raise UnsafeStoreUrl("the store URL has no host name")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeStoreUrl("the store URL has an invalid port") from None
    addresses = resolver(host, port)
    if not addresses:
        raise UnsafeStoreUrl(f"the store's host name {host!r} does not resolve")
    for text_address in addresses:
        reason = _refusal(_parse(text_address), production=production)
        if reason:
            raise UnsafeStoreUrl(f"the store URL points at {reason}; a store must be publicly reachable")
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc.lower(), path, "", ""))


def _parse(text: str) -> IPAddress:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address


def _refusal(address: IPAddress, *, production: bool) -> str | None:
    """Why this address may not be called, or None when it may."""
    if address.is_loopback:
        return None if not production else "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return "a reserved address"
    if not address.is_global:
        return "an address that is not public"
    return None
