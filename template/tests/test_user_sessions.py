"""Sessions a user can see and end: each login is one, its access tokens die with it."""

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from app.services.sessions import network
from tests.helpers import Account, assert_error, bearer, client_from, login, register_and_login


async def sessions_of(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    response = await client.get("/users/me/sessions", headers=account.headers)
    assert response.status_code == 200, response.text
    sessions: list[dict[str, Any]] = response.json()
    return sessions


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refresh_token": refresh_token})


async def me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get("/users/me", headers=bearer(access_token))


async def test_each_login_is_a_session_with_its_device(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await register_and_login(client)
    async with client_from(app, "2001:db8:7:8::5") as phone_client:
        phone = await phone_client.post(
            "/auth/login",
            json={"email": alice.email, "password": alice.password},
            headers={"User-Agent": "Phone/1.0"},
        )
    assert phone.status_code == 200

    listed = await sessions_of(client, alice)

    assert [session["current"] for session in listed] == [False, True]  # newest first
    newest, first = listed
    assert set(first) == {"id", "created_at", "last_used_at", "user_agent", "client", "current"}
    assert (newest["user_agent"], newest["client"]) == ("Phone/1.0", "2001:db8:7::/48")
    assert first["client"] == "203.0.113.0/24"  # conftest's CLIENT_ADDRESS, by its /24
    assert newest["id"] != first["id"]


def test_a_session_shows_the_network_never_the_address() -> None:
    assert network("203.0.113.77") == "203.0.113.0/24"
    assert network("::ffff:203.0.113.77") == "203.0.113.0/24"
    assert network("2001:db8:aaaa:bbbb::1") == "2001:db8:aaaa::/48"
    assert network("testclient") is None
    assert network(None) is None


async def test_a_refresh_keeps_the_session_and_moves_its_last_use(
    client: httpx.AsyncClient,
) -> None:
    alice = await register_and_login(client)
    (before,) = await sessions_of(client, alice)

    pair = (await refresh(client, alice.refresh_token)).json()
    alice.access_token = pair["access_token"]
    (after,) = await sessions_of(client, alice)

    assert after["id"] == before["id"]
    assert after["created_at"] == before["created_at"]
    assert after["last_used_at"] > before["last_used_at"]
    assert after["current"]


async def test_ending_a_session_kills_its_access_and_refresh_tokens_at_once(
    client: httpx.AsyncClient,
) -> None:
    alice = await register_and_login(client)
    laptop = await login(client, alice.email)
    laptop_id = next(s["id"] for s in await sessions_of(client, alice) if not s["current"])

    response = await client.delete(f"/users/me/sessions/{laptop_id}", headers=alice.headers)

    assert response.status_code == 204
    assert_error(await me(client, laptop["access_token"]), 401, "auth_error")
    assert_error(await refresh(client, laptop["refresh_token"]), 401, "auth_error")
    # The caller's own session lives on, and a replayed ended token is no sign of theft.
    assert (await me(client, alice.access_token)).status_code == 200
    assert (await refresh(client, alice.refresh_token)).status_code == 200
    assert [s["id"] for s in await sessions_of(client, alice)] != [laptop_id]


async def test_another_users_session_is_not_found_and_lives_on(
    client: httpx.AsyncClient,
) -> None:
    alice = await register_and_login(client)
    bob = await register_and_login(client)
    (bobs,) = await sessions_of(client, bob)

    response = await client.delete(f"/users/me/sessions/{bobs['id']}", headers=alice.headers)

    assert_error(response, 404, "not_found")
    assert_error(
        await client.delete("/users/me/sessions/2147483647", headers=alice.headers),
        404,
        "not_found",
    )
    assert (await me(client, bob.access_token)).status_code == 200


async def test_ending_the_other_sessions_keeps_the_current_one(
    client: httpx.AsyncClient,
) -> None:
    alice = await register_and_login(client)
    others = [await login(client, alice.email) for _ in range(2)]
    bob = await register_and_login(client)

    response = await client.delete("/users/me/sessions", headers=alice.headers)

    assert response.status_code == 204
    for other in others:
        assert_error(await me(client, other["access_token"]), 401, "auth_error")
        assert_error(await refresh(client, other["refresh_token"]), 401, "auth_error")
    (remaining,) = await sessions_of(client, alice)
    assert remaining["current"]
    assert (await me(client, bob.access_token)).status_code == 200


async def test_ending_the_current_session_signs_the_caller_out(
    client: httpx.AsyncClient,
) -> None:
    alice = await register_and_login(client)
    (current,) = await sessions_of(client, alice)

    response = await client.delete(f"/users/me/sessions/{current['id']}", headers=alice.headers)

    assert response.status_code == 204
    assert_error(await me(client, alice.access_token), 401, "auth_error")


async def test_logout_ends_the_sessions_access_tokens_too(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    phone = await login(client, alice.email)

    await client.post("/auth/logout", json={"refresh_token": phone["refresh_token"]})

    assert_error(await me(client, phone["access_token"]), 401, "auth_error")
    assert (await me(client, alice.access_token)).status_code == 200
    assert len(await sessions_of(client, alice)) == 1


async def test_a_password_change_ends_every_session(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    phone = await login(client, alice.email)
    new_password = "Another-Horse-7-Staple!"

    response = await client.post(
        "/users/me/password",
        json={"current_password": alice.password, "new_password": new_password},
        headers=alice.headers,
    )

    assert response.status_code == 204
    for access_token in (alice.access_token, phone["access_token"]):
        assert_error(await me(client, access_token), 401, "auth_error")
    tokens = await login(client, alice.email, new_password)
    listed = await client.get("/users/me/sessions", headers=bearer(tokens["access_token"]))
    assert [session["current"] for session in listed.json()] == [True]


async def test_sessions_need_a_token(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/users/me/sessions"), 401, "auth_error")
    assert_error(await client.delete("/users/me/sessions"), 401, "auth_error")
    assert_error(await client.delete("/users/me/sessions/1"), 401, "auth_error")


async def test_the_session_is_checked_by_the_query_that_loads_the_user(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """No round trip of its own: the session's existence is part of the user's SELECT."""
    alice = await register_and_login(client)
    bind = app.state.read_sessionmaker.kw["bind"]
    engine = getattr(bind, "sync_engine", bind)  # an AsyncEngine's Engine, or the Engine
    statements: list[str] = []

    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = await client.get("/users/me", headers=alice.headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert response.status_code == 200
    touching = [s for s in statements if "users" in s or "sessions" in s]
    assert len(touching) == 1
    assert "sessions" in touching[0]
    assert "users" in touching[0]
