from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.core.passwords import PASSWORD_MAX_LENGTH
from app.db.models import EMAIL_MAX_LENGTH
from app.schemas.page import Page

Email = Annotated[EmailStr, Field(max_length=EMAIL_MAX_LENGTH)]
# The policy (length from PASSWORD_MIN_LENGTH, the blocklist, not the e-mail's name) is
# checked by the services, which know the settings and the address: 422 naming the rule.
NewPassword = Annotated[
    str,
    Field(
        min_length=1,
        max_length=PASSWORD_MAX_LENGTH,
        description="Any characters, spaces and Unicode included; at least PASSWORD_MIN_LENGTH "
        "(default 15), not a common password, not containing the e-mail's name.",
    ),
]
# Login-time passwords are only bounded, never re-validated against today's policy.
AnyPassword = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: NewPassword


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: AnyPassword
    new_password: NewPassword


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    is_active: bool
    is_admin: bool
    created_at: datetime


class UserPage(Page[UserPublic]):
    pass
