"""A job carries the trace context of the request that queued it, so its span continues that
trace. Added in every service, like the outbox itself: turning tracing on later is a code change
only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("trace_context", sa.Text(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column by rebuilding the table: keep its AUTOINCREMENT (0004).
    with op.batch_alter_table("outbox", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("trace_context")
