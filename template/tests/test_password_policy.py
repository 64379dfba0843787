"""The password policy of NIST SP 800-63B-4 and ASVS 5.0: length and a blocklist, no
composition rules, passphrases and any Unicode welcome."""

import httpx
import pytest

from app.core.errors import WeakPassword
from app.core.passwords import PasswordPolicy, common_passwords
from tests.helpers import PASSWORD, assert_error, login, register, register_and_login, unique_email


async def refusal(client: httpx.AsyncClient, password: str, email: str | None = None) -> str:
    response = await client.post(
        "/users", json={"email": email or unique_email(), "password": password}
    )
    body = assert_error(response, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "password"]
    assert body["detail"].startswith("password: ")
    message: str = body["errors"][0]["msg"]
    return message


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # spaces: a passphrase
        "alllowercaseandlong",  # no composition rules
        "ÅNGSTRÖM über café ñandú",  # any Unicode
        "пароль для входа в систему",
        "x" * 20 + "y" * 20 + "z" * 24,  # 64 characters
    ],
    ids=["passphrase", "lower-case", "latin-unicode", "cyrillic", "64-characters"],
)
async def test_passphrases_and_unicode_are_accepted(
    client: httpx.AsyncClient, password: str
) -> None:
    user = await register(client, password=password)
    await login(client, user["email"], password)


async def test_fifteen_characters_is_the_default_minimum(client: httpx.AsyncClient) -> None:
    assert "15 characters" in await refusal(client, "fourteen-chars")
    await register(client, password="fifteen-chars!!")


async def test_common_passwords_are_refused_whatever_their_case(
    client: httpx.AsyncClient,
) -> None:
    assert "commonly used" in await refusal(client, "1Q2W3E4R5T6Y7U8I9O0P")


async def test_one_repeated_sequence_is_refused(client: httpx.AsyncClient) -> None:
    assert "repeated" in await refusal(client, "passwordpassword")


async def test_a_password_containing_the_address_name_is_refused(
    client: httpx.AsyncClient,
) -> None:
    email = "margaret-hamilton@example.com"
    assert "e-mail" in await refusal(client, "my name is Margaret-Hamilton!", email)


async def test_login_accepts_the_password_in_another_unicode_form(
    client: httpx.AsyncClient,
) -> None:
    """NFKC: full-width letters and the composed/decomposed é are one password."""
    full_width = "".join(chr(ord(char) + 0xFEE0) for char in "fullwidth")
    user = await register(client, password=f"{full_width} caf\u00e9 passphrase")
    await login(client, user["email"], "fullwidth cafe\u0301 passphrase")


async def test_changing_to_the_same_password_is_refused(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client)

    response = await client.post(
        "/users/me/password",
        json={"current_password": PASSWORD, "new_password": PASSWORD},
        headers=alice.headers,
    )

    body = assert_error(response, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "new_password"]
    assert "differ" in body["detail"]


def test_the_minimum_length_comes_from_the_settings() -> None:
    policy = PasswordPolicy(min_length=20)
    with pytest.raises(WeakPassword, match="20 characters"):
        policy.check("nineteen characters", "someone@example.com")
    policy.check("twenty characters ok", "someone@example.com")


def test_the_shipped_blocklist_holds_thousands_of_breached_passwords() -> None:
    common = common_passwords()
    assert len(common) > 5000
    assert {"password", "iloveyou", "1q2w3e4r5t6y7u8i9o0p"} <= common
