"""Rungs between the floor and the service (issue 28): what the stack costs before the service
adds anything. `python -m scripts.bench --ladder database=postgresql [use_async=false]`.

Each rung serves the floor's page (scripts/floor_app.py: the same token checks, the same two
statements, the same JSON) with one more part of the template's stack, chosen by LADDER_RUNG:

- `fastapi`: the floor's code in a FastAPI route, no dependency; asyncpg as the floor.
- `async-core`: SQLAlchemy's AsyncConnection (asyncpg) opened in the route, the statements as
  `text()`.
- `async-session`: an AsyncSession (SPEC's `use_async=true`) opened in the route.
- `async-session-dep`: the AsyncSession from a `yield` dependency, as FastAPI documents it and
  the service does.
- `sync-core`, `sync-session`, `sync-session-dep`: the same with psycopg 3, a Connection or a
  Session (`use_async=false`), in a plain `def` route (FastAPI's thread pool).

Every engine runs in autocommit (no BEGIN, no ROLLBACK: the service's GET sessions do the same)
with the floor's ten connections and no overflow, so no rung opens connections under load.
"""

import functools
import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

RUNG = os.environ["LADDER_RUNG"]
SECRET, ISSUER, AUDIENCE = (os.environ[f"FLOOR_{k}"] for k in ("SECRET_KEY", "ISSUER", "AUDIENCE"))
URL = os.environ["FLOOR_DATABASE_URL"]
# The floor's statements (scripts/floor_app.py), with named parameters for SQLAlchemy.
USER = (
    "SELECT is_active, token_version FROM users WHERE id = $1"
    " AND EXISTS (SELECT 1 FROM sessions WHERE id = $2 AND user_id = users.id)"
)
PAGE = (
    "SELECT id, title, description, owner_id, created_at, updated_at"
    " FROM items WHERE owner_id = $1 ORDER BY id LIMIT $2"
)
NAMED_USER = USER.replace("$1", ":user_id").replace("$2", ":session_id")
NAMED_PAGE = PAGE.replace("$1", ":user_id").replace("$2", ":rows")
LIMIT = 20
POOL = {"pool_size": 10, "max_overflow": 0, "pool_timeout": 30, "isolation_level": "AUTOCOMMIT"}
UNAUTHORIZED = {"detail": "Could not validate credentials"}


def answer(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status, media_type="application/json")


def public(row: Any) -> dict[str, Any]:
    item = dict(row)
    item["created_at"] = item["created_at"].isoformat()
    item["updated_at"] = item["updated_at"].isoformat()
    return item


def page(rows: Any) -> Response:
    items = [public(r) for r in rows[:LIMIT]]
    body = {"items": items, "next_cursor": None, "total": None, "skip": 0, "limit": LIMIT}
    return answer(200, body)


def claims_of(request: Request) -> dict[str, Any] | None:
    """The floor's token checks: HS256, typ at+jwt, iss, aud, exp, the claims it reads."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        header = jwt.get_unverified_header(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            SECRET,
            algorithms=["HS256"],
            issuer=ISSUER,
            audience=AUDIENCE,
            options={"require": ["sub", "iat", "exp", "iss", "aud", "ver", "sid"]},
        )
        claims["sub"] = int(claims["sub"])
    except (jwt.PyJWTError, ValueError):
        return None
    return claims if header.get("typ") == "at+jwt" else None


def allowed(user: Any, claims: dict[str, Any]) -> bool:
    return user is not None and user["is_active"] and user["token_version"] == claims["ver"]


def named(claims: dict[str, Any]) -> dict[str, Any]:
    return {"user_id": claims["sub"], "session_id": claims["sid"]}


def fastapi_rung() -> FastAPI:
    import asyncpg

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(URL, max_size=10)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None)

    @app.get("/api/v1/items")
    async def items(request: Request) -> Response:
        async with request.app.state.pool.acquire() as conn:
            claims = claims_of(request)
            if claims is None:
                return answer(401, UNAUTHORIZED)
            if not allowed(await conn.fetchrow(USER, claims["sub"], claims["sid"]), claims):
                return answer(401, UNAUTHORIZED)
            return page(await conn.fetch(PAGE, claims["sub"], LIMIT + 1))

    return app


def async_rung(how: str) -> FastAPI:
    # Imported here: the `fastapi` rung runs where SQLAlchemy may not be installed.
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import (
        AsyncConnection,
        AsyncSession,
        async_sessionmaker,
        create_async_engine,
    )

    engine = create_async_engine(URL.replace("postgresql://", "postgresql+asyncpg://"), **POOL)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    user, rows_of = text(NAMED_USER), text(NAMED_PAGE)

    async def async_page(db: AsyncConnection | AsyncSession, request: Request) -> Response:
        claims = claims_of(request)
        if claims is None or not allowed(
            (await db.execute(user, named(claims))).mappings().first(), claims
        ):
            return answer(401, UNAUTHORIZED)
        rows = await db.execute(rows_of, {"user_id": claims["sub"], "rows": LIMIT + 1})
        return page(rows.mappings().all())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None)

    async def get_session() -> AsyncIterator[AsyncSession]:
        async with sessions() as session:
            yield session

    if how == "session-dep":

        @app.get("/api/v1/items")
        async def items(
            request: Request, session: Annotated[AsyncSession, Depends(get_session)]
        ) -> Response:
            return await async_page(session, request)

    else:
        connect = sessions if how == "session" else engine.connect

        @app.get("/api/v1/items")
        async def items(request: Request) -> Response:
            async with connect() as db:
                return await async_page(db, request)

    return app


def sync_rung(how: str) -> FastAPI:
    from sqlalchemy import Connection, create_engine, text
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine(URL.replace("postgresql://", "postgresql+psycopg://"), **POOL)
    sessions = sessionmaker(engine, expire_on_commit=False)
    user, rows_of = text(NAMED_USER), text(NAMED_PAGE)

    def sync_page(db: Connection | Session, request: Request) -> Response:
        claims = claims_of(request)
        if claims is None or not allowed(
            db.execute(user, named(claims)).mappings().first(), claims
        ):
            return answer(401, UNAUTHORIZED)
        rows = db.execute(rows_of, {"user_id": claims["sub"], "rows": LIMIT + 1})
        return page(rows.mappings().all())

    app = FastAPI(openapi_url=None)

    def get_session() -> Iterator[Session]:
        with sessions() as session:
            yield session

    if how == "session-dep":

        @app.get("/api/v1/items")
        def items(request: Request, session: Annotated[Session, Depends(get_session)]) -> Response:
            return sync_page(session, request)

    else:
        connect = sessions if how == "session" else engine.connect

        @app.get("/api/v1/items")
        def items(request: Request) -> Response:
            with connect() as db:
                return sync_page(db, request)

    return app


RUNGS = {"fastapi": fastapi_rung} | {
    f"{flavour}-{how}": functools.partial(rung, how)
    for flavour, rung in (("async", async_rung), ("sync", sync_rung))
    for how in ("core", "session", "session-dep")
}
app = RUNGS[RUNG]()
