from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, utcnow

# Ids are INTEGER columns: anything larger can't exist, so it is refused before any query.
MAX_ID = 2_147_483_647
EMAIL_MAX_LENGTH = 254
TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    # In every access token as `ver`; bumped to invalidate all of them at once.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the owner proved the address (a verification or password-reset link); None if never.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OwnedByUser:
    """A record only its owner sees: app/services/owned.py checks that once for every model.

    Deleting the user deletes what they own.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Item(OwnedByUser, Base):
    __tablename__ = "items"

    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX_LENGTH))


class RefreshToken(Base):
    """A refresh token, known only by its keyed hash. Revoked rows stay for reuse detection."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountToken(Base):
    """A single-use token mailed to a user (password reset, e-mail verification).

    Known only by its keyed hash; deleted when used or replaced by a newer one of its purpose,
    and void once the user's token version moves on (a password change, a deactivation).
    """

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_version: Mapped[int]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxJob(Base):
    """Work to do after a commit (a mail today, any job tomorrow), written in the transaction
    of its cause and run at least once by app/services/jobs.py.

    `run_after` is when it may run next: its creation, the end of a back-off after a failure,
    or the end of the lease a runner takes while it works on it (a runner that dies leaves the
    job to be taken again once the lease is over). `payload` (JSON) is emptied once the job is
    done: what it names (an address) is kept no longer than the work needs.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, done, dead
    attempts: Mapped[int] = mapped_column(default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(128))  # follows the job into its logs
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_outbox_state_run_after", OutboxJob.state, OutboxJob.run_after)  # the runner's query
