from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.db.base import Base, UTCDateTime, utcnow

# Ids are INTEGER columns: anything larger can't exist, so it is refused before any query.
MAX_ID = 2_147_483_647
EMAIL_MAX_LENGTH = 254
TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
USER_AGENT_MAX_LENGTH = 255


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    # In every access token as `ver`; bumped to invalidate all of them at once.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Moves on with every change to what the API shows of the user: its ETag, If-Match.
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the owner proved the address (a verification or password-reset link); None if never.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP (app/services/mfa.py): the secret encrypted under MFA_ENCRYPTION_KEY; a second
    # factor only once confirmed (totp_enabled_at). The last time step used: never twice.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None]


class OwnedByUser:
    """A record only its owner sees: app/services/owned.py checks that once for every model.

    Deleting the user deletes what they own. Lists read an owner's records in id order, from
    one index on (owner_id, id) (app/utils/pagination.py); it serves the foreign key too.
    """

    __tablename__: str

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Moves on with every write: the record's ETag, If-Match (app/services/versions.py).
    version: Mapped[int] = mapped_column(default=0, server_default="0")

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        owner_and_id = Index(f"ix_{cls.__tablename__}_owner_id_id", "owner_id", "id")
        return owner_and_id, Base.__table_args__


class Item(OwnedByUser, Base):
    __tablename__ = "items"

    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX_LENGTH))


class UserSession(Base):
    """A signed-in device: one login and the family of refresh tokens rotated from it.

    Its id is in every access token it issues (`sid`); deleting the row ends it: its refresh
    tokens go with it (ON DELETE CASCADE) and its access tokens are refused from their next
    request. `last_used_at` moves at each refresh, not at each request (no write per request).
    """

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX_LENGTH))
    # The client's network, not its address: an IPv4 /24 or an IPv6 /48.
    client: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(Base):
    """A refresh token, known only by its keyed hash. Revoked rows stay for reuse detection."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
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


class RecoveryCode(Base):
    """A single-use recovery code of a user with TOTP, known only by its keyed hash (it carries
    120 random bits: ASVS 5.0 6.5.2 allows a plain keyed hash from 112). Deleted when used."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MfaChallenge(Base):
    """The second step of a login: a right password waiting for its code (`mfa_token`).

    Known only by its keyed hash; short-lived, deleted when used, and spent after
    MFA_MAX_ATTEMPTS codes (each counted before it is checked, so guesses sent at once are
    counted too).
    """

    __tablename__ = "mfa_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
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
    # The W3C trace context (JSON) of the request that queued it, when tracing is on: the job's
    # span continues that trace. Text: a `tracestate` has no length the service controls.
    trace_context: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_outbox_state_run_after", OutboxJob.state, OutboxJob.run_after)  # the runner's query
