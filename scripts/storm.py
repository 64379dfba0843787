"""The scarce login storm of SPEC section 4 against a running rendered service.

One uvicorn worker with one pooled connection (``DB_POOL_SIZE=1 DB_MAX_OVERFLOW=0``), slow
hashing (``PASSWORD_HASH_TIME_COST=12``) one at a time (``PASSWORD_HASH_CONCURRENCY=1``): twelve
clients log in back to back while one client calls ``GET /api/v1/users/me`` every 20 ms.
Verdict: no 5xx answer, and every ``/users/me`` under 1 s. The ``storm`` nox session runs it:

    nox -s storm -- database=postgresql use_async=false

Prints a markdown table (tabulate); exit status 0 when the verdict holds, 1 when not, 2 when it
could not run. The bench user and log are bench's; everything else tests.support's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tabulate import tabulate

from scripts import bench
from tests import support

CLIENTS = 12
SCARCE = {
    "DB_POOL_SIZE": "1",
    "DB_MAX_OVERFLOW": "0",
    "PASSWORD_HASH_TIME_COST": "12",
    "PASSWORD_HASH_CONCURRENCY": "1",
}


def storm(port: int, token: str, seconds: float) -> dict[str, Any]:
    done = threading.Event()
    logins: list[tuple[int, float]] = []
    others: list[tuple[int, float]] = []

    def timed(conn: http.client.HTTPConnection, *request: Any, **kwargs: Any) -> tuple[int, float]:
        start = time.perf_counter()
        status, _ = support.request_on(conn, *request, **kwargs)
        return status, time.perf_counter() - start

    def login_loop() -> None:
        conn = support.connect(port, timeout=60)
        while not done.is_set():
            logins.append(timed(conn, "POST", "/api/v1/auth/login", bench.LOGIN_BODY))
        conn.close()

    threads = [threading.Thread(target=login_loop, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(1)  # every client is in the queue
    conn = support.connect(port, timeout=60)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        others.append(timed(conn, "GET", "/api/v1/users/me", token=token))
        time.sleep(0.02)
    conn.close()
    done.set()
    for thread in threads:
        thread.join(timeout=120)
    other_seconds = [elapsed for _, elapsed in others]
    return {
        "logins": len(logins),
        "login_statuses": sorted({status for status, _ in logins}),
        "login_p50_ms": statistics.median(e for _, e in logins) * 1000 if logins else None,
        "other_requests": len(others),
        "other_statuses": sorted({status for status, _ in others}),
        "other_p50_ms": statistics.median(other_seconds) * 1000,
        "other_max_ms": max(other_seconds) * 1000,
        "server_errors": sum(status >= 500 for status, _ in logins + others),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answers", nargs="*", help="copier answers as key=value")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--python", default="3.11")
    parser.add_argument("--vcs-ref", default="HEAD", help="template commit to render")
    args = parser.parse_args(argv)
    answers = support.parse_answers(args.answers)
    combo = support.combination_id(answers)
    workdir = args.workdir / combo
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    dest, venv = workdir / "project", workdir / "project" / ".venv"
    bench.log(f"rendering and installing {combo}")
    support.render(answers, dest, args.vcs_ref)
    uv_env = support.clean_env(UV_PROJECT_ENVIRONMENT=str(venv))
    support.run(["uv", "sync", "--python", args.python], cwd=dest, env=uv_env, timeout=900)
    database = answers.get("database", "sqlite")
    with support.throwaway_database(database, f"storm_{os.getpid()}", workdir) as db_url:
        env = support.clean_env(
            ENVIRONMENT="development",
            SECRET_KEY=secrets.token_hex(20),
            REFRESH_TOKEN_SECRET=secrets.token_hex(20),
            SQLALCHEMY_DATABASE_URI=db_url,
            AUTH_LOGIN_RATE_LIMIT="100000/minute",  # the storm is one client address
            REDIS_URL=support.redis_url(bench.REDIS_DB),
            **SCARCE,
        )
        support.run([venv / "bin" / "alembic", "upgrade", "head"], cwd=dest, env=env)
        port = support.free_port()
        server = support.uvicorn(venv, "app.main:app", port, "--workers", "1", "--no-access-log")
        live = support.url(port, "/api/v1/health/live")
        with support.running(server, live, workdir / "service.log", dest, env):
            support.request_json(support.url(port, "/api/v1/users"), json.loads(bench.LOGIN_BODY))
            token = bench.login(support.connect(port))
            result = storm(port, token, args.seconds)
    ok = result["server_errors"] == 0 and result["other_max_ms"] < 1000
    scarce = " ".join(f"{key}={value}" for key, value in SCARCE.items())
    rows = [
        [key, f"{value:.1f}" if isinstance(value, float) else value]
        for key, value in result.items()
    ]
    headers = [f"{combo}: {CLIENTS} clients logging in, {scarce}", ""]
    print("\n" + tabulate(rows, headers, tablefmt="github", disable_numparse=True))
    print(f"\nverdict: {'PASS' if ok else 'FAIL'} (no 5xx, every other request under 1 s)")
    (workdir / "storm.json").write_text(json.dumps({"answers": answers, **result}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:  # a command, server or database that failed
        print(f"storm: {exc}", file=sys.stderr)
        sys.exit(2)
