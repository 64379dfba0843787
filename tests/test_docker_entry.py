"""The container's entry points, checked without a Docker engine.

Static: the Dockerfile's CMD and HEALTHCHECK and the compose commands name things the rendered
project has (the ASGI app, the health route, alembic's configuration and migrations), and the
.dockerignore keeps them in the build context.

Behavioural: the project installed as the Dockerfile installs it (its lock, no dev dependencies),
with the environment the compose file gives the container, runs its migrations, and the CMD
serves the route the HEALTHCHECK probes, whose command then exits 0.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy

from tests.matrix import DEEP, OPTIONS
from tests.support import ROOT, Renders, free_port, redis_url, throwaway_database

HEALTH_PATH = "/health/live"
COMBOS = {"defaults": {}} | {c.id: c.data for c in DEEP if c.id == "postgresql-async-redis"}


def render_apart(tmp_path_factory: pytest.TempPathFactory, combo: str) -> Path:
    """A render of our own, not conftest's shared one: the test installs into it."""
    dest = tmp_path_factory.mktemp("docker-entry") / combo
    run_copy(
        str(ROOT), dest, data=COMBOS[combo], defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True
    )
    return dest


@pytest.fixture(scope="module", params=list(COMBOS))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_apart(tmp_path_factory, request.param)


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    pairs = []
    for line in logical.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def last(dockerfile: Path, name: str) -> str:
    return [args for word, args in instructions(dockerfile) if word == name][-1]


def cmd(dockerfile: Path) -> list[str]:
    argv = json.loads(last(dockerfile, "CMD"))
    assert isinstance(argv, list), "CMD should be in exec (JSON) form, so uvicorn is PID 1"
    return argv


def healthcheck(dockerfile: Path) -> list[str]:
    _, _, exec_form = last(dockerfile, "HEALTHCHECK").partition(" CMD ")
    return json.loads(exec_form)


def image_env(dockerfile: Path) -> dict[str, str]:
    """The ENV of the final stage (the last FROM onwards)."""
    pairs = instructions(dockerfile)
    start = max(i for i, (word, _) in enumerate(pairs) if word == "FROM")
    env: dict[str, str] = {}
    for word, args in pairs[start:]:
        if word == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(args))
    return env


def compose(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / "docker-compose.yml").read_text())


def routes(project: Path) -> set[str]:
    """Full paths of the GET routes in app/api/v1: the package router's prefix, each module
    router's prefix, then the decorator's path. A route a module adds to the application
    itself, `app.add_api_route("/path", ...)`, is at the root."""

    def prefix(tree: ast.Module) -> str:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "APIRouter":
                for keyword in node.keywords:
                    if keyword.arg == "prefix" and isinstance(keyword.value, ast.Constant):
                        return str(keyword.value.value)
        return ""

    api = project / "app" / "api" / "v1"
    top = prefix(ast.parse((api / "__init__.py").read_text()))
    paths: set[str] = set()
    for module in api.glob("*.py"):
        tree = ast.parse(module.read_text())
        own = prefix(tree) if module.name != "__init__.py" else ""
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            method, first = getattr(node.func, "attr", None), node.args[0]
            if method == "get" and isinstance(first, ast.Constant):
                paths.add(top + own + str(first.value))
            elif method == "add_api_route" and isinstance(first, ast.Constant):
                on_app = getattr(node.func, "value", None)
                if isinstance(on_app, ast.Name) and on_app.id == "app":
                    paths.add(str(first.value))
    return paths


def health_url(code: str) -> str:
    match = re.search(r"https?://[^'\"]+", code)
    assert match, f"no URL in the health check {code!r}"
    return match.group(0)


