"""Sessions a user can see and end; a second factor (TOTP) with recovery codes.

Each refresh token now belongs to a session (one per login). A token still usable when this
runs becomes a session of its own, with the token's id and creation time (its device is not
known); rotated tokens, kept only to detect reuse, are deleted, as their family is not known.
Access tokens issued before carry no session and are refused: clients refresh.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# SQLite tables rebuilt by batch mode keep it (migration 0004): ids are never given out twice.
AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"])
    _sessions_for_refresh_tokens()

    with op.batch_alter_table("users", table_kwargs=AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_recovery_codes_code_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])
    op.create_table(
        "mfa_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mfa_challenges_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_challenges")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_mfa_challenges_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_mfa_challenges_user_id"), "mfa_challenges", ["user_id"])


def _sessions_for_refresh_tokens() -> None:
    """One session per usable refresh token, under the token's id; rotated tokens go."""
    tokens = sa.table(
        "refresh_tokens",
        sa.column("id", sa.Integer()),
        sa.column("user_id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
        sa.column("session_id", sa.Integer()),
    )
    sessions = sa.table(
        "sessions",
        sa.column("id", sa.Integer()),
        sa.column("user_id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("last_used_at", sa.DateTime(timezone=True)),
    )
    op.execute(tokens.delete().where(tokens.c.revoked_at.is_not(None)))
    usable = sa.select(tokens.c.id, tokens.c.user_id, tokens.c.created_at, tokens.c.created_at)
    op.execute(
        sessions.insert().from_select(["id", "user_id", "created_at", "last_used_at"], usable)
    )
    if op.get_bind().dialect.name == "postgresql":  # the sequence knows nothing of those ids
        op.execute(
            "SELECT setval(pg_get_serial_sequence('sessions', 'id'), "
            "COALESCE(MAX(id), 0) + 1, false) FROM sessions"
        )
    with op.batch_alter_table("refresh_tokens", table_kwargs=AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
    op.execute(tokens.update().values(session_id=tokens.c.id))
    with op.batch_alter_table("refresh_tokens", table_kwargs=AUTOINCREMENT) as batch_op:
        batch_op.alter_column("session_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_refresh_tokens_session_id_sessions"),
            "sessions",
            ["session_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(op.f("ix_refresh_tokens_session_id"), ["session_id"])


def downgrade() -> None:
    # Tables are dropped with their indexes: MySQL refuses to drop one a foreign key needs.
    op.drop_table("mfa_challenges")
    op.drop_table("recovery_codes")
    with op.batch_alter_table("users", table_kwargs=AUTOINCREMENT) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret")
    with op.batch_alter_table("refresh_tokens", table_kwargs=AUTOINCREMENT) as batch_op:
        batch_op.drop_constraint(op.f("fk_refresh_tokens_session_id_sessions"), type_="foreignkey")
        batch_op.drop_index(op.f("ix_refresh_tokens_session_id"))
        batch_op.drop_column("session_id")
    op.drop_table("sessions")
