"""The OpenAPI document tells the truth: schemathesis calls every operation in-process (ASGI,
no server) and checks each answer against the document: never a 5xx, and status code, content
type and body as declared. Routes you add are covered without an edit here.

Bounded and deterministic, so it belongs in every `pytest` run: five generated cases per
operation, the same ones each time. For a deeper search (boundary values, more examples), run
`schemathesis run` against a served app.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.api import API_PREFIX
from app.core.config import Settings
from app.factory import create_app
from tests.helpers import PASSWORD, unique_email

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def contract_app(settings: Settings) -> Iterator[FastAPI]:
    """An app on the suite's database whose lifespan schemathesis runs on its own event loop.

    Each operation registers a user, so its auth limits are lifted (test_rate_limit.py covers
    them).
    """
    limits = [name for name in Settings.model_fields if name.endswith("_RATE_LIMIT")]
    yield create_app(settings.model_copy(update=dict.fromkeys(limits, "100000/minute")))
    asgi.shutdown_lifespans()


@pytest.fixture
def api_schema(contract_app: FastAPI, app: FastAPI) -> schemathesis.BaseSchema:
    # Depends on the suite's `app`, which empties the database after each operation.
    return schemathesis.openapi.from_asgi("/openapi.json", contract_app)


@pytest.fixture
def auth_headers(api_schema: schemathesis.BaseSchema) -> dict[str, str]:
    credentials: dict[str, Any] = {"email": unique_email("contract"), "password": PASSWORD}
    register = api_schema[f"{API_PREFIX}/users"]["POST"].Case(body=credentials).call()
    assert register.status_code == 201, register.text
    login = api_schema[f"{API_PREFIX}/auth/login"]["POST"].Case(body=credentials).call()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.usefixtures("anyio_backend")  # the suite's `app` fixture is async
@schema.parametrize()
@settings(
    max_examples=5,
    phases=[Phase.generate],  # not schemathesis's coverage phase: hundreds of cases, seconds
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_the_documented_one(
    case: schemathesis.Case[Any], auth_headers: dict[str, str]
) -> None:
    case.call_and_validate(headers=auth_headers, checks=CHECKS)
