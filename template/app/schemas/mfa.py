from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.user import AnyPassword

# A TOTP code (6 digits) or a recovery code (24 characters, dashes and spaces allowed).
Code = Field(min_length=6, max_length=40)


class TotpSetup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: AnyPassword


class TotpEnrolment(BaseModel):
    """Shown once: put the secret in an authenticator app (the URI as a QR code), then
    confirm a code of it."""

    secret: str
    otpauth_uri: str


class TotpConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Code


class PasswordAndCode(BaseModel):
    """What turning TOTP off or replacing the recovery codes asks for: both factors."""

    model_config = ConfigDict(extra="forbid")

    password: AnyPassword
    code: str = Code


class RecoveryCodes(BaseModel):
    """Shown once; each signs in once in place of a TOTP code. Only their hashes are kept."""

    recovery_codes: list[str]


class MfaChallengeResponse(BaseModel):
    """The password was right; send a code with this token to POST /auth/login/mfa."""

    mfa_required: Literal[True] = True
    mfa_token: str


class MfaLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mfa_token: str = Field(min_length=1, max_length=128)
    code: str = Code
