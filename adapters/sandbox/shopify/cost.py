"""Calculated query cost and the leaky bucket, by Shopify's documented rules.

Requested cost is computed from the document before running it: scalars and enums 0, objects 1,
connections 2 plus `first` (or `last`) times the cost of one node, `nodes(ids:)` the number of ids times
the cost of one node, an abstract selection the dearest of its fragments, and each mutation 10. Actual
cost counts the same way over what was really returned; the difference is refunded to the bucket."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    value_from_ast_untyped,
)

MUTATION_COST = 10
SINGLE_QUERY_MAX = 1000
_FREE_INSIDE_CONNECTION = {"edges", "pageInfo"}


def _is_connection(type_name: str) -> bool:
    return type_name.endswith("Connection")


class RequestedCost:
    """Walks one operation of a validated document."""

    def __init__(self, schema: GraphQLSchema, fragments: dict, variables: dict):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def operation(self, operation: OperationDefinitionNode) -> int:
        if operation.operation == OperationType.MUTATION:
            return MUTATION_COST * len(self._fields(operation.selection_set)[None])
        root = self.schema.query_type
        return self.selections(root, operation.selection_set)

    def selections(self, parent, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        groups = self._fields(selection_set)
        plain = sum(self.field(parent, node) for node in groups.pop(None, []))
        conditional = [
            sum(self.field(self.schema.get_type(condition), node) for node in nodes)
            for condition, nodes in groups.items()
        ]
        return plain + max(conditional, default=0)

    def field(self, parent, node: FieldNode) -> int:
        name = node.name.value
        if name.startswith("__") or not hasattr(parent, "fields") or name not in parent.fields:
            return 0
        definition = parent.fields[name]
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        arguments = self._arguments(node)
        if _is_connection(named.name):
            size = arguments.get("first") or arguments.get("last") or 0
            return 2 + size * self._node_cost(named, node.selection_set)
        if "ids" in arguments and _returns_list(definition.type):
            return len(arguments["ids"] or []) * (1 + self.selections(named, node.selection_set))
        return 1 + self.selections(named, node.selection_set)

    def _node_cost(self, connection, selection_set: SelectionSetNode | None) -> int:
        """The cost of one node of a connection, however it is reached (edges.node or nodes)."""
        cost = 0
        for node in self._fields(selection_set).get(None, []) if selection_set else []:
            name = node.name.value
            if name == "nodes":
                node_type = get_named_type(connection.fields["nodes"].type)
                cost += 1 + self.selections(node_type, node.selection_set)
            elif name == "edges":
                edge_type = get_named_type(connection.fields["edges"].type)
                cost += self.selections(edge_type, node.selection_set)
        return cost

    def _arguments(self, node: FieldNode) -> dict:
        return {arg.name.value: value_from_ast_untyped(arg.value, self.variables) for arg in node.arguments}

    def _fields(self, selection_set: SelectionSetNode, condition: str | None = None) -> dict:
        """Fields by the type condition they sit under (None: unconditional), fragments flattened."""
        groups: dict[str | None, list[FieldNode]] = {None: []}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                groups.setdefault(condition, []).append(selection)
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                inner, type_condition = fragment.selection_set, fragment.type_condition
            else:
                assert isinstance(selection, InlineFragmentNode)
                inner, type_condition = selection.selection_set, selection.type_condition
            nested = type_condition.name.value if type_condition else condition
            for key, nodes in self._fields(inner, nested).items():
                groups.setdefault(key, []).extend(nodes)
        return groups


def _returns_list(type_) -> bool:
    return is_list_type(type_.of_type if is_non_null_type(type_) else type_)


class ActualCost:
    """graphql-core middleware that adds up the cost of what each resolver really returned."""

    def __init__(self) -> None:
        self.total = 0

    def resolve(self, next_, root, info, **arguments):
        value = next_(root, info, **arguments)
        self.total += self._cost(info, arguments, value)
        return value

    @staticmethod
    def _cost(info, arguments: dict, value) -> int:
        parent = info.parent_type
        if info.operation.operation == OperationType.MUTATION:
            return MUTATION_COST if parent is info.schema.mutation_type else 0
        named = get_named_type(info.return_type)
        if is_leaf_type(named):
            return 0
        if _is_connection(named.name):
            return 2
        if _is_connection(parent.name):
            return len(value or []) if info.field_name == "nodes" else 0
        if parent.name.endswith("Edge") and isinstance(parent, GraphQLObjectType):
            return 1 if info.field_name == "node" else 0
        if "ids" in arguments and _returns_list(info.return_type):
            return len(value or [])
        return 1


@dataclass
class _Tank:
    level: float
    at: float


class CostBucket:
    """Shopify's leaky bucket, one per access token: `size` points, refilled at `restore_rate` a second."""

    def __init__(self, size: float, restore_rate: float, clock: Callable[[], float] = time.monotonic):
        self.size = float(size)
        self.restore_rate = float(restore_rate)
        self.clock = clock
        self._tanks: dict[str, _Tank] = {}
        self._lock = threading.Lock()

    @property
    def single_query_max(self) -> int:
        return int(min(SINGLE_QUERY_MAX, self.size))

    def take(self, token: str, cost: int) -> bool:
        """Spend `cost` points if the bucket holds them; False (and nothing spent) if it does not."""
        with self._lock:
            tank = self._refilled(token)
            if tank.level < cost:
                return False
            tank.level -= cost
            return True

    def give_back(self, token: str, points: int) -> None:
        with self._lock:
            tank = self._refilled(token)
            tank.level = min(self.size, tank.level + points)

    def status(self, token: str) -> dict:
        with self._lock:
            tank = self._refilled(token)
            return {
                "maximumAvailable": self.size,
                "currentlyAvailable": math.floor(tank.level),
                "restoreRate": self.restore_rate,
            }

    def _refilled(self, token: str) -> _Tank:
        now = self.clock()
        tank = self._tanks.setdefault(token, _Tank(self.size, now))
        tank.level = min(self.size, tank.level + (now - tank.at) * self.restore_rate)
        tank.at = now
        return tank
