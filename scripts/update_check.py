"""Check that ``copier update`` carries template changes into a project its users have edited.

The ``update`` nox session runs this script, then the rendered project's gates in the project it
leaves behind. It only tests what is committed: the template is a fresh ``git clone`` of the
repository's HEAD, whose tags are rebuilt from ``tests/releases.py`` (a clone need not have tags).

    python scripts/update_check.py --base previous --combo sqlite-async-memory --workdir /tmp/u

Steps:

1. clone the template, re-create the release tags listed in ``tests/releases.py``;
2. render the combination from the base commit (``first-full``, ``previous`` or a ref),
   ``git init`` and commit it;
3. make the edits real users make (a service module, a route and its test, a README section,
   a changed default in ``.env.example``, a dependency) and commit them;
4. ``copier update --defaults --vcs-ref HEAD``;
5. assert: exit 0; no unmerged path, conflict marker or ``.rej`` file; every user edit kept;
   every template change between base and HEAD present (files the user did not touch are
   byte-identical to a fresh render of HEAD); answers kept;
6. on an unedited render of HEAD, switch ``rate_limit_storage`` through
   ``copier update --data ... --vcs-ref=:current:`` and compare with a fresh render.

Exit status: 0 passed, 1 a check failed, 3 the base is not known yet (nothing to test).
The last line of stdout is a JSON summary (timings, project path).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import filecmp
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
SKIP = 3
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Update Check",
    "GIT_AUTHOR_EMAIL": "update-check@example.com",
    "GIT_COMMITTER_NAME": "Update Check",
    "GIT_COMMITTER_EMAIL": "update-check@example.com",
}
ENV = {**os.environ, **GIT_IDENTITY, "UV_PYTHON_DOWNLOADS": "never"}
# Directories that belong to tools, not to the project (never scanned, never compared).
IGNORED_DIRS = {".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}
COPIER = [sys.executable, "-m", "copier"]
ANSWERS = ".copier-answers.yml"


class CheckFailed(Exception):
    """One or more assertions about the updated project failed."""


class NothingToTest(Exception):
    """The requested base is not recorded yet (e.g. no release before HEAD)."""


# --- small helpers --------------------------------------------------------------------------


def run(*args: str | Path, cwd: Path | None = None, check: bool = True) -> str:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=ENV, capture_output=True, text=True, check=False
    )
    if check and proc.returncode:
        raise CheckFailed(
            f"`{' '.join(map(str, args))}` exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout


def git(cwd: Path, *args: str) -> str:
    return run("git", *args, cwd=cwd).strip()


def data_args(data: dict[str, Any]) -> list[str]:
    args = []
    for key, value in data.items():
        args += ["--data", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
    return args


def project_files(root: Path) -> dict[str, Path]:
    """Every file of a project by relative POSIX path, tool caches and .git left out."""
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in IGNORED_DIRS]
        for name in filenames:
            path = Path(dirpath, name)
            files[path.relative_to(root).as_posix()] = path
    return files


def text(path: Path | None) -> list[str]:
    if path is None or not path.exists():
        return []
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


# --- template clone and releases ------------------------------------------------------------


def load_releases(clone: Path) -> tuple[str | None, dict[str, str]]:
    module = runpy.run_path(str(clone / "tests" / "releases.py"))
    return module["FIRST_FULL_SERVICE"], dict(module["RELEASES"])


def clone_template(source: Path, dest: Path) -> tuple[str | None, dict[str, str]]:
    """Clone the committed HEAD and rebuild its tags from tests/releases.py."""
    if dest.exists():
        shutil.rmtree(dest)
    run("git", "clone", "--quiet", "--no-hardlinks", source, dest)
    for tag in git(dest, "tag", "--list").split():
        git(dest, "tag", "--delete", tag)
    first_full, releases = load_releases(dest)
    for name, sha in [("FIRST_FULL_SERVICE", first_full), *releases.items()]:
        probe = ["git", "cat-file", "-e", f"{sha}^{{commit}}"]
        if sha and subprocess.run(probe, cwd=dest, capture_output=True).returncode:
            shallow = (source / ".git" / "shallow").exists()
            hint = " (a shallow clone: fetch the full history, e.g. fetch-depth: 0)" * shallow
            raise CheckFailed(f"tests/releases.py: {name} = {sha} is not in the history{hint}")
    for version, sha in releases.items():
        git(dest, "tag", f"v{version}", sha)
    return first_full, releases


def resolve_base(clone: Path, base: str, first_full: str | None, releases: dict[str, str]) -> str:
    """The git ref to render the "before" project from."""
    head = git(clone, "rev-parse", "HEAD")
    if base == "first-full":
        if not first_full:
            raise NothingToTest("tests/releases.py: FIRST_FULL_SERVICE is not filled in yet")
        return first_full
    if base == "previous":
        older = [
            version
            for version, sha in releases.items()
            if sha != head
            and subprocess.run(
                ["git", "merge-base", "--is-ancestor", sha, head], cwd=clone, check=False
            ).returncode
            == 0
        ]
        if not older:
            raise NothingToTest("tests/releases.py lists no release older than HEAD")
        return f"v{max(older, key=Version)}"
    return base


# --- rendering ------------------------------------------------------------------------------


def render(clone: Path, ref: str, dest: Path, data: dict[str, Any]) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    run(*COPIER, "copy", "--trust", "--defaults", "--quiet", f"--vcs-ref={ref}",
        *data_args(data), clone, dest)  # fmt: skip


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "--message", message)


def init_repo(project: Path) -> None:
    git(project, "init", "--quiet", "--initial-branch=main")
    git(project, "config", "user.name", GIT_IDENTITY["GIT_AUTHOR_NAME"])
    git(project, "config", "user.email", GIT_IDENTITY["GIT_AUTHOR_EMAIL"])
    commit_all(project, "Render the service from the template")


# --- the edits real users make --------------------------------------------------------------

REPORTS_SERVICE = '''\
"""Team reports: rules this team added to the service after rendering it."""


def count_first_words(titles: list[str]) -> dict[str, int]:
    """Count titles by their first word, case-insensitively."""
    counts: dict[str, int] = {}
    for title in titles:
        words = title.split()
        key = words[0].lower() if words else ""
        counts[key] = counts.get(key, 0) + 1
    return counts
'''

REPORTS_ROUTE = '''\
"""Team reports: a route this team added to the service after rendering it."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.responses import error_responses
from app.services.reports import count_first_words

