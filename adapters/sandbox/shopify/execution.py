"""One Admin GraphQL request: parse, validate, cost, throttle, execute, and answer in Shopify's shapes."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from graphql import (
    GraphQLError,
    OperationDefinitionNode,
    execute,
    get_operation_ast,
    parse,
    print_ast,
    validate,
)

from ..common import CallCounter
from .cost import ActualCost, CostBucket, RequestedCost
from .schema import sandbox_schema
from .store import Store

log = logging.getLogger("adapters.sandbox.shopify")
RATE_LIMIT_DOCS = "https://shopify.dev/api/usage/rate-limits"


@dataclass
class RequestContext:
    store: Store
    api_version: str
    app_id: int


@dataclass
class Answer:
    """What to send back, and the webhook events the request caused (to send after answering)."""

    body: dict
    events: list[tuple[str, dict]] = field(default_factory=list)


class GraphQLEndpoint:
    def __init__(self, store: Store, bucket: CostBucket, calls: CallCounter, app_id: int):
        self.store = store
        self.bucket = bucket
        self.calls = calls
        self.app_id = app_id
        self.schema = sandbox_schema()

    def run(
        self, token: str, api_version: str, query: str, variables: dict | None, name: str | None
    ) -> Answer:
        try:
            document = parse(query)
        except GraphQLError as error:
            return self._failed([_syntax_error(error)], token)
        errors = validate(self.schema, document)
        if errors:
            return self._failed([_validation_error(e) for e in errors], token)
        operation = get_operation_ast(document, name)
        if operation is None:
            missing = {
                "message": "An operation name is required",
                "extensions": {"code": "OPERATION_NOT_FOUND"},
            }
            return self._failed([missing], token)
        for root in _root_fields(operation):
            self.calls.add(root)
        fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
        requested = RequestedCost(self.schema, fragments, variables or {}).operation(operation)
        refusal = self._refusal(token, requested)
        if refusal is not None:
            return Answer({"errors": [refusal], **self._cost(token, requested, None)})
        return self._execute(token, api_version, document, operation, variables, requested)

    def _refusal(self, token: str, requested: int) -> dict | None:
        """Too dear for any bucket, or more than this one holds now (then nothing is spent)."""
        if requested > self.bucket.single_query_max:
            return _max_cost_error(requested, self.bucket.single_query_max)
        if not self.bucket.take(token, requested):
            self.calls.add("THROTTLED")
            return {
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOCS},
            }
        return None

    def _execute(self, token, api_version, document, operation, variables, requested: int) -> Answer:
        meter = ActualCost()
        context = RequestContext(self.store, api_version, self.app_id)
        with self.store.lock:
            result = execute(
                self.schema,
                document,
                variable_values=variables,
                operation_name=operation.name.value if operation.name else None,
                context_value=context,
                middleware=[meter],
            )
            events = self.store.drain()
        actual = min(meter.total, requested)
        self.bucket.give_back(token, requested - actual)
        body: dict = {}
        if result.errors:
            body["errors"] = [_execution_error(e, operation) for e in result.errors]
        body["data"] = result.data
        body.update(self._cost(token, requested, actual))
        return Answer(body, events)

    def _failed(self, errors: list[dict], token: str) -> Answer:
        return Answer({"errors": errors, **self._cost(token, 0, 0)})

    def _cost(self, token: str, requested: int, actual: int | None) -> dict:
        return {
            "extensions": {
                "cost": {
                    "requestedQueryCost": requested,
                    "actualQueryCost": actual,
                    "throttleStatus": self.bucket.status(token),
                }
            }
        }


def _root_fields(operation: OperationDefinitionNode) -> list[str]:
    return [s.name.value for s in operation.selection_set.selections if s.kind == "field"]


def _max_cost_error(cost: int, limit: int) -> dict:
    message = (
        f"Query cost is {cost}, which exceeds the single query max cost limit ({limit}).\n\n"
        "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
        "cost of a query is calculated.\n\n"
        "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
        "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
    )
    return {"message": message, "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": limit}}


def _locations(error: GraphQLError) -> list[dict]:
    return [{"line": loc.line, "column": loc.column} for loc in error.locations or []]


def _syntax_error(error: GraphQLError) -> dict:
    return {
        "message": error.message.replace("Syntax Error: ", "Parse error: "),
        "locations": _locations(error),
    }


# graphql-core's validation messages, reworded as Shopify (graphql-ruby) words them.
_REWORDINGS = [
    (
        re.compile(r"Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\."),
        lambda m: (
            f"Field '{m['field']}' doesn't exist on type '{m['type']}'",
            {"code": "undefinedField", "typeName": m["type"], "fieldName": m["field"]},
        ),
    ),
    (
        re.compile(r"Unknown argument '(?P<arg>\w+)' on field '\w+\.(?P<field>\w+)'\."),
        lambda m: (
            f"Field '{m['field']}' doesn't accept argument '{m['arg']}'",
            {
                "code": "argumentNotAccepted",
                "name": m["field"],
                "typeName": "Field",
                "argumentName": m["arg"],
            },
        ),
    ),
    (
        re.compile(
            r"Field '(?P<field>\w+)' argument '(?P<arg>\w+)' of type '.+' is required, but it was not provided\."
        ),
        lambda m: (
            f"Field '{m['field']}' is missing required arguments: {m['arg']}",
            {
                "code": "missingRequiredArguments",
                "className": "Field",
                "name": m["field"],
                "arguments": m["arg"],
            },
        ),
    ),
    (
        re.compile(r"Field '(?P<field>\w+)' of type '(?P<type>.+)' must have a selection of subfields\..*"),
        lambda m: (
            f"Field must have selections (field '{m['field']}' returns {m['type'].strip('[]!')} but has no selections. "
            f"Did you mean '{m['field']} {{ ... }}'?)",
            {
                "code": "selectionMismatch",
                "nodeName": f"field '{m['field']}'",
                "typeName": m["type"].strip("[]!"),
            },
        ),
    ),
]


def _validation_error(error: GraphQLError) -> dict:
    message, extensions = error.message, {"code": "GRAPHQL_VALIDATION_FAILED"}
    for pattern, reword in _REWORDINGS:
        match = pattern.fullmatch(error.message)
        if match:
            message, extensions = reword(match)
            break
    return {"message": message, "locations": _locations(error), "extensions": extensions}


_VARIABLE = re.compile(
    r"Variable '\$(?P<name>\w+)' (?:got invalid value|of required type '.+' was not provided)"
)


def _execution_error(error: GraphQLError, operation: OperationDefinitionNode) -> dict:
    variable = _VARIABLE.match(error.message)
    if variable:
        declared = {d.variable.name.value: print_ast(d.type) for d in operation.variable_definitions}
        type_name = declared.get(variable["name"], "")
        return {
            "message": f"Variable ${variable['name']} of type {type_name} was provided invalid value",
            "locations": _locations(error),
            "extensions": {"code": "INVALID_VARIABLE", "problems": [{"explanation": error.message}]},
        }
    formatted = {"message": error.message, "locations": _locations(error)}
    if error.path:
        formatted["path"] = list(error.path)
    if error.extensions:
        formatted["extensions"] = dict(error.extensions)
    elif error.original_error is not None and not isinstance(error.original_error, GraphQLError):
        log.error("sandbox resolver failed at %s", error.path, exc_info=error.original_error)
        formatted["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
    return formatted
