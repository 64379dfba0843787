"""Cursor pages on every list: a walk that follows next_cursor, cursors that only their list and
owner can use, the total on request, and the deprecated `skip` within its cap."""

from typing import Any

import httpx
import pytest

from app.api import API_PREFIX
from app.utils.pagination import CursorCodec
from tests.helpers import Account, admin_headers, assert_error, register_and_login


async def create(client: httpx.AsyncClient, account: Account, count: int) -> list[int]:
    ids = []
    for n in range(count):
        response = await client.post("/items", json={"title": f"item {n}"}, headers=account.headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def page(client: httpx.AsyncClient, account: Account, **params: Any) -> dict[str, Any]:
    response = await client.get("/items", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def walk(client: httpx.AsyncClient, account: Account, limit: int) -> list[int]:
    seen: list[int] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        body = await page(client, account, **params)
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            return seen
        params["cursor"] = body["next_cursor"]


async def test_following_next_cursor_yields_every_row_once_in_id_order(
    client: httpx.AsyncClient,
) -> None:
    alice = await register_and_login(client)
    bob = await register_and_login(client)
    ids = await create(client, alice, 5)
    await create(client, bob, 2)

    for limit in (1, 2, 5, 100):
        assert await walk(client, alice, limit) == ids, limit


async def test_a_walk_survives_inserts_and_deletes_between_pages(
    client: httpx.AsyncClient,
) -> None:
    alice = await register_and_login(client)
    ids = await create(client, alice, 6)

    first = await page(client, alice, limit=2)
    assert [item["id"] for item in first["items"]] == ids[:2]
    # The cursor's own row, a row already served and one not served yet go; a row comes.
    for gone in (ids[1], ids[0], ids[3]):
        assert (await client.delete(f"/items/{gone}", headers=alice.headers)).status_code == 204
    (added,) = await create(client, alice, 1)
    second = await page(client, alice, limit=2, cursor=first["next_cursor"])
    (late,) = await create(client, alice, 1)
    third = await page(client, alice, limit=2, cursor=second["next_cursor"])
    rest = await page(client, alice, limit=2, cursor=third["next_cursor"])

    served = [item["id"] for body in (first, second, third, rest) for item in body["items"]]
    assert served == [ids[0], ids[1], ids[2], ids[4], ids[5], added, late]
    assert rest["next_cursor"] is None


async def test_the_last_page_has_no_next_cursor(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    await create(client, alice, 2)

    assert (await page(client, alice, limit=2))["next_cursor"] is None
    assert (await page(client, alice, limit=1))["next_cursor"] is not None
    assert (await page(client, alice))["items"] == (await page(client, alice, limit=20))["items"]


async def test_the_total_is_counted_only_when_asked(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    await create(client, alice, 3)

    first = await page(client, alice, limit=2)
    counted = await page(client, alice, limit=2, include_total=True)
    deeper = await page(client, alice, limit=2, cursor=first["next_cursor"], include_total=True)

    assert first["total"] is None
    assert counted["total"] == deeper["total"] == 3  # the whole list, not what is left of it
    assert (await page(client, alice, limit=2, cursor=first["next_cursor"]))["total"] is None


def _tampered(cursor: str) -> str:
    flipped = "A" if cursor[5] != "A" else "B"
    return cursor[:5] + flipped + cursor[6:]


@pytest.mark.parametrize(
    "make_cursor",
    [
        _tampered,
        lambda cursor: cursor[:-1],
        lambda cursor: cursor + "A",
        lambda cursor: cursor[:-1] + "=",
        lambda cursor: cursor[:-1] + "é",
        lambda cursor: "",
        lambda cursor: "x" * 5000,
        lambda cursor: CursorCodec("another-key-" * 4).encode("Item:1", 1),
    ],
    ids=[
        "tampered",
        "truncated",
        "extended",
        "padding",
        "not-ascii",
        "empty",
        "huge",
        "another-key",
    ],
)
async def test_a_bad_cursor_is_a_400(client: httpx.AsyncClient, make_cursor: Any) -> None:
    alice = await register_and_login(client)
    await create(client, alice, 2)
    cursor = (await page(client, alice, limit=1))["next_cursor"]

    params = {"cursor": make_cursor(cursor)}
    response = await client.get("/items", params=params, headers=alice.headers)

    assert_error(response, 400, "invalid_cursor")


async def test_a_cursor_is_bound_to_its_owner_and_its_list(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    mallory = await register_and_login(client)
    await create(client, alice, 2)
    await create(client, mallory, 2)
    alices = (await page(client, alice, limit=1))["next_cursor"]
    admin = await admin_headers(client)
    users = (await client.get("/users", params={"limit": 1}, headers=admin)).json()

    stolen = await client.get("/items", params={"cursor": alices}, headers=mallory.headers)
    crossed = await client.get("/users", params={"cursor": alices}, headers=admin)
    crossed_back = await client.get(
        "/items", params={"cursor": users["next_cursor"]}, headers=alice.headers
    )

    for response in (stolen, crossed, crossed_back):
        assert_error(response, 400, "invalid_cursor")


async def test_skip_still_works_and_counts(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    ids = await create(client, alice, 3)

    body = await page(client, alice, skip=1, limit=1)

    assert ([item["id"] for item in body["items"]], body["total"], body["skip"]) == (
        ids[1:2],
        3,
        1,
    )
    following = await page(client, alice, cursor=body["next_cursor"])
    assert [item["id"] for item in following["items"]] == ids[2:]


async def test_skip_is_capped_and_points_to_cursors(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)

    at_cap = await client.get("/items", params={"skip": 10_000}, headers=alice.headers)
    past_cap = await client.get("/items", params={"skip": 10_001}, headers=alice.headers)

    assert at_cap.status_code == 200
    body = assert_error(past_cap, 400, "bad_request")
    assert "next_cursor" in body["detail"]


async def test_skip_and_cursor_together_are_a_400(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    await create(client, alice, 2)
    cursor = (await page(client, alice, limit=1))["next_cursor"]

    response = await client.get(
        "/items", params={"skip": 0, "cursor": cursor}, headers=alice.headers
    )

    body = assert_error(response, 400, "bad_request")
    assert "cursor" in body["detail"]


@pytest.mark.parametrize("path", ["/items", "/users"])
async def test_lists_document_cursors_and_deprecate_skip(
    client: httpx.AsyncClient, path: str
) -> None:
    openapi = (await client.get("http://testserver/openapi.json")).json()
    operation = openapi["paths"][f"{API_PREFIX}{path}"]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}

    assert {"cursor", "limit", "include_total", "skip"} <= set(parameters)
    assert parameters["skip"]["deprecated"] is True
    assert "cost" in parameters["include_total"]["description"]
    assert "400" in operation["responses"]
