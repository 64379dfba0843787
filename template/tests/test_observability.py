"""Request ids, timing, JSON logs, metrics and CORS."""

import contextlib
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from app.api import API_PREFIX
from app.core.logging import configure_logging
from app.factory import create_app
from tests.helpers import PASSWORD, assert_error, client_from, register_and_login, unique_email
from tests.settings import make_settings

ALLOWED_ORIGIN = "https://app.example.com"
LogReader = Callable[[], list[dict[str, Any]]]


# Request ids and timing


async def test_a_safe_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    for request_id in ("abc", "A.b_c-1", "7" * 128, "0f8fad5b-d9cb-469f"):
        response = await client.get("/health", headers={"X-Request-ID": request_id})
        assert response.headers["x-request-id"] == request_id


async def test_an_unsafe_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    unsafe = [b"x" * 129, b"has space", b"semi;colon", b"back\\slash", "caf\u00e9".encode(), b"<a>"]
    for request_id in unsafe:
        response = await client.get("/health", headers={b"X-Request-ID": request_id})

        replaced = response.headers["x-request-id"]
        assert replaced.encode() != request_id
        assert re.fullmatch(r"[0-9a-f]{32}", replaced), request_id


async def test_a_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = await client.get("/health")
    second = await client.get("/health")

    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)


async def test_every_response_carries_id_and_timing(client: httpx.AsyncClient) -> None:
    responses = [
        await client.get("/health"),
        await client.get("/nowhere"),
        await client.get("/users/me"),
        await client.get("/users"),  # the admins' list: POST /users (registration) is untimed
        await client.post("/items", content=b"{", headers={"Content-Type": "application/json"}),
        await client.delete("/health"),
    ]

    assert [response.status_code for response in responses] == [200, 404, 401, 401, 400, 405]
    for response in responses:
        assert response.headers["x-request-id"]
        assert float(response.headers["x-process-time-ms"]) >= 0


# How long a route that takes a password or a token worked could tell whether an account exists.
CREDENTIAL_ROUTES = [
    ("POST", "/auth/login"),
    ("POST", "/auth/token"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/users"),  # registration
    ("POST", "/users/me/password"),
    ("DELETE", "/users/me"),  # takes the password
]


def auth_routes(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    """Every operation the OpenAPI document files under `auth` (the e-mail flows', too)."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    assert isinstance(app, FastAPI)
    return [
        (method.upper(), path.removeprefix(API_PREFIX))
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        if "auth" in operation.get("tags", ())
    ]


async def test_credential_routes_carry_no_timing(client: httpx.AsyncClient) -> None:
    tagged = auth_routes(client)
    assert set(CREDENTIAL_ROUTES[:4]) <= set(tagged)

    for method, path in sorted(set(CREDENTIAL_ROUTES) | set(tagged)):
        response = await client.request(method, path, json={})
        assert response.status_code < 500, (method, path)
        assert response.headers["x-request-id"], (method, path)
        assert "x-process-time-ms" not in response.headers, (method, path)
    refused = await client.get("/auth/login")  # a 405 from the route, too
    assert (refused.status_code, refused.headers.get("x-process-time-ms")) == (405, None)


@pytest.mark.usefixtures("keep_logging")
async def test_timing_on_credential_routes_when_asked() -> None:
    settings = make_settings().model_copy(update={"TIMING_HEADERS_ON_AUTH_ROUTES": True})

    async with client_from(create_app(settings), "203.0.113.9") as client:
        response = await client.get("/auth/login")  # refused before the route needs the database

    assert response.status_code == 405
    assert float(response.headers["x-process-time-ms"]) >= 0


# Logs


@pytest.fixture(params=["INFO", "DEBUG"])
def stdout_logs(request: pytest.FixtureRequest) -> Iterator[LogReader]:
    """The app's own logging setup at the given level, with stdout captured."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        configure_logging(request.param)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stdout.getvalue().splitlines() if line.strip()]

    yield read
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_logs_are_json_lines_with_the_request_id(
    client: httpx.AsyncClient, stdout_logs: LogReader
) -> None:
    response = await client.get("/users/me", headers={"X-Request-ID": "trace-me-123"})

    lines = stdout_logs()  # every line parses as JSON, or this fails
    access = [line for line in lines if line.get("logger") == "app.access"]
    assert len(access) == 1
    entry = access[0]
    assert entry["request_id"] == "trace-me-123" == response.headers["x-request-id"]
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/api/v1/users/me", 401)
    assert entry["level"] == "info"
    assert {"ts", "msg", "duration_ms", "client"} <= set(entry)


async def test_probes_are_logged_at_debug_only(
    client: httpx.AsyncClient, stdout_logs: LogReader
) -> None:
    for path in ("/health/live", "/health/ready", "/metrics"):
        await client.get("http://testserver" + path)
    await client.get("/health")  # the deprecated alias under /api/v1 is quiet too
    await client.get("/users/me")

    access = [line for line in stdout_logs() if line.get("logger") == "app.access"]
    probes = [line for line in access if line["path"] != "/api/v1/users/me"]
    assert [line["path"] for line in access if line not in probes] == ["/api/v1/users/me"]
    if logging.getLogger().level == logging.DEBUG:
        assert {line["route"] for line in probes} == {
            "/health/live",
            "/health/ready",
            "/metrics",
            "/api/v1/health",
        }
        assert {line["level"] for line in probes} == {"debug"}
    else:
        assert probes == []


async def test_logs_never_contain_passwords_tokens_or_hashes(
    client: httpx.AsyncClient, stdout_logs: LogReader
) -> None:
    alice = await register_and_login(client)
    wrong_password = "Wrong-But-Close-9!"
    await client.post("/auth/login", json={"email": alice.email, "password": wrong_password})
    await client.post("/auth/token", data={"username": alice.email, "password": PASSWORD})
    await client.post("/users", json={"email": unique_email(), "password": "weak"})
    rotated = (
        await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})
    ).json()
    await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})  # reuse
    await client.get("/users/me", headers=alice.headers)
    await client.get(f"/users/me?token={alice.access_token}")
    await client.post("/auth/logout", json={"refresh_token": rotated["refresh_token"]})

    # The test client's own log lines (logger "httpx") show the URLs it requested; not ours.
    lines = [line for line in stdout_logs() if line["logger"] != "httpx"]
    output = json.dumps(lines)
    assert any(line.get("path") == "/api/v1/auth/refresh" for line in lines)
    for secret in (
        PASSWORD,
        wrong_password,
        alice.access_token,
        alice.refresh_token,
        rotated["access_token"],
        rotated["refresh_token"],
    ):
        assert secret not in output
    assert "$argon2" not in output
    assert not re.search(r"\b[0-9a-f]{64}\b", output)  # no refresh-token hash either


