from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.dialects import sqlite

from app.db.base import UTCDateTime
from tests.helpers import Account, assert_error, register_and_login


async def create(client: httpx.AsyncClient, account: Account, title: str = "Milk") -> int:
    response = await client.post("/items", json={"title": title}, headers=account.headers)
    assert response.status_code == 201, response.text
    item_id: int = response.json()["id"]
    return item_id


async def test_create_read_update_delete(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    created = await client.post(
        "/items", json={"title": "Milk", "description": "2 l"}, headers=alice.headers
    )
    assert created.status_code == 201
    item = created.json()
    assert item["title"] == "Milk"
    assert item["description"] == "2 l"
    assert item["owner_id"] == alice.user["id"]

    read = await client.get(f"/items/{item['id']}", headers=alice.headers)
    assert read.json() == item

    updated = await client.put(
        f"/items/{item['id']}", json={"title": "Oat milk"}, headers=alice.headers
    )
    assert updated.status_code == 200
    assert updated.json()["title"] == "Oat milk"
    assert updated.json()["description"] is None

    deleted = await client.delete(f"/items/{item['id']}", headers=alice.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = await client.get(f"/items/{item['id']}", headers=alice.headers)
    assert_error(gone, 404, "not_found")


async def test_another_users_item_is_404_for_every_verb(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    mallory = await register_and_login(client)
    item_id = await create(client, alice)

    for response in (
        await client.get(f"/items/{item_id}", headers=mallory.headers),
        await client.put(f"/items/{item_id}", json={"title": "x"}, headers=mallory.headers),
        await client.patch(f"/items/{item_id}", json={"title": "x"}, headers=mallory.headers),
        await client.delete(f"/items/{item_id}", headers=mallory.headers),
    ):
        assert_error(response, 404, "not_found")
    listing = await client.get("/items", headers=mallory.headers)
    assert listing.json()["items"] == []
    still_there = await client.get(f"/items/{item_id}", headers=alice.headers)
    assert still_there.json()["title"] == "Milk"


async def test_pagination(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    ids = [await create(client, alice, f"item {n}") for n in range(5)]

    page = await client.get("/items", params={"skip": 1, "limit": 2}, headers=alice.headers)
    body = page.json()
    assert body["total"] == 5
    assert (body["skip"], body["limit"]) == (1, 2)
    assert [item["id"] for item in body["items"]] == ids[1:3]


async def test_list_defaults_and_shape(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    item_id = await create(client, alice)

    response = await client.get("/items", headers=alice.headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "next_cursor", "total", "skip", "limit"}
    assert (body["next_cursor"], body["total"], body["skip"], body["limit"]) == (None, None, 0, 20)
    assert [item["id"] for item in body["items"]] == [item_id]
    assert set(body["items"][0]) == {
        "id",
        "title",
        "description",
        "owner_id",
        "created_at",
        "updated_at",
    }


async def test_a_page_past_the_end_is_empty_but_counts(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    await create(client, alice)

    page = await client.get("/items", params={"skip": 5, "limit": 100}, headers=alice.headers)

    assert page.status_code == 200
    assert page.json() == {"items": [], "next_cursor": None, "total": 1, "skip": 5, "limit": 100}


@pytest.mark.parametrize(
    "params",
    [
        {"skip": -1},
        {"limit": 0},
        {"limit": 101},
        {"limit": -5},
        {"skip": "x"},
        {"skip": 2**63},
    ],
    ids=["negative-skip", "zero-limit", "limit-101", "negative-limit", "skip-not-int", "skip-huge"],
)
async def test_pagination_bounds(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    alice = await register_and_login(client)

    response = await client.get("/items", params=params, headers=alice.headers)

    body = assert_error(response, 422, "validation_error")
    assert body["errors"][0]["loc"][0] == "query"


async def test_owner_id_cannot_be_set_on_create(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    mallory = await register_and_login(client)

    response = await client.post(
        "/items", json={"title": "Planted", "owner_id": alice.user["id"]}, headers=mallory.headers
    )

    body = assert_error(response, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "owner_id"]
    for account in (alice, mallory):
        listing = await client.get("/items", headers=account.headers)
        assert listing.json()["items"] == []


async def test_patch_changes_only_the_fields_sent(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    created = await client.post(
        "/items", json={"title": "Milk", "description": "2 l"}, headers=alice.headers
    )
    url = f"/items/{created.json()['id']}"

    retitled = await client.patch(url, json={"title": "Oat milk"}, headers=alice.headers)
    assert retitled.status_code == 200
    assert (retitled.json()["title"], retitled.json()["description"]) == ("Oat milk", "2 l")

    cleared = await client.patch(url, json={"description": None}, headers=alice.headers)
    assert (cleared.json()["title"], cleared.json()["description"]) == ("Oat milk", None)

    unchanged = await client.patch(url, json={}, headers=alice.headers)
    assert unchanged.status_code == 200
    assert unchanged.json()["title"] == "Oat milk"
    assert unchanged.json()["created_at"] == created.json()["created_at"]


@pytest.mark.parametrize(
    "body",
    [{"title": None}, {"title": ""}, {"description": "d" * 2001}, {"owner_id": 1}, {"id": 2}],
    ids=["null-title", "empty-title", "description-2001", "owner_id", "id"],
)
async def test_patch_refuses_what_put_refuses(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    alice = await register_and_login(client)
    item_id = await create(client, alice)
    before = (await client.get(f"/items/{item_id}", headers=alice.headers)).json()

    response = await client.patch(f"/items/{item_id}", json=body, headers=alice.headers)

    assert_error(response, 422, "validation_error")
    assert (await client.get(f"/items/{item_id}", headers=alice.headers)).json() == before


@pytest.mark.parametrize("field", ["owner_id", "id", "created_at"])
async def test_server_fields_cannot_be_changed_on_update(
    client: httpx.AsyncClient, field: str
) -> None:
    alice = await register_and_login(client)
    mallory = await register_and_login(client)
    item_id = await create(client, mallory)
    before = (await client.get(f"/items/{item_id}", headers=mallory.headers)).json()
    values = {"owner_id": alice.user["id"], "id": item_id + 1, "created_at": "2000-01-01T00:00:00Z"}

    response = await client.put(
        f"/items/{item_id}", json={"title": "Moved", field: values[field]}, headers=mallory.headers
    )

    assert_error(response, 422, "validation_error")
    after = await client.get(f"/items/{item_id}", headers=mallory.headers)
    assert after.json() == before
    assert (await client.get("/items", headers=alice.headers)).json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"title": None},
        {},
        {"title": "ok", "description": "d" * 2001},
        {"title": 42},
        {"title": "nul\x00byte"},
        {"title": "ok", "description": "nul\x00byte"},
    ],
    ids=[
        "empty-title",
        "title-201",
        "null-title",
        "no-title",
        "description-2001",
        "title-int",
        "nul-in-title",
        "nul-in-description",
    ],
)
async def test_item_fields_are_bounded(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    alice = await register_and_login(client)
    item_id = await create(client, alice)

    created = await client.post("/items", json=body, headers=alice.headers)
    updated = await client.put(f"/items/{item_id}", json=body, headers=alice.headers)

    assert_error(created, 422, "validation_error")
    assert_error(updated, 422, "validation_error")
    assert len((await client.get("/items", headers=alice.headers)).json()["items"]) == 1


async def test_the_longest_title_and_description_fit(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    body = {"title": "t" * 200, "description": "d" * 2000}

    response = await client.post("/items", json=body, headers=alice.headers)

    assert response.status_code == 201
    assert (response.json()["title"], response.json()["description"]) == (
        body["title"],
        body["description"],
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_out_of_range_item_ids_are_422_never_500(
    client: httpx.AsyncClient, method: str
) -> None:
    alice = await register_and_login(client)
    body = {"title": "x"} if method in {"PUT", "PATCH"} else None

    for item_id in ("0", "-1", str(2**31), str(2**63), str(2**64), "abc", "1.5", "1e3", "%00"):
        url = f"/items/{item_id}"
        response = await client.request(method, url, json=body, headers=alice.headers)
        error = assert_error(response, 422, "validation_error")
        assert error["errors"][0]["loc"] == ["path", "item_id"], item_id


async def test_the_largest_possible_id_is_just_not_found(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)

    response = await client.get(f"/items/{2**31 - 1}", headers=alice.headers)

    assert_error(response, 404, "not_found")


async def test_items_need_a_token(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/items"),
        ("POST", "/items"),
        ("GET", "/items/1"),
        ("PUT", "/items/1"),
        ("PATCH", "/items/1"),
        ("DELETE", "/items/1"),
    ]:
        body = {"title": "x"} if method in {"POST", "PUT", "PATCH"} else None
        response = await client.request(method, path, json=body)
        assert_error(response, 401, "auth_error")


async def test_timestamps_are_timezone_aware_and_updated(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)
    item_id = await create(client, alice)
    created = (await client.get(f"/items/{item_id}", headers=alice.headers)).json()

    updated = await client.put(f"/items/{item_id}", json={"title": "B"}, headers=alice.headers)

    after = updated.json()
    created_at = datetime.fromisoformat(after["created_at"])
    assert created_at.utcoffset() == timedelta(0)
    assert after["created_at"] == created["created_at"]
    assert datetime.fromisoformat(after["updated_at"]) >= datetime.fromisoformat(
        created["updated_at"]
    )


def test_naive_datetimes_never_reach_the_database() -> None:
    column_type = UTCDateTime()

    with pytest.raises(ValueError, match="naive datetime"):
        column_type.process_bind_param(datetime(2024, 1, 1), sqlite.dialect())
    aware = datetime(2024, 1, 1, tzinfo=UTC)
    assert column_type.process_bind_param(aware, sqlite.dialect()) == aware
    assert column_type.process_result_value(datetime(2024, 1, 1), sqlite.dialect()) == aware
