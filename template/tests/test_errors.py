"""Every error, the framework's included, is JSON `{detail, code, errors?}`."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from app.services import owned
from tests.helpers import PASSWORD, assert_error, register_and_login, unique_email
from tests.settings import make_settings

MAX_BODY = make_settings().MAX_REQUEST_BODY_BYTES


def raising(exc: Exception) -> Any:
    """A stand-in for a service function (sync or async flavour alike) that fails at once."""

    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    return fail


@pytest.mark.parametrize("url", ["/nothing-here", "http://testserver/not-the-api", "/items/1/x"])
async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)

    assert_error(response, 404, "not_found")
    assert response.headers["x-request-id"]


async def test_canonical_paths_answer_without_redirects(client: httpx.AsyncClient) -> None:
    for path in ("/items", "/users/me", "/health"):
        response = await client.get(path)
        assert response.status_code in {200, 401}, path


@pytest.mark.parametrize("path", ["/items/", "/users/me/", "/health/"])
async def test_a_trailing_slash_is_not_redirected(client: httpx.AsyncClient, path: str) -> None:
    """No redirects: a 307 to the slash-less URL would be built from the request's own scheme
    and host (http:// behind a TLS proxy) and would double every such request."""
    response = await client.get(path)

    assert "location" not in response.headers
    assert_error(response, 404, "not_found")


async def test_wrong_method_is_a_json_405(client: httpx.AsyncClient) -> None:
    response = await client.put("/users/me")

    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_400_and_declared(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/users",
        content=b'{"email": "a@example.com", ',
        headers={"Content-Type": "application/json"},
    )

    body = assert_error(response, 400, "bad_request")
    assert body["detail"] == "The request body is not valid JSON"
    [error] = body["errors"]
    assert error["type"] == "json_invalid"
    assert error["msg"].startswith("JSON decode error: ")
    assert error["loc"][0] == "body"
    openapi = (await client.get("http://testserver/openapi.json")).json()
    declared = openapi["paths"]["/api/v1/users"]["post"]["responses"]["400"]
    assert declared["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")


@pytest.mark.parametrize(
    ("path", "content_type", "content"),
    [
        ("/users", "application/json", b'{"email": "\xff\xfe"}'),
        ("/auth/token", "multipart/form-data", b"--x\r\nnot a part"),
    ],
    ids=["json-not-utf8", "multipart-without-boundary"],
)
async def test_an_undecodable_body_is_400(
    client: httpx.AsyncClient, path: str, content_type: str, content: bytes
) -> None:
    response = await client.post(path, content=content, headers={"Content-Type": content_type})

    assert_error(response, 400, "bad_request")


async def test_json_of_the_wrong_type_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/users", json=[{"email": "a@example.com"}])
    assert_error(response, 422, "validation_error")


async def test_validation_errors_list_each_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/users", json={"email": "nope", "password": ""})

    body = assert_error(response, 422, "validation_error")
    assert {tuple(error["loc"]) for error in body["errors"]} == {
        ("body", "email"),
        ("body", "password"),
    }
    for error in body["errors"]:
        assert set(error) == {"loc", "msg", "type"}


async def test_body_over_the_limit_is_413(http_client: httpx.AsyncClient) -> None:
    response = await http_client.post(
        "/users", content=b"x" * (MAX_BODY + 1), headers={"Content-Type": "application/json"}
    )

    assert_error(response, 413, "request_too_large")


async def test_body_at_the_limit_is_read(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/users", content=b" " * MAX_BODY, headers={"Content-Type": "application/json"}
    )

    assert_error(response, 400, "bad_request")  # read (and found not JSON), not refused


async def test_streamed_body_over_the_limit_is_413(http_client: httpx.AsyncClient) -> None:
    """No Content-Length to trust (chunked): the limit is enforced while the body is read."""
    chunk = b"x" * 65_536
    sent = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent <= MAX_BODY:
            sent += len(chunk)
            yield chunk

    response = await http_client.post(
        "/users", content=stream(), headers={"Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert_error(response, 413, "request_too_large")


async def test_a_bogus_content_length_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/users",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": "1e9"},
    )
    assert_error(response, 413, "request_too_large")


async def test_unexpected_exception_is_a_json_500_with_a_request_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await register_and_login(client)
    monkeypatch.setattr(owned, "list_owned", raising(RuntimeError("secret internals")))

    response = await client.get("/items", headers={**alice.headers, "X-Request-ID": "trace-500"})

    body = assert_error(response, 500, "internal_error")
    assert body == {"detail": "Internal server error", "code": "internal_error"}
    assert response.headers["x-request-id"] == "trace-500"
    assert float(response.headers["x-process-time-ms"]) >= 0
    assert "secret internals" not in response.text


async def test_integrity_error_is_409(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await register_and_login(client)
    error = IntegrityError("INSERT INTO items ...", {}, Exception("UNIQUE constraint failed"))
    monkeypatch.setattr(owned, "create_owned", raising(error))

    response = await client.post("/items", json={"title": "x"}, headers=alice.headers)

    assert_error(response, 409, "db_integrity_error")
    assert "UNIQUE" not in response.text
    assert "INSERT" not in response.text


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError("SELECT 1", {}, Exception("connection refused")),
        ConnectionRefusedError("connection refused"),
        TimeoutError("timed out"),
    ],
    ids=["operational-error", "connection-refused", "timeout"],
)
async def test_unreachable_dependency_is_503(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    alice = await register_and_login(client)
    monkeypatch.setattr(owned, "list_owned", raising(exc))

    response = await client.get("/items", headers=alice.headers)

    assert_error(response, 503, "service_unavailable")
    assert "refused" not in response.text


async def test_errors_never_echo_the_submitted_password(client: httpx.AsyncClient) -> None:
    too_long = PASSWORD * 6  # over the 128-character cap
    response = await client.post("/users", json={"email": unique_email(), "password": too_long})

    body = assert_error(response, 422, "validation_error")
    assert too_long not in response.text
    assert all("input" not in error for error in body["errors"])


async def test_policy_refusals_never_echo_the_password(client: httpx.AsyncClient) -> None:
    common = "1q2w3e4r5t6y7u8i9o0p"
    response = await client.post("/users", json={"email": unique_email(), "password": common})

    body = assert_error(response, 422, "validation_error")
    assert common not in response.text
    assert body["errors"] == [
        {"loc": ["body", "password"], "msg": body["errors"][0]["msg"], "type": "password_policy"}
    ]