def counts_in_memory(project: Path) -> bool:
    """Whether the rate-limit counters live in each process (rate_limit_storage=memory)."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return bool(answers["rate_limiting"]) and answers.get("rate_limit_storage") == "memory"


def entrypoint(dockerfile: Path) -> list[str]:
    argv = json.loads(last(dockerfile, "ENTRYPOINT"))
    assert isinstance(argv, list), "ENTRYPOINT should be in exec (JSON) form"
    return argv


@pytest.mark.parametrize("version", OPTIONS["python_version"])
def test_base_images_are_pinned_by_digest(render: Renders, version: str) -> None:
    """A tag moves (every Debian or Python patch rebuilds it); a digest names one image, and
    Renovate or Dependabot move it on in a reviewed change (docs/operations.md)."""
    dockerfile = render(python_version=version) / "Dockerfile"
    bases = [args.split()[0] for word, args in instructions(dockerfile) if word == "FROM"]
    assert len(bases) == 2, bases
    for base in bases:
        assert re.fullmatch(rf"python:{re.escape(version)}-slim-trixie@sha256:[0-9a-f]{{64}}", base)
    assert len(set(bases)) == 1, "builder and runtime on the same image"


def test_cmd_serves_the_app_module(project: Path) -> None:
    argv = cmd(project / "Dockerfile")
    assert argv[:2] == ["uvicorn", "app.main:app"]
    options = dict(zip(argv[2::2], argv[3::2], strict=False))
    assert options.get("--host") == "0.0.0.0"
    assert options.get("--port") == last(project / "Dockerfile", "EXPOSE") == "8000"
    assert "--no-access-log" in argv, "the app writes its own JSON access log"
    # One mechanism for the client address: the app's trusted-proxy walk, not uvicorn's.
    assert "--no-proxy-headers" in argv
    assert "--workers" not in argv, "WEB_CONCURRENCY sets the workers"
    assert entrypoint(project / "Dockerfile") == ["/bin/sh", "/app/docker-entrypoint.sh"]
    assert (project / "docker-entrypoint.sh").is_file()
    tree = ast.parse((project / "app" / "main.py").read_text())
    # Module level, a `try:` at module level included (main.py handles invalid settings).
    top_level = [
        node
        for statement in tree.body
        for node in (statement.body if isinstance(statement, ast.Try) else [statement])
    ]
    assigned = {
        target.id
        for node in top_level
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert "app" in assigned, "app/main.py must define the module-level `app` that CMD serves"


def test_healthchecks_probe_the_live_route(project: Path) -> None:
    image_probe = healthcheck(project / "Dockerfile")
    compose_probe = compose(project)["services"]["api"]["healthcheck"]["test"]
    assert image_probe[:2] == ["python", "-c"], "slim images have no curl"
    assert compose_probe[1:] == image_probe
    url = health_url(image_probe[2])
    assert url == f"http://127.0.0.1:8000{HEALTH_PATH}"
    assert HEALTH_PATH in routes(project)


def test_image_runs_from_its_virtualenv_as_non_root(project: Path) -> None:
    dockerfile = project / "Dockerfile"
    env = image_env(dockerfile)
    assert env["PATH"].startswith("/app/.venv/bin:")
    assert env["ENVIRONMENT"] == "production"
    assert "UV_PROJECT_ENVIRONMENT=/app/.venv" in dockerfile.read_text()
    user = last(dockerfile, "USER")
    assert user.split(":")[0] not in {"0", "root"}
    assert last(dockerfile, "WORKDIR") == "/app"


def test_compose_migrates_before_the_api(project: Path) -> None:
    services = compose(project)["services"]
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    depends = services["api"]["depends_on"]
    assert depends["migrate"] == {"condition": "service_completed_successfully"}
    for backing in ("db", "redis"):
        if backing in services:
            assert depends[backing] == {"condition": "service_healthy"}
            assert "healthcheck" in services[backing]
    if "db" in services:
        assert services["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}
    # `alembic upgrade head` runs in WORKDIR /app: it needs alembic.ini and its scripts there.
    ini = (project / "alembic.ini").read_text()
    location = re.search(r"^script_location\s*=\s*(.+)$", ini, re.M)
    assert location
    scripts = Path(location.group(1).strip().replace("%(here)s", str(project)))
    assert (scripts / "env.py").is_file()
    assert list((scripts / "versions").glob("*.py")), "no migration to run"


def test_build_context_keeps_what_the_image_runs(project: Path) -> None:
    patterns = [
        line.strip()
        for line in (project / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = ["pyproject.toml", "uv.lock", "alembic.ini", "alembic/env.py", "app/main.py"]
    for path in needed:
        hits = [p for p in patterns if fnmatch(path, p) or path.startswith(p.rstrip("/") + "/")]
        assert not hits, f".dockerignore drops {path} ({hits})"
    # Secrets and local state, such as the Hypothesis cache the schemathesis test leaves.
    for private in (".env", ".venv/bin/python", ".git/config", ".hypothesis/constants/0"):
        assert any(fnmatch(private, p) or private.startswith(p + "/") for p in patterns), private


def test_image_sets_up_multiprocess_metrics_and_a_drain(project: Path) -> None:
    env = image_env(project / "Dockerfile")
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")  # writable with a read-only root
    drain = float(env["SHUTDOWN_DRAIN_SECONDS"])
    graceful = float(env["UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN"])
    api = compose(project)["services"]["api"]
    assert api["stop_grace_period"] == "30s"
    assert drain + graceful < 30, "compose must wait longer than the drain and the grace period"


def run_entrypoint(project: Path, env: dict[str, str]) -> dict[str, str]:
    """The entry point, then `env` as the command: the environment CMD would get."""
    script = project / "docker-entrypoint.sh"
    result = subprocess.run(
        ["/bin/sh", str(script), "env"], env=env, capture_output=True, text=True, check=True
    )
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def test_entrypoint_empties_the_metrics_dir_and_sizes_the_workers(
    project: Path, tmp_path: Path
) -> None:
    metrics = tmp_path / "prometheus"
    metrics.mkdir()
    (metrics / "counter_123.db").write_bytes(b"stale")
    base = {"PATH": os.environ["PATH"], "PROMETHEUS_MULTIPROC_DIR": str(metrics)}

    default = run_entrypoint(project, base)
    chosen = run_entrypoint(project, base | {"WEB_CONCURRENCY": "3"})

    assert list(metrics.iterdir()) == []
    cpus = len(os.sched_getaffinity(0))
    cpu_max = Path("/sys/fs/cgroup/cpu.max")
    if cpu_max.is_file() and not cpu_max.read_text().startswith("max"):
        quota, period = map(int, cpu_max.read_text().split())
        cpus = min(cpus, -(-quota // period))
    # Counters in memory are per process: one worker, or every limit would be multiplied.
    assert default["WEB_CONCURRENCY"] == ("1" if counts_in_memory(project) else str(cpus))
    assert chosen["WEB_CONCURRENCY"] == "3"
    missing = run_entrypoint(project, {"PATH": os.environ["PATH"], "WEB_CONCURRENCY": "1"})
    assert "PROMETHEUS_MULTIPROC_DIR" not in missing  # single-process metrics, nothing to wipe


# --- behaviour: install like the image, then run CMD and HEALTHCHECK on this machine ---------


def interpolate(value: str, variables: dict[str, str]) -> str:
    def lookup(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3)
        if name in variables:
            return variables[name]
        assert match.group(2) != ":?", f"compose needs {name}"
        return default or ""

    return re.sub(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}", lookup, value)


def env_file(path: Path) -> dict[str, str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {key.strip(): value for key, value in pairs}


def python_for(version: str, env: dict[str, str]) -> str:
    """The image's Python version when this machine has it, else the one running the tests
    (the service supports every version the template offers)."""
    found = subprocess.run(["uv", "python", "find", version], env=env, capture_output=True)
    return found.stdout.decode().strip() if found.returncode == 0 else sys.executable


@pytest.fixture(scope="module")
def uv() -> str:
    found = shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed: the image's install step (uv sync) can't be reproduced")
    return found


@pytest.fixture
def container_env(project: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """What the api container sees: the image's ENV, then compose's `env_file` and
    `environment`, with the compose services replaced by this machine's (SQLite file in a temp
    dir, local PostgreSQL and Redis)."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    secrets_ = {
        "SECRET_KEY": secrets.token_hex(20),
        "REFRESH_TOKEN_SECRET": secrets.token_hex(20),
        "MFA_ENCRYPTION_KEY": secrets.token_hex(32),
        "POSTGRES_PASSWORD": secrets.token_hex(8),
    }
    # Not the environment of the session running this test (nox sets these for its own venv).
    outer = {"VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON"}
    env = {k: v for k, v in os.environ.items() if k not in outer}
    env.update((k, v) for k, v in image_env(project / "Dockerfile").items() if k != "PATH")
    # `env_file: .env` as after `cp .env.example .env`, then the user's real secrets.
    dotenv = env_file(project / ".env.example")
    env.update(dotenv)
    api = compose(project)["services"]["api"]
    assert api["env_file"] == ".env"
    variables = dotenv | secrets_
    env.update({k: interpolate(str(v), variables) for k, v in api["environment"].items()})
    env["UV_PROJECT_ENVIRONMENT"] = str(project / ".venv")
    env["PATH"] = f"{project / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"
    env["UV_PYTHON_DOWNLOADS"] = os.environ.get("UV_PYTHON_DOWNLOADS", "never")
    env["UV_PYTHON"] = python_for(str(answers["python_version"]), env)
    if answers["database"] == "postgresql":
        assert env["SQLALCHEMY_DATABASE_URI"].startswith("postgresql://")
    else:
        assert env["SQLALCHEMY_DATABASE_URI"] == "sqlite:////data/app.db"
    if "REDIS_URL" in env:
        env["REDIS_URL"] = redis_url(14)
    name = f"docker_entry_{os.getpid()}_{secrets.token_hex(3)}"
    with throwaway_database(answers["database"], name, tmp_path) as url:
        env["SQLALCHEMY_DATABASE_URI"] = url
        yield env