router = APIRouter(prefix="/reports", tags=["reports"], responses=error_responses(422))


@router.get("/first-words")
async def first_words(titles: Annotated[list[str], Query(max_length=50)]) -> dict[str, int]:
    """How many of the given titles start with each word."""
    return count_first_words(titles)
'''

REPORTS_TEST = """\
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api.v1 import reports
from app.services.reports import count_first_words


def test_count_first_words() -> None:
    assert count_first_words(["Buy milk", "buy eggs", "", "Call Bob"]) == {
        "buy": 2,
        "": 1,
        "call": 1,
    }


def test_first_words_route() -> None:
    app = FastAPI()
    app.include_router(reports.router)
    with TestClient(app) as client:
        response = client.get("/reports/first-words", params={"titles": ["a b", "A c"]})
    assert response.status_code == 200
    assert response.json() == {"a": 2}
"""

README_SECTION = """
## Team runbook

Pager rotation and dashboards live in the team wiki; this section is ours, not the template's.
"""

USER_DEPENDENCY = '"tenacity>=9.0",'
ENV_KEY, ENV_VALUE = "ACCESS_TOKEN_EXPIRE_MINUTES", "20"


def wire_router(project: Path) -> Path:
    """Include the reports router where the service includes its other routers."""
    candidates = sorted((project / "app" / "api").rglob("*.py"))
    module = next((p for p in candidates if ".include_router(" in p.read_text()), None)
    if module is None:
        raise CheckFailed("no module under app/api includes routers; cannot add a route")
    source = module.read_text()
    tree = ast.parse(source)
    calls = [
        node
        for node in tree.body
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == "include_router"
    ]
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    if not calls or not imports:
        raise CheckFailed(f"{module}: no top-level include_router() call to extend")
    target = ast.unparse(calls[-1].value.func.value)
    lines = source.splitlines()
    lines.insert(calls[-1].end_lineno or 0, f"{target}.include_router(reports.router)")
    lines.insert(imports[-1].end_lineno or 0, "from app.api.v1 import reports")
    module.write_text("\n".join(lines) + "\n")
    # Users run the project's formatter before committing (its pre-commit hook does).
    run(sys.executable, "-m", "ruff", "check", "--quiet", "--select", "I", "--fix", module,
        cwd=project)  # fmt: skip
    run(sys.executable, "-m", "ruff", "format", "--quiet", module, cwd=project)
    return module


def add_dependency(pyproject: Path) -> None:
    source = pyproject.read_text()
    match = re.search(r"^dependencies = \[\n(?P<body>.*?)^\]", source, re.MULTILINE | re.DOTALL)
    if match is None:
        raise CheckFailed("pyproject.toml: no multi-line `dependencies = [` list")
    end = match.end("body")
    pyproject.write_text(source[:end] + f"    {USER_DEPENDENCY}\n" + source[end:])


def change_env_default(env_example: Path) -> str:
    source = env_example.read_text()
    pattern = re.compile(rf"^{ENV_KEY}=.*$", re.MULTILINE)
    if not pattern.search(source):
        raise CheckFailed(f".env.example has no {ENV_KEY}= line to change")
    env_example.write_text(pattern.sub(f"{ENV_KEY}={ENV_VALUE}", source, count=1))
    return f"{ENV_KEY}={ENV_VALUE}"


def make_user_edits(project: Path) -> dict[str, str]:
    """Edit the project as its team would; returns path -> text that must survive the update."""
    (project / "app" / "services" / "reports.py").write_text(REPORTS_SERVICE)
    (project / "app" / "api" / "v1" / "reports.py").write_text(REPORTS_ROUTE)
    (project / "tests").mkdir(exist_ok=True)
    (project / "tests" / "test_reports.py").write_text(REPORTS_TEST)
    router = wire_router(project)
    with (project / "README.md").open("a") as readme:
        readme.write(README_SECTION)
    add_dependency(project / "pyproject.toml")
    env_line = change_env_default(project / ".env.example")
    commit_all(project, "Team changes: reports route, runbook, token lifetime, tenacity")
    return {
        "app/services/reports.py": "def count_first_words(",
        "app/api/v1/reports.py": '@router.get("/first-words")',
        "tests/test_reports.py": "def test_first_words_route",
        router.relative_to(project).as_posix(): "include_router(reports.router)",
        "README.md": "## Team runbook",
        "pyproject.toml": USER_DEPENDENCY,
        ".env.example": env_line,
    }


# --- checks ---------------------------------------------------------------------------------

MARKER = re.compile(r"^(<{7}|>{7}|\|{7})( |$)")


def find_conflicts(project: Path) -> list[str]:
    """Unmerged index entries, conflict markers and .rej files left in a project."""
    problems = [f"unmerged: {line}" for line in git(project, "ls-files", "-u").splitlines()]
    for rel, path in sorted(project_files(project).items()):
        if rel.endswith(".rej") or rel.endswith(".orig"):
            problems.append(f"rejected hunk file: {rel}")
            continue
        lines = text(path)
        open_marker = False
        for number, line in enumerate(lines, 1):
            if MARKER.match(line):
                problems.append(f"conflict marker: {rel}:{number}: {line[:60]}")
                open_marker = not line.startswith(">")
            elif line == "=======" and (
                open_marker or any(MARKER.match(x) for x in lines[number : number + 200])
            ):
                problems.append(f"conflict separator: {rel}:{number}")
    return problems


def added_and_removed(before: Sequence[str], after: Sequence[str]) -> tuple[set[str], set[str]]:
    added, removed = set(), set()
    for line in difflib.ndiff(before, after):
        if line.startswith("+ ") and line[2:].strip():
            added.add(line[2:])
        elif line.startswith("- ") and line[2:].strip():
            removed.add(line[2:])
    return added, removed


def check_template_changes(
    updated: Path, base: Path, head: Path, user_touched: set[str], user_added: dict[str, Path]
) -> list[str]:
    """Every change the template made between base and HEAD is in the updated project."""
    problems = []
    got, old, new = project_files(updated), project_files(base), project_files(head)
    for rel in sorted(set(old) | set(new) | set(got)):
        if rel in user_added and rel not in new:
            if not filecmp.cmp(user_added[rel], got.get(rel, Path("/nonexistent")), False):
                problems.append(f"user's new file changed or lost: {rel}")
            continue
        if rel not in user_touched:
            if rel in new and rel not in got:
                problems.append(f"template file missing after update: {rel}")
            elif rel not in new and rel in got:
                problems.append(f"stale file the template no longer renders: {rel}")
            elif rel in new and not filecmp.cmp(new[rel], got[rel], shallow=False):
                diff = difflib.unified_diff(text(new[rel]), text(got[rel]), "fresh", "updated", n=1)
                excerpt = "\n".join(list(diff)[:20])
                problems.append(f"differs from a fresh render: {rel}\n{excerpt}")
            continue
        # Both sides changed the file: the template's lines and the user's lines must all be there.
        added, removed = added_and_removed(text(old.get(rel)), text(new.get(rel)))
        result = set(text(got.get(rel)))
        problems += [f"template change lost in {rel}: +{line!r}" for line in added - result]
        kept = removed & result - set(text(new.get(rel)))
        problems += [f"template removal undone in {rel}: -{line!r}" for line in kept]
    return problems


def answers(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ANSWERS).read_text()) or {}


def check_answers(updated: Path, head: Path, data: dict[str, Any]) -> list[str]:
    got = answers(updated)
    problems = [
        f"answer {key}={got.get(key)!r}, expected {value!r}"
        for key, value in data.items()
        if got.get(key) != value
    ]
    if got != answers(head):
        problems.append(f"answers differ from a fresh render: {got} != {answers(head)}")
    return problems


def compare_trees(left: Path, right: Path) -> list[str]:
    a, b = project_files(left), project_files(right)
    problems = [f"only in {left.parent.name}: {rel}" for rel in sorted(set(a) - set(b))]
    problems += [f"only in {right.parent.name}: {rel}" for rel in sorted(set(b) - set(a))]
    problems += [
        f"differs: {rel}"
        for rel in sorted(set(a) & set(b))
        if not filecmp.cmp(a[rel], b[rel], shallow=False)
    ]
    return problems


def switch_for(data: dict[str, Any]) -> dict[str, Any]:
    """The answer an update turns on (or off) in the option check: a SQLite project moves to
    MySQL, the others toggle their rate limits."""
    if data.get("database", "sqlite") == "sqlite":
        return {"database": "mysql"}
    if not data.get("rate_limiting", True):
        return {"rate_limiting": True}
    storage = data.get("rate_limit_storage", "memory")
    return {"rate_limit_storage": "redis" if storage == "memory" else "memory"}


def copier_update(project: Path, *extra: str) -> tuple[int, str]:
    proc = subprocess.run(
        [*COPIER, "update", "--trust", "--defaults", *extra],
        cwd=project, env=ENV, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


# --- the whole check ------------------------------------------------------------------------


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="previous",
                        help="first-full, previous, or any git ref of the template")  # fmt: skip
    parser.add_argument("--combo", default="sqlite-async-memory", help="an id from tests/matrix.py")
    parser.add_argument("--template", type=Path, default=ROOT, help="template git repository")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--no-switch", action="store_true", help="skip the option-switch check")
    args = parser.parse_args(list(argv) if argv is not None else None)

    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        timings[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()

    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    clone = work / "template"
    try:
        first_full, releases = clone_template(args.template.resolve(), clone)
        base_ref = resolve_base(clone, args.base, first_full, releases)
    except NothingToTest as skip:
        print(f"SKIP: {skip}")
        return SKIP
    matrix = runpy.run_path(str(clone / "tests" / "matrix.py"))
    combos = {c.id: c for c in [*matrix["DEEP"], *matrix["WIDE"]]}
    data = dict(combos[args.combo].data)
    slug = "my-service"
    lap("clone")

    project = work / "project" / slug
    render(clone, base_ref, project, data)
    init_repo(project)
    lap("render_base")
    rendered_commit = git(project, "rev-parse", "HEAD")
    evidence = make_user_edits(project)
    user_touched = set(git(project, "diff", "--name-only", rendered_commit, "HEAD").splitlines())
    user_added = {
        rel: work / "user-added" / rel
        for rel in git(
            project, "diff", "--name-only", "--diff-filter=A", rendered_commit, "HEAD"
        ).splitlines()
    }
    for rel, keep in user_added.items():
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / rel, keep)
    lap("user_edits")

    code, output = copier_update(project, "--vcs-ref=HEAD")
    lap("copier_update")

    render(clone, base_ref, work / "fresh-base" / slug, data)
    render(clone, "HEAD", work / "fresh-head" / slug, data)
    lap("fresh_renders")

    problems = [] if code == 0 else [f"copier update exited {code}:\n{output}"]
    problems += find_conflicts(project)
    for rel, snippet in evidence.items():
        if snippet not in "\n".join(text(project / rel)):
            problems.append(f"user edit lost: {rel} no longer contains {snippet!r}")
    problems += check_template_changes(
        project, work / "fresh-base" / slug, work / "fresh-head" / slug, user_touched, user_added
    )
    problems += check_answers(project, work / "fresh-head" / slug, data)
    lap("checks")

    switched: dict[str, Any] = {}
    if not args.no_switch:
        switched = switch_for(data)
        plain = work / "switch-updated" / slug
        render(clone, "HEAD", plain, data)
        init_repo(plain)
        code, output = copier_update(plain, *data_args(switched), "--vcs-ref=:current:")
        if code:
            problems.append(f"copier update {switched} exited {code}:\n{output}")
        problems += [f"switch {switched}: {p}" for p in find_conflicts(plain)]
        render(clone, "HEAD", work / "switch-fresh" / slug, {**data, **switched})
        problems += [
            f"switch {switched}: {p}" for p in compare_trees(plain, work / "switch-fresh" / slug)
        ]
        lap("option_switch")

    summary = {
        "base": args.base,
        "base_ref": base_ref,
        "head": git(clone, "describe", "--tags", "--always"),
        "combo": args.combo,
        "switch": switched,
        "project": str(project),
        "user_touched": sorted(user_touched),
        "timings_s": timings,
        "ok": not problems,
    }
    for problem in problems:
        print(f"FAIL: {problem}")
    print(json.dumps(summary))
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CheckFailed as failure:
        print(f"FAIL: {failure}")
        sys.exit(1)
