from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.user import AnyPassword, Email

# Refresh tokens are 43 characters. The bound keeps junk out of the hash, yet lets a
# mistaken access token through to its 401 (not a 422 that hints at the difference).
RefreshTokenStr = Field(min_length=1, max_length=2048)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: AnyPassword


class TokenForm(BaseModel):
    """OAuth2 password grant (RFC 6749 4.3) as sent by the Authorize button of /docs."""

    # A form cannot send null: absent means "password".
    grant_type: Literal["password"] = "password"
    username: Email
    password: AnyPassword


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = RefreshTokenStr


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
