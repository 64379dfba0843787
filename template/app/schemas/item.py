from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from app.db.models import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH
from app.schemas.page import Page

# PostgreSQL text cannot hold NUL characters: refused here (422) on every database alike.
NO_NUL = r"^[^\x00]*$"
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX_LENGTH, pattern=NO_NUL)]
Description = Annotated[str | None, Field(max_length=DESCRIPTION_MAX_LENGTH, pattern=NO_NUL)]


class ItemCreate(BaseModel):
    # owner_id and id are never taken from the client.
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = None


class ItemUpdate(ItemCreate):
    """PUT replaces the item's editable fields."""


class ItemPatch(BaseModel):
    """PATCH changes only the fields it is sent (`model_dump(exclude_unset=True)`)."""

    model_config = ConfigDict(extra="forbid")

    title: Title | SkipJsonSchema[None] = None  # may be left out, never null
    description: Description = None

    @field_validator("title")
    @classmethod
    def title_is_not_null(cls, title: str | None) -> str:
        if title is None:
            raise ValueError("title cannot be null; leave it out to keep it")
        return title


class ItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str | None
    owner_id: int
    created_at: datetime
    updated_at: datetime


class ItemPage(Page[ItemPublic]):
    pass
