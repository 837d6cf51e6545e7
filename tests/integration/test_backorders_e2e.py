"""Backorders the way a merchant runs them, on both demo stores at once."""

from datetime import timedelta

from sqlalchemy import select

from connector.models import AuditEntry, Backorder, IncomingStock, Item, Merchant, Supplier, utcnow
from connector.services import incoming, ledger, policy
from connector.services.backorders import merchant_today
from tests.integration.conftest import eventually


def today(new_uow, merchant_id):
    with new_uow() as uow:
        return merchant_today(uow.session.get(Merchant, merchant_id), utcnow())


def supplier_five_days_late(new_uow, merchant_id, sku, name="Acme Supply"):
    """Two past deliveries from this supplier, each five days after the promised date."""
    with new_uow() as uow:
        supplier = Supplier(merchant_id=merchant_id, name=name)
        item = uow.session.scalar(select(Item).where(Item.merchant_id == merchant_id, Item.sku == sku))
        uow.session.add(supplier)
        uow.session.flush()
        day = merchant_today(uow.session.get(Merchant, merchant_id), utcnow())
        for weeks in (8, 4):
            promised = day - timedelta(weeks=weeks)
            uow.session.add(
                IncomingStock(
                    merchant_id=merchant_id,
                    item_id=item.id,
                    supplier_id=supplier.id,
                    quantity=1,
                    quantity_received=1,
                    status="received",
                    expected_date=promised,
                    received_date=promised + timedelta(days=5),
                )
            )
        uow.commit()


def woo_meta(product):
    return {m["key"]: m["value"] for m in product["meta_data"]}


def stock(new_uow, merchant_id, sku):
    with new_uow() as uow:
        return ledger.stock_report(uow, merchant_id, sku)


def test_an_order_beyond_stock_waits_with_an_honest_date_then_stock_arrives(demo, new_uow):
    shopify, woo = demo.sandboxes
    merchant, sku, day = demo.merchant_id, "TEE-NAV-M", today(new_uow, demo.merchant_id)
    supplier_five_days_late(new_uow, merchant, sku)
    policy.set_policy(new_uow(), merchant, sku, backorders="allow", now=utcnow())
    incoming_id = incoming.add_incoming(
        new_uow(), merchant, sku, 10, day + timedelta(days=20), supplier="Acme Supply", now=utcnow()
    )

    # Shopify's checkout refuses beyond stock while the variant is DENY; a staff order takes it anyway.
    assert (
        shopify.place_order([(sku, 5)], inventory_behaviour="DECREMENT_IGNORING_POLICY")["userErrors"] == []
    )
    eventually(lambda: stock(new_uow, merchant, sku)["backordered"] == 2)
    report = stock(new_uow, merchant, sku)
    assert (report["on_hand"], report["committed"], report["available"]) == (3, 5, -2)
    with new_uow() as uow:
        [waiting] = uow.session.scalars(select(Backorder)).all()
    assert waiting.quantity == 2 and not waiting.oversold
    assert waiting.eta_date == day + timedelta(days=20 + 5 + 1)  # batch date + supplier lateness + handling
    assert waiting.promised_date == waiting.eta_date

    eventually(lambda: shopify.variant(sku)["inventory_policy"] == "CONTINUE")
    eventually(lambda: woo.product_by_sku(sku)["backorders"] == "notify")
    text = next(v for k, v in shopify.variant(sku)["metafields"].items() if k.endswith("wait_text"))
    assert text == "Ships in 3–4 weeks"
    assert text in woo_meta(woo.product_by_sku(sku)).values()
    # The state and the quantity go out in separate phases, so they may land in either order.
    eventually(lambda: woo.product_by_sku(sku)["stock_status"] == "onbackorder")

    receipt = incoming.receive_incoming(new_uow(), incoming_id, quantity=None, now=utcnow())
    assert (receipt.allocated_to_backorders, receipt.available) == (2, 8)
    eventually(lambda: woo.product_by_sku(sku)["stock_quantity"] == 8)
    eventually(lambda: shopify.quantity(sku) == 8)
    eventually(lambda: shopify.variant(sku)["inventory_policy"] == "DENY")
    eventually(lambda: woo.product_by_sku(sku)["backorders"] == "no")
    # The policy goes back first and the texts are removed right after it.
    eventually(lambda: not any(k.endswith("wait_text") for k in shopify.variant(sku)["metafields"]))
    eventually(lambda: text not in woo_meta(woo.product_by_sku(sku)).values())
    with new_uow() as uow:
        assert uow.session.scalars(select(Backorder.status)).all() == ["allocated"]
    # The waiting order is tagged on its store, ready to ship.
    eventually(lambda: "backorder-ready" in shopify.orders[-1]["tags"])


