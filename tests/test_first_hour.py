"""A newcomer's first hour, as the rendered README tells it, on a rendered default project.

Slow (a virtual environment is installed from the package index), so one test walks the path:
README's "Without uv" install (`python -m pip install -U pip`, then `pip install -e . --group
dev`), `cp .env.example .env` filled with real values, a shell that exports settings of its
own, and the project's test suite, which must not care about either.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import ROOT, Renders, free_port, request_json, start, stop

# Settings a developer might have in .env or in their shell; each would break a test that read it.
DEVELOPER_SETTINGS = {
    "ENVIRONMENT": "development",
    "LOG_LEVEL": "DEBUG",
    "MIGRATE_ON_STARTUP": "true",
    "AUTH_LOGIN_RATE_LIMIT": "1000/minute",
    "CORS_ORIGINS": '["http://localhost:3000"]',
    "MAX_REQUEST_BODY_BYTES": "2048",
    "ACCESS_TOKEN_EXPIRE_MINUTES": "1",
}


def readme_commands(readme: str, section_start: str) -> list[str]:
    """The commands of the first ```bash block after `section_start`."""
    after = readme[readme.index(section_start) :]
    block = re.search(r"```bash\n(.*?)```", after, re.S)
    assert block, section_start
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def fill_env_file(project: Path) -> None:
    """`cp .env.example .env`, then real values where the example has placeholders."""
    text = (project / ".env.example").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^SECRET_KEY=.*$", f"SECRET_KEY={secrets.token_hex(32)}", text)
    text = re.sub(
        r"(?m)^REFRESH_TOKEN_SECRET=.*$", f"REFRESH_TOKEN_SECRET={secrets.token_hex(32)}", text
    )
    text += "".join(f"{name}={value}\n" for name, value in DEVELOPER_SETTINGS.items())
    text += "FIRST_ADMIN_EMAIL=me@example.com\nFIRST_ADMIN_PASSWORD=My-own-admin-password-1\n"
    (project / ".env").write_text(text, encoding="utf-8")


def own_copy(render: Path, dest: Path) -> Path:
    """A test's own copy of a shared render: what it writes (`.env`, an install, the suite's
    `.hypothesis/`) must not reach the render other tests share and compare
    (test_defaults_render_the_same_as_explicit_default_answers)."""
    shutil.copytree(render, dest, ignore=shutil.ignore_patterns(".venv", ".env", "*.db"))
    return dest


@pytest.mark.slow
def test_readme_pip_install_and_a_real_env_file_leave_the_suite_green(
    render: Renders, tmp_path: Path
) -> None:
    project = own_copy(render(), tmp_path / "project")
    readme = (project / "README.md").read_text(encoding="utf-8")
    commands = readme_commands(readme, "Without uv")
    assert commands == [
        "python -m venv .venv && . .venv/bin/activate",
        "python -m pip install -U pip",
        "pip install -e . --group dev",
        "uvicorn app.main:app --reload",
    ]
    fill_env_file(project)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    caller = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH") and not key.startswith(("UV_", "PIP_"))
    }
    caller |= DEVELOPER_SETTINGS | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    def run(*args: str) -> None:
        result = subprocess.run(
            [python, *args], cwd=project, env=caller, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, " ".join(args) + "\n" + result.stdout + result.stderr

    run("-m", "pip", "install", "--quiet", "-U", "pip")
    run("-m", "pip", "install", "--quiet", "-e", ".", "--group", "dev")
    run("-m", "pytest", "-q", "-p", "no:cacheprovider")  # README: the one test command


def wait_for(condition: Callable[[], bool], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s:\n{log.read_text()}"
        time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv")
def test_the_readme_dev_server_restarts_once_a_bad_env_file_is_fixed(
    render: Renders, tmp_path: Path
) -> None:
    """`fastapi dev` watches only .py files; the README's uvicorn command watches `.env` too:
    a service that refused a placeholder SECRET_KEY starts as soon as `.env` is fixed."""
    readme = (render() / "README.md").read_text(encoding="utf-8")
    command = "uv run uvicorn app.main:app --reload --reload-include .env"
    assert f"```bash\n{command}\n```" in readme
    assert "`fastapi dev` watches only Python files" in readme
    project = own_copy(render(), tmp_path / "service")
    outer = ("VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON")
    uv_env = {key: value for key, value in os.environ.items() if key not in outer}
    uv_env["UV_PYTHON_DOWNLOADS"] = "never"
    subprocess.run(
        ["uv", "sync", "--quiet", "--no-dev", "--python", sys.executable],
        cwd=project,
        env=uv_env,
        check=True,
        timeout=300,
    )

    database = f"sqlite:///{project / 'dev.db'}"
    env_file = project / ".env"
    env_file.write_text(
        "ENVIRONMENT=development\n"
        "SECRET_KEY=change-me-to-a-random-string-of-at-least-32-chars\n"
        f"SQLALCHEMY_DATABASE_URI={database}\n",
        encoding="utf-8",
    )
    port = free_port()
    argv = command.split()
    assert argv[:3] == ["uv", "run", "uvicorn"]
    argv = [str(project / ".venv" / "bin" / "uvicorn"), *argv[3:]]
    argv += ["--host", "127.0.0.1", "--port", str(port)]  # loopback, a port of our own
    # A clean environment: no setting comes from anywhere but .env.
    clean = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    url = f"http://127.0.0.1:{port}/health/live"

    def live() -> bool:
        try:
            return request_json(url, timeout=2)[0] == 200
        except OSError:
            return False

    log = tmp_path / "server.log"
    server = start(argv, log, cwd=project, env=clean)
    try:
        refused = "  SECRET_KEY: is still a placeholder"
        wait_for(lambda: refused in log.read_text(), 60, "no refusal naming SECRET_KEY", log)
        assert server.poll() is None, "the reloader must keep watching:\n" + log.read_text()
        assert not live(), log.read_text()
        output = log.read_text()
        assert "Traceback" not in output
        assert [line for line in output.splitlines() if "SECRET_KEY" in line] == [
            "  SECRET_KEY: is still a placeholder; generate one with `openssl rand -hex 32`"
        ]

        env_file.write_text(
            "ENVIRONMENT=development\n"
            f"SECRET_KEY={secrets.token_hex(32)}\n"
            f"SQLALCHEMY_DATABASE_URI={database}\n",
            encoding="utf-8",
        )
        wait_for(live, 30, "/health/live never answered 200 after fixing .env", log)
        assert "detected changes in '.env'" in log.read_text()
    finally:
        stop(server)  # the reloader and its worker


@pytest.mark.parametrize("version", ["3.11", "3.13"])
def test_python_version_pins_the_image_and_ci_not_the_local_interpreter(
    render: Renders, version: str
) -> None:
    """No `.python-version` is rendered: uv would then need exactly that interpreter (and
    download it where it is missing), and pyenv reads the same file, hiding a `uv` installed
    into another pyenv Python. The README says so and how to pin one (docs/getting-started.md).
    """
    project = render(python_version=version)

    assert not (project / ".python-version").exists()
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert f"`uv python pin {version}`" in readme
    assert "never downloads one" in readme


def test_the_postgresql_readme_walks_from_zero_to_a_running_service(render: Renders) -> None:
    project = render(database="postgresql", docker=True)
    readme = (project / "README.md").read_text(encoding="utf-8")
    start = readme[: readme.index("## Tests and checks")]

    assert "createdb -h localhost -U postgres my_service" in start  # the database to create
    assert "SQLALCHEMY_DATABASE_URI" in start  # where a different server goes
    assert "Running upgrade  -> 0001" in start  # what `alembic upgrade head` prints
    docker = readme[readme.index("## Docker") :]
    assert "POSTGRES_PASSWORD" in docker  # compose refuses to start without it
    assert "POSTGRES_PASSWORD=" in (project / ".env.example").read_text(encoding="utf-8")


def test_the_mysql_readme_walks_from_zero_to_a_running_service(render: Renders) -> None:
    project = render(database="mysql", docker=True)
    readme = (project / "README.md").read_text(encoding="utf-8")
    start = readme[: readme.index("## Tests and checks")]

    assert "CREATE DATABASE my_service CHARACTER SET utf8mb4" in start
    assert "mysql://app:app@localhost:3306/my_service" in start
    assert "Context impl MySQLImpl." in start
    docker = readme[readme.index("## Docker") :]
    assert "MARIADB_PASSWORD" in docker  # compose refuses to start without it
    assert "MARIADB_PASSWORD=" in (project / ".env.example").read_text(encoding="utf-8")


def test_the_readme_says_how_to_render_a_local_checkout_or_a_given_commit() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme[readme.index("## Quick start") : readme.index("## Options")]

    assert "gh:<owner>" not in quick_start
    assert "copier copy --trust ../fastapi-service-template my-service" in quick_start
    assert "--vcs-ref=" in quick_start
    assert "No git tags found" in quick_start  # what happens without tags
