"""The documentation's generated reference cannot drift from the template.

The reference pages are generated at build time by docs/hooks/reference.py; these tests fail
when a question has no help, a setting has no description, the generated reference misses a
question or a setting, or a page cites a rendered test that does not exist.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_hook() -> ModuleType:
    path = ROOT / "docs" / "hooks" / "reference.py"
    spec = importlib.util.spec_from_file_location("docs_hooks_reference", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


reference = _load_hook()


@pytest.fixture(scope="module")
def copier_config() -> dict[str, Any]:
    return reference.load_copier_yml(ROOT)


@pytest.fixture(scope="module")
def settings(copier_config: dict[str, Any]) -> Any:
    return reference.collect_settings(ROOT)


def _rows(table: str) -> dict[str, str]:
    """First-column name -> whole row, for the rows of a generated markdown table."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| \[?`(\w+)`.*$", table, re.M)}


def test_every_question_has_help(copier_config: dict[str, Any]) -> None:
    missing = [q.name for q in reference.questions(copier_config) if not q.help]
    assert not missing, f"copier.yml questions without `help`: {missing}"


def test_options_reference_lists_every_question(copier_config: dict[str, Any]) -> None:
    page = reference.options_reference(copier_config)
    summary = _rows(page)
    for question in reference.questions(copier_config):
        assert question.name in summary, f"{question.name} missing from the summary table"
        assert f"### `{question.name}`\n" in page, question.name
        if question.help:
            assert question.help in page, question.name


def test_computed_values_are_not_listed_as_questions(copier_config: dict[str, Any]) -> None:
    asked = {q.name for q in reference.questions(copier_config)}
    for value in reference.computed(copier_config):
        assert value.name not in asked


def test_every_setting_has_a_description(settings: Any) -> None:
    missing = [
        f"{name} ({combination})"
        for combination, found in settings.settings.items()
        for name, setting in found.items()
        if not setting.description
    ]
    assert not missing, f"Settings fields without Field(description=...): {missing}"


def test_settings_reference_lists_every_setting(
    settings: Any, copier_config: dict[str, Any]
) -> None:
    rows = _rows(reference.settings_reference(settings, copier_config))
    for combination, found in settings.settings.items():
        missing = sorted(set(found) - set(rows))
        assert not missing, f"settings of {combination} missing from the reference: {missing}"


def test_settings_reference_marks_optional_settings(
    settings: Any, copier_config: dict[str, Any]
) -> None:
    rows = _rows(reference.settings_reference(settings, copier_config))
    defaults, no_limits = settings.settings["defaults"], settings.settings["no rate limiting"]
    everywhere = set.intersection(*(set(found) for found in settings.settings.values()))
    for name in everywhere:
        assert "**Only with" not in rows[name], rows[name]
    for name in set(defaults) - set(no_limits):
        assert "**Only with `rate_limiting=true`" in rows[name], rows[name]
    for name in set(settings.settings["redis"]) - set(defaults):
        assert "**Only with `rate_limit_storage=redis`" in rows[name], rows[name]
    queue = set(settings.settings["task_queue=redis"]) - set(defaults)
    for name in queue - set(settings.settings["redis"]):
        assert "**Only with `task_queue=redis`.**" in rows[name], rows[name]
    assert "`task_queue=redis`" in rows["REDIS_URL"]  # the queue needs it too


def test_reference_pages_include_the_generated_sections() -> None:
    options_page = (ROOT / "docs" / "options.md").read_text("utf-8")
    assert reference.has_marker(options_page, reference.OPTIONS_MARKER)
    assert reference.has_marker(options_page, reference.end_marker(reference.OPTIONS_MARKER))
    settings_page = (ROOT / "docs" / "service" / "settings.md").read_text("utf-8")
    assert reference.has_marker(settings_page, reference.SETTINGS_MARKER)
    assert reference.has_marker(settings_page, reference.end_marker(reference.SETTINGS_MARKER))


def test_committed_reference_tables_are_what_the_generator_writes(
    copier_config: dict[str, Any], settings: Any
) -> None:
    """The Markdown reads the same unbuilt (on GitHub) as built: the tables are committed.

    Fix with `uv run python docs/hooks/reference.py`.
    """
    generated = {
        "options.md": (reference.OPTIONS_MARKER, reference.options_reference(copier_config)),
        "service/settings.md": (
            reference.SETTINGS_MARKER,
            reference.settings_reference(settings, copier_config),
        ),
    }
    for page, (marker, text) in generated.items():
        committed = (ROOT / "docs" / page).read_text("utf-8")
        assert reference.with_generated(committed, marker, text) == committed, page


def test_a_page_without_its_block_gets_one() -> None:
    marker = reference.OPTIONS_MARKER
    page = f"# Options\n\n{marker}\n\nAfter.\n"

    filled = reference.with_generated(page, marker, "| a |\n")
    refilled = reference.with_generated(filled, marker, "| b |\n")

    assert filled == f"# Options\n\n{marker}\n\n| a |\n\n{reference.end_marker(marker)}\n\nAfter.\n"
    assert refilled == filled.replace("| a |", "| b |")


def test_cited_rendered_tests_exist() -> None:
    pages = sorted((ROOT / "docs").rglob("*.md"))
    missing = {
        str(page.relative_to(ROOT)): found
        for page in pages
        if (found := reference.missing_tests(page.read_text("utf-8"), ROOT))
    }
    assert not missing, f"pages cite tests that are not in template/tests: {missing}"


def test_security_page_cites_rendered_tests() -> None:
    assert reference.cited_tests((ROOT / "docs" / "security.md").read_text("utf-8"))


def test_settings_parser_reads_fields() -> None:
    source = """
LIMIT = 5


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env")

    A: int = Field(1, description="positional default")
    B: str = Field(default="x", description="keyword default")
    C: list[str] = Field(default_factory=list, description="factory")
    D: str = Field(description="required")
    E: int = Field(LIMIT, description="constant")
    F: bool = False
"""
    found = reference.parse_settings(source)
    assert list(found) == ["A", "B", "C", "D", "E", "F"]
    assert [s.default for s in found.values()] == ["1", "'x'", "[]", None, "5", "False"]
    assert found["A"].description == "positional default"
    assert found["F"].description == ""


def test_readme_options_table_lists_every_question_with_its_default(
    copier_config: dict[str, Any],
) -> None:
    """README's hand-written table: every question, and the default copier.yml gives (a derived
    one is described in words there)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Options") : readme.index("## Testing the template")]
    rows = {
        name: row
        for row in re.findall(r"^\|.*$", table, re.M)
        for name in re.findall(r"`(\w+)`", row.split("|")[1])
    }
    for question in reference.questions(copier_config):
        assert question.name in rows, f"README's options table misses {question.name}"
        default = reference._default(question)
        if default != "derived":
            assert default in rows[question.name].split("|")[3], question.name