def test_with_deny_both_stores_sell_out_and_a_racing_order_is_recorded_as_oversold(demo, new_uow):
    shopify, woo = demo.sandboxes
    sku = "TEE-NAV-L"  # none on hand; the demo merchant's default policy is deny
    assert woo.product_by_sku(sku)["stock_status"] == "outofstock"
    assert shopify.variant(sku)["inventory_policy"] == "DENY" and shopify.quantity(sku) == 0
    assert shopify.place_order([(sku, 1)])["userErrors"], "Shopify's checkout refuses it"
    shopify.place_order([(sku, 1)], inventory_behaviour="DECREMENT_IGNORING_POLICY")  # the race
    eventually(lambda: stock(new_uow, demo.merchant_id, sku)["backordered"] == 1)
    with new_uow() as uow:
        [row] = uow.session.scalars(select(Backorder)).all()
    assert row.oversold


def test_with_safety_stock_a_racing_order_is_served_from_the_shelf_not_oversold(demo, new_uow):
    shopify, woo = demo.sandboxes
    sku = "TEE-NAV-M"  # 3 on hand; the demo merchant's default policy is deny
    policy.set_policy(new_uow(), demo.merchant_id, sku, safety_stock=2, now=utcnow())
    eventually(lambda: shopify.quantity(sku) == 1 and woo.product_by_sku(sku)["stock_quantity"] == 1)
    assert woo.place_order([(sku, 1)])  # the last unit offered, sold on WooCommerce
    # The same moment on Shopify, before our push reached it (its checkout still offered one): as the
    # deny test above, a staff order stands in for the race, which no test can time.
    assert (
        shopify.place_order([(sku, 1)], inventory_behaviour="DECREMENT_IGNORING_POLICY")["userErrors"] == []
    )
    eventually(lambda: stock(new_uow, demo.merchant_id, sku)["committed"] == 2)
    report = stock(new_uow, demo.merchant_id, sku)
    assert (report["on_hand"], report["available"], report["backordered"]) == (3, -1, 0)
    with new_uow() as uow:
        assert uow.session.scalars(select(Backorder)).all() == []  # nothing waits, nothing for support
        # The race is on record: the merchant sees how often the safety stock was needed.
        used = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "stock.safety_stock_used"))
        assert [(a.subject, a.details["units"]) for a in used] == [(f"item:{sku}", 1)]
    eventually(lambda: shopify.quantity(sku) == 0 and woo.product_by_sku(sku)["stock_quantity"] == 0)


def test_allow_up_to_five_flips_both_stores_to_sold_out_when_the_sixth_would_wait(demo, new_uow):
    shopify, woo = demo.sandboxes
    sku = "SOCK-WOOL-M"  # none on hand
    policy.set_policy(new_uow(), demo.merchant_id, sku, backorders="allow-up-to:5", now=utcnow())
    eventually(lambda: woo.product_by_sku(sku)["stock_status"] == "onbackorder")
    eventually(lambda: shopify.variant(sku)["inventory_policy"] == "CONTINUE")
    assert shopify.place_order([(sku, 5)])["userErrors"] == []
    eventually(lambda: woo.product_by_sku(sku)["stock_status"] == "outofstock")
    eventually(lambda: shopify.variant(sku)["inventory_policy"] == "DENY")
    assert stock(new_uow, demo.merchant_id, sku)["backordered"] == 5
