"""Run schemathesis against a rendered, installed project: does its OpenAPI document tell the truth?

Used by the `contract` nox session, which renders a combination, installs it and passes its
directory here. This script migrates the database, starts `uvicorn app.main:app` on a free
loopback port, registers a user and logs in, then runs `schemathesis run` over /openapi.json
with the Authorization header and the four checks of SPEC section 2. Any finding fails the run.

    python scripts/contract.py PROJECT_DIR --database-url URL [--redis-url URL]
        [--max-examples N] [--seed N] [-- extra schemathesis arguments]

The database must exist (for PostgreSQL the session creates and drops a throw-away one);
`schemathesis` is taken from the directory of this interpreter, the project's tools from its
`.venv`. Exit status: schemathesis's (0 = nothing found), 2 when the service did not come up.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
HOST = "127.0.0.1"  # loopback only
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def service_env(database_url: str, redis_url: str | None, admin: tuple[str, str]) -> dict[str, str]:
    """A test-mode service with cheap hashing and limits high enough not to answer only 429."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not key.startswith("UV_")
    }
    env.update(
        ENVIRONMENT="test",
        SECRET_KEY=secrets.token_hex(20),  # 40 characters
        REFRESH_TOKEN_SECRET=secrets.token_hex(20),
        SQLALCHEMY_DATABASE_URI=database_url,
        ACCESS_TOKEN_EXPIRE_MINUTES="60",
        PASSWORD_HASH_MEMORY_KIB="64",
        PASSWORD_HASH_TIME_COST="1",
        AUTH_LOGIN_RATE_LIMIT="100000/minute",
        AUTH_REFRESH_RATE_LIMIT="100000/minute",
        AUTH_REGISTER_RATE_LIMIT="100000/minute",
        AUTH_PASSWORD_CHANGE_RATE_LIMIT="100000/minute",
        AUTH_ACCOUNT_LOGIN_RATE_LIMIT="100000/minute",
        LOG_LEVEL="WARNING",
        CORS_ORIGINS="[]",
        DB_CONNECT_TIMEOUT_SECONDS="5",
        FIRST_ADMIN_EMAIL=admin[0],
        FIRST_ADMIN_PASSWORD=admin[1],
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def request_json(url: str, body: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_until_up(
    base: str, server: subprocess.Popen[bytes], path: str = "/api/v1/health/ready"
) -> None:
    """Poll `path` until it answers 200; fail early when the server process exits."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited with status {server.returncode}")
        try:
            status, _ = request_json(f"{base}{path}")
            if status == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the service did not become ready within {STARTUP_TIMEOUT:.0f}s")


def access_token(base: str, admin: tuple[str, str]) -> str:
    """Register a user (the public door works), then log in as the admin.

    The admin's token reaches every route, GET /users included (403 for anyone else).
    """
    email = f"contract-{secrets.token_hex(4)}@example.com"
    password = "Contract-" + secrets.token_hex(8) + "!A1"
    status, body = request_json(f"{base}/api/v1/users", {"email": email, "password": password})
    if status != 201:
        raise RuntimeError(f"registering {email} answered {status}: {body}")
    status, body = request_json(f"{base}/api/v1/auth/login", {"email": email, "password": password})
    if status != 200 or not isinstance(body.get("access_token"), str):
        raise RuntimeError(f"logging in as {email} answered {status}: {body}")
    email, password = admin
    status, body = request_json(f"{base}/api/v1/auth/login", {"email": email, "password": password})
    if status != 200 or not isinstance(body.get("access_token"), str):
        raise RuntimeError(f"logging in as the admin answered {status}: {body}")
    return str(body["access_token"])


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a rendered project, installed in .venv")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url")
    parser.add_argument("--max-examples", type=int, default=40)
    parser.add_argument("--seed", type=int, help="schemathesis seed, for reproducing a run")
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []  # more schemathesis arguments, after --
    if "--" in argv:
        argv, extra = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    args = parser.parse_args(argv)

    project = args.project.resolve()
    venv_bin = project / ".venv" / "bin"
    schemathesis = Path(sys.executable).parent / "schemathesis"
    admin = ("contract-admin@example.com", "Admin-" + secrets.token_hex(8) + "!A1")
    env = service_env(args.database_url, args.redis_url, admin)

    subprocess.run([venv_bin / "alembic", "upgrade", "head"], cwd=project, env=env, check=True)

    port = free_port()
    base = f"http://{HOST}:{port}"
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open for the server's lifetime
        prefix="contract-uvicorn-", suffix=".log", delete=False
    )
    server = subprocess.Popen(
        [venv_bin / "uvicorn", "app.main:app", "--host", HOST, "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, stopped as a whole
    )  # fmt: skip
    try:
        try:
            wait_until_up(base, server)
            token = access_token(base, admin)
        except RuntimeError as exc:
            print(f"contract: {exc}", file=sys.stderr)
            return 2
        command = [
            str(schemathesis), "run", f"{base}/openapi.json",
            "--checks", ",".join(CHECKS),
            "--header", f"Authorization: Bearer {token}",
            "--max-examples", str(args.max_examples),
            "--generation-database", "none",
            "--no-color",
            *(["--seed", str(args.seed)] if args.seed is not None else []),
            *extra,
        ]  # fmt: skip
        print("contract: schemathesis run", base + "/openapi.json", flush=True)
        started = time.monotonic()
        result = subprocess.run(command, cwd=project)
        print(f"contract: schemathesis finished in {time.monotonic() - started:.1f}s "
              f"with status {result.returncode}", flush=True)  # fmt: skip
        return result.returncode
    finally:
        stop(server)
        log.close()
        server_log = Path(log.name)
        errors = [
            line for line in server_log.read_text(errors="replace").splitlines()
            if "traceback" in line.lower() or '"level": "error"' in line.lower()
        ]  # fmt: skip
        if errors:
            print(f"contract: the server logged {len(errors)} error lines; log: {server_log}")
        else:
            server_log.unlink()


if __name__ == "__main__":
    sys.exit(main())
