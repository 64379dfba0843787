"""The option matrix: one source of truth for pytest, nox and the CI matrix.

Two sets are derived from it:

* ``WIDE`` - every functional combination (database x use_async x rate limiting x docker x ci),
  with ``license`` and ``python_version`` rotated so that every value of theirs appears,
  ``kubernetes`` (asked only with docker) on for half of the docker ones, with and without ci,
  and ``email`` on for half of them: each core combination renders with and without it;
  ``opentelemetry`` and ``sentry`` on for half of them too, each with and without the other;
  ``task_queue=redis`` for half, with and without email.
  Each is rendered and checked cheaply (no install); tests/test_k8s.py builds and validates the
  manifests of each with kubernetes on.
* ``DEEP`` - database x use_async x {no rate limiting, memory, redis}: each is installed and run
  through every gate of the rendered project against real PostgreSQL, MariaDB / Redis. ``email``
  is on in two of them (``EMAIL_DEEP``), an async and a sync one on different databases, so the
  deep set covers it both ways without growing; ``opentelemetry`` (``OTEL_DEEP``) and
  ``sentry`` (``SENTRY_DEEP``) likewise, and ``task_queue=redis`` (``QUEUE_DEEP``, both
  flavours, replacing none).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

OPTIONS: dict[str, tuple[Any, ...]] = {
    "database": ("sqlite", "postgresql", "mysql"),
    "use_async": (True, False),
    "rate_limiting": (True, False),
    "rate_limit_storage": ("memory", "redis"),
    "docker": (True, False),
    "kubernetes": (True, False),
    "ci": (True, False),
    "email": (True, False),
    "task_queue": ("none", "redis"),
    "opentelemetry": (True, False),
    "sentry": (True, False),
    "license": ("MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary"),
    "python_version": ("3.11", "3.12", "3.13", "3.14"),
}

DEFAULTS: dict[str, Any] = {
    "project_name": "My Service",
    "project_slug": "my-service",
    "database": "sqlite",
    "use_async": True,
    "rate_limiting": True,
    "rate_limit_storage": "memory",
    "docker": True,
    "kubernetes": False,
    "ci": True,
    "email": False,
    "task_queue": "none",
    "opentelemetry": False,
    "sentry": False,
    "license": "MIT",
    "python_version": "3.12",
}

# (rate_limiting, rate_limit_storage) pairs that make sense: storage is asked only with limits on.
RATE_LIMIT_MODES: dict[str, dict[str, Any]] = {
    "nolimit": {"rate_limiting": False},
    "memory": {"rate_limiting": True, "rate_limit_storage": "memory"},
    "redis": {"rate_limiting": True, "rate_limit_storage": "redis"},
}


@dataclass(frozen=True)
class Combination:
    id: str
    data: dict[str, Any] = field(hash=False)

    @property
    def database(self) -> str:
        return str(self.data["database"])

    @property
    def uses_redis(self) -> bool:
        """The rate limiter's counters or the job queue live in Redis."""
        limiter = bool(self.data.get("rate_limiting")) and self.data.get("rate_limit_storage")
        return limiter == "redis" or self.data.get("task_queue") == "redis"


def _core() -> list[tuple[str, dict[str, Any]]]:
    core = []
    for database, use_async, (mode, limits) in itertools.product(
        OPTIONS["database"], OPTIONS["use_async"], RATE_LIMIT_MODES.items()
    ):
        flavour = "async" if use_async else "sync"
        core.append(
            (
                f"{database}-{flavour}-{mode}",
                {"database": database, "use_async": use_async, **limits},
            )
        )
    return core


# Core combinations that run with email on, their ids suffixed "-email"; likewise tracing
# ("-otel": both flavours, with Redis and with mail) and error reports ("-sentry": both
# flavours, with and without tracing). Ids that sessions name (noxfile.py) keep theirs.
EMAIL_DEEP = ("sqlite-async-redis", "postgresql-sync-memory")
OTEL_DEEP = ("sqlite-async-redis", "postgresql-sync-memory", "sqlite-sync-redis")
SENTRY_DEEP = ("postgresql-sync-memory", "postgresql-async-nolimit")
# The job queue on Redis (task_queue=redis, "-rq"): both flavours, with mail (its tests need it),
# one of them without Redis rate limits (the queue alone brings REDIS_URL).
QUEUE_DEEP = ("sqlite-async-redis", "postgresql-sync-memory")


def deep() -> list[Combination]:
    """Installed and run through every gate; docker and ci on so their files are linted too."""
    combos = []
    for cid, data in _core():
        email, otel, sentry = cid in EMAIL_DEEP, cid in OTEL_DEEP, cid in SENTRY_DEEP
        extra = {"docker": True, "ci": True, "email": email}
        queue = "redis" if cid in QUEUE_DEEP else "none"
        extra |= {"opentelemetry": otel, "sentry": sentry, "task_queue": queue}
        suffix = ("-email" if email else "") + ("-otel" if otel else "")
        suffix += ("-sentry" if sentry else "") + ("-rq" if queue == "redis" else "")
        combos.append(Combination(cid + suffix, {**data, **extra}))
    return combos


def wide() -> list[Combination]:
    """Rendered and checked without installing: every functional combination."""
    combos = []
    licenses = itertools.cycle(OPTIONS["license"])
    versions = itertools.cycle(OPTIONS["python_version"])
    for index, ((cid, data), docker, ci) in enumerate(
        itertools.product(_core(), (True, False), (True, False))
    ):
        # kubernetes is asked only with docker: on for half of those, both ci values among them
        kubernetes = docker and (index // 4 + ci) % 2 == 0
        # email on for the 2nd and 3rd of each core combination's four: both ways each, with
        # and without docker, ci and kubernetes
        email = index % 4 in (1, 2)
        suffix = ("" if docker else "-nodocker") + ("-k8s" if kubernetes else "")
        suffix += ("" if ci else "-noci") + ("-email" if email else "")
        extra = {"docker": docker, "kubernetes": kubernetes, "ci": ci, "license": next(licenses)}
        extra["email"] = email
        # tracing and error reports rotate over the core combinations independently of email:
        # on for the 1st and 2nd, and the 2nd and 4th, of each four
        extra["opentelemetry"] = index % 4 in (0, 1)
        extra["sentry"] = index % 4 in (1, 3)
        suffix += "-otel" if extra["opentelemetry"] else ""
        suffix += "-sentry" if extra["sentry"] else ""
        # the job queue on Redis for the 3rd and 4th of each four: with and without mail
        extra["task_queue"] = "redis" if index % 4 in (2, 3) else "none"
        suffix += "-rq" if extra["task_queue"] == "redis" else ""
        extra["python_version"] = next(versions)
        combos.append(Combination(cid + suffix, {**data, **extra}))
    return combos


DEEP = deep()
WIDE = wide()
DEEP_IDS = [c.id for c in DEEP]
