"""Fast checks of what `copier update` does to services rendered from this template.

They render the *working tree* (copied into a scratch git repo and tagged there), so they test
uncommitted changes too; `nox -s update` covers updates across real history and runs the gates.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy, run_update

from scripts.update_check import (
    GIT_IDENTITY,
    check_template_changes,
    compare_trees,
    find_conflicts,
    git,
    init_repo,
    make_user_edits,
    template_copy,
)
from tests import releases
from tests.matrix import DEFAULTS
from tests.support import ROOT
from tests.support import render as render_cli

COMPUTED = {"use_redis", "limiter_redis", "job_runner", "async_", "await_"}


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process copier commits in scratch repos: give git an identity on any machine."""
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)


# In-process copier: the CLI costs ~0.8 s of imports per call (scripts/update_check.py runs it).
def render(template: Path, ref: str, dest: Path, data: dict[str, Any]) -> None:
    run_copy(str(template), dest, data=data, defaults=True, vcs_ref=ref, quiet=True, unsafe=True)


def update(project: Path, **kwargs: Any) -> None:
    run_update(project, defaults=True, overwrite=True, quiet=True, unsafe=True, **kwargs)


def commit_and_tag(repo: Path, message: str, tag: str) -> None:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", message)
    git(repo, "tag", tag)


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree's template as a git repo tagged v1.0.0 (updates need a git template)."""
    return template_copy(tmp_path_factory.mktemp("template") / "repo", "v1.0.0")


def rendered(template_repo: Path, dest: Path, data: dict[str, Any]) -> Path:
    project = dest / "my-service"
    render(template_repo, "v1.0.0", project, data)
    init_repo(project)
    return project


def test_answers_are_recorded_and_survive_an_update(template_repo: Path, tmp_path: Path) -> None:
    data = {
        "project_name": "Billing API",
        "database": "postgresql",
        "use_async": False,
        "rate_limiting": True,
        "rate_limit_storage": "redis",
        "docker": False,
        "license": "Apache-2.0",
        "python_version": "3.13",
    }
    project = rendered(template_repo, tmp_path, data)
    before = yaml.safe_load((project / ".copier-answers.yml").read_text())

    update(project, vcs_ref="v1.0.0")

    after = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert after == before
    assert {k: after[k] for k in data} == data
    assert after["project_slug"] == "billing-api"
    assert after["_commit"] == "v1.0.0"
    assert Path(after["_src_path"]) == template_repo
    assert not COMPUTED & after.keys(), "computed values must not be recorded"


def test_update_without_template_change_is_a_no_op(template_repo: Path, tmp_path: Path) -> None:
    project = rendered(template_repo, tmp_path, {})

    update(project, vcs_ref="v1.0.0")

    assert git(project, "status", "--porcelain", "--untracked-files=all") == ""


