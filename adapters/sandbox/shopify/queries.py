"""The query root's resolvers, and what every resolver shares: record kinds, the store, money."""

from __future__ import annotations

from decimal import Decimal

from graphql import GraphQLError

from .connections import connection, search
from .gids import graphql_time, parse_level_gid, require_gid
from .models import (
    AdjustmentGroup,
    CodeDiscount,
    Customer,
    InventoryItem,
    InventoryLevel,
    Job,
    LineItem,
    Location,
    Metafield,
    Order,
    Product,
    Refund,
    Transaction,
    Variant,
    WebhookSubscription,
)
from .store import Store

# The GraphQL type (and GID kind) of each record class.
KINDS = {
    AdjustmentGroup: "InventoryAdjustmentGroup",
    CodeDiscount: "DiscountCodeBasic",
    Customer: "Customer",
    InventoryItem: "InventoryItem",
    InventoryLevel: "InventoryLevel",
    Job: "Job",
    LineItem: "LineItem",
    Location: "Location",
    Metafield: "Metafield",
    Order: "Order",
    Product: "Product",
    Refund: "Refund",
    Transaction: "OrderTransaction",
    Variant: "ProductVariant",
    WebhookSubscription: "WebhookSubscription",
    Store: "Shop",
}


def type_of(record, *_) -> str | None:
    """resolve_type for Node, HasMetafields and the webhook endpoint union."""
    if isinstance(record, dict):
        return record.get("__typename")
    return KINDS.get(type(record))


def store_of(info) -> Store:
    return info.context.store


def money_bag(amount: Decimal, currency: str) -> dict:
    money = {"amount": str(amount.quantize(Decimal("0.01"))), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


def _get(info, value: str | None, kind: str):
    parsed = require_gid(value)
    return store_of(info).find(kind, parsed[1]) if parsed[0] == kind else None


def find_node(store: Store, value: str):
    """Any record the sandbox can look up by GID, or None."""
    level = parse_level_gid(value)
    if level is not None:
        return store.levels.get(level)
    parsed = require_gid(value)
    found = store.find(*parsed)
    if found is not None:
        return found
    kind, number = parsed
    for order in store.orders.values():
        pools = {
            "LineItem": order.line_items,
            "Refund": order.refunds,
            "OrderTransaction": order.transactions,
        }
        found = next((r for r in pools.get(kind, []) if r.id == number), None)
        if found is not None:
            return found
    return None


def _at_most(values: list, limit: int) -> list:
    if len(values) > limit:
        raise GraphQLError(
            f"The input array size of {len(values)} is greater than the maximum allowed of {limit}.",
            extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
        )
    return values


def _primary_location(info, id=None):
    return store_of(info).location if id is None else _get(info, id, "Location")


def _products(_, info, first=None, after=None, sortKey="ID", query=None):
    store = store_of(info)
    match = search(
        query,
        {
            "default": lambda p: p.title,
            "title": lambda p: p.title,
            "id": lambda p: p.id,
            "handle": lambda p: p.handle,
            "product_type": lambda p: p.product_type,
            "vendor": lambda p: p.vendor,
            "tag": lambda p: p.tags,
            "status": lambda p: p.status,
            "sku": lambda p: [store.variants[v].sku for v in p.variant_ids],
            "created_at": lambda p: graphql_time(p.created_at),
            "updated_at": lambda p: graphql_time(p.updated_at),
        },
    )
    return connection(filter(match, store.products.values()), first=first, after=after)


def _product_variants(_, info, first=None, after=None, sortKey="ID", query=None):
    store = store_of(info)
    product = lambda v: store.products[v.product_id]  # noqa: E731
    match = search(
        query,
        {
            "default": lambda v: f"{v.sku} {product(v).title}",
            "sku": lambda v: v.sku,
            "id": lambda v: v.id,
            "product_id": lambda v: v.product_id,
            "title": lambda v: product(v).title,
            "product_type": lambda v: product(v).product_type,
            "vendor": lambda v: product(v).vendor,
            "tag": lambda v: product(v).tags,
            "inventory_quantity": lambda v: store.level_of(v).available,
            "created_at": lambda v: graphql_time(v.created_at),
            "updated_at": lambda v: graphql_time(v.updated_at),
        },
    )
    return connection(filter(match, store.variants.values()), first=first, after=after)


def _orders(_, info, first=None, after=None, query=None):
    status = lambda o: "cancelled" if o.cancelled_at else ("closed" if o.closed_at else "open")  # noqa: E731
    match = search(
        query,
        {
            "default": lambda o: f"{o.name} {o.email or ''}",
            "name": lambda o: o.name,
            "id": lambda o: o.id,
            "email": lambda o: o.email,
            "tag": lambda o: o.tags,
            "status": status,
            "financial_status": lambda o: o.financial_status,
            "sku": lambda o: [line.sku for line in o.line_items],
            "created_at": lambda o: graphql_time(o.created_at),
            "updated_at": lambda o: graphql_time(o.updated_at),
        },
    )
    return connection(filter(match, store_of(info).orders.values()), first=first, after=after)


def _webhook_subscriptions(_, info, first=None, after=None, topics=None):
    subscriptions = store_of(info).subscriptions.values()
    chosen = [s for s in subscriptions if not topics or s.topic in topics]
    return connection(chosen, first=first, after=after)


QUERY_ROOT = {
    "inventoryItem": lambda _, info, id: _get(info, id, "InventoryItem"),
    "inventoryLevel": lambda _, info, id: store_of(info).levels.get(parse_level_gid(id) or (0, 0)),
    "job": lambda _, info, id: _get(info, id, "Job"),
    "location": lambda _, info, id=None: _primary_location(info, id),
    "locations": lambda _, info, first=None, after=None, query=None: connection(
        [store_of(info).location], first=first, after=after
    ),
    "node": lambda _, info, id: find_node(store_of(info), id),
    "nodes": lambda _, info, ids: [find_node(store_of(info), one) for one in _at_most(ids, 250)],
    "order": lambda _, info, id: _get(info, id, "Order"),
    "orders": _orders,
    "product": lambda _, info, id: _get(info, id, "Product"),
    "productVariant": lambda _, info, id: _get(info, id, "ProductVariant"),
    "productVariants": _product_variants,
    "products": _products,
    "shop": lambda _, info: store_of(info),
    "webhookSubscription": lambda _, info, id: _get(info, id, "WebhookSubscription"),
    "webhookSubscriptions": _webhook_subscriptions,
}
