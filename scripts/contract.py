"""Run schemathesis against a rendered, installed project: does its OpenAPI document tell the truth?

Used by the `contract` nox session, which renders a combination, installs it and passes its
directory here. This script migrates the database, starts `uvicorn app.main:app` on a free
loopback port, registers a user and logs in, then runs `schemathesis run` over /openapi.json
with the Authorization header and the four checks of SPEC section 2. Any finding fails the run.

    python -m scripts.contract PROJECT_DIR --database-url URL [--redis-url URL]
        [--max-examples N] [--seed N] [-- extra schemathesis arguments]

The database must exist (for PostgreSQL the session creates and drops a throw-away one);
`schemathesis` is taken from the directory of this interpreter, the project's tools from its
`.venv`. Exit status: schemathesis's (0 = nothing found), 2 when the service did not come up.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support import HOST, clean_env, free_port, request_json, running, uvicorn

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


def service_env(database_url: str, redis_url: str | None, admin: tuple[str, str]) -> dict[str, str]:
    """A test-mode service with cheap hashing and limits high enough not to answer only 429."""
    env = clean_env(
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
    admin = ("contract-admin@example.com", "Admin-" + secrets.token_hex(8) + "!A1")
    env = service_env(args.database_url, args.redis_url, admin)

    subprocess.run([venv_bin / "alembic", "upgrade", "head"], cwd=project, env=env, check=True)

    port = free_port()
    base = f"http://{HOST}:{port}"
    server_log = Path(tempfile.mkdtemp(prefix="contract-")) / "uvicorn.log"
    server = uvicorn(
        project / ".venv", "app.main:app", port, "--no-access-log", "--log-level", "warning"
    )
    try:
        with running(server, f"{base}/api/v1/health/ready", server_log, project, env):
            token = access_token(base, admin)
            return schemathesis_run(project, base, token, args, extra)
    except RuntimeError as exc:  # NotUp, or registering / logging in failed
        print(f"contract: {exc}", file=sys.stderr)
        return 2
    finally:
        errors = [
            line for line in server_log.read_text(errors="replace").splitlines()
            if "traceback" in line.lower() or '"level": "error"' in line.lower()
        ]  # fmt: skip
        if errors:
            print(f"contract: the server logged {len(errors)} error lines; log: {server_log}")
        else:
            server_log.unlink()


def schemathesis_run(
    project: Path, base: str, token: str, args: argparse.Namespace, extra: list[str]
) -> int:
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", f"{base}/openapi.json",
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


if __name__ == "__main__":
    sys.exit(main())
