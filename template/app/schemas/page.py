from collections.abc import Sequence
from typing import Generic, Self, TypeVar

from pydantic import BaseModel, Field

from app.db.models import MAX_ID

T = TypeVar("T")


class PageParams(BaseModel):
    skip: int = Field(0, ge=0, le=MAX_ID)
    limit: int = Field(20, ge=1, le=100)


class Page(BaseModel, Generic[T]):
    """One page of any list. Subclass it per resource (`class ItemPage(Page[ItemPublic])`) so
    the OpenAPI document names each page after its resource."""

    items: list[T]
    total: int
    skip: int
    limit: int

    @classmethod
    def of(cls, rows: Sequence[object], total: int, params: PageParams) -> Self:
        """The page of `rows` (ORM objects are read by attribute) that `params` asked for."""
        page = {"items": rows, "total": total, "skip": params.skip, "limit": params.limit}
        return cls.model_validate(page, from_attributes=True)
