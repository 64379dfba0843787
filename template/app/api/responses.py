"""OpenAPI declarations of the error responses a route can give, all in the standard shape."""

from typing import Any

from app.schemas.error import ErrorResponse

_DESCRIPTIONS = {
    400: "Bad request, such as a body that cannot be decoded",
    401: "Missing, invalid or expired credentials",
    403: "Not allowed",
    404: "Not found, or not yours",
    409: "Conflicts with existing data",
    413: "Request body too large",
    422: "Request validation failed",
    429: "Rate limit exceeded; see Retry-After",
    503: "A backing service is unavailable",
}


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {}
    for status_code in status_codes:
        response: dict[str, Any] = {
            "model": ErrorResponse,
            "description": _DESCRIPTIONS[status_code],
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
