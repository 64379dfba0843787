"""The recipes of docs/service/ as scripts, applied to a rendered project as a team would.

`apply_recipe(project, use_async)` is add-a-resource.md: it writes the new files
(tests/fixtures/recipe/, rendered for the flavour), edits the two shared ones and adds the
migration after the project's current head. `apply_job_recipe(project, use_async)` is
add-a-job.md: an `item.created` webhook, a job of the outbox (tests/fixtures/job_recipe/ and the
edits below). The `generated` nox session applies both to every deep combination before that
combination's gates, so neither page can rot; the figures they return are the ones the pages
state (tests/test_recipe.py compares them).
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
JOB_FIXTURES = Path(__file__).parent / "fixtures" / "job_recipe"
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


def render_text(text: str, use_async: bool, **answers: str) -> str:
    """`text` as copier renders a template file of the flavour."""
    flavour = {
        "use_async": use_async,
        "async_": "async " if use_async else "",
        "await_": "await " if use_async else "",
        "session_type": "AsyncSession" if use_async else "Session",
    }
    return _ENV.from_string(text).render(flavour, **answers)


def render_fixture(fixture: Path, use_async: bool, **answers: str) -> str:
    return render_text(fixture.read_text(), use_async, **answers)


def write_fixtures(
    project: Path,
    fixtures: Path,
    use_async: bool,
    names: dict[Path, str] | None = None,
    **answers: str,
) -> None:
    """Each fixture, rendered for the flavour, at its path in `project` (or the name `names`
    gives it there)."""
    for fixture in fixtures.rglob("*.jinja"):
        relative = fixture.relative_to(fixtures)
        target = project / relative.with_suffix("")
        if names and relative in names:
            target = target.with_name(names[relative])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_fixture(fixture, use_async, **answers))


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


def _edit(
    path: Path, pattern: str, replacement: str | Callable[[re.Match[str]], str], flags: int = 0
) -> None:
    text = path.read_text()
    edited, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE | flags)
    if count != 1:
        raise RuntimeError(f"{path}: the recipe expects a line matching {pattern!r}")
    path.write_text(edited)


def _importing(name: str) -> Callable[[re.Match[str]], str]:
    """An import line (matched with its names as group 2) that imports `name` too, sorted."""

    def edited(match: re.Match[str]) -> str:
        names = sorted({*match.group(2).split(", "), name}, key=lambda each: each.lower())
        return f"{match.group(1)}{', '.join(names)}"

    return edited


def apply_recipe(project: Path, use_async: bool) -> dict[str, int]:
    """Add `projects` to the rendered `project`; returns lines added per file touched."""
    before = _sources(project)
    head = head_revision(project / "alembic" / "versions")
    revision = f"{int(head) + 1:04d}"  # the house numbering: 0001, 0002, ...
    names = {MIGRATION: f"{revision}_projects.py"}
    write_fixtures(project, FIXTURES, use_async, names, revision=revision, down_revision=head)

    models = project / "app" / "db" / "models.py"
    models.write_text(models.read_text() + MODEL)
    routers = project / "app" / "api" / "v1" / "__init__.py"
    _edit(routers, r"^(from app\.api\.v1 import )(.+)$", _importing("projects"))
    include = "api_router.include_router(projects.router)\n"
    _edit(routers, r"^api_router\.include_router\(items\.router\)\n", rf"\g<0>{include}")
    return lines_added(project, before)


def _sources(project: Path) -> dict[Path, str]:
    """What a recipe may touch: the Python files and the project's dependencies."""
    paths = [*project.rglob("*.py"), project / "pyproject.toml"]
    return {path: path.read_text() for path in paths if ".venv" not in path.parts}


def lines_added(project: Path, before: dict[Path, str]) -> dict[str, int]:
    added: dict[str, int] = {}
    for path in sorted(_sources(project)):
        if path.read_text() == before.get(path):
            continue
        old = before.get(path, "").splitlines()
        diff = difflib.unified_diff(old, path.read_text().splitlines(), lineterm="", n=0)
        count = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
        added[str(path.relative_to(project))] = count
    return added


# --- docs/service/add-a-job.md: the edits of files the project has (new ones: JOB_FIXTURES) ---

# app/core/config.py, in `Settings`, before FIRST_ADMIN_EMAIL
JOB_SETTINGS = """\
    ITEM_WEBHOOK_URL: str | None = Field(
        None,
        pattern=r"^https?://\\S+$",
        description="Where an `item.created` event is POSTed for every item created; unset "
        "sends none.",
    )
    ITEM_WEBHOOK_TIMEOUT_SECONDS: float = Field(
        10, gt=0, le=60, description="How long a delivery waits for the receiver's answer."
    )
"""
# app/api/v1/items.py: the route that creates an item (its imports are edited too)
JOB_ROUTE = """\
@router.post("", status_code=201)
[[ async_ ]]def create_item(
    body: ItemCreate,
    user: CurrentUser,
    session: SessionDep,
    etag: Tagged,
    webhook: ItemWebhookDep,
    jobs: JobsDep,
    background: BackgroundTasks,
) -> ItemPublic:
    item = [[ await_ ]]owned.create_owned(
        session, Item, user, body.model_dump(), before_commit=webhook.queue_event
    )
    background.add_task(jobs.run_due)  # the event leaves right after the response
    etag.tag(item)
    return ItemPublic.model_validate(item)
"""
# app/factory.py, in create_app: the handler in the registry every job runner reads
JOB_INSTALL = "    webhooks.install(app)\n"
JOB_DEPENDENCY = '    "httpx>=0.28",\n'  # pyproject.toml, as `uv add "httpx>=0.28"` writes it


def apply_job_recipe(project: Path, use_async: bool) -> dict[str, int]:
    """Add the `item.created` webhook to the rendered `project`; returns lines added per file."""
    before = _sources(project)
    write_fixtures(project, JOB_FIXTURES, use_async)

    config = project / "app" / "core" / "config.py"
    _edit(config, r"^    FIRST_ADMIN_EMAIL: ", lambda match: JOB_SETTINGS + match.group(0))
    items = project / "app" / "api" / "v1" / "items.py"
    _edit(items, r"^(from fastapi import )(.+)$", _importing("BackgroundTasks"))
    _edit(items, r"^(from app\.api\.deps import )(.+)$", _importing("JobsDep"))
    webhook_import = "from app.services.webhooks import ItemWebhookDep\n"
    _edit(items, r"^from app\.services import owned\n", rf"\g<0>{webhook_import}")
    route = render_text(JOB_ROUTE, use_async)
    create = r'^@router\.post\("", status_code=201\)\n(async )?def create_item\(.*?\n\n\n'
    _edit(items, create, lambda match: route + "\n\n", flags=re.DOTALL)
    factory = project / "app" / "factory.py"
    _edit(
        factory, r"^from app\.services\.auth import ", r"from app.services import webhooks\n\g<0>"
    )
    _edit(factory, r"^    app\.state\.job_handlers = \{\}.*\n", rf"\g<0>{JOB_INSTALL}")
    pyproject = project / "pyproject.toml"
    _edit(pyproject, r"^(dependencies = \[\n(?:    .*\n)*?)\]", rf"\g<1>{JOB_DEPENDENCY}]")
    return lines_added(project, before)
