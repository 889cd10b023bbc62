"""Schemathesis over /Provisioning/openapi.json: generated requests, valid and invalid.

No request may get a 5xx, and every response must match what the OpenAPI description says
about its status, content type, headers and body. The requests run in-process through the
ASGI application, and each mode sends a bounded number of examples per operation.

Schemathesis's pytest integration (`from_fixture`) does not run on pytest 9.2, so each test
drives the Hypothesis strategies of every operation itself and reports all failures at once.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi import checks
from starlette.testclient import TestClient

from tests.support.hatchway import PROVISIONING_KEY

MAX_EXAMPLES = 25

EXCLUDED_CHECKS = [
    # Valid JSON of the right shape can still break a rule that the schema cannot state, such
    # as an environment name that already exists or an Authority on a private address, and
    # Hatchway answers those with 400, as the Provisioning API contract requires.
    checks.positive_data_acceptance,
]


@pytest.fixture
def provisioning_schema(app: FastAPI, api: TestClient) -> BaseSchema:
    created = api.post(
        "/Environment/",
        json={
            "EnvironmentName": "contoso",
            "EmailAddress": "ada@contoso.test",
            "FirstName": "Ada",
            "LastName": "Admin",
            "Password": "a-long-local-password",
        },
    )
    assert created.status_code == 200, created.text
    config = schemathesis.Config()
    config.projects.default.update(headers={"ProvisioningKey": PROVISIONING_KEY})
    return schemathesis.openapi.from_asgi("/Provisioning/openapi.json", app, config=config)


def operations(schema: BaseSchema) -> list[APIOperation]:
    return [result.ok() for result in schema.get_all_operations()]


def run_examples(operation: APIOperation, mode: GenerationMode) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(
            headers={"ProvisioningKey": PROVISIONING_KEY}, excluded_checks=EXCLUDED_CHECKS
        )

    call()


def failures_of(schema: BaseSchema, mode: GenerationMode) -> list[str]:
    failures: list[str] = []
    for operation in operations(schema):
        try:
            run_examples(operation, mode)
        except Unsatisfiable:
            # Operations without parameters or body have no invalid request to generate.
            continue
        except (AssertionError, BaseExceptionGroup) as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    return failures


def check_mode(schema: BaseSchema, mode: GenerationMode) -> None:
    failures = failures_of(schema, mode)
    assert not failures, "\n\n".join(failures)


def test_valid_requests_conform(provisioning_schema: BaseSchema) -> None:
    check_mode(provisioning_schema, GenerationMode.POSITIVE)


def test_invalid_requests_conform(provisioning_schema: BaseSchema) -> None:
    check_mode(provisioning_schema, GenerationMode.NEGATIVE)
