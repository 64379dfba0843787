from typing import Any

from pydantic import BaseModel, Field


class ErrorResponse(BaseModel):
    """The body of every error response."""

    detail: str = Field(examples=["Item not found"])
    code: str = Field(examples=["not_found"])
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Field-level problems, for validation errors."
    )