def test_release_without_rendered_change_only_moves_the_commit(
    template_repo: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(template_repo, repo)
    project = rendered(repo, tmp_path / "out", {})
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## [1.0.1]\n\n- Docs only.\n")
    commit_and_tag(repo, "docs only", "v1.0.1")

    update(project)  # no vcs_ref: the newest tag, as users run it

    assert git(project, "status", "--porcelain", "--untracked-files=all") == "M .copier-answers.yml"
    diff = git(project, "diff", "--unified=0", "--no-color", "--", ".copier-answers.yml")
    changed = [line for line in diff.splitlines() if re.match(r"^[-+][^-+]", line)]
    assert changed == ["-_commit: v1.0.0", "+_commit: v1.0.1"]


SWITCHES = [
    pytest.param({}, {"rate_limit_storage": "redis"}, id="memory-to-redis"),
    pytest.param({"rate_limiting": False}, {"rate_limiting": True}, id="limits-on"),
    pytest.param({}, {"rate_limiting": False}, id="limits-off"),
    pytest.param({}, {"docker": False}, id="docker-off"),
    pytest.param({"ci": False}, {"ci": True}, id="ci-on"),
    pytest.param({}, {"database": "postgresql"}, id="sqlite-to-postgresql"),
    pytest.param({}, {"database": "mysql"}, id="sqlite-to-mysql"),
    pytest.param({}, {"use_async": False}, id="async-to-sync"),
    pytest.param(
        {"kubernetes": True, "database": "postgresql"}, {"task_queue": "redis"}, id="queue-on"
    ),
]


@pytest.mark.parametrize(("start", "switch"), SWITCHES)
def test_answer_changed_through_update_equals_fresh_render(
    template_repo: Path, tmp_path: Path, start: dict[str, Any], switch: dict[str, Any]
) -> None:
    """On a service nobody edited, `copier update --data` gives exactly a fresh render.

    (The ref is the current one, as with the CLI's `--vcs-ref=:current:`, which
    scripts/update_check.py runs.)
    """
    project = rendered(template_repo, tmp_path / "updated", start)

    update(project, data=switch, vcs_ref="v1.0.0")

    assert find_conflicts(project) == []
    fresh = tmp_path / "fresh" / "my-service"
    render(template_repo, "v1.0.0", fresh, {**start, **switch})
    assert compare_trees(project, fresh) == []


def test_a_team_that_turns_the_queue_on_later_gets_a_worker(
    template_repo: Path, tmp_path: Path
) -> None:
    """A service rendered with the defaults and edited by its team: `copier update --data
    task_queue=redis` merges without a conflict, keeps the edits, and adds the worker to
    compose and Kubernetes, and drops the CronJob that the worker's scheduler replaces."""
    start = {"kubernetes": True, "database": "postgresql"}
    project = rendered(template_repo, tmp_path, start)
    assert "worker" not in yaml.safe_load((project / "docker-compose.yml").read_text())["services"]
    evidence = make_user_edits(project, ROOT / "tests" / "fixtures" / "update")
    touched = set(git(project, "diff", "--name-only", "HEAD~1", "HEAD").splitlines())

    update(project, data={"task_queue": "redis"}, vcs_ref="v1.0.0")

    assert find_conflicts(project) == []
    for rel, lines in evidence.items():
        assert set(lines) <= set((project / rel).read_text().splitlines()), rel
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["task_queue"] == "redis"
    services = yaml.safe_load((project / "docker-compose.yml").read_text())["services"]
    assert services["worker"]["command"] == ["python", "-m", "app.worker"]
    assert "redis" in services
    base = project / "deploy" / "k8s" / "base"
    assert "worker.yaml" in (base / "kustomization.yaml").read_text()
    assert (base / "worker.yaml").is_file()
    assert not (base / "prune-tokens-cronjob.yaml").exists()
    assert (project / "app" / "worker.py").is_file()
    # Every file the team left alone is what a fresh render with the queue gives.
    fresh = tmp_path / "fresh" / "my-service"
    render(template_repo, "v1.0.0", fresh, {**start, "task_queue": "redis"})
    differences = compare_trees(project, fresh)
    assert [d for d in differences if d.split(": ", 1)[1] not in touched] == []


def test_defaults_render_without_trust(tmp_path: Path, template_repo: Path) -> None:
    """Copying needs no --trust (no _tasks, no extensions); docs/updating.md says when it does."""
    run_copy(str(template_repo), tmp_path / "p", defaults=True, vcs_ref="v1.0.0", quiet=True)
    # (no unsafe=True: copier raises UnsafeTemplateError if _tasks or extensions appear)
    assert (tmp_path / "p" / ".copier-answers.yml").is_file()


def test_rendered_project_keeps_updates_smooth(template_repo: Path, tmp_path: Path) -> None:
    project = rendered(template_repo, tmp_path, {})
    assert "* text=auto eol=lf" in (project / ".gitattributes").read_text()
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    # Without --assume-in-merge the hook only looks during `git merge`, never after copier update.
    assert "--assume-in-merge" in hooks["check-merge-conflict"].get("args", [])
    readme = (project / "README.md").read_text()
    assert "copier update" in readme
    assert "copier check-update" in readme


# --- the checks of scripts/update_check.py catch what copier leaves behind -------------------


@pytest.fixture
def conflicting_template(tmp_path: Path) -> Path:
    repo = tmp_path / "conflicting"
    (repo / "template").mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "copier.yml").write_text("_subdirectory: template\nname:\n  default: x\n")
    (repo / "template" / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers | to_nice_yaml }}"
    )
    (repo / "template" / "settings.env").write_text("A=1\nLIMIT=10\nB=2\n")
    commit_and_tag(repo, "v1", "v1.0.0")
    (repo / "template" / "settings.env").write_text("A=1\nLIMIT=50\nB=2\n")
    commit_and_tag(repo, "v2", "v2.0.0")
    return repo


@pytest.mark.parametrize("mode", ["inline", "rej"])
def test_conflicts_are_found_although_copier_exits_zero(
    conflicting_template: Path, tmp_path: Path, mode: str
) -> None:
    project = tmp_path / "service"
    render(conflicting_template, "v1.0.0", project, {})
    init_repo(project)
    (project / "settings.env").write_text("A=1\nLIMIT=20\nB=2\n")
    git(project, "commit", "--quiet", "--all", "--message", "our limit")

    update(project, vcs_ref="v2.0.0", conflict=mode)  # no exception: copier reports success

    problems = find_conflicts(project)
    if mode == "inline":
        assert any(p.startswith("unmerged: ") for p in problems)
        assert any(p.startswith("conflict marker: settings.env") for p in problems)
        assert any(p.startswith("conflict separator: settings.env") for p in problems)
    else:
        assert "rejected hunk file: settings.env.rej" in problems


