"""Throw-away databases on the local servers, and Redis db numbers.

Each database server is one entry of ``SERVERS``: its admin URL (the URLs of the throw-away
databases are derived from it) and the command that runs one SQL statement as its admin. A new
server (MariaDB: ``mysql://root@127.0.0.1:3306/mysql``, run with the ``mysql`` client) is one
more entry; SQLite needs none (a file in a directory of the caller's).
"""

from __future__ import annotations

import os
import subprocess
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REDIS_BASE_URL = os.environ.get("REDIS_BASE_URL", "redis://127.0.0.1:6379")


@dataclass(frozen=True)
class Server:
    admin_url: str
    admin_command: Callable[[str, str], list[str]]  # (admin URL, SQL) -> argv
    drop: str = "DROP DATABASE IF EXISTS {name}"
    # Run on each new database: they are throw-away, so a commit need not wait for the disk
    # (what a crash would lose is not under test; ~2.9 ms a commit here, against 0.5 without).
    tune: str | None = None

    def url(self, name: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def execute(self, sql: str, *, check: bool = True) -> None:
        argv = self.admin_command(self.admin_url, sql)
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if check and proc.returncode:
            raise RuntimeError(f"`{' '.join(argv)}` exited {proc.returncode}: {proc.stderr}")


SERVERS: dict[str, Server] = {
    "postgresql": Server(
        os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        lambda url, sql: ["psql", url, "-qc", sql],
        drop="DROP DATABASE IF EXISTS {name} WITH (FORCE)",
        tune="ALTER DATABASE {name} SET synchronous_commit TO off",
    ),
    "mysql": Server(
        os.environ.get("MYSQL_ADMIN_URL", "mysql://root@127.0.0.1:3306/mysql"),
        lambda url, sql: [*mysql_client(url), "-e", sql],
    ),
}


def mysql_client(url: str) -> list[str]:
    """The `mysql` command line for a mysql://user[:password]@host:port/db URL."""
    parts = urllib.parse.urlsplit(url)
    argv = ["mysql", "-u", parts.username or "root", "-h", parts.hostname or "127.0.0.1"]
    argv += ["-P", str(parts.port or 3306), parts.path.lstrip("/")]
    return argv + ([f"-p{parts.password}"] if parts.password else [])


@contextmanager
def throwaway_database(database: str, name: str, sqlite_dir: Path) -> Iterator[str]:
    """A new, empty database `name` on the `database` server; its URL; dropped afterwards.

    SQLite: a fresh ``<sqlite_dir>/<name>.db``, left behind for inspection.
    """
    if database == "sqlite":
        for stale in sqlite_dir.glob(f"{name}.db*"):
            stale.unlink()
        yield f"sqlite:///{sqlite_dir / name}.db"
        return
    server = SERVERS[database]
    server.execute(server.drop.format(name=name))  # a leftover of an interrupted run
    server.execute(f"CREATE DATABASE {name}")
    if server.tune:
        server.execute(server.tune.format(name=name))
    try:
        yield server.url(name)
    finally:
        server.execute(server.drop.format(name=name), check=False)


def redis_url(db: int) -> str:
    return f"{REDIS_BASE_URL}/{db}"


def flush_redis(url: str) -> None:
    """Empty one Redis db (never the whole server: other checkouts use other db numbers)."""
    subprocess.run(["redis-cli", "-u", url, "FLUSHDB"], capture_output=True, check=True)
