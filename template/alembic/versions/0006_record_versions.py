"""Record versions: users and items get the `version` their ETag and If-Match are built on.

Every existing row starts at version 0. The column is added with a constant server default,
so no database rewrites the table: PostgreSQL 11+ stores the default in the catalogue,
MySQL 8 and MariaDB 10.3+ add the column instantly, and SQLite's ADD COLUMN only changes the
schema (the tables keep the AUTOINCREMENT that 0004 gave them: nothing is rebuilt).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "items")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    for table in TABLES:
        # SQLite drops a column by rebuilding the table: keep its AUTOINCREMENT (0004).
        with op.batch_alter_table(table, table_kwargs={"sqlite_autoincrement": True}) as batch_op:
            batch_op.drop_column("version")
