"""Apply the Alembic migrations from inside the app (development start-up)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.core.config import Settings

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def upgrade_to_head(settings: Settings) -> None:
    """`alembic upgrade head` against the database of `settings` (blocking: run it in a thread)."""
    config = Config(ALEMBIC_INI)
    config.attributes["settings"] = settings
    command.upgrade(config, "head")
