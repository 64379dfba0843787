"""Pure ASGI middleware: a few attribute lookups per request, no BaseHTTPMiddleware copies.

ObservabilityMiddleware does request ids, timing, metrics and the access log in one layer, and
answers HEAD like GET without the body; BodySizeLimitMiddleware refuses bodies over the
configured size with 413; CORSMiddleware is Starlette's, with its refusals in the standard
error shape.
"""

import logging
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware import cors
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import (
    RequestTooLarge,
    StartupError,
    error_response,
    internal_error_response,
)
from app.core.logging import request_id_var
from app.core.metrics import Metrics

access_logger = logging.getLogger("app.access")
error_logger = logging.getLogger("app.error")
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SAFE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return os.urandom(16).hex()  # as random as uuid4().hex, at a quarter of the cost


class ObservabilityMiddleware:
    """Request id, timing headers, metrics and one JSON access-log line per request.

    Requests to `quiet_routes` (probes and scrapes, which would otherwise be most of the log)
    are logged at DEBUG instead of INFO; they are counted in the metrics like any other.
    Answers of `untimed_endpoints` (the routes that take a password or a token) carry no
    X-Process-Time-Ms: a timing oracle for whether an account exists.

    HEAD is answered as GET without the body (RFC 9110 section 9.3.2), for every GET route:
    uptime checkers and load balancers probe with HEAD. Done here rather than in a layer of
    its own, which would cost every request an extra hop.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        quiet_routes: frozenset[str] = frozenset(),
        untimed_endpoints: frozenset[Callable[..., Any]] = frozenset(),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.quiet_routes = quiet_routes
        self.untimed_endpoints = untimed_endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                send = _brief_startup_failure(send)
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        status = 500
        started = False
        head = scope["method"] == "HEAD"
        # HEAD is routed as GET in a copy: the server reads its own scope while it sends the
        # answer (uvicorn sends no body for HEAD, and counts a GET's body against
        # Content-Length). The router leaves the matched route in the scope it is given.
        routed = dict(scope, method="GET") if head else scope

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                if status == 204:  # no content, so no content type (RFC 9110 section 15.3.5)
                    headers = [header for header in headers if header[0] != b"content-type"]
                headers.append((b"x-request-id", request_id.encode()))
                if routed.get("endpoint") not in self.untimed_endpoints:
                    elapsed_ms = (time.perf_counter() - start) * 1000
                    headers.append((b"x-process-time-ms", f"{elapsed_ms:.2f}".encode()))
                message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        metrics = self.metrics
        metrics.in_flight_count += 1
        try:
            await self.app(routed, receive, send_with_headers)
        except Exception:
            error_logger.exception("unhandled error", extra=_request_fields(scope))
            if not started:
                await internal_error_response()(routed, receive, send_with_headers)
        finally:
            metrics.in_flight_count -= 1
            elapsed = time.perf_counter() - start
            route = _route_template(routed)
            metrics.observe(scope["method"], route, status, elapsed)
            level = logging.DEBUG if route in self.quiet_routes else logging.INFO
            if access_logger.isEnabledFor(level):  # the fields are built only when logged
                access_logger.log(
                    level,
                    "request",
                    extra={
                        **_request_fields(scope),
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)


def _brief_startup_failure(send: Send) -> Send:
    """A StartupError is reported by its message, one line, instead of Starlette's traceback."""

    async def send_brief(message: Message) -> None:
        if message["type"] == "lifespan.startup.failed":
            error = sys.exc_info()[1]  # Starlette reports the failure while handling it
            if isinstance(error, StartupError):
                message = {**message, "message": str(error)}
        await send(message)

    return send_brief


def _request_fields(scope: Scope) -> dict[str, Any]:
    client = scope.get("client")
    return {
        "method": scope["method"],
        "path": scope["path"],  # never the query string: it may carry secrets
        "client": client[0] if client else None,
    }


def _route_template(scope: Scope) -> str:
    """The matched route's path template, e.g. /api/v1/items/{item_id}: a bounded label.

    FastAPI may report the template without the prefixes of the routers that include it, so
    the real path supplies the leading segments and the template the rest.
    """
    template: str | None = getattr(scope.get("route"), "path", None)
    if template is None:
        return "unmatched"
    path: str = scope["path"]
    if "{" not in template:
        return path  # a static route: the path is its own template
    return path.rsplit("/", template.count("/"))[0] + template


async def _refuse_body() -> Message:
    raise RequestTooLarge


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    # Refused when the route reads the body, not here: the route is matched
                    # first, so the 413 is counted under it rather than as "unmatched".
                    await self.app(scope, _refuse_body, send)
                    return
                break
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLarge
            return message

        await self.app(scope, limited_receive, send)


class CORSMiddleware(cors.CORSMiddleware):
    """Starlette's CORS middleware, with refused preflights in the standard error shape.

    Requests without an Origin header (most of them: probes, servers, curl) skip its header
    parsing and only get the `Vary: Origin` that keeps shared caches honest.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(name == b"origin" for name, _ in scope["headers"]):
            await super().__call__(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"vary", b"Origin")]
            await send(message)

        await self.app(scope, receive, send_with_vary)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-length", "content-type")
        }
        detail = bytes(response.body).decode()  # e.g. "Disallowed CORS origin"
        return error_response(response.status_code, detail, "cors_error", headers=headers)
