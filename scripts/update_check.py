"""Check that ``copier update`` carries template changes into a project its users have edited.

The ``update`` nox session runs this script, then the rendered project's gates in the project it
leaves behind. It only tests what is committed: the template is a fresh ``git clone`` of the
repository's HEAD, whose tags are rebuilt from ``tests/releases.py`` (a clone need not have tags).

    python -m scripts.update_check --base previous --combo sqlite-async-memory --workdir /tmp/u

Steps:

1. clone the template, re-create the release tags listed in ``tests/releases.py``;
2. render the combination from the base commit (``first-full``, ``previous`` or a ref),
   ``git init`` and commit it;
3. make the edits real users make (a service module, a route and its test, a README section,
   a changed default in ``.env.example``, a dependency: ``tests/fixtures/update``, new files and
   a patch) and commit them;
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

from tests.support import ROOT, data_args, project_files, render

SKIP = 3
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Update Check",
    "GIT_AUTHOR_EMAIL": "update-check@example.com",
    "GIT_COMMITTER_NAME": "Update Check",
    "GIT_COMMITTER_EMAIL": "update-check@example.com",
}
ENV = {**os.environ, **GIT_IDENTITY, "UV_PYTHON_DOWNLOADS": "never"}
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


# --- the project's repository -----------------------------------------------------------------


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "--message", message)


def init_repo(project: Path, message: str = "Render the service from the template") -> None:
    git(project, "init", "--quiet", "--initial-branch=main")
    git(project, "config", "user.name", GIT_IDENTITY["GIT_AUTHOR_NAME"])
    git(project, "config", "user.email", GIT_IDENTITY["GIT_AUTHOR_EMAIL"])
    commit_all(project, message)


def template_copy(repo: Path, tag: str) -> Path:
    """The working tree's template (copier.yml, template/, includes/) as a git repository at
    `repo`, one commit tagged `tag`: copier updates and `--vcs-ref` need a git template."""
    repo.mkdir(parents=True)
    shutil.copy2(ROOT / "copier.yml", repo / "copier.yml")
    shutil.copytree(ROOT / "template", repo / "template")
    shutil.copytree(ROOT / "includes", repo / "includes")
    init_repo(repo, tag)
    git(repo, "tag", tag)
    return repo


# --- the edits real users make: tests/fixtures/update ---------------------------------------
#
# files/ holds the modules a team adds (a service, a route, its test); team-edits.patch wires the
# route in and changes README, pyproject (a dependency) and .env.example (a default). Both apply
# to renders of every base in tests/releases.py; a new release whose render they no longer fit
# gets the patch refreshed (docs/contributing.md, "Releases").


def make_user_edits(project: Path, fixtures: Path) -> dict[str, list[str]]:
    """Edit the project as its team would; returns path -> lines that must survive the update."""
    patch = fixtures / "team-edits.patch"
    shutil.copytree(fixtures / "files", project, dirs_exist_ok=True)
    try:
        git(project, "apply", str(patch))
    except CheckFailed as failure:
        raise CheckFailed(
            f"{patch.name} no longer applies to the base: refresh it\n{failure}"
        ) from None
    commit_all(project, "Team changes: reports route, runbook, token lifetime, tenacity")
    evidence: dict[str, list[str]] = {}
    path = ""
    for line in patch.read_text().splitlines():
        if line.startswith("+++ "):
            path = line.removeprefix("+++ b/")
        elif line.startswith("+") and line[1:].strip():
            evidence.setdefault(path, []).append(line[1:])
    return evidence


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
    """The answers the option check changes with `copier update --data` on a render of `data`.

    One line per option: an option that belongs in the check adds its own switch below.
    """
    switched: dict[str, Any] = {}
    if data.get("database", "sqlite") == "sqlite":
        switched["database"] = "mysql"
    if not data.get("rate_limiting", True):
        switched["rate_limiting"] = True
    else:
        storage = data.get("rate_limit_storage", "memory")
        switched["rate_limit_storage"] = {"memory": "redis", "redis": "memory"}[storage]
    if not data.get("email", False):
        switched["email"] = True
    if data.get("task_queue", "none") == "none":
        switched["task_queue"] = "redis"
    return switched


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
    render(data, project, base_ref, clone)
    init_repo(project)
    lap("render_base")
    rendered_commit = git(project, "rev-parse", "HEAD")
    evidence = make_user_edits(project, clone / "tests" / "fixtures" / "update")
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

    # Questions the base did not ask (such as `email`, new after 0.1.0) are answered now, as a
    # team turning the option on in the same update would.
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    new_answers = {key: value for key, value in data.items() if key not in recorded}
    code, output = copier_update(project, "--vcs-ref=HEAD", *data_args(new_answers))
    lap("copier_update")

    render(data, work / "fresh-base" / slug, base_ref, clone)
    render(data, work / "fresh-head" / slug, "HEAD", clone)
    lap("fresh_renders")

    problems = [] if code == 0 else [f"copier update exited {code}:\n{output}"]
    problems += find_conflicts(project)
    for rel, lines in evidence.items():
        kept = set(text(project / rel))
        problems += [f"user edit lost: {rel}: {line!r}" for line in lines if line not in kept]
    problems += check_template_changes(
        project, work / "fresh-base" / slug, work / "fresh-head" / slug, user_touched, user_added
    )
    problems += check_answers(project, work / "fresh-head" / slug, data)
    lap("checks")

    switched: dict[str, Any] = {}
    if not args.no_switch:
        switched = switch_for(data)
        plain = work / "switch-updated" / slug
        render(data, plain, "HEAD", clone)
        init_repo(plain)
        code, output = copier_update(plain, *data_args(switched), "--vcs-ref=:current:")
        if code:
            problems.append(f"copier update {switched} exited {code}:\n{output}")
        problems += [f"switch {switched}: {p}" for p in find_conflicts(plain)]
        render({**data, **switched}, work / "switch-fresh" / slug, "HEAD", clone)
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
    except (CheckFailed, RuntimeError) as failure:  # RuntimeError: a render failed
        print(f"FAIL: {failure}")
        sys.exit(1)
