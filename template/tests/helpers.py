"""Small helpers that keep tests about behaviour, not about request plumbing."""

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "Correct-Horse-9-Battery!"
_counter = itertools.count()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}@example.com"


@dataclass
class Account:
    email: str
    password: str
    user: dict[str, Any]
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post(
        "/users", json={"email": email or unique_email(), "password": password}
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


async def register_and_login(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD
) -> Account:
    user = await register(client, email, password)
    tokens = await login(client, user["email"], password)
    return Account(user["email"], password, user, tokens["access_token"], tokens["refresh_token"])


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The standard error shape: `{detail, code, errors?}` and nothing else."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert set(body) <= {"detail", "code", "errors"}
    return body
