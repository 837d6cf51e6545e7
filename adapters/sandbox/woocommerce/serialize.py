"""The JSON the store answers with, shaped like WooCommerce's `wc/v3` responses (and webhook bodies,
which are the same resources). Prices and totals are strings, ids integers, dates site-local and GMT."""

from __future__ import annotations

from typing import Any

from .coupons import Coupon
from .orders import LineItem, Note, Order
from .products import Meta, Product
from .refunds import Refund
from .store import Store
from .wp import WC_VERSION, money_text, php_number, wp_date

CURRENCY_SYMBOL = "&#36;"


class Urls:
    """Absolute URLs under the store's address, as `rest_url` and `get_permalink` build them."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def rest(self, path: str) -> str:
        return f"{self.base}/wp-json/wc/v3/{path}"

    def links(self, path: str, collection: str, up: str | None = None) -> dict[str, list[dict[str, str]]]:
        links = {"self": [{"href": self.rest(path)}], "collection": [{"href": self.rest(collection)}]}
        if up:
            links["up"] = [{"href": self.rest(up)}]
        return links


def meta_json(entries: list[Meta]) -> list[dict[str, Any]]:
    return [{"id": m.id, "key": m.key, "value": m.value} for m in entries]


def _dates(prefix: str, moment: Any) -> dict[str, Any]:
    return {prefix: wp_date(moment), f"{prefix}_gmt": wp_date(moment)}


def _stock(product: Product) -> dict[str, Any]:
    return {
        "manage_stock": product.manage_stock,
        "stock_quantity": product.stock_quantity,
        "stock_status": product.stock_status,
        "backorders": product.backorders,
        "backorders_allowed": product.backorders_allowed,
        "backordered": product.is_on_backorder(),
        "low_stock_amount": product.low_stock_amount,
    }


def _prices(product: Product) -> dict[str, Any]:
    return {
        "price": product.price,
        "regular_price": product.regular_price,
        "sale_price": product.sale_price,
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": product.on_sale,
    }


def product_json(store: Store, product: Product, urls: Urls) -> dict[str, Any]:
    """`GET products/<id>`; a variation asked for through the products endpoint comes out this way too."""
    terms = [store.categories[i] for i in product.category_ids if i in store.categories]
    tags = [store.tags[i] for i in product.tag_ids if i in store.tags]
    parent = store.products.get(product.parent_id)
    permalink = f"{urls.base}/product/{(parent or product).slug}/"
    price = product.price
    return {
        "id": product.id,
        "name": product.name,
        "slug": product.slug,
        "permalink": permalink,
        **_dates("date_created", product.date_created),
        **_dates("date_modified", product.date_modified),
        "type": product.type,
        "status": product.status,
        "featured": product.featured,
        "catalog_visibility": product.catalog_visibility,
        "description": product.description,
        "short_description": product.short_description,
        "sku": product.sku,
        **_prices(product),
        "price_html": _price_html(price),
        "purchasable": product.status == "publish" and price != "",
        "total_sales": product.total_sales,
        "virtual": product.virtual,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "external_url": "",
        "button_text": "",
        "tax_status": product.tax_status,
        "tax_class": product.tax_class,
        **_stock(product),
        "sold_individually": False,
        "weight": product.weight,
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_required": not product.virtual,
        "shipping_taxable": True,
        "shipping_class": "",
        "shipping_class_id": 0,
        "reviews_allowed": True,
        "average_rating": "0.00",
        "rating_count": 0,
        "related_ids": [],
        "upsell_ids": product.upsell_ids,
        "cross_sell_ids": product.cross_sell_ids,
        "parent_id": product.parent_id,
        "purchase_note": product.purchase_note,
        "categories": [{"id": t.id, "name": t.name, "slug": t.slug} for t in terms],
        "tags": [{"id": t.id, "name": t.name, "slug": t.slug} for t in tags],
        "images": [],
        "attributes": product.attributes,
        "default_attributes": [],
        "variations": list(product.children),
        "grouped_products": [],
        "menu_order": product.menu_order,
        "meta_data": meta_json(product.meta),
        "_links": urls.links(f"products/{product.id}", "products"),
    }


def variation_json(store: Store, variation: Product, urls: Urls) -> dict[str, Any]:
    """`GET products/<parent>/variations/<id>`."""
    parent = store.products.get(variation.parent_id)
    options = "&".join(f"attribute_{a['name'].lower()}={a['option']}" for a in variation.attributes)
    base = f"products/{variation.parent_id}/variations"
    return {
        "id": variation.id,
        **_dates("date_created", variation.date_created),
        **_dates("date_modified", variation.date_modified),
        "description": variation.description,
        "permalink": f"{urls.base}/product/{parent.slug if parent else ''}/?{options}",
        "sku": variation.sku,
        **_prices(variation),
        "status": variation.status,
        "purchasable": variation.status == "publish" and variation.price != "",
        "virtual": variation.virtual,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "tax_status": variation.tax_status,
        "tax_class": variation.tax_class,
        **_stock(variation),
        "weight": variation.weight,
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_class": "",
        "shipping_class_id": 0,
        "image": None,
        "attributes": variation.attributes,
        "menu_order": variation.menu_order,
        "meta_data": meta_json(variation.meta),
        "_links": urls.links(f"{base}/{variation.id}", base, up=f"products/{variation.parent_id}"),
    }


def _price_html(price: str) -> str:
    if price == "":
        return ""
    return (
        '<span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">'
        f"{CURRENCY_SYMBOL}</span>{price}</bdi></span>"
    )


def line_json(line: LineItem) -> dict[str, Any]:
    return {
        "id": line.id,
        "name": line.name,
        "product_id": line.product_id,
        "variation_id": line.variation_id,
        "quantity": line.quantity,
        "tax_class": "",
        "subtotal": money_text(line.subtotal),
        "subtotal_tax": "0.00",
        "total": money_text(line.total),
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": [
            {"id": m.id, "key": m.key, "value": m.value, "display_key": m.key, "display_value": m.value}
            for m in line.meta
        ],
        "sku": line.sku,
        "price": php_number(line.total / line.quantity) if line.quantity else 0,
        "image": {"id": 0, "src": ""},
        "parent_name": line.parent_name,
    }


def order_json(store: Store, order: Order, urls: Urls) -> dict[str, Any]:
    refunds = [store.refunds[r] for r in order.refund_ids if r in store.refunds]
    needs_payment = order.status in ("pending", "failed") and order.total > 0
    return {
        "id": order.id,
        "parent_id": 0,
        "status": order.status,
        "currency": order.currency,
        "version": WC_VERSION,
        "prices_include_tax": False,
        **_dates("date_created", order.date_created),
        **_dates("date_modified", order.date_modified),
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": "0.00",
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": money_text(order.total),
        "total_tax": "0.00",
        "customer_id": order.customer_id,
        "order_key": order.order_key,
        "billing": dict(order.billing),
        "shipping": dict(order.shipping),
        "payment_method": order.payment_method,
        "payment_method_title": order.payment_method_title,
        "transaction_id": order.transaction_id,
        "customer_ip_address": "",
        "customer_user_agent": "",
        "created_via": order.created_via,
        "customer_note": order.customer_note,
        **_dates("date_completed", order.date_completed),
        **_dates("date_paid", order.date_paid),
        "cart_hash": "",
        "number": str(order.id),
        "meta_data": meta_json(order.meta),
        "line_items": [line_json(line) for line in order.line_items],
        "tax_lines": [],
        "shipping_lines": [],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [{"id": r.id, "reason": r.reason, "total": "-" + money_text(r.amount)} for r in refunds],
        "payment_url": f"{urls.base}/checkout/order-pay/{order.id}/?pay_for_order=true&key={order.order_key}",
        "is_editable": order.status in ("pending", "on-hold", "auto-draft", "checkout-draft"),
        "needs_payment": needs_payment,
        "needs_processing": True,
        "_links": urls.links(f"orders/{order.id}", "orders"),
    }


def refund_json(refund: Refund, urls: Urls) -> dict[str, Any]:
    base = f"orders/{refund.order_id}/refunds"
    return {
        "id": refund.id,
        **_dates("date_created", refund.date_created),
        "amount": money_text(refund.amount),
        "reason": refund.reason,
        "refunded_by": 1,
        "refunded_payment": refund.refunded_payment,
        "meta_data": meta_json(refund.meta),
        "line_items": [line_json(line) for line in refund.line_items],
        "shipping_lines": [],
        "tax_lines": [],
        "fee_lines": [],
        "_links": urls.links(f"{base}/{refund.id}", base, up=f"orders/{refund.order_id}"),
    }


def note_json(order_id: int, note: Note, urls: Urls) -> dict[str, Any]:
    base = f"orders/{order_id}/notes"
    return {
        "id": note.id,
        "author": note.author,
        **_dates("date_created", note.date_created),
        "note": note.note,
        "customer_note": note.customer_note,
        "_links": urls.links(f"{base}/{note.id}", base, up=f"orders/{order_id}"),
    }


def coupon_json(coupon: Coupon, urls: Urls) -> dict[str, Any]:
    return {
        "id": coupon.id,
        "code": coupon.code,
        "amount": money_text(coupon.amount),
        **_dates("date_created", coupon.date_created),
        **_dates("date_modified", coupon.date_modified),
        "discount_type": coupon.discount_type,
        "description": coupon.description,
        **_dates("date_expires", coupon.date_expires),
        "usage_count": coupon.usage_count,
        "individual_use": coupon.individual_use,
        "product_ids": [],
        "excluded_product_ids": [],
        "usage_limit": coupon.usage_limit,
        "usage_limit_per_user": coupon.usage_limit_per_user,
        "limit_usage_to_x_items": None,
        "free_shipping": False,
        "product_categories": [],
        "excluded_product_categories": [],
        "exclude_sale_items": False,
        "minimum_amount": "0.00",
        "maximum_amount": "0.00",
        "email_restrictions": list(coupon.email_restrictions),
        "used_by": [],
        "meta_data": [],
        "_links": urls.links(f"coupons/{coupon.id}", "coupons"),
    }
