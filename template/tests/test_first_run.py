"""What a newcomer sees first: startup refusals in one line each, migrations that say what they
do, JSON log lines without terminal colour codes."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.logging import JsonFormatter

PROJECT = Path(__file__).resolve().parents[1]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run in the project with the test settings of conftest.py, changed by `env`."""
    return subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, *args],
        cwd=PROJECT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", [["-c", "import app.main"], ["-m", "alembic", "current"]])
def test_bad_settings_stop_the_service_with_one_line_per_problem(command: list[str]) -> None:
    result = run(
        *command, SECRET_KEY="change-me-please-0123456789abcdef0123456789", CLOCK_SKEW_SECONDS="-1"
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "Invalid settings:",
        "  SECRET_KEY: is still a placeholder; generate one with `openssl rand -hex 32`",
        "  CLOCK_SKEW_SECONDS: Input should be greater than or equal to 0",
    ]


def test_alembic_prints_what_it_does(tmp_path: Path) -> None:
    result = run(
        "-m", "alembic", "upgrade", "head", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/a.db"
    )

    assert result.returncode == 0, result.stderr
    assert "Running upgrade  -> 0001" in result.stderr


def test_json_logs_carry_no_terminal_colour_codes() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started", None, None)
    record.color_message = "\x1b[32mStarted\x1b[0m"

    entry = json.loads(JsonFormatter().format(record))

    assert entry["msg"] == "Started"
    assert "color_message" not in entry
