"""docs/service/add-a-resource.md and add-a-job.md state what tests/recipe.py does.

The `generated` nox session applies the recipes to every deep combination and runs the gates;
these tests keep the pages' code and figures equal to the recipes'.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.recipe import (
    FIXTURES,
    JOB_DEPENDENCY,
    JOB_FIXTURES,
    JOB_INSTALL,
    JOB_ROUTE,
    JOB_SETTINGS,
    apply_job_recipe,
    apply_recipe,
    head_revision,
    render_fixture,
    render_text,
)
from tests.support import ROOT, Renders

PAGE = ROOT / "docs" / "service" / "add-a-resource.md"
JOB_PAGE = ROOT / "docs" / "service" / "add-a-job.md"
# ```python title="app/api/v1/projects.py" ... ```: a whole file of the recipe, as shown
CODE_BLOCK = re.compile(r'^```python title="(?P<path>[^"]+)"\n(?P<code>.*?)^```$', re.M | re.S)
FIGURE = re.compile(r"^\| `(?P<path>[^`]+)` \| (?P<lines>\d+) \|$", re.M)
MIGRATION_NAME = re.compile(r"alembic/versions/\d+_projects\.py")


def _normalized(figures: dict[str, int]) -> dict[str, int]:
    return {MIGRATION_NAME.sub("alembic/versions/N_projects.py", k): v for k, v in figures.items()}


@pytest.mark.parametrize(
    ("page", "recipe"),
    [(PAGE, apply_recipe), (JOB_PAGE, apply_job_recipe)],
    ids=["resource", "job"],
)
def test_the_page_states_the_files_and_lines_the_recipe_adds(
    render: Renders, tmp_path: Path, page: Path, recipe: Callable[..., dict[str, int]]
) -> None:
    project = tmp_path / "project"
    shutil.copytree(render(), project)

    added = recipe(project, use_async=True)

    stated = {match["path"]: int(match["lines"]) for match in FIGURE.finditer(page.read_text())}
    assert _normalized(added) == _normalized(stated)
    assert f"**{len(added)} files** | **{sum(added.values())}**" in page.read_text()


def test_the_page_shows_the_recipes_files() -> None:
    # The page shows the async flavour, numbered after the template's own migrations.
    head = head_revision(ROOT / "template" / "alembic" / "versions")
    shown = {match["path"]: match["code"] for match in CODE_BLOCK.finditer(PAGE.read_text())}
    fixtures = {
        str(path.relative_to(FIXTURES).with_suffix("")): path for path in FIXTURES.rglob("*.jinja")
    }

    assert len(shown) == len(fixtures)
    for path, code in shown.items():
        fixture = fixtures[MIGRATION_NAME.sub("alembic/versions/projects.py", path)]
        answers = {"revision": f"{int(head) + 1:04d}", "down_revision": head}
        assert code == render_fixture(fixture, use_async=True, **answers), path


def test_the_recipe_follows_the_newest_migration(render: Renders, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(render(use_async=False), project)
    head = head_revision(project / "alembic" / "versions")

    added = apply_recipe(project, use_async=False)

    migration = next(project.glob("alembic/versions/*_projects.py"))
    assert migration.name == f"{int(head) + 1:04d}_projects.py"
    assert f'down_revision: str | None = "{head}"' in migration.read_text()
    assert head_revision(project / "alembic" / "versions") == f"{int(head) + 1:04d}"
    routes = (project / "app" / "api" / "v1" / "projects.py").read_text()
    assert "async" not in routes
    assert "await" not in routes
    assert sum(added.values()) > 0


# --- docs/service/add-a-job.md ---

JOB_EDITS = (JOB_SETTINGS, JOB_ROUTE, JOB_INSTALL, JOB_DEPENDENCY)


def test_the_job_page_shows_the_recipes_files_and_edits() -> None:
    page = JOB_PAGE.read_text()
    shown = {match["path"]: match["code"] for match in CODE_BLOCK.finditer(page)}
    fixtures = {
        str(path.relative_to(JOB_FIXTURES).with_suffix("")): path
        for path in JOB_FIXTURES.rglob("*.jinja")
    }

    assert shown.keys() == fixtures.keys()
    for path, code in shown.items():
        assert code == render_fixture(fixtures[path], use_async=True), path
    for edit in JOB_EDITS:
        assert render_text(edit, use_async=True) in page


def test_the_job_recipe_in_the_sync_flavour_and_after_the_resource_recipe(
    render: Renders, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(render(use_async=False), project)
    apply_recipe(project, use_async=False)  # as the `generated` nox session applies them

    added = apply_job_recipe(project, use_async=False)

    assert added.keys() == {match["path"] for match in FIGURE.finditer(JOB_PAGE.read_text())}
    webhooks = (project / "app" / "services" / "webhooks.py").read_text()
    assert "httpx.Client(" in webhooks
    assert "await" not in webhooks
    routes = (project / "app" / "api" / "v1" / "items.py").read_text()
    assert "    background.add_task(jobs.run_due)" in routes
    assert "async def create_item" not in routes
