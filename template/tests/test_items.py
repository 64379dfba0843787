import httpx

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
        await client.delete(f"/items/{item_id}", headers=mallory.headers),
    ):
        assert_error(response, 404, "not_found")
    listing = await client.get("/items", headers=mallory.headers)
    assert listing.json()["total"] == 0
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