# Metrics


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for metric in family.samples:
            if metric.name == name and all(metric.labels.get(k) == v for k, v in labels.items()):
                return float(metric.value)
    return 0.0


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    created = await client.post("/items", json={"title": "x"}, headers=alice.headers)
    item_id = created.json()["id"]
    route = "/api/v1/items/{item_id}"
    before = (await client.get("/metrics")).text

    await client.get(f"/items/{item_id}", headers=alice.headers)
    await client.get(f"/items/{item_id}", headers=alice.headers)
    await client.get(f"/items/{item_id + 1000}", headers=alice.headers)
    await client.get("/no-such-page")
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    ok = {"method": "GET", "route": route, "status": "200"}
    missing = {"method": "GET", "route": route, "status": "404"}
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    for labels, count in ((ok, 2), (missing, 1), (unmatched, 1)):
        delta = sample(after, "http_requests_total", **labels) - sample(
            before, "http_requests_total", **labels
        )
        assert delta == count, labels
    assert f"/items/{item_id}" not in after  # raw paths would explode the label set
    assert "/no-such-page" not in after


async def test_metrics_expose_latency_histogram_and_in_flight_gauge(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/health")

    text = (await client.get("/metrics")).text

    route = {"method": "GET", "route": "/api/v1/health"}
    assert sample(text, "http_request_duration_seconds_count", **route) >= 1
    assert sample(text, "http_request_duration_seconds_bucket", le="+Inf", **route) >= 1
    assert "# TYPE http_request_duration_seconds histogram" in text
    # The scrape itself is the one request in flight.
    assert sample(text, "http_requests_in_progress") == 1.0


# CORS


async def test_preflight_from_the_allowed_origin_is_allowed(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/auth/login",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_preflight_from_other_origins_is_not_allowed(client: httpx.AsyncClient) -> None:
    for origin in ("https://evil.example.com", "http://app.example.com", ALLOWED_ORIGIN + ".evil"):
        response = await client.options(
            "/auth/login", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
        )

        body = assert_error(response, 400, "cors_error")
        assert "origin" in body["detail"]
        assert "access-control-allow-origin" not in response.headers


async def test_simple_requests_expose_the_request_id_to_the_allowed_origin(
    client: httpx.AsyncClient,
) -> None:
    allowed = await client.get("/health", headers={"Origin": ALLOWED_ORIGIN})
    other = await client.get("/health", headers={"Origin": "https://evil.example.com"})

    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    exposed = allowed.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    assert "retry-after" in exposed
    assert "etag" in exposed  # a browser app sends it back in If-Match
    assert "access-control-allow-origin" not in other.headers
    assert other.status_code == 200  # CORS is the browser's business, not a server refusal


async def test_errors_carry_cors_headers_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me", headers={"Origin": ALLOWED_ORIGIN})

    assert_error(response, 401, "auth_error")
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


async def test_without_cors_origins_no_cors_headers_are_sent() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        bare = create_app(make_settings().model_copy(update={"CORS_ORIGINS": []}))
    finally:
        root.handlers[:] = handlers  # create_app configures logging; keep the suite's
        root.setLevel(level)

    async with client_from(bare, "203.0.113.8") as client:
        response = await client.get("/health", headers={"Origin": ALLOWED_ORIGIN})

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
