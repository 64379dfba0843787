"""Field types shared by the wire formats of every resource."""

from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic.json_schema import SkipJsonSchema

from app.db.models import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH

# PostgreSQL text cannot hold NUL characters: refused here (422) on every database alike.
NO_NUL = r"^[^\x00]*$"
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX_LENGTH, pattern=NO_NUL)]
Description = Annotated[str | None, Field(max_length=DESCRIPTION_MAX_LENGTH, pattern=NO_NUL)]


def _not_null(value: str | None) -> str:
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


# In a PATCH body: a title may be left out (default None, never validated), never set to null.
PatchTitle = Annotated[Title | SkipJsonSchema[None], AfterValidator(_not_null)]
