"""Ids are never handed out twice: SQLite tables rebuilt with AUTOINCREMENT.

Without it SQLite gives a new row the highest id plus one, so the id of the newest account,
once deleted, went to the next registrant, and an access token of the deleted account read the
new one's data. PostgreSQL's sequences and MySQL's / MariaDB's AUTO_INCREMENT counters never
hand an id out twice: there this revision changes nothing.

The tables are rebuilt (Alembic's batch mode: copy, drop, rename) with foreign keys off, as
SQLite would otherwise apply ON DELETE CASCADE when the old `users` table is dropped; the
rebuilt tables are checked before foreign keys are on again.

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
    # A no-op inside a transaction: checked, so the rebuild never runs with cascades on.
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("0004 needs SQLite's foreign keys off; run it in its own transaction")
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"0004: rows without their parent after the rebuild: {problems}")
    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
