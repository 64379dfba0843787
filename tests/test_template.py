"""Every combination renders, cleanly, with exactly the files its answers ask for."""

from __future__ import annotations

import ast
import filecmp
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.matrix import DEEP, DEFAULTS, OPTIONS, WIDE, Combination
from tests.support import ROOT, Renders, files_of

RUFF = str(Path(sys.executable).with_name("ruff"))
COPIER = str(Path(sys.executable).with_name("copier"))
# Jinja syntax with our delimiters ([[ x ]], [% x %], [# x #]) or the default ones.
LEFTOVER = re.compile(r"\[\[\s*[A-Za-z_][^\]]*\]\]|\[%\s|\s%\]|\[#\s|\s#\]|\{\{|\{%")


def leftovers(project: Path) -> list[str]:
    found = []
    for name in sorted(files_of(project)):
        text = (project / name).read_text(errors="replace")
        if name.startswith(".github/"):
            text = text.replace("${{", "")  # GitHub's own expressions are meant to stay
        if name.startswith("app/templates/"):  # the service's own Jinja2, rendered at run time
            text = re.sub(r"\{\{ \w+ \}\}", "", text)
        if name.startswith("deploy/observability/"):  # Prometheus's and Grafana's templates
            text = re.sub(r"\{\{ \$[\w.]+(?: \| \w+)? \}\}|\{\{\w+\}\}", "", text)
        for number, line in enumerate(text.splitlines(), 1):
            if LEFTOVER.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    return found


