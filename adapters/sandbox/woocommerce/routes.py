"""The `wc/v3` routes the sandbox store serves, and the webhook routes' handlers."""

from __future__ import annotations

from collections.abc import Callable

from . import catalog_routes as catalog
from . import coupons
from . import order_routes as orders
from .calls import EDITABLE, Call, Reply, created, ordered, paged
from .serialize import coupon_json
from .wp import WPError, as_bool, one_of


def list_webhooks(call: Call) -> Reply:
    status = one_of(call.params.get("status", "all"), "status", ("all", "active", "paused", "disabled"))
    hooks = call.sandbox.webhooks.listing(status)
    return paged(call, hooks, lambda w: w.json(call.urls.rest), "webhooks")


def get_webhook(call: Call) -> Reply:
    return Reply(call.sandbox.webhooks.get(call.args["id"]).json(call.urls.rest))


def create_webhook(call: Call) -> Reply:
    webhook = call.sandbox.webhooks.create(call.params)
    return created(webhook.json(call.urls.rest), call.urls, f"webhooks/{webhook.id}")


def update_webhook(call: Call) -> Reply:
    return Reply(call.sandbox.webhooks.update(call.args["id"], call.params).json(call.urls.rest))


def delete_webhook(call: Call) -> Reply:
    webhook = call.sandbox.webhooks.delete(call.args["id"], force=as_bool(call.params.get("force", False)))
    return Reply(webhook.json(call.urls.rest))


def list_coupons(call: Call) -> Reply:
    found = list(call.store.coupons.values())
    if call.params.get("code"):
        # WooCommerce looks the code up (`wc_get_coupon_id_by_code`), so the match ignores case.
        wanted = coupons.by_code(call.store, str(call.params["code"]))
        found = [wanted] if wanted is not None else []
    fields = {"date": lambda c: c.date_created, "id": lambda c: 0}
    return paged(call, ordered(found, call.params, fields), lambda c: coupon_json(c, call.urls), "coupons")


def get_coupon(call: Call) -> Reply:
    coupon = call.store.coupons.get(call.args["id"])
    if coupon is None:
        raise WPError("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", 404)
    return Reply(coupon_json(coupon, call.urls))


def create_coupon(call: Call) -> Reply:
    coupon = coupons.create_coupon(call.store, call.params)
    return created(coupon_json(coupon, call.urls), call.urls, f"coupons/{coupon.id}")


# (path under /wp-json/wc/v3, name counted per call, {method: (handler, kind of permission check)})
ROUTES: list[tuple[str, str, dict[str, tuple[Callable[[Call], Reply], str]]]] = [
    (
        "products",
        "products",
        {"GET": (catalog.list_products, "list"), "POST": (catalog.create_product, "create")},
    ),
    ("products/batch", "products/batch", dict.fromkeys(EDITABLE, (catalog.batch_products, "batch"))),
    (
        "products/<int:id>",
        "products/<id>",
        {
            "GET": (catalog.get_product, "view"),
            **dict.fromkeys(EDITABLE, (catalog.update_product, "edit")),
            "DELETE": (catalog.delete_product, "delete"),
        },
    ),
    (
        "products/<int:product_id>/variations",
        "products/<id>/variations",
        {"GET": (catalog.list_variations, "list"), "POST": (catalog.create_variation, "create")},
    ),
    (
        "products/<int:product_id>/variations/batch",
        "products/<id>/variations/batch",
        dict.fromkeys(EDITABLE, (catalog.batch_variations, "batch")),
    ),
    (
        "products/<int:product_id>/variations/<int:id>",
        "products/<id>/variations/<id>",
        {
            "GET": (catalog.get_variation, "view"),
            **dict.fromkeys(EDITABLE, (catalog.update_variation, "edit")),
            "DELETE": (catalog.delete_variation, "delete"),
        },
    ),
    ("orders", "orders", {"GET": (orders.list_orders, "list"), "POST": (orders.create_order, "create")}),
    (
        "orders/<int:id>",
        "orders/<id>",
        {
            "GET": (orders.get_order, "view"),
            **dict.fromkeys(EDITABLE, (orders.update_order, "edit")),
            "DELETE": (orders.delete_order, "delete"),
        },
    ),
    (
        "orders/<int:order_id>/notes",
        "orders/<id>/notes",
        {"GET": (orders.list_notes, "list"), "POST": (orders.create_note, "create")},
    ),
    ("orders/<int:order_id>/notes/<int:id>", "orders/<id>/notes/<id>", {"GET": (orders.get_note, "view")}),
    (
        "orders/<int:order_id>/refunds",
        "orders/<id>/refunds",
        {"GET": (orders.list_refunds, "list"), "POST": (orders.create_refund, "create")},
    ),
    (
        "orders/<int:order_id>/refunds/<int:id>",
        "orders/<id>/refunds/<id>",
        {"GET": (orders.get_refund, "view")},
    ),
    ("coupons", "coupons", {"GET": (list_coupons, "list"), "POST": (create_coupon, "create")}),
    ("coupons/<int:id>", "coupons/<id>", {"GET": (get_coupon, "view")}),
    ("webhooks", "webhooks", {"GET": (list_webhooks, "list"), "POST": (create_webhook, "create")}),
    (
        "webhooks/<int:id>",
        "webhooks/<id>",
        {
            "GET": (get_webhook, "view"),
            **dict.fromkeys(EDITABLE, (update_webhook, "edit")),
            "DELETE": (delete_webhook, "delete"),
        },
    ),
]
