"""Mutation resolvers: argument checks Shopify makes before running (input sizes, version rules, the
@idempotent directive), then the change itself in inventory.py, orders.py or here."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from graphql import GraphQLError, value_from_ast_untyped

from . import inventory, orders
from . import metafields as owned_metafields
from .gids import gid, parse_gid
from .inventory import Expectation
from .queries import store_of

# From this version on, inventorySetQuantities and refundCreate need @idempotent, every quantity
# must say changeFromQuantity (null to skip the check), and compareQuantity is gone.
IDEMPOTENCY_REQUIRED_FROM = "2026-04"


def _at_least(info, version: str) -> bool:
    current = info.context.api_version
    return current == "unstable" or current >= version


def _too_many(size: int, limit: int) -> GraphQLError | None:
    if size <= limit:
        return None
    return GraphQLError(
        f"The input array size of {size} is greater than the maximum allowed of {limit}.",
        extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
    )


def idempotency_key(info) -> str | None:
    for directive in info.field_nodes[0].directives:
        if directive.name.value == "idempotent":
            (argument,) = directive.arguments
            return value_from_ast_untyped(argument.value, info.variable_values)
    return None


def _idempotent(info, arguments: dict, run, mismatch):
    """Run once per idempotency key: a replay with the same arguments answers the first result, a
    replay with other arguments answers `mismatch()` and changes nothing."""
    key = idempotency_key(info)
    if key is None:
        if _at_least(info, IDEMPOTENCY_REQUIRED_FROM):
            raise GraphQLError(
                "The @idempotent directive is required for this mutation but was not provided.",
                extensions={"code": "BAD_REQUEST"},
            )
        return run()
    store = store_of(info)
    fingerprint = json.dumps([info.field_name, arguments], sort_keys=True, default=str)
    recorded = store.idempotency.get(key)
    if recorded is not None:
        return recorded[1] if recorded[0] == fingerprint else mismatch()
    result = run()
    store.idempotency[key] = (fingerprint, result)
    return result


def inventory_set_quantities(_, info, input):
    quantities = input["quantities"]
    error = _too_many(len(quantities), 250)
    if error:
        raise error
    expectations = [_expectation(info, input, entry) for entry in quantities]

    def run():
        return inventory.set_quantities(
            store_of(info),
            name=input["name"],
            reason=input["reason"],
            reference_uri=input.get("referenceDocumentUri"),
            quantities=quantities,
            expectations=expectations,
        )

    def mismatch():
        message = "The same idempotency key cannot be used with different operation parameters."
        return {
            "inventoryAdjustmentGroup": None,
            "userErrors": [inventory.user_error(["input"], message, "IDEMPOTENCY_KEY_PARAMETER_MISMATCH")],
        }

    return _idempotent(info, input, run, mismatch)


def _expectation(info, input: dict, entry: dict) -> Expectation | None:
    if _at_least(info, IDEMPOTENCY_REQUIRED_FROM):
        if "compareQuantity" in entry or input.get("ignoreCompareQuantity"):
            name = "compareQuantity" if "compareQuantity" in entry else "ignoreCompareQuantity"
            raise GraphQLError(
                f"InputObject 'InventoryQuantityInput' doesn't accept argument '{name}'",
                extensions={
                    "code": "argumentNotAccepted",
                    "name": "InventoryQuantityInput",
                    "argumentName": name,
                },
            )
        if "changeFromQuantity" not in entry:
            raise GraphQLError(
                "InventoryQuantityInput must include the following argument: changeFromQuantity.",
                extensions={"code": "INVALID_FIELD_ARGUMENTS"},
            )
    if "changeFromQuantity" in entry:
        expected = entry["changeFromQuantity"]
        return (
            None
            if expected is None
            else Expectation(expected, "CHANGE_FROM_QUANTITY_STALE", "changeFromQuantity")
        )
    if input.get("ignoreCompareQuantity"):
        return None
    if entry.get("compareQuantity") is None:
        return Expectation(None, "COMPARE_QUANTITY_REQUIRED", "compareQuantity")
    return Expectation(entry["compareQuantity"], "COMPARE_QUANTITY_STALE", "compareQuantity")


def refund_create(_, info, input):
    order = orders.find_order(store_of(info), input["orderId"])
    if order is None:
        return {
            "order": None,
            "refund": None,
            "userErrors": [{"field": ["orderId"], "message": "Order does not exist"}],
        }

    def mismatch():
        message = "The same idempotency key cannot be used with different operation parameters."
        return {"order": order, "refund": None, "userErrors": [{"field": None, "message": message}]}

    return _idempotent(info, input, lambda: orders.refund_order(store_of(info), order, input), mismatch)


def order_create(_, info, order, options=None):
    behaviour = (options or {}).get("inventoryBehaviour") or "BYPASS"
    return orders.create_order(store_of(info), order, behaviour)


def order_cancel(_, info, orderId, refund, restock, reason, notifyCustomer=False, staffNote=None):
    store = store_of(info)
    order = orders.find_order(store, orderId)
    if order is None:
        errors = [{"field": ["orderId"], "message": "Order does not exist", "code": "NOT_FOUND"}]
    elif order.cancelled_at is not None:
        errors = [{"field": ["orderId"], "message": "Order has already been cancelled", "code": "INVALID"}]
    else:
        job = orders.cancel_order(store, order, refund=refund, restock=restock, reason=reason)
        return {"job": job, "orderCancelUserErrors": [], "userErrors": []}
    plain = [{"field": e["field"], "message": e["message"]} for e in errors]
    return {"job": None, "orderCancelUserErrors": errors, "userErrors": plain}


def order_update(_, info, input):
    order = orders.find_order(store_of(info), input["id"])
    if order is None:
        return {"order": None, "userErrors": [{"field": ["id"], "message": "Order does not exist"}]}
    orders.update_order(store_of(info), order, input)
    return {"order": order, "userErrors": []}


def tags_add(_, info, id, tags):
    store = store_of(info)
    kind, number = parse_gid(id) or ("", 0)
    record = store.find(kind, number) if kind in ("Order", "Product", "Customer") else None
    if record is None or not hasattr(record, "tags"):
        return {"node": None, "userErrors": [{"field": ["id"], "message": "Resource does not exist"}]}
    record.tags = sorted(set(record.tags) | {t.strip() for t in tags if t.strip()})
    if kind == "Order":
        orders.update_order(store, record, {})
    else:
        store.touch_product(record)
    return {"node": record, "userErrors": []}


def variants_bulk_update(_, info, productId, variants, allowPartialUpdates=False):
    store = store_of(info)
    error = _too_many(len(variants), 2048)
    if error:
        raise error
    kind, number = parse_gid(productId) or ("", 0)
    product = store.products.get(number) if kind == "Product" else None
    if product is None:
        return _variant_errors(None, [["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST"])
    changes, errors = [], []
    for index, entry in enumerate(variants):
        variant, problem = _variant_change(store, product, entry, ["variants", str(index)])
        if problem:
            errors.append(problem)
        else:
            changes.append((variant, entry))
    if errors and not allowPartialUpdates:
        return _variant_errors(product, *errors)
    for variant, entry in changes:
        if entry.get("inventoryPolicy"):
            variant.inventory_policy = entry["inventoryPolicy"]
        if entry.get("price") is not None:
            variant.price = Decimal(str(entry["price"])).quantize(Decimal("0.01"))
        variant.updated_at = store.now()
    if changes:
        store.touch_product(product)
    return {
        "product": product,
        "productVariants": [v for v, _ in changes],
        "userErrors": [{"field": f, "message": m, "code": c} for f, m, c in errors],
    }


def _variant_change(store, product, entry: dict, path: list[str]):
    if not entry.get("id"):
        return None, [path, "Product variant is missing ID attribute", "PRODUCT_VARIANT_ID_MISSING"]
    kind, number = parse_gid(entry["id"]) or ("", 0)
    variant = store.variants.get(number) if kind == "ProductVariant" else None
    if variant is None or variant.product_id != product.id:
        return None, [[*path, "id"], "Product variant does not exist", "PRODUCT_VARIANT_DOES_NOT_EXIST"]
    if entry.get("price") is not None:
        try:
            price = Decimal(str(entry["price"]))
        except InvalidOperation:
            return None, [[*path, "price"], "Price is invalid", "INVALID_INPUT"]
        if price < 0:
            return None, [
                [*path, "price"],
                "Price must be greater than or equal to 0",
                "NEGATIVE_PRICE_VALUE",
            ]
    return variant, None


def _variant_errors(product, *errors):
    return {
        "product": product,
        "productVariants": None,
        "userErrors": [{"field": f, "message": m, "code": c} for f, m, c in errors],
    }


def metafields_set(_, info, metafields):
    error = _too_many(len(metafields), 25)
    if error:
        raise error
    return owned_metafields.set_all(store_of(info), metafields, info.context.app_id)


def metafields_delete(_, info, metafields):
    return owned_metafields.delete_all(store_of(info), metafields, info.context.app_id)


def webhook_subscription_create(_, info, topic, webhookSubscription):
    store = store_of(info)
    address = webhookSubscription.get("callbackUrl") or ""
    if not address.startswith(("https://", "http://")):
        errors = [{"field": ["webhookSubscription", "callbackUrl"], "message": "Address is invalid"}]
    elif any(s.topic == topic and s.callback_url == address for s in store.subscriptions.values()):
        errors = [{"field": ["address"], "message": "Address for this topic has already been taken"}]
    else:
        fmt = webhookSubscription.get("format") or "JSON"
        subscription = store.subscribe(topic, address, fmt, info.context.api_version)
        return {"webhookSubscription": subscription, "userErrors": []}
    return {"webhookSubscription": None, "userErrors": errors}


def webhook_subscription_delete(_, info, id):
    store = store_of(info)
    kind, number = parse_gid(id) or ("", 0)
    if kind != "WebhookSubscription" or store.subscriptions.pop(number, None) is None:
        message = "Webhook subscription does not exist"
        return {"deletedWebhookSubscriptionId": None, "userErrors": [{"field": ["id"], "message": message}]}
    return {"deletedWebhookSubscriptionId": gid("WebhookSubscription", number), "userErrors": []}


MUTATION = {
    "inventorySetQuantities": inventory_set_quantities,
    "metafieldsDelete": metafields_delete,
    "metafieldsSet": metafields_set,
    "orderCancel": order_cancel,
    "orderCreate": order_create,
    "orderUpdate": order_update,
    "productVariantsBulkUpdate": variants_bulk_update,
    "refundCreate": refund_create,
    "tagsAdd": tags_add,
    "webhookSubscriptionCreate": webhook_subscription_create,
    "webhookSubscriptionDelete": webhook_subscription_delete,
}
