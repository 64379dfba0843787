import gc

import pytest

from app import factory
from app.core.config import Settings, load_settings
from tests.settings import make_settings


@pytest.mark.usefixtures("keep_logging")
async def test_start_up_applies_the_migrations_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Settings] = []
    monkeypatch.setattr(factory, "upgrade_to_head", calls.append)
    settings = make_settings().model_copy(update={"MIGRATE_ON_STARTUP": True})
    app = factory.create_app(settings)

    async with app.router.lifespan_context(app):
        assert calls == [settings]


@pytest.mark.usefixtures("keep_logging")
async def test_start_up_leaves_the_schema_alone_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Settings] = []
    monkeypatch.setattr(factory, "upgrade_to_head", calls.append)
    app = factory.create_app(make_settings())

    async with app.router.lifespan_context(app):
        assert calls == []


@pytest.mark.usefixtures("keep_logging")
async def test_start_up_takes_what_it_built_out_of_the_garbage_collectors_rounds() -> None:
    app = factory.create_app(make_settings())
    gc.unfreeze()  # whatever an earlier start froze

    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 0


@pytest.mark.parametrize(
    ("environment", "explicit", "expected"),
    [
        ("development", None, True),
        ("test", None, False),
        ("development", False, False),
        ("test", True, True),
    ],
)
def test_migrations_at_start_up_default_to_development_only(
    environment: str, explicit: bool | None, expected: bool
) -> None:
    secrets = {"SECRET_KEY": "k" * 40, "REFRESH_TOKEN_SECRET": "r" * 40}
    overrides: dict[str, object] = {"ENVIRONMENT": environment, **secrets}
    if explicit is not None:
        overrides["MIGRATE_ON_STARTUP"] = explicit
    assert load_settings(**overrides).MIGRATE_ON_STARTUP is expected
