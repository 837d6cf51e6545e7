"""Linking a storefront's catalogue to items by SKU, never guessing, resumable."""

import pytest
from sqlalchemy import select

from connector.crypto import Vault
from connector.errors import Conflict, InvalidInput
from connector.models import Listing
from connector.services import channels, ledger
from connector.services.channel_import import import_catalog
from tests.factories import merchant_with_items
from tests.fakes import FakeCatalog, entry

KEY = "8Xv0H4W3mvy0lLDWZ-x4sWw3u9w9VQk1wM1a3D7pH5c="


@pytest.fixture
def shop(new_uow):
    merchant = merchant_with_items(new_uow, {"KNOWN": 7})
    connection = channels.ShopifyConnection(shop="demo.myshopify.com", token="shpat_x")
    channel = channels.add_channel(new_uow(), Vault([KEY]), merchant, connection)
    return merchant, channel


def linked(new_uow, channel_id):
    with new_uow() as uow:
        rows = uow.session.scalars(select(Listing).where(Listing.channel_id == channel_id)).all()
        return {row.variant_id for row in rows}


def stock(new_uow, merchant, sku):
    with new_uow() as uow:
        return ledger.stock_report(uow, merchant, sku)["on_hand"]


def test_listings_link_to_items_by_sku_and_missing_items_are_created(new_uow, shop):
    merchant, channel = shop
    catalog = FakeCatalog([entry("1", "KNOWN", 3), entry("2", "NEW", 4)])
    progress = import_catalog(new_uow, channel, catalog)
    assert (progress.status, progress.linked, progress.created) == ("done", 2, 1)
    assert linked(new_uow, channel) == {"1", "2"}
    assert stock(new_uow, merchant, "KNOWN") == 7  # the ledger stays the truth for known items
    assert stock(new_uow, merchant, "NEW") == 4


def test_listings_without_sku_or_with_a_repeated_sku_are_reported_not_linked(new_uow, shop):
    _, channel = shop
    entries = [
        entry("1", "A"),
        entry("2", None),
        entry("3", "B"),
        entry("4", "A"),
        entry("5", "A"),
        entry("6", " "),
    ]
    progress = import_catalog(new_uow, channel, FakeCatalog(entries))
    assert linked(new_uow, channel) == {"3"}
    reasons = {(p["variant_id"], p["reason"]) for p in progress.problems}
    assert ("2", "no SKU") in reasons and ("6", "no SKU") in reasons
    assert {v for v, r in reasons if "more than once" in r} == {"1", "4", "5"}
    assert progress.linked == 1


def test_an_interrupted_import_resumes_from_the_last_page(new_uow, shop):
    _, channel = shop
    entries = [entry(str(i), f"SKU-{i}") for i in range(7)]
    with pytest.raises(ConnectionError):
        import_catalog(new_uow, channel, FakeCatalog(entries, fail_after=2))
    assert len(linked(new_uow, channel)) == 4
    again = FakeCatalog(entries)
    progress = import_catalog(new_uow, channel, again)
    assert again.reads == ["4", "6"]
    assert progress.status == "done" and progress.linked == 7
    assert len(linked(new_uow, channel)) == 7


def test_importing_again_after_it_finished_rescans_without_duplicating(new_uow, shop):
    _, channel = shop
    entries = [entry("1", "A", 2), entry("2", "B", 2)]
    import_catalog(new_uow, channel, FakeCatalog(entries))
    progress = import_catalog(new_uow, channel, FakeCatalog(entries))
    assert (progress.linked, progress.created) == (0, 0)
    assert len(linked(new_uow, channel)) == 2


def test_a_second_channel_links_to_the_same_items(new_uow, shop):
    merchant, first = shop
    import_catalog(new_uow, first, FakeCatalog([entry("1", "A", 5)]))
    woo = channels.WooCommerceConnection(url="http://127.0.0.1:9/", key="ck_1", secret="cs_1")
    second = channels.add_channel(new_uow(), Vault([KEY]), merchant, woo)
    progress = import_catalog(new_uow, second, FakeCatalog([entry("10", "A", 99)]))
    assert (progress.linked, progress.created) == (1, 0)
    assert stock(new_uow, merchant, "A") == 5


def test_a_store_cannot_be_connected_twice_and_bad_domains_are_refused(new_uow, shop):
    merchant, _ = shop
    with pytest.raises(Conflict, match="already connected"):
        channels.add_channel(
            new_uow(), Vault([KEY]), merchant, channels.ShopifyConnection("demo.myshopify.com", "t")
        )
    with pytest.raises(InvalidInput, match=r"myshopify\.com domain"):
        channels.add_channel(new_uow(), Vault([KEY]), merchant, channels.ShopifyConnection("evil.com", "t"))


def test_credentials_are_stored_encrypted(new_uow, shop):
    _, channel = shop
    with new_uow() as uow:
        row = channels.get_channel(uow, channel)
        assert "shpat_x" not in row.credentials_encrypted
        assert Vault([KEY]).decrypt_json(row.credentials_encrypted) == {"token": "shpat_x"}
