"""Shared fixtures of the template's own tests: renders are cached per session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[1]


class Renders:
    """Render each distinct set of answers once per session (pytest-copie's session helper)."""

    def __init__(self, copie_session: Any) -> None:
        self._copie = copie_session
        self._cache: dict[tuple[tuple[str, Any], ...], Path] = {}

    def __call__(self, **answers: Any) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in self._cache:
            result = self._copie.copy(extra_answers=answers)
            assert result.exit_code == 0, result.exception
            self._cache[key] = result.project_dir
        return self._cache[key]


@pytest.fixture(scope="session")
def render(copie_session: Any) -> Renders:
    return Renders(copie_session)


def files_of(project: Path) -> set[str]:
    return {
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }
