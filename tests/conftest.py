"""Shared fixtures of the template's own tests: renders are cached per session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Renders

# A rendered service's own code (tests/fixtures/update): `nox -s update` adds it to a render.
collect_ignore = ["fixtures"]


@pytest.fixture(scope="session")
def render(copie_session: Any) -> Renders:
    return Renders(copie_session)
