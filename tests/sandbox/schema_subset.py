"""Is one GraphQL schema a faithful subset of another? Used to hold the Shopify sandbox's SDL to
Shopify's published Admin schema."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    is_non_null_type,
)

# What current API versions have and 2025-01 lacks (the checker in ../shared/tools adds the first two).
LATER_INPUT_FIELDS = {
    ("InventoryQuantityInput", "changeFromQuantity"),
    ("InventorySetQuantityInput", "changeFromQuantity"),
}
LATER_ENUM_VALUES = {
    ("InventorySetQuantitiesUserErrorCode", "CHANGE_FROM_QUANTITY_STALE"),
    ("InventorySetQuantitiesUserErrorCode", "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"),
}
LATER_DIRECTIVES = {"idempotent"}


def subset_problems(sandbox: GraphQLSchema, real: GraphQLSchema) -> list[str]:
    """Every way `sandbox` is not a subset of `real`: a type, field, argument, input field, enum value,
    interface or union member `real` lacks, a different type or nullability or default, or a required
    argument or input field of `real` left out. Sorted, empty when faithful."""
    problems = (
        [] if sandbox.query_type.name == real.query_type.name else ["the query root is named differently"]
    )
    if sandbox.mutation_type.name != real.mutation_type.name:
        problems.append("the mutation root is named differently")
    for name, mine in sandbox.type_map.items():
        if name.startswith("__"):
            continue
        theirs = real.type_map.get(name)
        if theirs is None:
            problems.append(f"type {name} is not in Shopify's schema")
        elif type(theirs) is not type(mine):
            problems.append(f"{name} is a {type(mine).__name__}, Shopify's a {type(theirs).__name__}")
        elif isinstance(mine, GraphQLObjectType | GraphQLInterfaceType):
            problems += _object_problems(name, mine, theirs)
        elif isinstance(mine, GraphQLInputObjectType):
            problems += _input_problems(name, mine, theirs)
        elif isinstance(mine, GraphQLEnumType):
            problems += [
                f"enum {name}.{value} is not in Shopify's schema"
                for value in mine.values
                if value not in theirs.values and (name, value) not in LATER_ENUM_VALUES
            ]
        elif isinstance(mine, GraphQLUnionType):
            extra = {t.name for t in mine.types} - {t.name for t in theirs.types}
            problems += [f"union {name} has {member}, Shopify's does not" for member in extra]
    problems += [
        f"directive @{d.name} is not in Shopify's schema"
        for d in sandbox.directives
        if d.name not in LATER_DIRECTIVES and real.get_directive(d.name) is None
    ]
    return sorted(problems)


def _object_problems(name: str, mine, theirs) -> list[str]:
    problems = [
        f"{name} implements {i.name}, Shopify's does not"
        for i in mine.interfaces
        if i.name not in {j.name for j in theirs.interfaces}
    ]
    for field_name, field in mine.fields.items():
        real_field = theirs.fields.get(field_name)
        where = f"{name}.{field_name}"
        if real_field is None:
            problems.append(f"{where} is not in Shopify's schema")
            continue
        if str(field.type) != str(real_field.type):
            problems.append(f"{where} is {field.type}, Shopify's {real_field.type}")
        for arg_name, arg in field.args.items():
            real_arg = real_field.args.get(arg_name)
            if real_arg is None:
                problems.append(f"{where}({arg_name}) is not in Shopify's schema")
            elif str(arg.type) != str(real_arg.type):
                problems.append(f"{where}({arg_name}) is {arg.type}, Shopify's {real_arg.type}")
            elif arg.default_value is not Undefined and arg.default_value != real_arg.default_value:
                problems.append(
                    f"{where}({arg_name}) defaults to {arg.default_value!r}, Shopify's to {real_arg.default_value!r}"
                )
        problems += [
            f"{where} lacks Shopify's required argument {arg_name}"
            for arg_name, real_arg in real_field.args.items()
            if arg_name not in field.args
            and is_non_null_type(real_arg.type)
            and real_arg.default_value is Undefined
        ]
    return problems


def _input_problems(name: str, mine, theirs) -> list[str]:
    problems = []
    for field_name, field in mine.fields.items():
        if (name, field_name) in LATER_INPUT_FIELDS:
            continue
        real_field = theirs.fields.get(field_name)
        where = f"input {name}.{field_name}"
        if real_field is None:
            problems.append(f"{where} is not in Shopify's schema")
        elif str(field.type) != str(real_field.type):
            problems.append(f"{where} is {field.type}, Shopify's {real_field.type}")
        elif field.default_value is not Undefined and field.default_value != real_field.default_value:
            problems.append(
                f"{where} defaults to {field.default_value!r}, Shopify's to {real_field.default_value!r}"
            )
    problems += [
        f"input {name} lacks Shopify's required field {field_name}"
        for field_name, real_field in theirs.fields.items()
        if field_name not in mine.fields
        and is_non_null_type(real_field.type)
        and real_field.default_value is Undefined
    ]
    return problems
