"""OpenAPI declarations of the error responses a route can give, all in the standard shape.

Routes of a `DocumentedRoute` router declare what their signature implies: a body can be
undecodable, too large or invalid (400, 413, 422), any parameter invalid (422), a path can
name something that does not exist (404), and each dependency marked with `raises` adds its
statuses (401 from the current user, 503 from the session, 429 from a rate limit, 304, 412
and 428 from the conditions of app/api/conditional.py, ...) and the headers of a successful
answer (the ETag). A route lists by hand only what its own code raises, such as a 409.

Each status carries an example of its own, so `/docs` shows a 401 as a 401 (the schema's
field examples would otherwise stand for every status).
"""

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import params
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant, get_parameterless_sub_dependant
from fastapi.routing import APIRoute

from app.schemas.error import ErrorResponse

Call = TypeVar("Call", bound=Callable[..., Any])

# status: (description, example detail, example code)
_ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "Bad request, such as a body that is not JSON or cannot be decoded",
        "The request body is not valid JSON",
        "bad_request",
    ),
    401: (
        "Missing, invalid or expired credentials",
        "Could not validate credentials",
        "auth_error",
    ),
    403: ("Not allowed", "Admin privileges required", "auth_error"),
    404: ("Not found, or not yours", "Item not found", "not_found"),
    409: ("Conflicts with existing data", "A user with this email already exists", "conflict"),
    412: (
        "If-Match names none of the record's current versions: read it again, then retry",
        "Item has changed since the version If-Match names: read it again",
        "precondition_failed",
    ),
    413: ("Request body too large", "Request body too large", "request_too_large"),
    422: ("Request validation failed", "Request validation failed", "validation_error"),
    428: (
        "This service requires If-Match on writes (REQUIRE_IF_MATCH)",
        "Send If-Match with the ETag of the record you read",
        "precondition_required",
    ),
    429: ("Rate limit exceeded; see Retry-After", "Rate limit exceeded", "rate_limited"),
    503: (
        "A backing service is unavailable",
        "A backing service is unavailable, try again shortly",
        "service_unavailable",
    ),
}


ETAG_HEADER = {
    "ETag": {
        "description": "The record's entity tag: send it back in If-None-Match or If-Match",
        "schema": {"type": "string"},
    }
}
# Not an error, but a status a dependency implies all the same: no body, the ETag.
NOT_MODIFIED = {"description": "Your copy (If-None-Match) is current", "headers": ETAG_HEADER}


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {}
    for status_code in status_codes:
        if status_code == 304:
            responses[status_code] = NOT_MODIFIED
            continue
        description, detail, code = _ERRORS[status_code]
        example: dict[str, Any] = {"detail": detail, "code": code}
        if status_code == 422:
            example["errors"] = [
                {"loc": ["body", "email"], "msg": "Field required", "type": "missing"}
            ]
        response: dict[str, Any] = {
            "model": ErrorResponse,
            "description": description,
            "content": {"application/json": {"example": example}},
        }
        if status_code == 429:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds until the limit resets",
                    "schema": {"type": "integer"},
                }
            }
        responses[status_code] = response
    return responses


def with_description(
    responses: dict[int | str, dict[str, Any]], status_code: int, description: str
) -> dict[int | str, dict[str, Any]]:
    """A copy of `responses` in which `status_code` says more than the generic description."""
    return {**responses, status_code: {**responses[status_code], "description": description}}


_RAISES: dict[Callable[..., Any], tuple[int, ...]] = {}
_SUCCESS_HEADERS: dict[Callable[..., Any], dict[str, Any]] = {}


def raises(
    *status_codes: int, success_headers: dict[str, Any] | None = None
) -> Callable[[Call], Call]:
    """Mark a dependency: every route that depends on it may answer with `status_codes`, and
    sends `success_headers` with its successful answers (but a 204's)."""

    def mark(dependency: Call) -> Call:
        _RAISES[dependency] = status_codes
        if success_headers:
            _SUCCESS_HEADERS[dependency] = success_headers
        return dependency

    return mark


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _marked(dependant: Dependant, marks: dict[Callable[..., Any], Any]) -> Iterator[Any]:
    for node in _walk(dependant):
        # A scan, not a lookup: a dependency may be an unhashable callable object.
        for call, mark in marks.items():
            if call is node.call:
                yield mark


def derived_statuses(dependant: Dependant) -> set[int]:
    statuses = {status for codes in _marked(dependant, _RAISES) for status in codes}
    for node in _walk(dependant):
        if node.body_params:
            statuses |= {400, 413, 422}
        if node.path_params:
            statuses |= {404, 422}
        if node.query_params or node.header_params or node.cookie_params:
            statuses.add(422)
    return statuses


class DocumentedRoute(APIRoute):
    """An APIRoute whose error responses are derived from its signature and dependencies."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        dependencies: list[params.Depends] | None = None,
        responses: dict[int | str, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        dependant = get_dependant(path=path, call=endpoint)
        for depends in dependencies or ():
            sub = get_parameterless_sub_dependant(depends=depends, path=path)
            dependant.dependencies.append(sub)
        derived = error_responses(*sorted(derived_statuses(dependant)))
        status_code = kwargs.get("status_code") or 200
        headers: dict[str, Any] = {}
        for marked in _marked(dependant, _SUCCESS_HEADERS):
            headers |= marked
        if headers and status_code != 204:
            derived[status_code] = {"headers": headers}
        super().__init__(
            path,
            endpoint,
            dependencies=dependencies,
            responses={**derived, **(responses or {})},
            **kwargs,
        )
