"""Schema-driven requests to the support API (schemathesis): no 5xx, and answers match the document."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from connector.services import tokens
from tests.cancel_helpers import NOW, make_shop, place

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 30


@pytest.fixture
def api_schema(app, new_uow):
    shop = make_shop(new_uow)
    app.extensions["backorder"].storefronts = shop
    place(new_uow, shop, "1", [("A", 3), ("B", 2), ("C", 1)])
    place(new_uow, shop, "2", [("B", 1)], when=NOW + timedelta(hours=1))
    token = tokens.create_token(new_uow(), shop.merchant_id, "support", now=NOW).token
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), {"Authorization": f"Bearer {token}"}


def test_schema_generated_requests_get_no_server_error_and_documented_answers(api_schema):
    schema, headers = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 5
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

        exercise()


def test_requests_without_a_token_get_documented_401s(api_schema):
    schema, _ = api_schema
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=5, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def exercise(case):
            response = case.call()
            assert response.status_code == 401
            case.validate_response(response, checks=CHECKS)

        exercise()
