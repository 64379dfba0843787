"""The copier commands the docs tell users to run work with the oldest copier we accept.

`_min_copier_version` is what the documented commands need (`copier check-update` came in
9.13): this runs them with exactly that release (fetched by uvx, a pinned version), against a
git copy of the working tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from scripts.update_check import GIT_IDENTITY, git, init_repo
from tests.support import ROOT

MIN_COPIER = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))[
    "_min_copier_version"
]


def copier(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The copier CLI at `_min_copier_version`, as a user would run it."""
    argv = ["uvx", "--quiet", "--python", "3.11", "--from", f"copier=={MIN_COPIER}", "copier"]
    return subprocess.run(
        [*argv, *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY, "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def commit_and_tag(repo: Path, tag: str) -> None:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", tag)
    git(repo, "tag", tag)


@pytest.mark.skipif(shutil.which("uvx") is None, reason="needs uv's uvx")
def test_documented_copier_commands_work_with_the_minimum_copier(tmp_path: Path) -> None:
    template = tmp_path / "template"
    template.mkdir()
    shutil.copy2(ROOT / "copier.yml", template / "copier.yml")
    shutil.copytree(ROOT / "template", template / "template")
    shutil.copytree(ROOT / "includes", template / "includes")
    git(template, "init", "--quiet", "--initial-branch=main")
    git(template, "config", "user.name", GIT_IDENTITY["GIT_AUTHOR_NAME"])
    git(template, "config", "user.email", GIT_IDENTITY["GIT_AUTHOR_EMAIL"])
    commit_and_tag(template, "v1.0.0")

    # README "Quick start" and docs/getting-started.md
    copied = copier(tmp_path, "copy", "--trust", "--defaults", str(template), "my-service")
    assert copied.returncode == 0, copied.stderr
    project = tmp_path / "my-service"
    init_repo(project)

    # docs/updating.md and the rendered README, "Updating from the template"
    current = copier(project, "check-update", "--quiet")
    assert current.returncode == 0, current.stderr
    (template / "template" / "CHANGES.md").write_text("A newer release.\n", encoding="utf-8")
    commit_and_tag(template, "v1.1.0")
    listed = copier(project, "check-update")
    assert listed.returncode == 0, listed.stderr
    assert "1.1.0" in listed.stdout + listed.stderr
    assert copier(project, "check-update", "--quiet").returncode == 2

    updated = copier(project, "update", "--trust", "--defaults")

    assert updated.returncode == 0, updated.stderr
    assert (project / "CHANGES.md").is_file()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_commit"] == "v1.1.0"
