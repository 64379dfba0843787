"""How the template renames a question without losing users' answers, and runs tasks only once.

A scratch template (independent of our real questions) is released twice: v2 renames the question
``service_owner`` to ``team_owner`` and carries a ``_migrations`` step that renames the key in the
project's answers file *before* copier re-reads it. Copier runs a migration whose ``version`` lies
in (version of the project, version updated to], so it runs once per project.

To rename one of our questions: copy ``RENAME_ANSWER`` to ``migrations/rename_answer.py`` at the
template repo's root (outside ``template/``, so it is never rendered) and add to copier.yml, with
our delimiters and the release that renames it:

    _migrations:
      - version: "1.0.0"
        when: "[[ _stage == 'before' ]]"
        command: ["[[ _copier_python ]]", "[[ _copier_conf.src_path ]]/migrations/rename_answer.py",
                  "[[ _copier_conf.answers_file ]]", old_name, new_name]

Updates that cross a migration need ``--trust`` (copier asks for it by name); copies do not.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from scripts.update_check import ENV, copier_update, find_conflicts, git, init_repo
from tests.support import render

RENAME_ANSWER = '''\
"""Rename a key of a copier answers file: rename_answer.py ANSWERS_FILE OLD NEW."""

import re
import sys
from pathlib import Path

answers, old, new = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
text = answers.read_text(encoding="utf-8")
answers.write_text(re.sub(rf"(?m)^{re.escape(old)}:", f"{new}:", text), encoding="utf-8")
with Path(".migrations.log").open("a", encoding="utf-8") as log:
    log.write(f"{old} -> {new}\\n")
'''

ANSWERS_TEMPLATE = "{{ _copier_answers | to_nice_yaml }}"

TASKS = """
_tasks:
  - command: "echo copy >> .tasks-guarded.log"
    when: "{{ _copier_operation == 'copy' }}"
  - "echo any >> .tasks-unguarded.log"
"""

V1 = """
_subdirectory: template
service_owner:
  type: str
  default: nobody
"""

V2 = """
_subdirectory: template
team_owner:
  type: str
  help: Team that owns the service (was `service_owner` before 2.0.0)
  default: nobody
_migrations:
  - version: "2.0.0"
    when: "{{ _stage == 'before' }}"
    command:
      - "{{ _copier_python }}"
      - "{{ _copier_conf.src_path }}/migrations/rename_answer.py"
      - "{{ _copier_conf.answers_file }}"
      - service_owner
      - team_owner
"""


def release(repo: Path, version: str, copier_yml: str, files: dict[str, str]) -> None:
    (repo / "copier.yml").write_text(textwrap.dedent(copier_yml))
    for rel, content in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", f"release {version}")
    git(repo, "tag", f"v{version}")


@pytest.fixture
def scratch_template(tmp_path: Path) -> Path:
    """v1.0.0 asks service_owner; v2.0.0 renames it to team_owner; v2.1.0 changes a file."""
    repo = tmp_path / "template-repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    answers = {"template/{{ _copier_conf.answers_file }}.jinja": ANSWERS_TEMPLATE}
    release(repo, "1.0.0", V1 + TASKS, {
        **answers,
        "template/OWNERS.jinja": "{{ service_owner }}\n",
    })  # fmt: skip
    release(repo, "2.0.0", V2 + TASKS, {
        "migrations/rename_answer.py": RENAME_ANSWER,
        "template/OWNERS.jinja": "{{ team_owner }}\n",
    })  # fmt: skip
    release(repo, "2.1.0", V2 + TASKS, {"template/OWNERS.jinja": "owner: {{ team_owner }}\n"})
    return repo


def answers_of(project: Path) -> dict[str, object]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def test_renamed_question_keeps_the_users_answer(scratch_template: Path, tmp_path: Path) -> None:
    project = tmp_path / "service"
    render({"service_owner": "payments-team"}, project, "v1.0.0", scratch_template)
    init_repo(project)

    code, output = copier_update(project, "--vcs-ref=v2.0.0")

    assert code == 0, output
    assert find_conflicts(project) == []
    answers = answers_of(project)
    assert answers["team_owner"] == "payments-team"
    assert "service_owner" not in answers
    assert answers["_commit"] == "v2.0.0"
    assert (project / "OWNERS").read_text() == "payments-team\n"


def test_migration_runs_once_per_project(scratch_template: Path, tmp_path: Path) -> None:
    project = tmp_path / "service"
    render({"service_owner": "payments-team"}, project, "v1.0.0", scratch_template)
    init_repo(project)
    assert copier_update(project, "--vcs-ref=v2.0.0")[0] == 0
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "update to v2.0.0")

    code, output = copier_update(project, "--vcs-ref=v2.1.0")

    assert code == 0, output
    assert (project / ".migrations.log").read_text() == "service_owner -> team_owner\n"
    assert (project / "OWNERS").read_text() == "owner: payments-team\n"


def test_update_straight_past_the_rename(scratch_template: Path, tmp_path: Path) -> None:
    """v1.0.0 -> v2.1.0 in one step runs the 2.0.0 migration too."""
    project = tmp_path / "service"
    render({"service_owner": "payments-team"}, project, "v1.0.0", scratch_template)
    init_repo(project)

    code, output = copier_update(project, "--vcs-ref=v2.1.0")

    assert code == 0, output
    assert answers_of(project)["team_owner"] == "payments-team"
    assert (project / "OWNERS").read_text() == "owner: payments-team\n"


def test_update_across_a_migration_asks_for_trust(scratch_template: Path, tmp_path: Path) -> None:
    project = tmp_path / "service"
    render({"service_owner": "payments-team"}, project, "v1.0.0", scratch_template)
    init_repo(project)

    proc = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--defaults", "--vcs-ref=v2.0.0"],
        cwd=project, env=ENV, capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert proc.returncode != 0
    assert "migrations" in proc.stderr
    assert git(project, "status", "--porcelain") == ""


def test_tasks_guarded_by_copier_operation_run_only_on_copy(
    scratch_template: Path, tmp_path: Path
) -> None:
    project = tmp_path / "service"
    render({"team_owner": "payments-team"}, project, "v2.0.0", scratch_template)
    init_repo(project)
    assert (project / ".tasks-guarded.log").read_text() == "copy\n"

    code, output = copier_update(project, "--vcs-ref=v2.1.0")

    assert code == 0, output
    assert (project / ".tasks-guarded.log").read_text() == "copy\n"
    # The unguarded task ran again in the project (and in copier's two scratch renders).
    assert (project / ".tasks-unguarded.log").read_text() == "any\nany\n"
