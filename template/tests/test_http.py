"""HTTP semantics a client or a probe relies on: HEAD, Allow, 204, 413, keep-alive, the docs
page. What the wire shows is checked twice (`http_client`): in process and under uvicorn.
"""

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from prometheus_client.parser import text_string_to_metric_families

from app.api import API_PREFIX
from app.api.docs import ASSETS_PATH
from app.core.errors import HTTP_CODES, AppError
from app.factory import create_app
from tests.helpers import assert_error, client_from, register_and_login
from tests.servers import Server
from tests.settings import make_settings

ROOT = "http://testserver"
PROBES = ["/health", "/health/live", "/health/ready", f"{API_PREFIX}/health"]
UNKNOWN_TOKEN = {"refresh_token": "not-a-token"}  # logout answers 204 all the same


def root(client: httpx.AsyncClient, path: str) -> str:
    """`path` from the root of the client's server (its base URL is the API's)."""
    return str(client.base_url.join(path))


def connection(response: httpx.Response) -> object:
    """The socket that carried `response` (None in process)."""
    stream = response.extensions.get("network_stream")
    return stream.get_extra_info("socket") if stream else None


def get_paths(app: FastAPI) -> list[str]:
    """Every GET route without path parameters, wherever it lives (API, probes, docs)."""
    document = app.openapi()
    paths = [path for path, methods in document["paths"].items() if "get" in methods]
    paths += [
        route.path
        for route in app.routes
        if isinstance(route, APIRoute)
        and not route.include_in_schema
        and "GET" in (route.methods or ())
    ]
    return [path for path in paths if "{" not in path]


async def test_head_answers_like_get_without_a_body_on_every_get_route(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    paths = get_paths(app)
    assert "/openapi.json" not in paths  # Starlette's own route, HEAD-capable already
    assert len(paths) >= 5

    for path in paths:
        get = await client.get(ROOT + path)
        head = await client.head(ROOT + path)

        assert head.status_code == get.status_code, path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.content == b"", path
        assert head.headers["x-request-id"]


@pytest.mark.parametrize("path", PROBES)
async def test_head_of_a_probe_is_its_get_without_the_body(
    http_client: httpx.AsyncClient, path: str
) -> None:
    """RFC 9110 section 9.3.2: the status and headers of GET, Content-Length included, and no
    body; the connection serves the next request."""
    connections = []
    responses = []
    for method in ("GET", "HEAD", "GET"):
        responses.append(await http_client.request(method, root(http_client, path)))
        connections.append(connection(responses[-1]))
    get, head, after = responses

    assert (get.status_code, head.status_code, after.status_code) == (200, 200, 200)
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    assert head.headers["x-request-id"]
    assert after.content == get.content
    assert connections[0] == connections[1] == connections[2]


async def test_head_of_an_item_needs_the_same_credentials_as_get(
    client: httpx.AsyncClient,
) -> None:
    alice = await register_and_login(client)
    item = (await client.post("/items", json={"title": "x"}, headers=alice.headers)).json()

    assert (await client.head(f"/items/{item['id']}")).status_code == 401
    head = await client.head(f"/items/{item['id']}", headers=alice.headers)
    assert (head.status_code, head.content) == (200, b"")


async def test_head_is_logged_and_counted_as_head(client: httpx.AsyncClient) -> None:
    metrics_url = ROOT + get_metrics_path(client)
    labels = {"method": "HEAD", "route": "/api/v1/items", "status": "401"}
    before = sample((await client.get(metrics_url)).text, "http_requests_total", **labels)

    await client.head("/items")

    after = sample((await client.get(metrics_url)).text, "http_requests_total", **labels)
    assert after - before == 1


def get_metrics_path(client: httpx.AsyncClient) -> str:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    assert isinstance(app, FastAPI)
    path: str = next(path for path in app.openapi()["paths"] if path.endswith("/metrics"))
    return path


def sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for metric in family.samples:
            if metric.name == name and all(metric.labels.get(k) == v for k, v in labels.items()):
                total += metric.value
    return total


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/items/1", "GET, HEAD, PUT, PATCH, DELETE"),
        ("PATCH", "/items", "GET, HEAD, POST"),
        ("PUT", "/users/me", "GET, HEAD, DELETE"),
        ("GET", "/auth/login", "POST"),
        ("HEAD", "/auth/login", "POST"),
    ],
)
async def test_405_allow_lists_every_method_of_the_path(
    http_client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    """RFC 9110 section 15.5.6: Allow lists the methods the target resource supports."""
    response = await http_client.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allow
    if method == "HEAD":
        assert response.content == b""
    else:
        assert_error(response, 405, "method_not_allowed")


async def test_204_has_no_content_type(http_client: httpx.AsyncClient) -> None:
    response = await http_client.post("/auth/logout", json=UNKNOWN_TOKEN)

    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers


async def test_one_connection_carries_request_after_request(uvicorn_server: Server) -> None:
    """HTTP/1.1 keep-alive: errors, HEAD and empty answers all leave the connection usable
    (a HEAD answered with a body would corrupt the next response on it)."""
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=uvicorn_server.url, limits=limits) as client:
        responses = [
            await client.get("/health/live"),
            await client.head("/health"),
            await client.get("/nowhere"),
            await client.delete("/health"),
            await client.post(f"{API_PREFIX}/auth/logout", json=UNKNOWN_TOKEN),
            await client.head(f"{API_PREFIX}/health"),
            await client.get("/health/ready"),
        ]
        connections = {connection(response) for response in responses}

    assert [response.status_code for response in responses] == [200, 200, 404, 405, 204, 200, 200]
    assert len(connections) == 1
    assert None not in connections
    assert all("close" not in response.headers.get("connection", "") for response in responses)


