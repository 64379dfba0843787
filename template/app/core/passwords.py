"""The password policy of NIST SP 800-63B-4 (3.1.1.2) and OWASP ASVS 5.0 (V6.2).

Length and a blocklist, no composition rules: passphrases with spaces and any Unicode are
welcome, a password that attackers try first is not.
"""

import re
import unicodedata
from functools import cache
from pathlib import Path

from app.core.errors import WeakPassword

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")
# argon2 has no 72-byte cut-off like bcrypt; the cap only keeps hashing time bounded.
PASSWORD_MAX_LENGTH = 128
# Shorter local parts ("jo@...") would refuse far too many good passwords.
MIN_LOCAL_PART_LENGTH = 3
_REPEATED = re.compile(r"(.+?)\1+", re.DOTALL)


def normalize(password: str) -> str:
    """NFKC, so one passphrase typed on different keyboards or systems is one password."""
    return unicodedata.normalize("NFKC", password)


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


class PasswordPolicy:
    def __init__(self, min_length: int) -> None:
        self.min_length = min_length
        self._common = common_passwords()

    def check(self, password: str, email: str, field: str = "password") -> None:
        """Raise WeakPassword (422) naming `field` and the rule a new password breaks."""
        rule = self.broken_rule(password, email)
        if rule is not None:
            raise WeakPassword(field, rule)

    def broken_rule(self, password: str, email: str) -> str | None:
        password = normalize(password)
        folded = password.casefold()
        local_part = email.partition("@")[0].casefold()
        if len(password) < self.min_length:
            return f"must be at least {self.min_length} characters"
        if folded in self._common:
            return "is a commonly used password; choose another"
        if _REPEATED.fullmatch(folded):
            return "must not be one short sequence repeated"
        if len(local_part) >= MIN_LOCAL_PART_LENGTH and local_part in folded:
            return "must not contain the name of your e-mail address"
        return None
