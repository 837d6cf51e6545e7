"""The WooCommerce adapter against the WooCommerce sandbox, over real HTTP."""

from datetime import date
from decimal import Decimal

from adapters.base import BackorderState, CancelRequest, LineCancel, QuantityUpdate
from adapters.woocommerce import WooCommerceChannel
from tests.integration.conftest import WOO_KEY, WOO_SECRET


def channel(url):
    return WooCommerceChannel(url, WOO_KEY, WOO_SECRET)


def whole_catalog(port):
    entries, cursor = [], None
    while True:
        page = port.read_catalog(cursor)
        entries += page.entries
        if page.next_cursor is None:
            return entries
        cursor = page.next_cursor


def by_sku(port):
    return {e.sku: e for e in whole_catalog(port)}


def test_the_whole_catalogue_is_read_with_options_prices_and_stock(woo_store):
    _, url = woo_store
    entries = by_sku(channel(url))
    assert len(entries) == 50
    tee = entries["TEE-NAV-M"]
    assert tee.options == {"Size": "M", "Colour": "Navy"}
    assert (tee.price, tee.quantity, tee.policy) == (Decimal("24.00"), 3, "deny")
    assert entries["MUG-STONE"].ref.variant_id == entries["MUG-STONE"].ref.product_id


def test_stock_pushes_land_and_each_item_reports_its_outcome(woo_store):
    sandbox, url = woo_store
    port = channel(url)
    entries = by_sku(port)
    updates = [QuantityUpdate(entries[sku].ref, 7) for sku in ("TEE-NAV-M", "MUG-STONE")]
    outcomes = port.set_quantities(updates, idempotency_key="k1")
    assert [o.status for o in outcomes] == ["ok", "ok"]
    assert sandbox.product_by_sku("TEE-NAV-M")["stock_quantity"] == 7
    assert port.read_quantities([entries["MUG-STONE"].ref]) == {entries["MUG-STONE"].ref: 7}


def test_backorder_state_shows_a_wait_and_the_merchants_setting_comes_back(woo_store):
    sandbox, url = woo_store
    port = channel(url)
    ref = by_sku(port)["TEE-NAV-L"].ref  # at zero
    state = BackorderState(ref, "allow", wait_text="Ships in 2–3 weeks", expected_date=date(2026, 12, 14))
    assert [o.status for o in port.set_backorder_states([state])] == ["ok"]
    product = sandbox.product_by_sku("TEE-NAV-L")
    assert (product["backorders"], product["stock_status"]) == ("notify", "onbackorder")
    meta = {m["key"]: m["value"] for m in product["meta_data"]}
    assert "Ships in 2–3 weeks" in meta.values()
    port.set_backorder_states([BackorderState(ref, "deny", restore_policy="no")])
    product = sandbox.product_by_sku("TEE-NAV-L")
    assert (product["backorders"], product["stock_status"]) == ("no", "outofstock")
    assert "Ships in 2–3 weeks" not in {m["value"] for m in product["meta_data"]}


def test_a_line_is_cancelled_with_refund_and_restock_and_the_customer_gets_a_note(woo_store):
    sandbox, url = woo_store
    port = channel(url)
    order = sandbox.place_order([("RUN-41", 2), ("MUG-ENAMEL", 1)])
    stock_before = sandbox.product_by_sku("RUN-41")["stock_quantity"]
    info = port.read_order(str(order["id"]))
    run_line = next(line for line in info.lines if line.sku == "RUN-41")
    result = port.cancel(
        CancelRequest(info.order_id, (LineCancel(run_line.line_id, 1),), reason="customer asked")
    )
    assert result.refunded_amount == Decimal("119.00")
    assert sandbox.product_by_sku("RUN-41")["stock_quantity"] == stock_before + 1
    port.add_order_note(info.order_id, "Your trail runners ship next week.", customer_visible=True)
    assert sandbox.emails, "a customer-visible note is emailed by WooCommerce"


def test_a_whole_order_is_cancelled_on_the_store(woo_store):
    sandbox, url = woo_store
    port = channel(url)
    order = sandbox.place_order([("WALK-40", 1)])
    result = port.cancel(CancelRequest(str(order["id"])))
    assert result.cancelled_whole_order
    assert port.read_order(str(order["id"])).cancelled
