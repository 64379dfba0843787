from typing import Any

import httpx
import pytest

from tests.helpers import (
    PASSWORD,
    admin_headers,
    assert_error,
    bearer,
    login,
    register,
    register_and_login,
    unique_email,
)

# Registration


async def test_register_returns_the_public_user_only(client: httpx.AsyncClient) -> None:
    email = unique_email()
    response = await client.post("/users", json={"email": email, "password": PASSWORD})

    assert response.status_code == 201
    user = response.json()
    assert set(user) == {"id", "email", "is_active", "is_admin", "created_at"}
    assert user["email"] == email
    assert user["is_active"] is True
    assert user["is_admin"] is False
    assert isinstance(user["id"], int)
    assert PASSWORD not in response.text
    assert "argon2" not in response.text


async def test_email_is_stored_lower_cased_and_login_ignores_case(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client, "Mixed.Case@Example.COM")
    assert user["email"] == "mixed.case@example.com"

    tokens = await login(client, "MIXED.case@example.com")
    me = await client.get("/users/me", headers=bearer(tokens["access_token"]))
    assert me.json()["id"] == user["id"]


@pytest.mark.parametrize("variant", [str.lower, str.upper, str.title])
async def test_duplicate_email_in_any_case_is_409(client: httpx.AsyncClient, variant: Any) -> None:
    email = unique_email("dupe")
    await register(client, email)

    again = await client.post("/users", json={"email": variant(email), "password": PASSWORD})

    assert_error(again, 409, "conflict")


@pytest.mark.parametrize(
    "extra",
    [{"is_admin": True}, {"id": 4242}, {"is_active": False}, {"role": "admin"}],
    ids=["is_admin", "id", "is_active", "unknown"],
)
async def test_extra_fields_are_refused_and_never_applied(
    client: httpx.AsyncClient, extra: dict[str, Any]
) -> None:
    email = unique_email()
    response = await client.post("/users", json={"email": email, "password": PASSWORD, **extra})

    body = assert_error(response, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", next(iter(extra))]
    # Nothing was created: the same e-mail registers normally, as a plain user.
    user = await register(client, email)
    assert user["is_admin"] is False
    assert user["id"] != 4242


@pytest.mark.parametrize(
    "password",
    ["Sh0rt-Pass!-14", "1q2w3e4r5t6y7u8i9o0p", "abcabcabcabcabcabc", ""],
    ids=["short", "common", "repeated", "empty"],
)
async def test_weak_passwords_are_refused(client: httpx.AsyncClient, password: str) -> None:
    email = unique_email()
    response = await client.post("/users", json={"email": email, "password": password})

    body = assert_error(response, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "password"]
    assert "input" not in body["errors"][0]  # the refused password is not echoed back
    refused = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert_error(refused, 401, "auth_error")


async def test_password_length_is_capped_at_128_characters(client: httpx.AsyncClient) -> None:
    longest = "".join(f"{chr(65 + i % 26)}{i % 10}" for i in range(64))
    assert len(longest) == 128
    await register(client, password=longest)

    too_long = await client.post(
        "/users", json={"email": unique_email(), "password": longest + "x"}
    )
    assert_error(too_long, 422, "validation_error")


async def test_huge_password_is_a_422_not_a_500(client: httpx.AsyncClient) -> None:
    huge = "Aa1!" * 25_000  # 100 KB: under the body limit, far over the password cap
    email = unique_email()

    registration = await client.post("/users", json={"email": email, "password": huge})
    assert_error(registration, 422, "validation_error")
    login_attempt = await client.post("/auth/login", json={"email": email, "password": huge})
    assert_error(login_attempt, 422, "validation_error")
    assert huge not in registration.text


@pytest.mark.parametrize(
    "email",
    [
        "a" * 64 + "@" + ("b" * 60 + ".") * 3 + "example.com",  # 259 characters
        "not-an-email",
        "two@@example.com",
        "",
    ],
    ids=["too-long", "no-at", "double-at", "empty"],
)
async def test_invalid_emails_are_refused(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post("/users", json={"email": email, "password": PASSWORD})

    body = assert_error(response, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "email"]


async def test_register_without_a_body_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/users")
    assert_error(response, 422, "validation_error")


# The current user


async def test_me_returns_the_current_user(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)

    response = await client.get("/users/me", headers=alice.headers)

    assert response.status_code == 200
    assert response.json() == alice.user


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "x"},
    ],
    ids=["none", "empty-bearer", "garbage", "no-scheme"],
)
async def test_me_without_valid_credentials_is_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/users/me", headers=headers)

    assert_error(response, 401, "auth_error")
    assert response.headers["www-authenticate"] == "Bearer"


# The admin list


async def test_listing_users_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/users"), 401, "auth_error")


async def test_listing_users_is_forbidden_to_non_admins(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)

    response = await client.get("/users", headers=alice.headers)

    assert_error(response, 403, "auth_error")


async def test_admin_lists_users_page_by_page(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await register(client)
    headers = await admin_headers(client)

    first = await client.get("/users", params={"limit": 2}, headers=headers)
    second = await client.get("/users", params={"skip": 2, "limit": 2}, headers=headers)

    assert first.status_code == second.status_code == 200
    page = first.json()
    assert set(page) == {"items", "total", "skip", "limit"}
    assert (page["total"], page["skip"], page["limit"]) == (4, 0, 2)
    assert len(page["items"]) == 2
    assert set(page["items"][0]) == {"id", "email", "is_active", "is_admin", "created_at"}
    ids = [user["id"] for user in page["items"] + second.json()["items"]]
    assert len(ids) == len(set(ids)) == 4
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    "params",
    [{"skip": -1}, {"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"skip": 2**31}],
    ids=["negative-skip", "zero-limit", "limit-over-100", "not-an-int", "huge-skip"],
)
async def test_user_pagination_is_bounded(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await client.get("/users", params=params, headers=await admin_headers(client))
    assert_error(response, 422, "validation_error")
