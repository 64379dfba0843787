"""The password policy of NIST SP 800-63B-4 (3.1.1.2) and OWASP ASVS 5.0 (V6.2), and the
settings of the policy and of the hashing (app.core.security.PasswordHasher).

Length and a blocklist, no composition rules: passphrases with spaces and any Unicode are
welcome, a password that attackers try first is not.
"""

import math
import os
import re
import unicodedata
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from app.core.errors import WeakPassword

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 is the recommended minimum.
OWASP_ARGON2_MEMORY_KIB = 19456
OWASP_ARGON2_TIME_COST = 2
# NIST SP 800-63B-4 3.1.1.2: at least 15 characters when the password is the only factor.
NIST_MIN_PASSWORD_LENGTH = 15
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


class PasswordSettings(BaseModel):
    """A piece of `Settings` (app/core/config.py), which reads them and checks them together."""

    PASSWORD_MIN_LENGTH: int = Field(
        NIST_MIN_PASSWORD_LENGTH,
        ge=8,
        le=64,
        description="Shortest password accepted for a new password (NIST SP 800-63B-4: 15).",
    )

    PASSWORD_HASH_MEMORY_KIB: int = Field(
        OWASP_ARGON2_MEMORY_KIB, ge=8, description="argon2id memory cost in KiB."
    )
    PASSWORD_HASH_TIME_COST: int = Field(
        OWASP_ARGON2_TIME_COST, ge=1, description="argon2id iterations."
    )
    PASSWORD_HASH_PARALLELISM: int = Field(1, ge=1, le=16, description="argon2id lanes.")
    PASSWORD_HASH_CONCURRENCY: int = Field(
        default_factory=lambda: max(1, available_cpus() - 1),  # all workers': see Settings
        ge=1,
        description="Password hashes one worker computes at once; the rest wait without holding "
        "a thread or a connection. Defaults to the CPUs the service may use (the container's "
        "CPU quota included) minus one, divided among the WEB_CONCURRENCY workers; at least 1.",
    )


def available_cpus() -> int:
    """CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota (containers)."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere every CPU counts
    cpus = len(affinity(0)) if affinity else os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    return max(1, min(cpus, quota) if quota else cpus)


def cgroup_cpu_quota(path: str = "/sys/fs/cgroup/cpu.max") -> int | None:
    """`quota period` from cgroup v2 as whole CPUs (rounded up); None when unlimited."""
    try:
        with open(path, encoding="ascii") as file:
            fields = file.read().split()
    except OSError:
        return None
    if len(fields) != 2 or not all(field.isdigit() and int(field) for field in fields):
        return None  # "max 100000": no quota
    quota, period = (int(field) for field in fields)
    return max(1, math.ceil(quota / period))
