"""The executable schema: the SDL subset in schema.graphql with the sandbox's resolvers bound to it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from graphql import GraphQLSchema, build_schema

from . import discounts
from .mutations import MUTATION
from .objects import OBJECTS
from .queries import QUERY_ROOT, type_of

SDL_PATH = Path(__file__).with_name("schema.graphql")
ABSTRACT = (
    "Node",
    "HasMetafields",
    "LegacyInteroperability",
    "DisplayableError",
    "WebhookSubscriptionEndpoint",
    *discounts.UNIONS,
)


@cache
def sandbox_schema() -> GraphQLSchema:
    """Built once per process; resolvers are plain functions, so the schema is shared by all sandboxes."""
    schema = build_schema(SDL_PATH.read_text(encoding="utf-8"))
    bindings = {
        "QueryRoot": {**QUERY_ROOT, **discounts.QUERIES},
        "Mutation": {**MUTATION, **discounts.MUTATIONS},
        **OBJECTS,
        **discounts.OBJECTS,
    }
    for type_name, resolvers in bindings.items():
        fields = schema.type_map[type_name].fields
        for field_name, resolver in resolvers.items():
            fields[field_name].resolve = resolver
    for name in ABSTRACT:
        schema.type_map[name].resolve_type = type_of
    return schema