@pytest.mark.parametrize("combo", WIDE, ids=[c.id for c in WIDE])
def test_combination_renders_cleanly(render: Renders, combo: Combination) -> None:
    project = render(**combo.data)
    assert leftovers(project) == []
    for name in files_of(project):
        if name.endswith(".py"):
            ast.parse((project / name).read_text(), filename=name)
    for gate in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run(
            [RUFF, *gate], cwd=project, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for key, value in combo.data.items():
        if key == "rate_limit_storage" and not combo.data.get("rate_limiting"):
            continue
        if key == "kubernetes" and not combo.data.get("docker"):
            continue  # asked only with docker
        assert answers[key] == value


SWITCHES: list[tuple[str, Any, Any, set[str]]] = [
    (
        "docker",
        True,
        False,
        {"Dockerfile", ".dockerignore", "docker-compose.yml", "docker-entrypoint.sh"},
    ),
    ("ci", True, False, {".github/workflows/ci.yml"}),
    (
        "rate_limiting",
        True,
        False,
        {"app/core/rate_limit.py", "app/api/limits.py", "tests/test_rate_limit.py"},
    ),
    (
        "email",
        True,
        False,
        {
            "app/core/mail.py",
            "app/services/accounts.py",
            "app/api/v1/accounts.py",
            "app/schemas/account.py",
            "tests/test_email.py",
            "tests/test_mail_delivery.py",
            "tests/mail_sink.py",
        }
        | {
            f"app/templates/email/{name}.{part}"
            for name in (
                "verify_email",
                "password_reset",
                "already_registered",
                "password_changed",
                "totp_enabled",
                "totp_disabled",
            )
            for part in ("subject.txt", "txt", "html")
        },
    ),
    (
        "opentelemetry",
        True,
        False,
        {"app/core/tracing.py", "tests/otlp.py", "tests/test_tracing.py", "tests/traced_job.py"}
        | {
            f"deploy/observability/{name}"
            for name in (
                "README.md",
                "otel-collector.yaml",
                "grafana-dashboard.json",
                "prometheus-alerts.yaml",
                "prometheus-alerts.test.yaml",
            )
        },
    ),
    ("sentry", True, False, {"app/core/error_reports.py", "tests/test_error_reports.py"}),
    (
        "task_queue",
        "redis",
        "none",
        {"app/worker.py", "app/services/job_queue.py", "tests/worker_process.py"},
    ),
    (
        "kubernetes",
        True,
        False,
        {"deploy/k8s/README.md", "deploy/k8s/overlays/dev/kustomization.yaml"}
        | {"deploy/k8s/overlays/prod/kustomization.yaml"}
        | {
            f"deploy/k8s/base/{name}.yaml"
            for name in (
                "kustomization",
                "serviceaccount",
                "deployment",
                "service",
                "hpa",
                "pdb",
                "networkpolicy",
                "migration-job",
                "prune-tokens-cronjob",
            )
        },
    ),
]


@pytest.mark.parametrize(
    ("option", "on", "off", "expected"), SWITCHES, ids=[s[0] for s in SWITCHES]
)
def test_switch_adds_and_removes_exactly_its_files(
    render: Renders, option: str, on: Any, off: Any, expected: set[str]
) -> None:
    with_it = files_of(render(**{option: on}))
    without = files_of(render(**{option: off}))
    assert with_it - without == expected
    assert without - with_it == set()


def test_redis_storage_adds_its_tests_and_changes_the_limit_module(render: Renders) -> None:
    memory = render(rate_limit_storage="memory")
    redis = render(rate_limit_storage="redis")
    assert files_of(redis) - files_of(memory) == {"tests/test_rate_limit_redis.py"}
    assert files_of(memory) - files_of(redis) == set()
    assert "REDIS_URL" in (redis / "app/core/rate_limit.py").read_text()
    assert "REDIS_URL" not in (memory / "app/core/rate_limit.py").read_text()
    assert "redis" in (redis / "docker-compose.yml").read_text()
    assert "redis" not in (memory / "docker-compose.yml").read_text()


def test_the_job_queue_brings_redis_without_the_rate_limiters_client(render: Renders) -> None:
    """task_queue=redis needs REDIS_URL and a Redis service even without Redis rate limits,
    but not redis-py: streaq brings its own client."""
    queue = render(task_queue="redis", rate_limiting=False)
    pyproject = (queue / "pyproject.toml").read_text()
    assert "REDIS_URL: str" in (queue / "app/core/config.py").read_text()
    assert '"streaq==' in pyproject
    assert '"redis>=' not in pyproject
    assert "redis:" in (queue / "docker-compose.yml").read_text()
    assert "/health" in (queue / "app/api/v1/health.py").read_text()
    assert "rate_limiter" not in (queue / "app/api/v1/health.py").read_text()


def test_mysql_adds_its_tests_and_keeps_one_dialect_module(render: Renders) -> None:
    """database=mysql: the same files as sqlite but tests/test_mysql.py for SQLite's
    test_migration_ids.py; its own dialect."""
    sqlite = render(database="sqlite")
    mysql = render(database="mysql")
    assert files_of(mysql) - files_of(sqlite) == {"tests/test_mysql.py"}
    assert files_of(sqlite) - files_of(mysql) == {"tests/test_migration_ids.py"}
    dialect = (mysql / "app/db/dialect.py").read_text()
    assert "LAST_INSERT_ID" in dialect
    assert "utf8mb4_bin" in dialect
    assert "mysql+asyncmy" in (mysql / "app/db/session.py").read_text()
    assert "mariadb:" in (mysql / "docker-compose.yml").read_text()
    assert (
        "port: 3306"
        in (
            render(database="mysql", kubernetes=True) / "deploy/k8s/base/networkpolicy.yaml"
        ).read_text()
    )


def test_mysql_ci_runs_against_mysql_and_mariadb(render: Renders) -> None:
    """The rendered CI tests a mysql service on MySQL 8.4 and MariaDB 10.11, each with a
    healthcheck its image has; the other databases run one job."""
    workflow = yaml.safe_load((render(database="mysql") / ".github/workflows/ci.yml").read_text())
    test = workflow["jobs"]["test"]
    assert test["strategy"]["matrix"]["server"] == ["mysql:8.4", "mariadb:10.11"]
    health = {entry["server"]: entry["health"] for entry in test["strategy"]["matrix"]["include"]}
    assert health["mysql:8.4"].startswith("mysqladmin ping --host=127.0.0.1")
    assert health["mariadb:10.11"].startswith("healthcheck.sh")
    service = test["services"]["db"]
    assert service["image"] == "${{ matrix.server }}"
    assert "MYSQL_ROOT_PASSWORD" in service["env"]  # read by both images
    assert "${{ matrix.health }}" in service["options"]
    postgresql = yaml.safe_load(
        (render(database="postgresql") / ".github/workflows/ci.yml").read_text()
    )
    assert "strategy" not in postgresql["jobs"]["test"]


def test_flavours_differ_only_in_the_seams(render: Renders) -> None:
    """Async and sync render the same files but the async pool's; the API layer differs only by
    async/await."""
    async_ = render(use_async=True)
    sync = render(use_async=False)
    assert files_of(async_) - files_of(sync) == {"app/db/pool.py", "tests/test_pool.py"}
    assert files_of(sync) - files_of(async_) == set()
    for name in (
        "app/api/v1/items.py",
        "app/api/v1/users.py",
        "app/services/auth.py",
        "app/services/owned.py",
    ):
        a = (async_ / name).read_text()
        s = (sync / name).read_text()
        normalised = re.sub(r"\bawait |\basync (?=def|with)", "", a)
        normalised = normalised.replace("AsyncSession", "Session").replace(
            "sqlalchemy.ext.asyncio", "sqlalchemy.orm"
        )
        assert normalised == s, name


def same_tree(first: Path, second: Path) -> None:
    """Same files, same bytes; answers equal but for the template commit (a dirty working tree
    is committed afresh for every render)."""
    names = files_of(first)
    assert names == files_of(second)
    answers = ".copier-answers.yml"
    mismatch = filecmp.cmpfiles(first, second, sorted(names - {answers}), shallow=False)[1]
    assert mismatch == []
    recorded = [yaml.safe_load((p / answers).read_text()) for p in (first, second)]
    for data in recorded:
        data.pop("_commit")
    assert recorded[0] == recorded[1]


def test_defaults_render_the_same_as_explicit_default_answers(render: Renders) -> None:
    same_tree(render(), render(**DEFAULTS))


def test_answers_file_round_trips(render: Renders, tmp_path: Path) -> None:
    """Rendering again from the recorded answers gives the same project."""
    first = render(database="postgresql", use_async=False, rate_limit_storage="redis")
    answers = yaml.safe_load((first / ".copier-answers.yml").read_text())
    assert answers["_src_path"]
    assert answers["_commit"]
    data = {k: v for k, v in answers.items() if not k.startswith("_")}
    same_tree(first, render(**data))


def test_storage_is_not_asked_without_rate_limiting(render: Renders) -> None:
    answers = yaml.safe_load((render(rate_limiting=False) / ".copier-answers.yml").read_text())
    assert "rate_limit_storage" not in answers
    assert answers["rate_limiting"] is False


@pytest.mark.parametrize("version", OPTIONS["python_version"])
def test_python_version_drives_targets_not_requirements(render: Renders, version: str) -> None:
    project = render(python_version=version)
    pyproject = (project / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11"' in pyproject  # runs on every listed version
    assert f'target-version = "py{version.replace(".", "")}"' in pyproject
    assert f'python_version = "{version}"' in pyproject
    assert f"python:{version}-" in (project / "Dockerfile").read_text()
    assert version in (project / ".github/workflows/ci.yml").read_text()


@pytest.mark.parametrize("license_", OPTIONS["license"])
def test_license_text_follows_the_answer(render: Renders, license_: str) -> None:
    project = render(license=license_, author_name="Acme Backend")
    text = (project / "LICENSE").read_text()
    first_words = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License",
        "BSD-3-Clause": "BSD 3-Clause License",
        "Proprietary": "All rights reserved",
    }
    assert first_words[license_] in text
    pyproject = (project / "pyproject.toml").read_text()
    if license_ == "Proprietary":
        assert "\nlicense =" not in pyproject
    else:
        assert f'license = "{license_}"' in pyproject
        if license_ != "Apache-2.0":
            assert "Acme Backend" in text


def test_deep_set_covers_every_functional_option_value() -> None:
    for option in ("database", "use_async", "rate_limiting", "rate_limit_storage", "email"):
        seen = {c.data.get(option) for c in DEEP if option in c.data}
        assert seen == set(OPTIONS[option]), option
    assert len({c.id for c in DEEP}) == len(DEEP) == 18
    assert len({c.id for c in WIDE}) == len(WIDE)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("project_slug=Bad_Slug", "project_slug must start with a lower-case letter"),
        ("project_slug=9lives", "project_slug must start with a lower-case letter"),
        ("author_email=not-an-email", "author_email must be an e-mail address"),
        ("project_name= ", "project_name must not be empty"),
        ("database=oracle", "database"),
        ("python_version=3.10", "python_version"),
    ],
)
def test_bad_answers_are_refused_before_anything_is_written(
    tmp_path: Path, answer: str, message: str
) -> None:
    destination = tmp_path / "svc"
    result = subprocess.run(
        [
            COPIER,
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",
            "--data",
            answer,
            str(ROOT),
            str(destination),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not destination.exists() or not any(destination.iterdir())


def test_message_after_copy_gives_the_readme_commands(tmp_path: Path) -> None:
    result = subprocess.run(
        [COPIER, "copy", "--trust", "--defaults", "--vcs-ref=HEAD", str(ROOT), str(tmp_path / "s")],
        capture_output=True,
        text=True,
        check=True,
    )
    readme = (tmp_path / "s" / "README.md").read_text()
    for command in ("uv sync", "uv run fastapi dev", "uv run pytest"):
        assert command in result.stdout + result.stderr
        assert command in readme
    shutil.rmtree(tmp_path / "s")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("My Service", "my-service"),
        ("Café Ünïcode API", "cafe-unicode-api"),
        ("42 Widgets", "service-42-widgets"),
        ("Straße Œuvre d'Łódź", "strasse-oeuvre-d-lodz"),
        ("  --Billing__API--  ", "billing-api"),
        ("日本", "service"),
    ],
)
def test_default_slug_is_a_valid_transliteration_of_the_name(
    copie: Any, tmp_path: Path, name: str, slug: str
) -> None:
    """copier.yml as it is (its validator included) over a one-file template: `--defaults`
    with only a name must give a slug the validator accepts."""
    template = tmp_path / "template"
    (template / "template").mkdir(parents=True)
    shutil.copy2(ROOT / "copier.yml", template / "copier.yml")
    (template / "template" / "slug.txt.jinja").write_text("[[ project_slug ]]\n")
    result = copie.copy(extra_answers={"project_name": name}, template_dir=template)
    assert result.exit_code == 0, result.exception
    assert (result.project_dir / "slug.txt").read_text() == f"{slug}\n"


def test_rendered_readmes_tell_a_newcomer_what_exists(render: Renders) -> None:
    """Every verb of an item, how to run several workers, and a namespace before its Secret."""
    memory = (render() / "README.md").read_text()
    assert "| GET, PUT, PATCH, DELETE | `/items/{item_id}` |" in memory
    for needed in ("WEB_CONCURRENCY=", "PROMETHEUS_MULTIPROC_DIR=", "rate_limit_storage=redis"):
        assert needed in memory, needed
    redis = render(rate_limit_storage="redis", kubernetes=True)
    assert "one budget, shared by every worker" in (redis / "README.md").read_text()
    k8s = (redis / "deploy/k8s/README.md").read_text()
    assert k8s.index("kubectl create namespace my-service\n") < k8s.index("create secret")
    prod = (redis / "deploy/k8s/overlays/prod/kustomization.yaml").read_text()
    assert "namespace: my-service\n" in prod
