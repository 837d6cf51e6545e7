"""Webhook bodies: the REST resources, unwrapped, with numeric ids and money as strings, as Shopify
sends them (an orders/create body is the object under `order` in the REST API's order JSON)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from .gids import gid, level_gid, rest_time

if TYPE_CHECKING:
    from .models import InventoryLevel, LineItem, Order, Product, Refund, Transaction, Variant
    from .store import Store


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def _tags(tags: list[str]) -> str:
    return ", ".join(tags)


def inventory_level(store: Store, level: InventoryLevel) -> dict:
    return {
        "inventory_item_id": level.item_id,
        "location_id": level.location_id,
        "available": level.available,
        "updated_at": rest_time(level.updated_at, store.zone),
        "admin_graphql_api_id": level_gid(level.item_id, level.location_id),
    }


def variant(store: Store, variant: Variant) -> dict:
    options = [*list(variant.options.values()), None, None, None]
    return {
        "id": variant.id,
        "admin_graphql_api_id": gid("ProductVariant", variant.id),
        "product_id": variant.product_id,
        "title": variant.title,
        "price": _money(variant.price),
        "compare_at_price": None,
        "sku": variant.sku,
        "position": variant.position,
        "inventory_policy": variant.inventory_policy.lower(),
        "fulfillment_service": "manual",
        "inventory_management": "shopify",
        "option1": options[0] or "Default Title",
        "option2": options[1],
        "option3": options[2],
        "created_at": rest_time(variant.created_at, store.zone),
        "updated_at": rest_time(variant.updated_at, store.zone),
        "taxable": True,
        "barcode": None,
        "grams": 0,
        "requires_shipping": True,
        "inventory_item_id": variant.inventory_item_id,
        "inventory_quantity": store.level_of(variant).available,
    }


def product(store: Store, product: Product) -> dict:
    variants = [store.variants[v] for v in product.variant_ids]
    return {
        "id": product.id,
        "admin_graphql_api_id": gid("Product", product.id),
        "title": product.title,
        "body_html": product.description_html,
        "vendor": product.vendor,
        "product_type": product.product_type,
        "handle": product.handle,
        "created_at": rest_time(product.created_at, store.zone),
        "updated_at": rest_time(product.updated_at, store.zone),
        "published_at": rest_time(product.created_at, store.zone),
        "template_suffix": None,
        "published_scope": "global",
        "status": product.status.lower(),
        "tags": _tags(product.tags),
        "variants": [variant(store, v) for v in variants],
        "options": [
            {
                "product_id": product.id,
                "name": name,
                "position": position,
                "values": sorted({v.options.get(name, "Default Title") for v in variants}),
            }
            for position, name in enumerate(product.option_names, start=1)
        ],
        "images": [],
        "image": None,
    }


def _line_item(line: LineItem) -> dict:
    return {
        "id": line.id,
        "admin_graphql_api_id": gid("LineItem", line.id),
        "variant_id": line.variant_id,
        "product_id": line.product_id,
        "sku": line.sku,
        "title": line.title,
        "variant_title": line.variant_title,
        "name": f"{line.title} - {line.variant_title}" if line.variant_title else line.title,
        "vendor": line.vendor,
        "quantity": line.quantity,
        "current_quantity": line.current_quantity,
        "fulfillable_quantity": line.current_quantity,
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "price": _money(line.price),
        "total_discount": "0.00",
        "grams": 0,
        "requires_shipping": True,
        "taxable": True,
        "gift_card": False,
        "product_exists": line.product_id is not None,
        "variant_inventory_management": "shopify" if line.variant_id else None,
        "properties": [],
        "tax_lines": [],
    }


def _transaction(store: Store, order: Order, transaction: Transaction) -> dict:
    return {
        "id": transaction.id,
        "admin_graphql_api_id": gid("OrderTransaction", transaction.id),
        "order_id": order.id,
        "amount": _money(transaction.amount),
        "kind": transaction.kind.lower(),
        "gateway": transaction.gateway,
        "status": transaction.status.lower(),
        "parent_id": transaction.parent_id,
        "currency": store.currency,
        "created_at": rest_time(transaction.created_at, store.zone),
        "processed_at": rest_time(transaction.created_at, store.zone),
        "test": order.test,
        "source_name": "web",
    }


def refund(store: Store, order: Order, refund: Refund) -> dict:
    lines = {line.id: line for line in order.line_items}
    return {
        "id": refund.id,
        "admin_graphql_api_id": gid("Refund", refund.id),
        "order_id": order.id,
        "created_at": rest_time(refund.created_at, store.zone),
        "processed_at": rest_time(refund.created_at, store.zone),
        "note": refund.note,
        "restock": any(r.restocked for r in refund.lines),
        "refund_line_items": [
            {
                "id": r.id,
                "quantity": r.quantity,
                "line_item_id": r.line_item_id,
                "location_id": r.location_id,
                "restock_type": r.restock_type.lower(),
                "subtotal": _money(r.price * r.quantity),
                "total_tax": "0.00",
                "line_item": _line_item(lines[r.line_item_id]),
            }
            for r in refund.lines
        ],
        "transactions": [_transaction(store, order, t) for t in refund.transactions],
        "order_adjustments": [],
    }


def order(store: Store, order: Order) -> dict:
    zone = store.zone
    customer = order.customer
    current_total = order.total - sum(
        (line.price * line.removed for line in order.line_items), Decimal("0.00")
    )
    return {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "name": order.name,
        "number": order.number - 1000,
        "order_number": order.number,
        "email": order.email,
        "contact_email": order.email,
        "created_at": rest_time(order.created_at, zone),
        "updated_at": rest_time(order.updated_at, zone),
        "processed_at": rest_time(order.created_at, zone),
        "cancelled_at": rest_time(order.cancelled_at, zone),
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "closed_at": rest_time(order.closed_at, zone),
        "confirmed": True,
        "currency": store.currency,
        "presentment_currency": store.currency,
        "financial_status": order.financial_status.lower(),
        "fulfillment_status": None,
        "note": order.note,
        "note_attributes": [],
        "tags": _tags(order.tags),
        "test": order.test,
        "source_name": order.source_name or "web",
        "buyer_accepts_marketing": False,
        "subtotal_price": _money(order.total),
        "total_line_items_price": _money(order.total),
        "total_price": _money(order.total),
        "current_subtotal_price": _money(current_total),
        "current_total_price": _money(current_total),
        "total_discounts": "0.00",
        "total_tax": "0.00",
        "taxes_included": False,
        "discount_codes": [],
        "tax_lines": [],
        "shipping_lines": [],
        "customer": None
        if customer is None
        else {
            "id": customer.id,
            "admin_graphql_api_id": gid("Customer", customer.id),
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
        },
        "line_items": [_line_item(line) for line in order.line_items],
        "fulfillments": [],
        "refunds": [refund(store, order, r) for r in order.refunds],
    }


def shop(store: Store) -> dict:
    return {
        "id": store.id,
        "name": store.name,
        "email": store.email,
        "domain": store.domain,
        "myshopify_domain": store.domain,
        "currency": store.currency,
        "iana_timezone": store.timezone,
        "plan_name": "partner_test",
        "created_at": rest_time(store.created_at, store.zone),
        "updated_at": rest_time(store.created_at, store.zone),
    }
