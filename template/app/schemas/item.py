from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.schemas.fields import Description, PatchTitle, Title
from app.schemas.page import Page


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

    title: PatchTitle = None
    description: Description = None


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
