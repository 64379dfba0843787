"""OpenAPI declarations of the error responses a route can give, all in the standard shape.

Each status carries an example of its own, so `/docs` shows a 401 as a 401 (the schema's
field examples would otherwise stand for every status).
"""

from typing import Any

from app.schemas.error import ErrorResponse

# status: (description, example detail, example code)
_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("Bad request, such as a body that cannot be decoded", "Invalid request", "bad_request"),
    401: (
        "Missing, invalid or expired credentials",
        "Could not validate credentials",
        "auth_error",
    ),
    403: ("Not allowed", "Admin privileges required", "auth_error"),
    404: ("Not found, or not yours", "Item not found", "not_found"),
    409: ("Conflicts with existing data", "A user with this email already exists", "conflict"),
    413: ("Request body too large", "Request body too large", "request_too_large"),
    422: ("Request validation failed", "Request validation failed", "validation_error"),
    429: ("Rate limit exceeded; see Retry-After", "Rate limit exceeded", "rate_limited"),
    503: (
        "A backing service is unavailable",
        "A backing service is unavailable, try again shortly",
        "service_unavailable",
    ),
}


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {}
    for status_code in status_codes:
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
