"""The store URL guard: https and public addresses in production; loopback only in development."""

from __future__ import annotations

import pytest

from connector.security.ssrf import UnsafeStoreUrl, check_store_url

PUBLIC = "93.184.216.34"


def resolving_to(*addresses: str):
    return lambda host, port: list(addresses)


def test_a_public_https_store_is_accepted_and_normalised():
    url = check_store_url(" https://Shop.Example.com/store/ ", production=True, resolver=resolving_to(PUBLIC))
    assert url == "https://shop.example.com/store"


@pytest.mark.parametrize(
    ("addresses", "says"),
    [
        (("10.1.2.3",), "private"),
        ((PUBLIC, "192.168.0.7"), "private"),  # one bad address is enough: the client may pick it
        (("127.0.0.1",), "loopback"),
        (("::1",), "loopback"),
        (("169.254.169.254",), "link-local"),
        (("fe80::1%eth0",), "link-local"),
        (("100.64.0.1",), "not public"),
        (("::ffff:127.0.0.1",), "loopback"),
        (("0.0.0.0",), "address"),
        ((), "does not resolve"),
    ],
)
def test_a_host_resolving_to_a_non_public_address_is_refused_in_production(addresses, says):
    with pytest.raises(UnsafeStoreUrl, match=says):
        check_store_url("https://shop.example.com", production=True, resolver=resolving_to(*addresses))


@pytest.mark.parametrize("url", ["http://shop.example.com", "ftp://shop.example.com", "shop.example.com"])
def test_production_wants_https(url):
    with pytest.raises(UnsafeStoreUrl, match="https://"):
        check_store_url(url, production=True, resolver=resolving_to(PUBLIC))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8089", "http://localhost:5000", "http://2130706433/"])
def test_development_allows_plain_http_to_loopback_for_the_sandbox(url):
    assert check_store_url(url, production=False).startswith("http://")


@pytest.mark.parametrize("url", ["http://10.0.0.5", "http://[fd12::1]", "http://169.254.169.254"])
def test_development_still_refuses_private_and_link_local_addresses(url):
    with pytest.raises(UnsafeStoreUrl):
        check_store_url(url, production=False)


@pytest.mark.parametrize(
    "url",
    ["https://user:pw@shop.example.com", "https://shop.example.com/?x=1", "https://shop.example.com:99999"],
)
def test_credentials_queries_and_bad_ports_are_refused(url):
    with pytest.raises(UnsafeStoreUrl):
        check_store_url(url, production=True, resolver=resolving_to(PUBLIC))
