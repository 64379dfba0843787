"""Small helpers that keep tests about behaviour, not about request plumbing."""

import itertools
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from app.api import API_PREFIX
from tests.settings import make_settings

BASE_URL = f"http://testserver{API_PREFIX}"
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


async def bad_login(client: httpx.AsyncClient, forwarded_for: str | None = None) -> httpx.Response:
    """A login with a wrong password for an account that does not exist."""
    credentials = {"email": "nobody@example.com", "password": "Wrong-Password-1!"}
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await client.post("/auth/login", json=credentials, headers=headers)


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


def client_from(app: FastAPI, address: str, port: int = 50000) -> httpx.AsyncClient:
    """A client whose requests come from another peer address (use it with `async with`)."""
    transport = httpx.ASGITransport(app=app, client=(address, port))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """Log in as the bootstrap admin (FIRST_ADMIN_EMAIL / FIRST_ADMIN_PASSWORD)."""
    settings = make_settings()
    assert settings.FIRST_ADMIN_EMAIL is not None
    assert settings.FIRST_ADMIN_PASSWORD is not None
    password = settings.FIRST_ADMIN_PASSWORD.get_secret_value()
    tokens = await login(client, settings.FIRST_ADMIN_EMAIL, password)
    return bearer(tokens["access_token"])
