"""Ids are never handed out twice: SQLite tables rebuilt with AUTOINCREMENT.

Without it SQLite gives a new row the highest id plus one, so the id of the newest account,
once deleted, went to the next registrant, and an access token of the deleted account read the
new one's data. PostgreSQL's sequences and MySQL's / MariaDB's AUTO_INCREMENT counters never
hand an id out twice: there this revision changes nothing.

The tables are rebuilt (Alembic's batch mode: copy, drop, rename) with foreign keys off, as
SQLite would otherwise apply ON DELETE CASCADE when the old `users` table is dropped; env.py's
migration lock turns them off and checks every row's references before the commit.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "items", "refresh_tokens", "account_tokens")


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)


def _rebuild(*, autoincrement: bool) -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    # env.py's migration lock (app/db/dialect.py) turns foreign keys off and checks them after.
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("0004 rebuilds tables: run it with SQLite's foreign keys off")
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