async def test_413_is_counted_under_the_route_it_was_sent_to(client: httpx.AsyncClient) -> None:
    too_big = b"x" * (make_settings().MAX_REQUEST_BODY_BYTES + 1)
    labels = {"method": "POST", "route": "/api/v1/items", "status": "413"}
    metrics_url = ROOT + get_metrics_path(client)
    before = sample((await client.get(metrics_url)).text, "http_requests_total", **labels)

    response = await client.post(
        "/items", content=too_big, headers={"Content-Type": "application/json"}
    )

    assert_error(response, 413, "request_too_large")
    after = sample((await client.get(metrics_url)).text, "http_requests_total", **labels)
    assert after - before == 1


# /docs works without internet access: its assets come from the service itself


async def test_docs_assets_are_served_by_the_service(client: httpx.AsyncClient) -> None:
    page = (await client.get(f"{ROOT}/docs")).text

    assert "cdn." not in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        assert f"{ASSETS_PATH}/{asset}" in page
        response = await client.get(f"{ROOT}{ASSETS_PATH}/{asset}")
        assert response.status_code == 200, asset
        assert len(response.content) > 1000, asset
    redoc = (await client.get(f"{ROOT}/redoc")).text
    assert f"{ASSETS_PATH}/redoc.standalone.js" in redoc
    assert "fonts.googleapis" not in redoc
    redirect = await client.get(f"{ROOT}/docs/oauth2-redirect")
    assert redirect.status_code == 200


async def test_docs_assets_from_the_cdn_when_asked() -> None:
    app = create_app(make_settings().model_copy(update={"DOCS_FROM_CDN": True}))

    async with client_from(app, "203.0.113.9") as client:
        page = (await client.get(f"{ROOT}/docs")).text
        assets = await client.get(f"{ROOT}{ASSETS_PATH}/swagger-ui.css")

    assert "https://cdn.jsdelivr.net/" in page
    assert assets.status_code == 404


def examples(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path} {status}", status, content["example"])
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5"))
        for content in [response.get("content", {}).get("application/json", {})]
        if "$ref" in content.get("schema", {})
        and content["schema"]["$ref"].endswith("/ErrorResponse")
    ]


async def test_each_error_example_matches_its_status(app: FastAPI) -> None:
    codes = {"400": "bad_request", "401": "auth_error", "403": "auth_error", "404": "not_found"}
    codes |= {"409": "conflict", "413": "request_too_large", "422": "validation_error"}
    codes |= {"412": "precondition_failed", "428": "precondition_required"}
    codes |= {"429": "rate_limited", "503": "service_unavailable"}

    found = examples(app.openapi())

    assert len(found) > 20
    for where, status, example in found:
        assert example["code"] == codes[status], where
    assert {example["detail"] for _, status, example in found if status == "401"} != {
        "Item not found"
    }


def test_the_readme_lists_every_error_code() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    errors = readme[readme.index("## Errors") :]
    codes = {HTTP_CODES[status] for status in (400, 401, 404, 405, 409, 413, 422, 503)}
    codes |= {error.code for error in AppError.__subclasses__()}
    codes |= {"cors_error", "db_integrity_error", "internal_error"}

    assert [code for code in sorted(codes) if f"`{code}`" not in errors] == []
