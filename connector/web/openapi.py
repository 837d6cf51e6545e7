"""The OpenAPI 3.1 document of the support API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

ID = {"type": "integer", "minimum": 1, "maximum": 2147483647}
TEXT = {"type": "string", "maxLength": 320}
NULLABLE_TEXT = {"type": ["string", "null"]}
NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _json(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}, **extra}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or TEXT,
    }


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


LIMIT = _query(
    "limit", "How many to return (1 to 200, default 50).", {"type": "integer", "minimum": 1, "maximum": 200}
)
UNAUTHORIZED = _problem("Missing, unknown or revoked bearer token.")
INVALID = _problem("A parameter or the body is malformed.")


SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "An RFC 9457 problem body.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "cancellation_id": {"type": "integer"},
            "cancellation_status": {"type": "string"},
            "retryable": {"type": "boolean"},
        },
    },
    "OrderSummary": {
        "type": "object",
        "required": ["id", "number", "channel", "customer_email", "placed_at", "status", "units_waiting"],
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "string"},
            "channel": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "kind": {"enum": ["shopify", "woocommerce"]}},
            },
            "external_id": {"type": "string"},
            "customer_name": {"type": "string"},
            "customer_email": {"type": "string"},
            "placed_at": {"type": "string", "format": "date-time"},
            "status": {"enum": ["open", "cancelled", "closed"]},
            "units_waiting": {"type": "integer", "minimum": 0},
        },
    },
    "Backorder": {
        "type": "object",
        "required": ["id", "quantity", "waiting", "status", "eta_date"],
        "properties": {
            "id": {"type": "integer"},
            "quantity": {"type": "integer"},
            "waiting": {"type": "integer", "description": "Units still waiting for stock."},
            "quantity_allocated": {"type": "integer"},
            "quantity_cancelled": {"type": "integer"},
            "status": {"enum": ["waiting", "allocated", "cancelled"]},
            "oversold": {"type": "boolean"},
            "eta_date": NULLABLE_DATE,
            "promised_date": NULLABLE_DATE,
            "queue_position": {"type": ["integer", "null"], "description": "1 is next in line."},
            "created_at": {"type": "string", "format": "date-time"},
            "wait_confirm_requested_at": NULLABLE_TIME,
            "wait_confirmed_at": NULLABLE_TIME,
            "order_id": {"type": "integer"},
            "order_number": {"type": "string"},
            "customer_email": {"type": "string"},
            "line_id": {"type": "integer"},
            "sku": {"type": "string"},
        },
    },
    "OrderLine": {
        "type": "object",
        "required": ["id", "sku", "quantity", "waiting", "cancellable", "backorders"],
        "properties": {
            "id": {"type": "integer"},
            "external_id": {"type": "string"},
            "sku": {"type": "string"},
            "title": {"type": "string"},
            "quantity": {"type": "integer"},
            "quantity_cancelled": {"type": "integer"},
            "status": {"type": "string"},
            "waiting": {"type": "integer"},
            "allocated": {"type": "integer"},
            "from_stock": {"type": "integer"},
            "cancellable": {
                "type": "integer",
                "description": "Units a cancellation may take (those waiting).",
            },
            "backorders": {"type": "array", "items": _ref("Backorder")},
        },
    },
    "Order": {
        "allOf": [
            _ref("OrderSummary"),
            {
                "type": "object",
                "required": ["lines", "cancellations"],
                "properties": {
                    "lines": {"type": "array", "items": _ref("OrderLine")},
                    "cancellations": {"type": "array", "items": _ref("Cancellation")},
                },
            },
        ]
    },
    "CancellationRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {
            "lines": {
                "type": "array",
                "minItems": 1,
                "maxItems": 100,
                "description": "Lines and quantities to cancel; leave out to cancel the whole order "
                "(every remaining unit must still be waiting).",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["line_id", "quantity"],
                    "properties": {"line_id": ID, "quantity": ID},
                },
            },
            "reason": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S"},
            "refund": {"type": "boolean", "default": True},
            "restock": {"type": "boolean", "default": True},
            "notify": {"type": "boolean", "default": True, "description": "Send the customer our message."},
        },
    },
    "Cancellation": {
        "type": "object",
        "required": ["id", "order_id", "status", "lines"],
        "properties": {
            "id": {"type": "integer"},
            "order_id": {"type": "integer"},
            "status": {
                "enum": ["sending", "storefront_error", "storefront_done", "completed", "refused"],
                "description": "storefront_error: the storefront failed, nothing changed in stock; "
                "retry with the same Idempotency-Key.",
            },
            "source": {"enum": ["support", "customer", "policy"]},
            "requested_by": {"type": "string"},
            "reason": {"type": "string"},
            "refund": {"type": "boolean"},
            "restock": {"type": "boolean"},
            "notify": {"type": "boolean"},
            "whole_order": {"type": "boolean"},
            "lines": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "line_id": {"type": "integer"},
                        "sku": {"type": "string"},
                        "quantity": {"type": "integer"},
                    },
                },
            },
            "refunded_amount": NULLABLE_TEXT,
            "storefront_reference": NULLABLE_TEXT,
            "error": {"type": ["object", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "completed_at": NULLABLE_TIME,
        },
    },
}


def _paths() -> dict[str, Any]:
    secured = {"401": UNAUTHORIZED, "422": INVALID}
    return {
        "/api/v1/orders": {
            "get": {
                "operationId": "findOrders",
                "summary": "Find orders by storefront order number, customer email or SKU (all filters apply).",
                "parameters": [
                    _query("number", "The storefront's order number, with or without #."),
                    _query("email", "The customer's email (case does not matter)."),
                    _query("sku", "Orders with a line of this SKU."),
                    LIMIT,
                ],
                "responses": {
                    "200": _json(
                        "Matching orders, newest first.",
                        {
                            "type": "object",
                            "required": ["orders"],
                            "properties": {"orders": {"type": "array", "items": _ref("OrderSummary")}},
                        },
                    ),
                    **secured,
                },
            }
        },
        "/api/v1/orders/{order_id}": {
            "get": {
                "operationId": "getOrder",
                "summary": "One order with its lines, backorders (ETA, place in the queue) and cancellations.",
                "parameters": [_path_id("order_id")],
                "responses": {
                    "200": _json("The order.", _ref("Order")),
                    "404": _problem("No such order for this merchant."),
                    **secured,
                },
            }
        },
        "/api/v1/orders/{order_id}/cancellations": {
            "post": {
                "operationId": "cancelOrder",
                "summary": "Cancel waiting units of an order: on the storefront first, then in the stock ledger.",
                "parameters": [
                    _path_id("order_id"),
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": True,
                        "description": "Same key and same body: the first result. Same key, other body: 422.",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 150,
                            "pattern": "^[A-Za-z0-9._:-]+$",
                        },
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("CancellationRequest")}},
                },
                "responses": {
                    "201": _json(
                        "Carried out (or, for a repeated key, the first result).",
                        _ref("Cancellation"),
                        headers={
                            "Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}},
                            "Location": {"schema": {"type": "string"}},
                        },
                    ),
                    "404": _problem("No such order (or line) for this merchant."),
                    "409": _problem(
                        "Nothing cancellable: the line is allocated, taken from stock, shipped or already "
                        "cancelled; or the same key is in progress (Retry-After)."
                    ),
                    "422": _problem("Quantity above what is waiting, a malformed body, or a reused key."),
                    "502": _problem(
                        "The storefront failed; nothing changed in stock. Retry with the same key."
                    ),
                    "401": UNAUTHORIZED,
                },
            }
        },
        "/api/v1/cancellations/{cancellation_id}": {
            "get": {
                "operationId": "getCancellation",
                "summary": "One cancellation and where it stands.",
                "parameters": [_path_id("cancellation_id")],
                "responses": {
                    "200": _json("The cancellation.", _ref("Cancellation")),
                    "404": _problem("No such cancellation for this merchant."),
                    **secured,
                },
            }
        },
        "/api/v1/backorders": {
            "get": {
                "operationId": "findBackorders",
                "summary": "Backorders by SKU, customer email or status, in queue order.",
                "parameters": [
                    _query("sku", "Backorders of this SKU."),
                    _query("email", "Backorders of this customer."),
                    _query(
                        "status",
                        "waiting, allocated or cancelled.",
                        {"enum": ["waiting", "allocated", "cancelled"]},
                    ),
                    LIMIT,
                ],
                "responses": {
                    "200": _json(
                        "Matching backorders, oldest first.",
                        {
                            "type": "object",
                            "required": ["backorders"],
                            "properties": {"backorders": {"type": "array", "items": _ref("Backorder")}},
                        },
                    ),
                    **secured,
                },
            }
        },
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Backorder Connector support API",
            "version": "1",
            "description": "Find customers' orders and backorders and cancel waiting units with refund and "
            "restock on the origin storefront. Create a token with `backorder token create --merchant M "
            "--role support`; every request is scoped to that merchant.",
        },
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
