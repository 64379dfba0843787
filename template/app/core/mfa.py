"""Second-factor primitives: TOTP codes (RFC 6238, pyotp), their secrets encrypted at rest
(AES-256-GCM), recovery codes; and the settings of the second factor."""

import hashlib
import hmac
import secrets
import time
from base64 import b32encode, urlsafe_b64decode, urlsafe_b64encode

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, Field, SecretStr, field_validator

from app.core.security import derive_key

TOTP_DIGITS = 6
TOTP_PERIOD = 30
# Codes of the step before and after are accepted too (RFC 6238 5.2: clocks drift, users type).
TOTP_VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# 24 base32 characters: 120 random bits, above the 112 with which ASVS 5.0 (6.5.2) lets a
# lookup secret be stored under a plain (here keyed) hash instead of a password hash.
RECOVERY_CODE_LENGTH = 24
KEY_HEX_LENGTH = 64  # 32 bytes: AES-256


class MfaSettings(BaseModel):
    """A piece of `Settings` (app/core/config.py), which fills in the defaults that depend on
    ENVIRONMENT."""

    MFA_ENCRYPTION_KEY: SecretStr | None = Field(
        None,
        description="AES-256-GCM key under which TOTP secrets are stored: 64 hex characters "
        "(`openssl rand -hex 32`), distinct from the other secrets. Required in production, "
        "where SECRET_KEY can then be rotated without making every second factor unreadable. "
        "Unset in development and test: derived from SECRET_KEY (HKDF-SHA256).",
    )
    REQUIRE_ADMIN_MFA: bool | None = Field(
        None,
        description="Admins without TOTP get 403 `mfa_enrolment_required` on admin routes "
        "until they enrol. Unset: on when ENVIRONMENT=production, off otherwise.",
    )

    @field_validator("MFA_ENCRYPTION_KEY")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        key = value.get_secret_value()
        if len(key) != KEY_HEX_LENGTH or any(c not in "0123456789abcdefABCDEF" for c in key):
            raise ValueError("must be 64 hex characters; generate one with `openssl rand -hex 32`")
        return value


class SecondFactor:
    """TOTP secrets sealed for the database, codes checked, recovery codes made and hashed."""

    def __init__(self, key: bytes, issuer: str) -> None:
        self._aead = AESGCM(key)
        self._code_key = derive_key(key.hex(), b"recovery codes")
        self.issuer = issuer
        # Checked against when there is no secret, so an unknown challenge costs the same.
        self._dummy = pyotp.random_base32()

    @staticmethod
    def new_secret() -> str:
        return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends

    def uri(self, secret: str, account: str) -> str:
        """The otpauth:// URI an authenticator app reads from a QR code."""
        totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD)
        return totp.provisioning_uri(name=account, issuer_name=self.issuer)

    def seal(self, secret: str, user_id: int) -> str:
        """Encrypt a TOTP secret, bound to its user: a row copied to another user won't open."""
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), _associated(user_id))
        return urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, user_id: int) -> str | None:
        """The secret, or None when it does not open (another key, another user's row)."""
        raw = urlsafe_b64decode(sealed)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], _associated(user_id)).decode()
        except InvalidTag:
            return None

    def matching_step(self, secret: str | None, code: str, now: float | None = None) -> int | None:
        """The time step whose code `code` is, within the window; None if none is.

        Every step of the window is computed and compared in constant time, whether or not an
        earlier one matched, and with no secret a dummy one is used: the work is the same.
        """
        totp = pyotp.TOTP(secret or self._dummy, digits=TOTP_DIGITS, interval=TOTP_PERIOD)
        current = int((time.time() if now is None else now) // TOTP_PERIOD)
        found = None
        for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                found = step
        return found if secret is not None else None

    @staticmethod
    def new_recovery_codes() -> list[str]:
        """Ten codes such as `abcdef-ghijkl-mnopqr-stuvwx` (dashes and case do not matter)."""
        codes = []
        for _ in range(RECOVERY_CODE_COUNT):
            raw = b32encode(secrets.token_bytes(15)).decode().lower()  # 120 bits, 24 characters
            codes.append("-".join(raw[i : i + 6] for i in range(0, RECOVERY_CODE_LENGTH, 6)))
        return codes

    def hash_recovery_code(self, code: str) -> str:
        normalized = code.replace("-", "").replace(" ", "").lower()
        return hmac.new(self._code_key, normalized.encode(), hashlib.sha256).hexdigest()


def is_totp_code(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()


def _associated(user_id: int) -> bytes:
    return f"totp-secret:{user_id}".encode()
