from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, Field

from app.utils.pagination import Paged, PageParams

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of any list. Subclass it per resource (`class ItemPage(Page[ItemPublic])`) so
    the OpenAPI document names each page after its resource."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` for the next page; null on the last page."
    )
    total: int | None = Field(
        description="Rows in the whole list: with `include_total=true`, or `skip`; else null."
    )
    skip: int = Field(
        description="Deprecated with the `skip` parameter: the offset served, 0 on cursor pages.",
        json_schema_extra={"deprecated": True},
    )
    limit: int

    @classmethod
    def of(cls, found: Paged[Any], params: PageParams) -> Self:
        """The page of `found` (rows, read by attribute) that `params` asked for."""
        page = {
            "items": found.rows,
            "next_cursor": found.next_cursor,
            "total": found.total,
            "skip": params.skip or 0,
            "limit": params.limit,
        }
        return cls.model_validate(page, from_attributes=True)
