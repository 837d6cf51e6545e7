"""The GraphQL documents in graphql/, loaded by file name and parsed once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from graphql import OperationDefinitionNode, OperationType, parse


@dataclass(frozen=True)
class Document:
    name: str  # the file name without .graphql
    operation: str  # the operation's own name, for logs
    text: str
    is_mutation: bool


@cache
def load(name: str) -> Document:
    """The document `graphql/<name>.graphql`; a missing or nameless document is a programming error."""
    text = (resources.files(__package__) / "graphql" / f"{name}.graphql").read_text(encoding="utf-8")
    operations = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].name is None:
        raise ValueError(f"graphql/{name}.graphql must hold exactly one named operation")
    operation = operations[0]
    return Document(
        name=name,
        operation=operation.name.value,
        text=text,
        is_mutation=operation.operation is OperationType.MUTATION,
    )
