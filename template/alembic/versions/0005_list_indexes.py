"""Lists read an owner's rows in id order from one index: (owner_id, id) replaces (owner_id).

A cursor page is `WHERE owner_id = ? AND id > ? ORDER BY id LIMIT n`: on PostgreSQL only an
index on both columns serves it as one range, however deep the page. MySQL / MariaDB (InnoDB
appends the primary key to every secondary index) and SQLite (the rowid) already had that order
in (owner_id), and get the same index by the same name. The composite also serves the foreign
key, so the single-column index goes; it is dropped after the new one exists, as MySQL refuses to
leave a foreign key without an index. Only indexes change: every row stays.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_items_owner_id_id"), "items", ["owner_id", "id"])
    op.drop_index(op.f("ix_items_owner_id"), table_name="items")


def downgrade() -> None:
    op.create_index(op.f("ix_items_owner_id"), "items", ["owner_id"])
    op.drop_index(op.f("ix_items_owner_id_id"), table_name="items")
