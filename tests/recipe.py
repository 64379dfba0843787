"""The recipe of docs/service/add-a-resource.md as a script: add `projects` to a rendered project.

`apply_recipe(project, use_async)` does what the page tells a team to do, as a team would: it
writes the new files (tests/fixtures/recipe/, rendered for the flavour), edits the two shared
ones and adds the migration after the project's current head. The `generated` nox session
applies it to every deep combination before that combination's gates, so the recipe can never
rot; the figures it returns are the ones the page states (tests/test_recipe.py compares them).
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable
from pathlib import Path

import jinja2
import yaml

from tests.support import ROOT

FIXTURES = Path(__file__).parent / "fixtures" / "recipe"
MIGRATION = Path("alembic/versions/projects.py.jinja")
MODEL = """

class Project(OwnedByUser, Base):
    __tablename__ = "projects"

    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX_LENGTH))
"""
# The template's own Jinja settings (delimiters, whitespace), so fixtures render as copier would.
_ENVOPS = yaml.safe_load((ROOT / "copier.yml").read_text())["_envops"]
_ENV = jinja2.Environment(**_ENVOPS, undefined=jinja2.StrictUndefined)


def _assigned(module: ast.Module, name: str) -> object:
    for node in module.body:
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == name and node.value:
            return ast.literal_eval(node.value)
    raise LookupError(name)


def render_fixture(fixture: Path, use_async: bool, **answers: str) -> str:
    flavour = {"async_": "async " if use_async else "", "await_": "await " if use_async else ""}
    return _ENV.from_string(fixture.read_text()).render(flavour, **answers)


def head_revision(versions: Path) -> str:
    """The one revision that no other migration revises."""
    revisions = {}
    for path in versions.glob("*.py"):
        module = ast.parse(path.read_text())
        revisions[_assigned(module, "revision")] = _assigned(module, "down_revision")
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:
        raise RuntimeError(f"expected one Alembic head in {versions}, found {sorted(heads)}")
    return str(heads.pop())


def _edit(path: Path, pattern: str, replacement: str | Callable[[re.Match[str]], str]) -> None:
    text = path.read_text()
    edited, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    if count != 1:
        raise RuntimeError(f"{path}: the recipe expects a line matching {pattern!r}")
    path.write_text(edited)


def _include_projects(match: re.Match[str]) -> str:
    modules = sorted({*match.group(1).split(", "), "projects"})
    return f"from app.api.v1 import {', '.join(modules)}"


def apply_recipe(project: Path, use_async: bool) -> dict[str, int]:
    """Add `projects` to the rendered `project`; returns lines added per file touched."""
    before = {path: path.read_text() for path in project.rglob("*.py") if ".venv" not in path.parts}
    head = head_revision(project / "alembic" / "versions")
    revision = f"{int(head) + 1:04d}"  # the house numbering: 0001, 0002, ...
    for fixture in FIXTURES.rglob("*.jinja"):
        relative = fixture.relative_to(FIXTURES).with_suffix("")
        if fixture.relative_to(FIXTURES) == MIGRATION:
            relative = relative.with_name(f"{revision}_projects.py")
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        text = render_fixture(fixture, use_async, revision=revision, down_revision=head)
        target.write_text(text)

    models = project / "app" / "db" / "models.py"
    models.write_text(models.read_text() + MODEL)
    routers = project / "app" / "api" / "v1" / "__init__.py"
    _edit(routers, r"^from app\.api\.v1 import (.+)$", _include_projects)
    include = "api_router.include_router(projects.router)\n"
    _edit(routers, r"^api_router\.include_router\(items\.router\)\n", rf"\g<0>{include}")
    return lines_added(project, before)


def lines_added(project: Path, before: dict[Path, str]) -> dict[str, int]:
    added: dict[str, int] = {}
    for path in sorted(project.rglob("*.py")):
        if ".venv" in path.parts or path.read_text() == before.get(path):
            continue
        old = before.get(path, "").splitlines()
        diff = difflib.unified_diff(old, path.read_text().splitlines(), lineterm="", n=0)
        count = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
        added[str(path.relative_to(project))] = count
    return added
