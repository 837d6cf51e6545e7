"""`orders`, `orders/<id>/notes` and `orders/<id>/refunds`: what each route reads and answers."""

from __future__ import annotations

from typing import Any

from . import orders as order_flows
from . import refunds
from .calls import Call, Reply, created, ordered, paged, since
from .serialize import note_json, order_json, refund_json
from .wp import WPError, as_bool, as_int, missing_param, one_of


def render_order(call: Call, order: order_flows.Order) -> dict[str, Any]:
    return order_json(call.store, order, call.urls)


def list_orders(call: Call) -> Reply:
    params = call.params
    statuses = [s for s in str(params.get("status") or "any").split(",") if s]
    orders = list(call.store.orders.values())
    if "any" in statuses:
        orders = [o for o in orders if o.status not in ("trash", "checkout-draft")]
    else:
        orders = [o for o in orders if o.status in statuses]
    if params.get("product"):
        product_id = as_int(params["product"], "product")
        orders = [o for o in orders if any(line.product_id == product_id for line in o.line_items)]
    if params.get("include"):
        wanted = {as_int(i, "include") for i in str(params["include"]).split(",") if i.strip()}
        orders = [o for o in orders if o.id in wanted]
    orders = since(orders, params, "after", lambda o: o.date_created, after=True)
    orders = since(orders, params, "before", lambda o: o.date_created, after=False)
    orders = since(orders, params, "modified_after", lambda o: o.date_modified, after=True)
    orders = since(orders, params, "modified_before", lambda o: o.date_modified, after=False)
    fields = {"date": lambda o: o.date_created, "id": lambda o: 0, "modified": lambda o: o.date_modified}
    return paged(call, ordered(orders, params, fields), lambda o: render_order(call, o), "orders")


def get_order(call: Call) -> Reply:
    return Reply(render_order(call, order_flows.live_order(call.store, call.args["id"], status=404)))


def create_order(call: Call) -> Reply:
    order = order_flows.create_order(call.store, call.params)
    return created(render_order(call, order), call.urls, f"orders/{order.id}")


def update_order(call: Call) -> Reply:
    return Reply(render_order(call, order_flows.update_order(call.store, call.args["id"], call.params)))


def delete_order(call: Call) -> Reply:
    force = as_bool(call.params.get("force", False))
    return Reply(render_order(call, order_flows.delete_order(call.store, call.args["id"], force=force)))


def _notes_order(call: Call) -> order_flows.Order:
    order = call.store.orders.get(call.args["order_id"])
    if order is None or order.status == "trash":
        raise WPError("woocommerce_rest_shop_order_invalid_id", "Invalid order ID.", 404)
    return order


def list_notes(call: Call) -> Reply:
    order = _notes_order(call)
    kind = one_of(call.params.get("type", "any"), "type", ("any", "customer", "internal"))
    notes = [n for n in order.notes if kind == "any" or n.customer_note == (kind == "customer")]
    notes.sort(key=lambda n: (n.date_created, n.id), reverse=True)
    return Reply([note_json(order.id, n, call.urls) for n in notes])


def get_note(call: Call) -> Reply:
    order = _notes_order(call)
    note = next((n for n in order.notes if n.id == call.args["id"]), None)
    if note is None:
        raise WPError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
    return Reply(note_json(order.id, note, call.urls))


def create_note(call: Call) -> Reply:
    order = _notes_order(call)
    if not call.params.get("note"):
        raise missing_param("note")
    author = "admin" if as_bool(call.params.get("added_by_user", False)) else "system"
    note = order_flows.add_note(
        call.store,
        order,
        str(call.params["note"]),
        customer_note=as_bool(call.params.get("customer_note", False)),
        author=author,
    )
    return created(note_json(order.id, note, call.urls), call.urls, f"orders/{order.id}/notes/{note.id}")


def list_refunds(call: Call) -> Reply:
    order = call.store.orders.get(call.args["order_id"])
    if order is None:
        raise WPError("woocommerce_rest_invalid_order_id", "Invalid order ID.", 404)
    refunds = [call.store.refunds[r] for r in order.refund_ids if r in call.store.refunds]
    fields = {"date": lambda r: r.date_created, "id": lambda r: 0}
    base = f"orders/{order.id}/refunds"
    return paged(call, ordered(refunds, call.params, fields), lambda r: refund_json(r, call.urls), base)


def get_refund(call: Call) -> Reply:
    refund = call.store.refunds.get(call.args["id"])
    if refund is None or refund.order_id != call.args["order_id"]:
        raise WPError("woocommerce_rest_invalid_order_refund_id", "Invalid order refund ID.", 404)
    return Reply(refund_json(refund, call.urls))


def create_refund(call: Call) -> Reply:
    refund = refunds.create_refund(call.store, call.args["order_id"], call.params)
    return created(refund_json(refund, call.urls), call.urls, f"orders/{refund.order_id}/refunds/{refund.id}")
