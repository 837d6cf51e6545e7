"""Field resolvers of the object types: how each sandbox record answers Shopify's fields."""

from __future__ import annotations

import json
from decimal import Decimal

from graphql import GraphQLError

from . import orders
from .connections import connection, list_page
from .gids import gid, graphql_time, level_gid, parse_gid, require_gid
from .metafields import digest, resolve_namespace
from .models import (
    QUANTITY_NAMES,
    AdjustmentGroup,
    InventoryLevel,
    LineItem,
    Metafield,
    Order,
    RefundLine,
    Transaction,
    Variant,
)
from .queries import KINDS, money_bag, store_of


def _owned_metafields(info, owner, namespace=None, keys=None) -> list[Metafield]:
    kind, number = KINDS[type(owner)], owner.id
    app_id = info.context.app_id
    if namespace is not None:
        namespace = resolve_namespace(namespace, app_id)
    if keys is not None:
        keys = {
            f"{resolve_namespace(k.rpartition('.')[0] or None, app_id)}.{k.rpartition('.')[2]}" for k in keys
        }
    chosen = []
    for m in store_of(info).metafields.values():
        if (m.owner_kind, m.owner_id) != (kind, number):
            continue
        if namespace is not None and m.namespace != namespace:
            continue
        if keys is not None and f"{m.namespace}.{m.key}" not in keys:
            continue
        chosen.append(m)
    return chosen


def _metafield(owner, info, key, namespace=None):
    """Without a namespace Shopify looks in the app-reserved one."""
    found = _owned_metafields(info, owner, namespace or "$app")
    return next((m for m in found if m.key == key), None)


HAS_METAFIELDS = {
    "metafield": _metafield,
    "metafields": lambda owner, info, namespace=None, keys=None, first=None, after=None: connection(
        _owned_metafields(info, owner, namespace, keys), first=first, after=after
    ),
}


def _common(kind: str) -> dict:
    return {
        "id": lambda record, _: gid(kind, record.id),
        "legacyResourceId": lambda record, _: str(record.id),
        "createdAt": lambda record, _: graphql_time(record.created_at),
        "updatedAt": lambda record, _: graphql_time(record.updated_at),
    }


def _selected_options(variant: Variant) -> list[dict]:
    if not variant.options:
        return [{"name": "Title", "value": "Default Title"}]
    return [{"name": name, "value": value} for name, value in variant.options.items()]


def _quantities(level: InventoryLevel, info, names: list[str]) -> list[dict]:
    unknown = [n for n in names if n not in QUANTITY_NAMES]
    if unknown:
        raise GraphQLError(
            f"Invalid quantity names: {', '.join(unknown)}. Valid names: {', '.join(QUANTITY_NAMES)}."
        )
    return [
        {
            "id": f"gid://shopify/InventoryQuantity/{level.location_id}?inventory_item_id={level.item_id}&name={name}",
            "name": name,
            "quantity": level.quantity(name),
            "updatedAt": graphql_time(level.updated_at),
        }
        for name in names
    ]


def _level_at(item_id: int, info, location_gid: str) -> InventoryLevel | None:
    kind, number = require_gid(location_gid)
    return store_of(info).levels.get((item_id, number)) if kind == "Location" else None


def _item_level(item_gid: str, info, location_id: int) -> InventoryLevel | None:
    kind, number = require_gid(item_gid)
    return store_of(info).levels.get((number, location_id)) if kind == "InventoryItem" else None


def _changes(group: AdjustmentGroup, info, inventoryItemIds=None, locationIds=None, quantityNames=None):
    items = {parse_gid(i)[1] for i in inventoryItemIds if parse_gid(i)} if inventoryItemIds else None
    places = {parse_gid(i)[1] for i in locationIds if parse_gid(i)} if locationIds else None
    return [
        change
        for change in group.changes
        if (items is None or change.item_id in items)
        and (places is None or change.location_id in places)
        and (quantityNames is None or change.name in quantityNames)
    ]


def _json_value(metafield: Metafield):
    if metafield.type == "json" or metafield.type.startswith("list."):
        return json.loads(metafield.value)
    if metafield.type == "number_integer":
        return int(metafield.value)
    if metafield.type == "boolean":
        return metafield.value == "true"
    return metafield.value


def _suggested(order: Order, info, refundLineItems=None, suggestFullRefund=False):
    suggestion = orders.suggested_refund(store_of(info), order, refundLineItems or [], full=suggestFullRefund)
    currency = store_of(info).currency
    return {
        "amountSet": money_bag(suggestion["amount"], currency),
        "subtotalSet": money_bag(suggestion["amount"], currency),
        "refundLineItems": suggestion["lines"],
        "suggestedTransactions": [
            {
                "amountSet": money_bag(amount, currency),
                "gateway": sale.gateway,
                "kind": "SUGGESTED_REFUND",
                "parentTransaction": sale,
            }
            for amount, sale in suggestion["transactions"]
        ],
    }


