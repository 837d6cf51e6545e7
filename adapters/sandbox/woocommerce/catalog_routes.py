"""`products`, `products/batch` and `products/<id>/variations…`: what each route reads and answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .calls import Call, Reply, batch, created, ordered, paged, since
from .serialize import product_json, variation_json
from .wp import WPError, as_bool, as_int

if TYPE_CHECKING:
    from .products import Product


def render_product(call: Call, product: Product) -> dict[str, Any]:
    return product_json(call.store, product, call.urls)


def list_products(call: Call) -> Reply:
    store, params = call.store, call.params
    skus = {s.strip() for s in str(params.get("sku") or "").split(",") if s.strip()}
    # With `sku` WooCommerce searches variations as well as products.
    items = [p for p in store.products.values() if p.status != "trash" and (skus or not p.is_variation)]
    if skus:
        items = [p for p in items if p.sku in skus]
    if params.get("type"):
        items = [p for p in items if p.type == params["type"]]
    if params.get("status") not in (None, "", "any"):
        items = [p for p in items if p.status == params["status"]]
    if params.get("stock_status"):
        items = [p for p in items if p.stock_status == params["stock_status"]]
    if params.get("include"):
        wanted = {as_int(i, "include") for i in str(params["include"]).split(",") if i.strip()}
        items = [p for p in items if p.id in wanted]
    if params.get("search"):
        items = [p for p in items if str(params["search"]).lower() in p.name.lower()]
    items = since(items, params, "modified_after", lambda p: p.date_modified, after=True)
    items = since(items, params, "modified_before", lambda p: p.date_modified, after=False)
    fields = {
        "date": lambda p: p.date_created,
        "id": lambda p: 0,
        "title": lambda p: p.name,
        "modified": lambda p: p.date_modified,
    }
    return paged(call, ordered(items, params, fields), lambda p: render_product(call, p), "products")


def get_product(call: Call) -> Reply:
    product = call.store.product(call.args["id"])
    if product is None:
        raise WPError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
    return Reply(render_product(call, product))


def create_product(call: Call) -> Reply:
    product = call.store.create_product(call.params)
    return created(render_product(call, product), call.urls, f"products/{product.id}")


def update_product(call: Call) -> Reply:
    return Reply(render_product(call, call.store.update_product(call.args["id"], call.params)))


def delete_product(call: Call) -> Reply:
    product = call.store.delete_product(call.args["id"], force=as_bool(call.params.get("force", False)))
    return Reply(render_product(call, product))


def batch_products(call: Call) -> Reply:
    store = call.store
    return batch(
        call,
        create=lambda item: render_product(call, store.create_product(item)),
        update=lambda item: render_product(
            call, store.update_product(as_int(item.get("id") or 0, "id"), item)
        ),
        delete=lambda item_id: render_product(call, store.delete_product(item_id, force=True)),
    )


def render_variation(call: Call, variation: Product) -> dict[str, Any]:
    return variation_json(call.store, variation, call.urls)


def list_variations(call: Call) -> Reply:
    parent = call.store.product(call.args["product_id"])
    children = [v for v in call.store.children(parent) if v.status != "trash"] if parent else []
    if call.params.get("sku"):
        skus = {s.strip() for s in str(call.params["sku"]).split(",")}
        children = [v for v in children if v.sku in skus]
    fields = {"date": lambda v: v.date_created, "id": lambda v: 0, "menu_order": lambda v: v.menu_order}
    base = f"products/{call.args['product_id']}/variations"
    return paged(call, ordered(children, call.params, fields), lambda v: render_variation(call, v), base)


def get_variation(call: Call) -> Reply:
    variation = call.store.variation(call.args["product_id"], call.args["id"])
    if variation is None:
        raise WPError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 404)
    return Reply(render_variation(call, variation))


def create_variation(call: Call) -> Reply:
    variation = call.store.create_variation(call.args["product_id"], call.params)
    path = f"products/{variation.parent_id}/variations/{variation.id}"
    return created(render_variation(call, variation), call.urls, path)


def update_variation(call: Call) -> Reply:
    variation = call.store.update_variation(call.args["product_id"], call.args["id"], call.params)
    return Reply(render_variation(call, variation))


def delete_variation(call: Call) -> Reply:
    force = as_bool(call.params.get("force", False))
    variation = call.store.delete_product(call.args["id"], force=force, variation_of=call.args["product_id"])
    return Reply(render_variation(call, variation))


def batch_variations(call: Call) -> Reply:
    store, parent_id = call.store, call.args["product_id"]

    def update(item: dict[str, Any]) -> dict[str, Any]:
        return render_variation(
            call, store.update_variation(parent_id, as_int(item.get("id") or 0, "id"), item)
        )

    return batch(
        call,
        create=lambda item: render_variation(call, store.create_variation(parent_id, item)),
        update=update,
        delete=lambda item_id: render_variation(
            call, store.delete_product(item_id, force=True, variation_of=parent_id)
        ),
    )