def test_setext_heading_is_not_a_conflict(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet")
    (tmp_path / "README.rst").write_text("Title\n=======\n\nText with <<<<<<< inside.\n")
    assert find_conflicts(tmp_path) == []


def test_lost_template_changes_are_reported(tmp_path: Path) -> None:
    trees = {
        "base": {"README.md": "# S\n", "app.py": "A = 1\n", "old.py": "X = 1\n"},
        "head": {"README.md": "# S\nNew section\n", "app.py": "A = 2\n", "new.py": "Y = 1\n"},
        "updated": {"README.md": "# S\nOur notes\n", "app.py": "A = 1\n", "old.py": "X = 1\n"},
    }
    for name, files in trees.items():
        for rel, content in files.items():
            (tmp_path / name).mkdir(exist_ok=True)
            (tmp_path / name / rel).write_text(content)
    base, head, updated = (tmp_path / name for name in trees)

    problems = check_template_changes(updated, base, head, {"README.md"}, {})

    assert "template change lost in README.md: +'New section'" in problems
    assert any(p.startswith("differs from a fresh render: app.py") for p in problems)
    assert "template file missing after update: new.py" in problems
    assert "stale file the template no longer renders: old.py" in problems


# --- release bookkeeping ----------------------------------------------------------------------

SHA = re.compile(r"^[0-9a-f]{40}$")


def released_in_changelog() -> set[str]:
    text = (ROOT / "CHANGELOG.md").read_text()
    return set(re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", text, re.MULTILINE))


def test_releases_match_the_changelog() -> None:
    assert set(releases.RELEASES) == released_in_changelog()
    for version, sha in releases.RELEASES.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version)
        assert SHA.match(sha), f"{version}: full 40-character SHA expected, got {sha!r}"
    assert releases.FIRST_FULL_SERVICE is None or SHA.match(releases.FIRST_FULL_SERVICE)


def repo_has_commits() -> bool:
    probe = ["git", "rev-parse", "--verify", "--quiet", "HEAD"]
    return subprocess.run(probe, cwd=ROOT, capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not repo_has_commits(), reason="the template repo has no commits yet")
def test_recorded_commits_exist_and_match_tags() -> None:
    shas = dict(releases.RELEASES)
    if releases.FIRST_FULL_SERVICE:
        shas["first full service"] = releases.FIRST_FULL_SERVICE
    for name, sha in shas.items():
        ancestor = ["git", "merge-base", "--is-ancestor", sha, "HEAD"]
        found = subprocess.run(ancestor, cwd=ROOT, capture_output=True, check=False)
        assert found.returncode == 0, f"{name}: {sha} is not a commit of HEAD's history"
    for version, sha in releases.RELEASES.items():
        tag = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"v{version}^{{commit}}"],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if tag.returncode == 0:  # tags are optional in a clone, but must agree when present
            assert tag.stdout.strip() == sha, f"tag v{version} is not {sha}"


def test_defaults_of_the_matrix_are_the_templates_defaults() -> None:
    """`nox -s update` calls sqlite-async-memory "the defaults": keep that true."""
    copier_yml = yaml.safe_load((ROOT / "copier.yml").read_text())
    for key in ("database", "use_async", "rate_limiting", "rate_limit_storage", "docker", "ci"):
        assert copier_yml[key]["default"] == DEFAULTS[key], key


BASES = {"first full service": releases.FIRST_FULL_SERVICE, **releases.RELEASES}


@pytest.mark.skipif(not repo_has_commits(), reason="the template repo has no commits yet")
@pytest.mark.parametrize("sha", [sha for sha in BASES.values() if sha], ids=list(BASES))
def test_team_edits_apply_to_every_base(tmp_path: Path, sha: str) -> None:
    """tests/fixtures/update fits a render of each base `nox -s update` starts from."""
    project = tmp_path / "my-service"
    render_cli({}, project, sha)
    init_repo(project)

    evidence = make_user_edits(project, ROOT / "tests" / "fixtures" / "update")

    assert git(project, "status", "--porcelain") == ""
    assert "api_router.include_router(reports.router)" in evidence["app/api/v1/__init__.py"]
    assert set(evidence) == {
        "app/api/v1/__init__.py",
        "README.md",
        "pyproject.toml",
        ".env.example",
    }
    for rel, lines in evidence.items():
        assert set(lines) <= set((project / rel).read_text().splitlines()), rel
    assert (project / "tests" / "test_reports.py").is_file()
