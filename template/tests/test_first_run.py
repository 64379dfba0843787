"""What a newcomer sees first: startup refusals in one line each, migrations that say what they
do, JSON log lines without terminal colour codes."""

import json
import logging

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import OperationalError
from starlette.types import Message

from app import factory
from app.core.config import Settings, SettingsError, load_settings
from app.core.errors import StartupError
from app.core.logging import JsonFormatter
from app.db.migrations import ALEMBIC_INI
from tests.settings import make_settings


def test_bad_settings_stop_the_process_with_one_line_per_problem(suite_environment: None) -> None:
    """A SettingsError is a SystemExit: wherever it escapes (importing the app, alembic's
    env.py, a worker), Python prints its message alone to stderr and exits with status 1."""
    with pytest.raises(SystemExit) as stopped:
        load_settings(SECRET_KEY="change-me-please-0123456789abcdef0123", CLOCK_SKEW_SECONDS=-1)

    assert isinstance(stopped.value, SettingsError)
    assert stopped.value.code == str(stopped.value)  # a message, not a status: printed, exit 1
    assert str(stopped.value).splitlines() == [
        "Invalid settings:",
        "  SECRET_KEY: is still a placeholder; generate one with `openssl rand -hex 32`",
        "  CLOCK_SKEW_SECONDS: Input should be greater than or equal to 0",
    ]


@pytest.mark.usefixtures("keep_logging")
def test_alembic_on_the_command_line_says_what_it_does(
    capsys: pytest.CaptureFixture[str], suite_environment: None
) -> None:
    config = Config(ALEMBIC_INI)  # as the CLI builds it: no settings passed in
    config.config_file_name = str(ALEMBIC_INI)

    command.upgrade(config, "head")  # the test database is at head already: nothing to do

    assert "INFO  alembic.runtime.migration: Context impl" in capsys.readouterr().err


def test_json_logs_carry_no_terminal_colour_codes() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started", None, None)
    record.color_message = "\x1b[32mStarted\x1b[0m"

    entry = json.loads(JsonFormatter().format(record))

    assert entry["msg"] == "Started"
    assert "color_message" not in entry


@pytest.mark.usefixtures("keep_logging")
async def test_a_database_that_cannot_be_migrated_stops_start_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing_database(_: Settings) -> None:
        reason = Exception('database "my_service" does not exist\nDETAIL: more')
        raise OperationalError("connect", None, reason)

    monkeypatch.setattr(factory, "upgrade_to_head", missing_database)
    app = factory.create_app(make_settings().model_copy(update={"MIGRATE_ON_STARTUP": True}))
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(StartupError):
        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)

    # uvicorn logs this message, then "Application startup failed. Exiting." (exit status 3)
    assert sent == [
        {
            "type": "lifespan.startup.failed",
            "message": "Cannot migrate the database (SQLALCHEMY_DATABASE_URI): "
            'database "my_service" does not exist',
        }
    ]


@pytest.mark.usefixtures("keep_logging")
async def test_a_start_that_migrates_logs_no_set_up_chatter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Alembic's plugin set-up (seven lines) and the pool's "Pool disposed ... Current Overflow:
    -10" are no news at every start; a warning of those loggers still is."""
    update = {"MIGRATE_ON_STARTUP": True, "LOG_LEVEL": "INFO"}
    app = factory.create_app(make_settings().model_copy(update=update))
    async with app.router.lifespan_context(app):
        pass
    logging.getLogger("sqlalchemy.pool.impl.QueuePool").warning("a real warning")

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    loggers = {line["logger"] for line in lines}
    assert "alembic.runtime.migration" in loggers  # it did migrate, and logs at INFO
    assert "alembic.runtime.plugins" not in loggers
    assert [line["msg"] for line in lines if "Pool " in line["msg"]] == []
    assert lines[-1]["msg"] == "a real warning"


@pytest.mark.usefixtures("keep_logging")
def test_alembic_check_on_the_command_line_prints_no_plugin_set_up(
    capsys: pytest.CaptureFixture[str], suite_environment: None
) -> None:
    config = Config(ALEMBIC_INI)
    config.config_file_name = str(ALEMBIC_INI)

    command.check(config)  # the test database matches the models

    assert "plugin" not in capsys.readouterr().err
