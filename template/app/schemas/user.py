import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from app.db.models import EMAIL_MAX_LENGTH

PASSWORD_MIN_LENGTH = 12
# argon2 has no 72-byte cut-off like bcrypt; the cap only keeps hashing time bounded.
PASSWORD_MAX_LENGTH = 128
_RULES = (
    (re.compile(r"[a-z]"), "a lower-case letter"),
    (re.compile(r"[A-Z]"), "an upper-case letter"),
    (re.compile(r"\d"), "a digit"),
    (re.compile(r"[^A-Za-z0-9\s]"), "a symbol"),
)


def _strong_password(value: str) -> str:
    if any(char.isspace() for char in value):
        raise ValueError("password must not contain spaces")
    missing = [name for pattern, name in _RULES if not pattern.search(value)]
    if missing:
        raise ValueError("password must contain " + ", ".join(missing))
    return value


# The same policy as one pattern, for the OpenAPI document only (the validator above gives the
# friendlier messages), so generated clients and property-based testers see the real rule.
# No `$`: Python's matches before a final newline. \x1c-\x1f and \x85 are spaces to Python only.
PASSWORD_PATTERN = (
    r"^(?![\s\S]*[\s\x1c-\x1f\x85])(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[^A-Za-z0-9\s])"
)

Email = Annotated[EmailStr, Field(max_length=EMAIL_MAX_LENGTH)]
NewPassword = Annotated[
    str,
    Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        json_schema_extra={"pattern": PASSWORD_PATTERN},
    ),
    AfterValidator(_strong_password),
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


class UserPage(BaseModel):
    items: list[UserPublic]
    total: int
    skip: int
    limit: int
