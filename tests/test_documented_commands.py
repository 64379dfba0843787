"""The commands the README and the docs show work as written.

* The nox commands of README.md, docs/getting-started.md and docs/contributing.md name
  sessions that exist (listed, not run: most take minutes), and nox finds them when it is not
  the one of this repository's venv (`uvx nox`, pipx).
* Their copier commands render, for real, from a git copy of the working tree.
* `_min_copier_version` is what the documented commands need (`copier check-update` came in
  9.13): the copy / check-update / update cycle runs with exactly that release (fetched by uvx,
  a pinned version).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from scripts.update_check import GIT_IDENTITY, git, init_repo, template_copy
from tests.support import ROOT

DOCUMENTS = ("README.md", "docs/getting-started.md", "docs/contributing.md")
NOXFILE_DEPENDENCIES = re.compile(r"^# dependencies = (\[.*\])$", re.M)

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
    template = template_copy(tmp_path / "template", "v1.0.0")

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


def documented_commands(program: str) -> list[tuple[str, str]]:
    """(document, command) for every command of `program` the documents show: the lines of
    their ```bash blocks (continuations joined, comments dropped) and their inline code."""
    found = []
    for document in DOCUMENTS:
        text = (ROOT / document).read_text(encoding="utf-8")
        snippets = []
        for block in re.findall(r"```bash\n(.*?)```", text, re.S):
            for line in block.replace("\\\n", " ").splitlines():
                snippets.append(re.sub(r"\s+#.*$", "", line).strip())
        snippets += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
        for snippet in snippets:
            words = snippet.split()
            if program in words[:3] and words[0] in (program, "uv", "uvx"):
                found.append((document, snippet))
            elif program == "nox" and words[:1] == ["-s"]:  # "`-s NAME` for one session"
                found.append((document, f"nox {snippet}"))
    return found


def session_names(command: str) -> list[str]:
    """The sessions `-s` / `--session` names in a nox command line (placeholders such as
    `NAME` or `<combination>` left out)."""
    words = shlex.split(command)
    names: list[str] = []
    for index, word in enumerate(words):
        if word in ("-s", "--session", "--sessions"):
            names += [w for w in words[index + 1 :] if not w.startswith("-")][:1]
    return [name for name in names if not (name.isupper() or "<" in name)]


def list_sessions(argv: list[str], *names: str, **kwargs: object) -> list[str]:
    selected = ["-s", *names] if names else []
    proc = subprocess.run(
        [*argv, "--list", "--json", *selected],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, **kwargs,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [entry["session"] for entry in json.loads(proc.stdout)]


def test_every_documented_nox_session_exists() -> None:
    commands = documented_commands("nox")
    assert len(commands) >= 10, commands  # the extraction still finds them
    names = sorted({name for _, command in commands for name in session_names(command)})
    assert "generated(postgresql-sync-redis)" in names
    # nox refuses the whole selection, naming the culprit, when one name matches no session
    listed = list_sessions([sys.executable, "-m", "nox"], *names)
    assert listed


def noxfile_dependencies() -> list[str]:
    block = NOXFILE_DEPENDENCIES.search((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    assert block, "noxfile.py's inline script block"
    return list(json.loads(block.group(1)))


def test_noxfile_script_block_pins_what_the_dev_group_pins() -> None:
    """A nox from outside installs the noxfile's imports by this block; `uv run nox` must
    satisfy it as it is (else nox would build a second venv even there)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dev = {re.split(r"[=<>\[ ]", req, maxsplit=1)[0].lower(): req
           for req in pyproject["dependency-groups"]["dev"]}  # fmt: skip
    for requirement in noxfile_dependencies():
        name = re.split(r"[=<>\[ ]", requirement, maxsplit=1)[0].lower()
        if name in dev:
            assert requirement == dev[name], requirement
        else:
            assert name == "jinja2", f"{requirement}: not in the dev group"  # copier's


@pytest.mark.skipif(shutil.which("uvx") is None, reason="needs uv's uvx")
def test_nox_from_outside_the_repository_venv_lists_the_sessions(tmp_path: Path) -> None:
    """`uvx nox` (nox in a venv of its own, as pipx installs it) loads the noxfile."""
    nox_pin = next(d for d in noxfile_dependencies() if d.startswith("nox=="))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT")
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    argv = ["uvx", "--quiet", "--python", "3.11", "--from", nox_pin, "nox"]
    argv += ["--envdir", str(tmp_path / "nox")]  # its script-mode venv, not the repo's .nox
    listed = list_sessions(argv, "template", "lint", "generated", env=env)
    assert {"template", "lint", "generated(sqlite-async-memory)"} <= set(listed)
    assert (tmp_path / "nox" / "_nox_script_mode").is_dir()  # it did need the block


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of the working tree's template, tagged v1.0.0."""
    return template_copy(tmp_path_factory.mktemp("repo") / "fastapi-service-template", "v1.0.0")


COPIER_COMMANDS = documented_commands("copier")


@pytest.mark.parametrize(
    "command",
    [command for _, command in COPIER_COMMANDS if " copy " in command],
    ids=[f"{doc}:{cmd}" for doc, cmd in COPIER_COMMANDS if " copy " in cmd],
)
def test_documented_copier_copy_renders(template_repo: Path, tmp_path: Path, command: str) -> None:
    """Placeholders (`<repo>`, `<owner>`'s URL, `<tag>`, `1a2b3c4`) become the git copy, its tag
    and its commit; questions are answered by `--defaults` where the docs let copier ask."""
    head = git(template_repo, "rev-parse", "--short", "HEAD").strip()
    words = shlex.split(command)
    words = words[words.index("copier") + 1 :]
    replace = {
        "https://github.com/<owner>/fastapi-service-template": str(template_repo),
        "../fastapi-service-template": str(template_repo),
        "<repo>": str(template_repo),
        ".": str(template_repo),
        "--vcs-ref=<tag>": "--vcs-ref=v1.0.0",
        "--vcs-ref=1a2b3c4": f"--vcs-ref={head}",
    }
    words = [replace.get(word, word) for word in words]
    destination = tmp_path / "out"
    words[-1] = str(destination)
    if "--defaults" not in words:
        words.insert(1, "--defaults")
    argv = [sys.executable, "-m", "copier", *words]
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (destination / "README.md").is_file()
    assert yaml.safe_load((destination / ".copier-answers.yml").read_text())["_src_path"]