def install_like_the_image(uv: str, project: Path, env: dict[str, str]) -> None:
    """The image's install step: the committed lock if any (a render has none), no dev tools."""
    assert "uv sync --locked --no-dev --no-install-project" in (project / "Dockerfile").read_text()
    if not (project / "uv.lock").exists():
        subprocess.run([uv, "lock", "--quiet"], cwd=project, env=env, check=True)
    sync = [uv, "sync", "--locked", "--no-dev", "--no-install-project", "--quiet"]
    subprocess.run(sync, cwd=project, env=env, check=True)


def served_cmd(project: Path, env: dict[str, str], port: int) -> list[str]:
    """The image's ENTRYPOINT and CMD, on a loopback port of this machine."""
    argv = cmd(project / "Dockerfile")
    argv[argv.index("--host") + 1] = "127.0.0.1"  # loopback only on a shared machine
    argv[argv.index("--port") + 1] = str(port)
    argv[0] = shutil.which(argv[0], path=env["PATH"]) or argv[0]
    return ["/bin/sh", str(project / "docker-entrypoint.sh"), *argv]


def test_a_bad_setting_stops_the_container_before_uvicorn_starts(
    uv: str, project: Path, container_env: dict[str, str], tmp_path: Path
) -> None:
    # uvicorn reads the settings in its workers only and starts a worker that exits again: the
    # entry point checks them first, once (issue 26).
    env = container_env | {"WEB_CONCURRENCY": "2", "SECRET_KEY": "too-short"}
    install_like_the_image(uv, project, env)

    started = time.monotonic()
    result = subprocess.run(
        served_cmd(project, env, free_port()),
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert time.monotonic() - started < 30
    expected = ["Invalid settings:"]
    if counts_in_memory(project):  # two workers would each allow every limit
        expected.append("  WEB_CONCURRENCY: 2 workers would each count the rate limits in their")
    expected.append("  SECRET_KEY: must be at least 32 characters")
    header, *lines = result.stderr.splitlines()
    assert [header] == expected[:1], result.stderr
    # One line per problem, in the order of the settings' fields.
    assert len(lines) == len(expected) - 1, result.stderr
    for start in expected[1:]:
        assert sum(line.startswith(start) for line in lines) == 1, result.stderr
    if counts_in_memory(project):
        assert "Redis" in lines[1]
    assert "Uvicorn running" not in result.stdout + result.stderr


def test_cmd_and_healthcheck_work(
    uv: str, project: Path, container_env: dict[str, str], tmp_path: Path
) -> None:
    env = container_env
    dockerfile = project / "Dockerfile"
    install_like_the_image(uv, project, env)

    migrate = compose(project)["services"]["migrate"]["command"]
    subprocess.run(migrate, cwd=project, env=env, check=True, timeout=120)

    port = free_port()
    # Through the entry point, with two workers summing metrics in a directory of our own, or
    # the one worker that counters in memory allow (the entry point's default then).
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "prometheus")
    env["WEB_CONCURRENCY"] = "" if counts_in_memory(project) else "2"
    env["SHUTDOWN_DRAIN_SECONDS"] = "0.5"  # the image's 5 s of draining, shortened
    argv = served_cmd(project, env, port)
    probe = healthcheck(dockerfile)
    probe[2] = probe[2].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    probe[0] = shutil.which(probe[0], path=env["PATH"]) or probe[0]
    assert probe[0].startswith(str(project)), "the probe must run the image's own interpreter"

    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(argv, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"the CMD exited:\n{log.read_text()}"
            result = subprocess.run(probe, env=env, capture_output=True, timeout=10)
            if result.returncode == 0:
                break
            assert time.monotonic() < deadline, f"never healthy:\n{log.read_text()}"
            time.sleep(0.3)
        url = f"http://127.0.0.1:{port}{HEALTH_PATH}"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200
            assert json.load(response)["status"] == "ok"
        # Probes are access-logged at DEBUG; an ordinary request shows the INFO access log.
        openapi = f"http://127.0.0.1:{port}/openapi.json"
        with urllib.request.urlopen(openapi, timeout=5) as response:
            assert response.status == 200
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    # uvicorn re-raises the signal once it has shut down gracefully (exit status -15).
    assert server.returncode in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete" in log.read_text(), "no graceful shutdown on SIGTERM"
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    logged = [json.loads(line) for line in lines]
    access = [entry for entry in logged if entry.get("logger") == "app.access"]
    assert any(entry.get("path") == "/openapi.json" for entry in access), (
        "with --no-access-log the app's own JSON access log must show the request:\n"
        + log.read_text()
    )


# --- the job worker (task_queue=redis) --------------------------------------------------------


def worker_grace_seconds(project: Path) -> float:
    """WORKER_GRACE_SECONDS's default, read from the rendered settings."""
    config = (project / "app" / "core" / "config.py").read_text()
    match = re.search(r"WORKER_GRACE_SECONDS: \w+ = Field\(\s*(\d+)", config)
    assert match, "WORKER_GRACE_SECONDS not found in app/core/config.py"
    return float(match.group(1))


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, f"compose durations here are whole seconds: {duration}"
    return float(match.group(1))


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_compose_runs_the_worker_beside_the_api(render: Renders, database: str) -> None:
    """task_queue=redis: the worker is the api's container with another command, started
    after the migrations, with Redis even when the rate-limit counters stay in memory."""
    project = render(task_queue="redis", database=database, rate_limit_storage="memory")
    services = compose(project)["services"]
    api, worker = services["api"], services["worker"]
    assert worker["command"] == ["python", "-m", "app.worker"]
    for key in ("build", "image", "env_file", "environment", "volumes", "restart"):
        assert worker.get(key) == api.get(key), key
    assert worker["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert worker["depends_on"] == api["depends_on"]
    assert worker["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert "ports" not in worker, "the worker serves nothing"
    assert worker["healthcheck"]["test"] == ["CMD", "python", "-m", "app.worker", "--alive"]
    assert seconds(worker["stop_grace_period"]) > worker_grace_seconds(project)
    assert "healthcheck" in services["redis"]


def test_compose_has_no_worker_without_the_queue(render: Renders) -> None:
    services = compose(render())["services"]
    assert "worker" not in services
    assert "redis" not in services
