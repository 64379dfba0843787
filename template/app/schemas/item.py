from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.db.models import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH

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


class ItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str | None
    owner_id: int
    created_at: datetime
    updated_at: datetime


class ItemPage(BaseModel):
    items: list[ItemPublic]
    total: int
    skip: int
    limit: int
