"""The Shopify adapter against the Shopify sandbox, over real HTTP on loopback.

Every call goes through ShopifyChannel's own requests session to the sandbox's Admin GraphQL endpoint,
so costs, throttling, userErrors and webhooks are Shopify's shapes end to end."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate
from werkzeug.wrappers import Request, Response

from adapters.base import (
    BackorderState,
    CancelRequest,
    CatalogEntry,
    LineCancel,
    QuantityUpdate,
    StockChanged,
    SubstituteList,
)
from adapters.errors import NotSupportedByChannel
from adapters.sandbox.common import Faults, load_catalog
from adapters.sandbox.server import start_in_thread
from adapters.sandbox.shopify import ShopifySandbox
from adapters.shopify import ShopifyChannel
from tests.integration.conftest import DEMO_CATALOG

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ROOT / "adapters" / "shopify" / "graphql"
SANDBOX_SDL = ROOT / "adapters" / "sandbox" / "shopify" / "schema.graphql"
TOKEN = "shpat_" + "c3" * 16
SECRET = "roundtrip-client-secret"


@dataclass
class RunningShop:
    """A running sandbox shop and where it listens."""

    sandbox: ShopifySandbox
    url: str

    def channel(self, **options) -> ShopifyChannel:
        """A ShopifyChannel pointed at this shop; `options` go to its constructor."""
        return ShopifyChannel(
            self.sandbox.shop, TOKEN, api_url=self.url, webhook_secret=SECRET, timeouts=(2, 10), **options
        )

    def metafields_of(self, owner_kind: str, owner_gid: str) -> dict[str, tuple[str, str]]:
        """`namespace.key` → (type, value) for one owner, as the shop keeps them."""
        number = int(owner_gid.rsplit("/", 1)[1])
        with self.sandbox.store.lock:
            return {
                f"{m.namespace}.{m.key}": (m.type, m.value)
                for m in self.sandbox.store.metafields.values()
                if (m.owner_kind, m.owner_id) == (owner_kind, number)
            }


@contextmanager
def running_store(**options) -> Iterator[RunningShop]:
    """A seeded sandbox shop served on a free loopback port for the length of the block."""
    sandbox = ShopifySandbox(token=TOKEN, client_secret=SECRET, **options)
    sandbox.seed(load_catalog(DEMO_CATALOG))
    server = start_in_thread(sandbox.wsgi_app)
    try:
        yield RunningShop(sandbox, server.url)
    finally:
        sandbox.webhooks.flush(timeout=5)
        server.stop()


@pytest.fixture
def shop() -> Iterator[RunningShop]:
    with running_store() as store:
        yield store


@dataclass
class Receiver:
    """A webhook endpoint on loopback that keeps each delivery's headers and raw body."""

    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, environ, start_response):
        request = Request(environ)
        with self.arrived:
            self.deliveries.append((dict(request.headers), request.get_data()))
            self.arrived.notify_all()
        return Response("", status=200)(environ, start_response)

    def wait_for(self, topic: str, timeout: float = 5.0) -> list[tuple[dict[str, str], bytes]]:
        """Every delivery of `topic` so far, waiting up to `timeout` for the first."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not (found := [d for d in self.deliveries if d[0].get("X-Shopify-Topic") == topic]):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self.arrived.wait(remaining)
            return found


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    server = start_in_thread(app)
    yield app, server.url
    server.stop()


def whole_catalog(port: ShopifyChannel) -> list[CatalogEntry]:
    """Every page, following the cursor to the end."""
    entries, cursor = [], None
    while True:
        page = port.read_catalog(cursor)
        entries += page.entries
        if page.next_cursor is None:
            return entries
        cursor = page.next_cursor


def by_sku(port: ShopifyChannel) -> dict[str | None, CatalogEntry]:
    """The whole catalogue keyed by SKU."""
    return {entry.sku: entry for entry in whole_catalog(port)}


# Documents and schema


def test_every_adapter_document_is_valid_against_the_sandbox_schema():
    schema = build_schema(SANDBOX_SDL.read_text(encoding="utf-8"))
    paths = sorted(DOCUMENTS.glob("*.graphql"))
    assert paths
    problems = {
        path.name: [error.message for error in errors]
        for path in paths
        if (errors := validate(schema, parse(path.read_text(encoding="utf-8"))))
    }
    assert problems == {}


# Catalogue and stock


def test_the_whole_catalogue_is_read_with_skus_options_prices_quantities_and_inventory_items(shop):
    port = shop.channel()
    port.catalog_page_size = 20  # three pages for the 50 demo variants, so the cursor is followed
    entries = by_sku(port)
    expected = {draft.sku: draft for draft in load_catalog(DEMO_CATALOG)}
    assert set(entries) == set(expected)
    for sku, draft in expected.items():
        entry = entries[sku]
        assert (entry.product_title, entry.price, entry.quantity) == (draft.title, draft.price, draft.on_hand)
        # Shopify's placeholder option (Title: Default Title) is not an option of the item.
        assert dict(entry.options) == dict(draft.options)
        variant = shop.sandbox.variant(sku)
        assert entry.ref.variant_id == variant["id"]
        assert entry.ref.product_id == variant["product_id"]
        assert entry.ref.inventory_item_id == variant["inventory_item_id"]
        assert (entry.policy, entry.raw_policy) == ("deny", "DENY")
    tee = entries["TEE-NAV-M"]
    assert tee.options == {"Size": "M", "Colour": "Navy"}
    assert (tee.price, tee.quantity, tee.vendor, tee.product_type) == (
        Decimal("24.00"),
        3,
        "Northwind",
        "T-Shirts",
    )


def test_stock_is_set_compare_and_set_and_read_back(shop):
    port = shop.channel()
    entries = by_sku(port)
    tee, mug = entries["TEE-NAV-M"], entries["MUG-STONE"]
    updates = [
        QuantityUpdate(tee.ref, 7, expected=tee.quantity),
        QuantityUpdate(mug.ref, 0, expected=mug.quantity),
    ]
    outcomes = port.set_quantities(updates, idempotency_key="push-1")
    assert [(o.status, o.quantity, o.reason) for o in outcomes] == [("ok", 7, ""), ("ok", 0, "")]
    assert (shop.sandbox.quantity("TEE-NAV-M"), shop.sandbox.quantity("MUG-STONE")) == (7, 0)
    assert port.read_quantities([tee.ref, mug.ref]) == {tee.ref: 7, mug.ref: 0}


def test_a_stale_expected_quantity_is_re_read_and_the_push_retried(shop):
    port = shop.channel()
    hoodie = by_sku(port)["HOOD-BLA-M"]  # 40 in the catalogue
    shop.sandbox.place_order([("HOOD-BLA-M", 2)])  # a sale between our read and our push
    outcomes = port.set_quantities([QuantityUpdate(hoodie.ref, 30, expected=40)], idempotency_key="push-2")
    # The 2 sold are not offered again: their order is still on its way to the ledger.
    assert [(o.status, o.quantity, o.reason) for o in outcomes] == [("ok", 28, "was 38, not 40")]
    assert shop.sandbox.quantity("HOOD-BLA-M") == 28
    assert shop.sandbox.calls.snapshot()["inventorySetQuantities"] == 2  # the stale push, then the retry


def test_quantities_are_read_by_inventory_item_or_by_variant(shop):
    port = shop.channel()
    run = by_sku(port)["RUN-41"]
    by_variant = type(run.ref)(run.ref.product_id, run.ref.variant_id)  # no inventory item id known
    assert port.read_quantities([run.ref, by_variant]) == {run.ref: 25, by_variant: 25}


# What shoppers see


def test_allowing_backorders_continues_selling_with_a_wait_text_and_denying_removes_both(shop):
    port = shop.channel()
    ref = by_sku(port)["TEE-NAV-L"].ref  # at zero
    allow = BackorderState(ref, "allow", wait_text="Ships in 2–3 weeks", expected_date=date(2026, 12, 14))
    assert [o.status for o in port.set_backorder_states([allow])] == ["ok"]
    variant = shop.sandbox.variant("TEE-NAV-L")
    namespace = f"app--{shop.sandbox.app_id}--backorder"
    assert variant["inventory_policy"] == "CONTINUE"
    assert variant["metafields"] == {
        f"{namespace}.wait_text": "Ships in 2–3 weeks",
        f"{namespace}.expected_date": "2026-12-14",
    }
    assert by_sku(port)["TEE-NAV-L"].policy == "allow"
    deny = BackorderState(ref, "deny", restore_policy="DENY")
    assert [o.status for o in port.set_backorder_states([deny])] == ["ok"]
    variant = shop.sandbox.variant("TEE-NAV-L")
    assert (variant["inventory_policy"], variant["metafields"]) == ("DENY", {})


def test_substitutes_are_a_product_reference_list_on_the_product(shop):
    port = shop.channel()
    entries = by_sku(port)
    run, walk, tee = entries["RUN-40"], entries["WALK-40"], entries["TEE-SAN-M"]
    lists = [
        SubstituteList(run.ref, (walk.ref, entries["RUN-41"].ref, tee.ref))
    ]  # its own product is dropped
    assert [o.status for o in port.set_substitutes(lists)] == ["ok"]
    key = f"app--{shop.sandbox.app_id}--backorder.substitutes"
    kind, value = shop.metafields_of("Product", run.ref.product_id)[key]
    assert (kind, json.loads(value)) == ("list.product_reference", [walk.ref.product_id, tee.ref.product_id])
    assert [o.status for o in port.set_substitutes([SubstituteList(run.ref, ())])] == ["ok"]
    assert key not in shop.metafields_of("Product", run.ref.product_id)


# Orders


def test_an_order_placed_on_the_shop_is_read_with_its_lines(shop):
    port = shop.channel()
    placed = shop.sandbox.place_order([("RUN-41", 2), ("MUG-ENAMEL", 1)], email="ada@example.com")
    assert placed["userErrors"] == []
    order = port.read_order(placed["order"]["id"])
    assert (order.order_id, order.number, order.customer_email) == (
        placed["order"]["id"],
        placed["order"]["name"],
        "ada@example.com",
    )
    assert not order.cancelled and order.placed_at.tzinfo is not None
    lines = {line.sku: line for line in order.lines}
    assert {sku: line.quantity for sku, line in lines.items()} == {"RUN-41": 2, "MUG-ENAMEL": 1}
    assert lines["RUN-41"].price == Decimal("119.00")
    assert lines["RUN-41"].ref.inventory_item_id == shop.sandbox.variant("RUN-41")["inventory_item_id"]
    assert shop.sandbox.quantity("RUN-41") == 23  # the order committed two of 25


def test_a_line_is_cancelled_and_restocked_and_a_repeat_changes_nothing(shop):
    port = shop.channel()
    placed = shop.sandbox.place_order([("RUN-41", 2), ("MUG-ENAMEL", 1)])["order"]
    order = port.read_order(placed["id"])
    run_line = next(line for line in order.lines if line.sku == "RUN-41")
    request = CancelRequest(
        order.order_id,
        (LineCancel(run_line.line_id, 1),),
        refund=False,
        reason="customer",
        idempotency_key="backorder-cancellation:41:0123456789abcdef",
    )
    result = port.cancel(request)
    assert (result.cancelled_whole_order, result.refunded_amount) == (False, Decimal(0))
    assert result.storefront_reference.startswith("gid://shopify/Refund/")
    assert shop.sandbox.quantity("RUN-41") == 24  # 25, two ordered, one given back
    after = port.read_order(order.order_id)
    assert {line.sku: line.quantity for line in after.lines} == {"RUN-41": 1, "MUG-ENAMEL": 1}
    assert port.cancel(request) == result  # the same cancellation (its key) again: the first refund
    assert shop.sandbox.quantity("RUN-41") == 24


def test_a_line_is_cancelled_with_its_money_paid_back(shop):
    port = shop.channel()
    placed = shop.sandbox.place_order([("RUN-41", 2), ("MUG-ENAMEL", 1)])["order"]
    order = port.read_order(placed["id"])
    run_line = next(line for line in order.lines if line.sku == "RUN-41")
    result = port.cancel(CancelRequest(order.order_id, (LineCancel(run_line.line_id, 1),), reason="customer"))
    assert (result.cancelled_whole_order, result.refunded_amount) == (False, Decimal("119.00"))
    assert shop.sandbox.quantity("RUN-41") == 24
    assert port.read_order(order.order_id).financial_status == "partially_refunded"


def test_a_whole_order_is_cancelled_with_a_refund_and_restock(shop):
    port = shop.channel()
    placed = shop.sandbox.place_order([("WALK-40", 2)])["order"]
    assert shop.sandbox.quantity("WALK-40") == 38
    result = port.cancel(CancelRequest(placed["id"], reason="inventory", note="Out of leather"))
    assert (result.cancelled_whole_order, result.refunded_amount) == (True, Decimal("198.00"))
    assert result.storefront_reference.startswith("gid://shopify/Job/")
    order = port.read_order(placed["id"])
    assert order.cancelled and order.financial_status == "refunded"
    assert shop.sandbox.quantity("WALK-40") == 40
    again = port.cancel(CancelRequest(placed["id"]))
    assert (again.cancelled_whole_order, again.storefront_reference) == (True, "already cancelled")


def test_a_staff_note_is_appended_once_and_tags_are_added(shop):
    port = shop.channel()
    order_id = shop.sandbox.place_order([("RUN-42", 1)])["order"]["id"]
    port.add_order_note(order_id, "Backordered: ships by 14 December.", customer_visible=False)
    port.add_order_note(order_id, "Backordered: ships by 14 December.", customer_visible=False)
    port.add_order_note(order_id, "Customer chose to wait.", customer_visible=False)
    with pytest.raises(NotSupportedByChannel):
        port.add_order_note(order_id, "Hello", customer_visible=True)
    port.tag_order(order_id, ["backorder", "waiting"])
    port.tag_order(order_id, ["backorder"])
    [order] = [o for o in shop.sandbox.orders if o["admin_graphql_api_id"] == order_id]
    assert order["note"] == "Backordered: ships by 14 December.\nCustomer chose to wait."
    assert set(port.read_order(order_id).tags) == {"backorder", "waiting"}


# Webhooks


def test_webhooks_are_registered_once_and_a_stock_change_arrives_signed(shop, receiver):
    inbox, address = receiver
    port = shop.channel()
    ids = port.register_webhooks(address)
    assert len(ids) == 6 and port.register_webhooks(address) == ids  # a second run subscribes nothing new
    mug = by_sku(port)["MUG-STONE"]
    port.set_quantities([QuantityUpdate(mug.ref, 5, expected=mug.quantity)], idempotency_key="push-3")
    [(headers, body)] = inbox.wait_for("inventory_levels/update")
    delivery = port.verify_webhook(headers, body)
    assert (delivery.topic, delivery.dedupe_key) == ("inventory_levels/update", headers["X-Shopify-Event-Id"])
    [event] = port.parse_webhook(delivery)
    assert isinstance(event, StockChanged)
    assert (event.ref.inventory_item_id, event.quantity) == (mug.ref.inventory_item_id, 5)
    assert event.updated_at is not None and event.updated_at.tzinfo is not None


# Pacing and retries


class RecordedSleep:
    """Sleeps for real and remembers each wait, so a test can see the adapter held back."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


def test_a_small_cost_bucket_slows_the_catalogue_read_but_does_not_stop_it():
    sleep = RecordedSleep()
    with running_store(bucket_size=60, restore_rate=60) as store:
        port = store.channel(sleep=sleep)
        port.catalog_page_size = 8  # 2 + 8 x 6 = 50 requested points, within the 60-point bucket
        entries = whole_catalog(port)
        calls = store.sandbox.calls.snapshot()
    assert len(entries) == 50
    assert calls["productVariants"] == 7
    assert calls.get("THROTTLED", 0) <= 2  # the adapter waited for the bucket instead of being refused
    assert sum(sleep.waits) > 2.5  # 7 pages of 50 points from 60 points refilled at 60 a second


def test_failing_reads_are_retried_until_the_catalogue_is_read():
    sleep = RecordedSleep()
    with running_store(faults=Faults(fail_rate=0.2, rng=random.Random(4))) as store:
        port = store.channel(sleep=sleep, rng=random.Random(4))
        port.catalog_page_size = 5  # ten pages, so some of them meet a 5xx
        entries = whole_catalog(port)
    assert len(entries) == 50
    assert sleep.waits, "the seeded faults made some reads fail, and they were tried again"
