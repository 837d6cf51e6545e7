"""Reconciliation finds drift, says why, and repairs it through the ledger and the outbox."""

import random

import pytest

from connector.crypto import Vault
from connector.services import channels, dispatch, ledger
from connector.services.channel_import import import_catalog
from connector.services.reconcile import reconcile_channel
from tests.factories import merchant_with_items
from tests.fakes import FakeStorefront, entry
from tests.test_dispatch import Clock

KEY = "8Xv0H4W3mvy0lLDWZ-x4sWw3u9w9VQk1wM1a3D7pH5c="


@pytest.fixture
def synced(new_uow):
    merchant = merchant_with_items(new_uow, {"A": 5, "B": 5, "C": 5})
    channel = channels.add_channel(
        new_uow(), Vault([KEY]), merchant, channels.ShopifyConnection("a.myshopify.com", "t")
    )
    store = FakeStorefront([entry("1", "A", 5), entry("2", "B", 5), entry("3", "C", 5)])
    import_catalog(new_uow, channel, store)
    store.quantities = {"1": 5, "2": 5, "3": 5}
    return merchant, channel, store


def push(new_uow, channel, store):
    clock = Clock()
    assert dispatch.lease_channel(new_uow(), "w", clock()) == channel
    dispatch.dispatch_round(new_uow, channel, store, clock, worker="w", rng=random.Random(0))
    dispatch.release_lease(new_uow(), channel, "w")


def test_a_store_in_step_needs_no_repair(new_uow, synced):
    _, channel, store = synced
    report = reconcile_channel(new_uow, channel, store)
    assert (report.checked, report.repairs) == (3, [])


def test_a_push_that_never_arrived_is_queued_again(new_uow, synced):
    merchant, channel, store = synced
    ledger.record(new_uow(), merchant, [ledger.Movement("A", "receive", 2, "po")])  # no outbox row: "lost"
    report = reconcile_channel(new_uow, channel, store)
    assert [(r.sku, r.storefront, r.ledger, r.reason) for r in report.repairs] == [
        ("A", 5, 7, "a push failed or is still queued")
    ]
    push(new_uow, channel, store)
    assert store.quantities["1"] == 7


def test_an_edit_on_the_storefront_is_recorded_in_the_ledger(new_uow, synced):
    merchant, channel, store = synced
    store.quantities["2"] = 9
    report = reconcile_channel(new_uow, channel, store)
    assert [r.sku for r in report.repairs] == ["B"] and "+4" in report.repairs[0].reason
    with new_uow() as uow:
        assert ledger.stock_report(uow, merchant, "B")["on_hand"] == 9
    assert reconcile_channel(new_uow, channel, store).repairs == []