def _line_of(refund_line: RefundLine, info) -> LineItem:
    return next(
        line
        for order in store_of(info).orders.values()
        for line in order.line_items
        if line.id == refund_line.line_item_id
    )


def _currency(info) -> str:
    return store_of(info).currency


def _find_transaction(info, transaction_id: int | None) -> Transaction | None:
    if transaction_id is None:
        return None
    return next(
        (t for o in store_of(info).orders.values() for t in o.transactions if t.id == transaction_id), None
    )


OBJECTS: dict[str, dict] = {
    "Shop": {
        **HAS_METAFIELDS,
        "id": lambda shop, _: gid("Shop", shop.id),
        "createdAt": lambda shop, _: graphql_time(shop.created_at),
        "updatedAt": lambda shop, _: graphql_time(shop.created_at),
        "currencyCode": lambda shop, _: shop.currency,
        "ianaTimezone": lambda shop, _: shop.timezone,
        "myshopifyDomain": lambda shop, _: shop.domain,
        "url": lambda shop, _: f"https://{shop.domain}",
    },
    "Location": {
        **HAS_METAFIELDS,
        **_common("Location"),
        "fulfillsOnlineOrders": lambda *_: True,
        "isActive": lambda *_: True,
        "shipsInventory": lambda *_: True,
        "inventoryLevel": lambda location, info, inventoryItemId: _item_level(
            inventoryItemId, info, location.id
        ),
        "inventoryLevels": lambda location, info, first=None, after=None: connection(
            [lv for lv in store_of(info).levels.values() if lv.location_id == location.id],
            first=first,
            after=after,
            key=lambda level: level.item_id,
        ),
    },
    "Product": {
        **HAS_METAFIELDS,
        **_common("Product"),
        "descriptionHtml": lambda p, _: p.description_html,
        "productType": lambda p, _: p.product_type,
        "options": lambda p, info, first=None: list_page(
            [
                {
                    "id": gid("ProductOption", p.id * 10 + position),
                    "name": name,
                    "position": position,
                    "values": sorted(
                        {store_of(info).variants[v].options.get(name, "Default Title") for v in p.variant_ids}
                    ),
                }
                for position, name in enumerate(p.option_names, start=1)
            ],
            first,
        ),
        "totalInventory": lambda p, info: sum(
            store_of(info).level_of(store_of(info).variants[v]).available for v in p.variant_ids
        ),
        "tracksInventory": lambda *_: True,
        "variants": lambda p, info, first=None, after=None: connection(
            [store_of(info).variants[v] for v in p.variant_ids], first=first, after=after
        ),
        "variantsCount": lambda p, _: {"count": len(p.variant_ids), "precision": "EXACT"},
    },
    "ProductVariant": {
        **HAS_METAFIELDS,
        **_common("ProductVariant"),
        "availableForSale": lambda v, info: (
            v.inventory_policy == "CONTINUE" or store_of(info).level_of(v).available > 0
        ),
        "displayName": lambda v, info: f"{store_of(info).products[v.product_id].title} - {v.title}",
        "inventoryItem": lambda v, info: store_of(info).items[v.inventory_item_id],
        "inventoryPolicy": lambda v, _: v.inventory_policy,
        "inventoryQuantity": lambda v, info: store_of(info).level_of(v).available,
        "price": lambda v, _: str(v.price),
        "product": lambda v, info: store_of(info).products[v.product_id],
        "selectedOptions": lambda v, _: _selected_options(v),
    },
    "InventoryItem": {
        **_common("InventoryItem"),
        "inventoryLevel": lambda item, info, locationId: _level_at(item.id, info, locationId),
        "inventoryLevels": lambda item, info, first=None, after=None: connection(
            [lv for lv in store_of(info).levels.values() if lv.item_id == item.id],
            first=first,
            after=after,
            key=lambda level: level.location_id,
        ),
        "requiresShipping": lambda *_: True,
        "sku": lambda item, info: store_of(info).variants[item.variant_id].sku,
        "variant": lambda item, info: store_of(info).variants[item.variant_id],
    },
    "InventoryLevel": {
        "id": lambda level, _: level_gid(level.item_id, level.location_id),
        "createdAt": lambda level, _: graphql_time(level.created_at),
        "updatedAt": lambda level, _: graphql_time(level.updated_at),
        "item": lambda level, info: store_of(info).items[level.item_id],
        "location": lambda level, info: store_of(info).location,
        "quantities": _quantities,
    },
    "InventoryAdjustmentGroup": {
        "id": lambda group, _: gid("InventoryAdjustmentGroup", group.id),
        "createdAt": lambda group, _: graphql_time(group.created_at),
        "referenceDocumentUri": lambda group, _: group.reference_document_uri,
        "changes": _changes,
    },
    "InventoryChange": {
        "item": lambda change, info: store_of(info).items.get(change.item_id),
        "location": lambda change, info: store_of(info).location,
        "quantityAfterChange": lambda change, _: change.quantity_after,
        "ledgerDocumentUri": lambda change, _: change.ledger_document_uri,
    },
    "Metafield": {
        **_common("Metafield"),
        "compareDigest": lambda m, _: digest(m),
        "jsonValue": lambda m, _: _json_value(m),
        "owner": lambda m, info: store_of(info).find(m.owner_kind, m.owner_id),
        "ownerType": lambda m, _: (
            "PRODUCTVARIANT" if m.owner_kind == "ProductVariant" else m.owner_kind.upper()
        ),
    },
    "Customer": {
        "id": lambda c, _: gid("Customer", c.id),
        "legacyResourceId": lambda c, _: str(c.id),
        "displayName": lambda c, _: " ".join(filter(None, [c.first_name, c.last_name])) or c.email or "",
        "firstName": lambda c, _: c.first_name,
        "lastName": lambda c, _: c.last_name,
    },
    "Order": {
        **HAS_METAFIELDS,
        **_common("Order"),
        "cancelReason": lambda o, _: o.cancel_reason,
        "cancelledAt": lambda o, _: graphql_time(o.cancelled_at),
        "closed": lambda o, _: o.closed_at is not None,
        "closedAt": lambda o, _: graphql_time(o.closed_at),
        "currencyCode": lambda o, info: _currency(info),
        "displayFinancialStatus": lambda o, _: o.financial_status,
        "displayFulfillmentStatus": lambda *_: "UNFULFILLED",
        "lineItems": lambda o, info, first=None, after=None: connection(
            o.line_items, first=first, after=after
        ),
        "netPaymentSet": lambda o, info: money_bag(o.received - o.refunded, _currency(info)),
        "processedAt": lambda o, _: graphql_time(o.created_at),
        "refunds": lambda o, _, first=None: list_page(o.refunds, first),
        "sourceName": lambda o, _: o.source_name,
        "subtotalLineItemsQuantity": lambda o, _: sum(line.quantity for line in o.line_items),
        "suggestedRefund": _suggested,
        "totalPriceSet": lambda o, info: money_bag(o.total, _currency(info)),
        "totalRefundedSet": lambda o, info: money_bag(o.refunded, _currency(info)),
        "transactions": lambda o, _, first=None: list_page(o.transactions, first),
    },
    "LineItem": {
        "id": lambda line, _: gid("LineItem", line.id),
        "currentQuantity": lambda line, _: line.current_quantity,
        "name": lambda line, _: f"{line.title} - {line.variant_title}" if line.variant_title else line.title,
        "originalUnitPriceSet": lambda line, info: money_bag(line.price, _currency(info)),
        "product": lambda line, info: store_of(info).products.get(line.product_id),
        "refundableQuantity": lambda line, _: line.current_quantity,
        "restockable": lambda line, _: line.current_quantity > 0,
        "unfulfilledQuantity": lambda line, _: line.current_quantity,
        "variant": lambda line, info: store_of(info).variants.get(line.variant_id),
        "variantTitle": lambda line, _: line.variant_title,
    },
    "Refund": {
        "id": lambda r, _: gid("Refund", r.id),
        "legacyResourceId": lambda r, _: str(r.id),
        "createdAt": lambda r, _: graphql_time(r.created_at),
        "updatedAt": lambda r, _: graphql_time(r.created_at),
        "order": lambda r, info: store_of(info).orders[r.order_id],
        "refundLineItems": lambda r, _, first=None, after=None: connection(r.lines, first=first, after=after),
        "totalRefundedSet": lambda r, info: money_bag(
            sum((t.amount for t in r.transactions), Decimal("0.00")), _currency(info)
        ),
        "transactions": lambda r, _, first=None, after=None: connection(
            r.transactions, first=first, after=after
        ),
    },
    "RefundLineItem": {
        "id": lambda r, _: gid("RefundLineItem", r.id) if r.id else None,
        "lineItem": _line_of,
        "location": lambda r, info: store_of(info).location if r.location_id else None,
        "priceSet": lambda r, info: money_bag(r.price, _currency(info)),
        "restockType": lambda r, _: r.restock_type,
        "subtotalSet": lambda r, info: money_bag(r.price * r.quantity, _currency(info)),
    },
    "OrderTransaction": {
        "id": lambda t, _: gid("OrderTransaction", t.id),
        "amountSet": lambda t, info: money_bag(t.amount, _currency(info)),
        "createdAt": lambda t, _: graphql_time(t.created_at),
        "processedAt": lambda t, _: graphql_time(t.created_at),
        "parentTransaction": lambda t, info: _find_transaction(info, t.parent_id),
    },
    "Job": {
        "id": lambda job, _: gid("Job", job.id),
        "query": lambda *_: {},
    },
    "WebhookSubscription": {
        **_common("WebhookSubscription"),
        "apiVersion": lambda s, _: {"handle": s.api_version, "displayName": s.api_version, "supported": True},
        "callbackUrl": lambda s, _: s.callback_url,
        "endpoint": lambda s, _: {"__typename": "WebhookHttpEndpoint", "callbackUrl": s.callback_url},
    },
}
