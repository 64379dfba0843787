"""Several processes migrating one empty database at once, as workers (or replicas) that start
together with MIGRATE_ON_STARTUP do: each runs start-up's migration (`upgrade_to_head`), all
released at the same moment, and each must find the schema at head or build it alone.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config

from app.core.config import Settings
from app.db.migrations import ALEMBIC_INI
from tests.settings import as_environment

PROCESSES = 3
ROUNDS = 3
# Imports once, then runs one start-up migration per line it reads.
MIGRATE_PER_LINE = """
import sys
from app.core.config import load_settings
from app.db.migrations import upgrade_to_head
settings = load_settings(_env_file=None)
print("ready", flush=True)
for _ in sys.stdin:
    upgrade_to_head(settings)
    print("migrated", flush=True)
"""


def _check_at_head(settings: Settings) -> None:
    """`alembic check`: the database is at head (else it raises) and matches the models."""
    config = Config(ALEMBIC_INI)
    config.attributes["settings"] = settings
    command.check(config)


def test_processes_starting_together_migrate_an_empty_database(
    empty_databases: Iterator[Settings], tmp_path: Path
) -> None:
    database = next(empty_databases)
    env = os.environ | as_environment(database)
    logs = [(tmp_path / f"migrate-{n}.log").open("w+") for n in range(PROCESSES)]
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", MIGRATE_PER_LINE],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        for log in logs
    ]

    def output() -> str:
        for log in logs:
            log.seek(0)
        return "\n".join(log.read() for log in logs)

    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline() == "ready\n", output()
        for round_ in range(ROUNDS):
            if round_:
                next(empty_databases)
            for process in processes:  # released together: they race for the empty schema
                assert process.stdin is not None
                process.stdin.write("go\n")
                process.stdin.flush()
            answers = [process.stdout.readline() for process in processes if process.stdout]
            assert answers == ["migrated\n"] * PROCESSES, f"round {round_ + 1}:\n{output()}"
            _check_at_head(database)
    finally:
        for process in processes:
            process.communicate(timeout=60)  # closes its pipes; it ends at the end of its input
        for log in logs:
            log.close()
