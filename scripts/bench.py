"""Benchmark one rendered combination side by side with a bare FastAPI app (SPEC section 4).

Run by the ``bench`` nox session, or alone: ``python -m scripts.bench database=postgresql``.
Renders the combination (or takes ``--project``), installs it, migrates a throw-away database,
starts it with ONE uvicorn worker next to a bare FastAPI app (the ceiling, same venv and flags),
seeds a user with 10 items, then measures the figures of bench_report.TARGETS, subject and
ceiling alternately, round after round (medians reported; a ratio is the median of the
rounds' own ratios). With ``--baseline [REF]`` (alone: the last release) the rendered suite and
``copier copy`` are judged against REF's, rendered alike, in alternating rounds: ratios decide,
seconds are recorded. wrk's figures come from a Lua ``done`` hook, not its text. Writes
``docs/bench/<id>.json``, prints a markdown table, redraws the chart from every result. Exit
status: 0 every target met, 1 a target missed, 2 the benchmark could not run. The procedure
and its knobs: docs/performance.md, "Reproduce".
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import secrets
import shutil
import statistics
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import psutil
import yaml

from scripts import bench_report as report
from scripts.bench_report import log
from tests import support
from tests.releases import RELEASES
from tests.support import ROOT, SERVERS, clean_env, combination_id, connect, redis_url, run, url

# The last release (tests/releases.py): what `--baseline` compares with when given no ref.
LAST_RELEASE = RELEASES[max(RELEASES, key=lambda v: tuple(map(int, v.split("."))))]
# The service's rate-limit counters (flushed first), its tests; a checkout sharing the servers
# with others gives its own Redis db numbers and database-name prefix.
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB") or 14)
REDIS_TEST_DB = int(os.environ.get("BENCH_REDIS_TEST_DB") or 15)
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX") or "bench"
LOGIN_BODY = json.dumps({"email": "bench@example.com", "password": "Timing-Harness-Passphrase-42"})
LOAD, PROBE = "-t2 -c32", "-t1 -c4"  # wrk's threads and connections: throughput, storm probe
STORM_CLIENTS = 8
CEILING_APP = (  # the ceiling: the least a FastAPI app can do per request
    "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/')\n"
    "async def root() -> dict[str, str]:\n    return {'status': 'ok'}\n"
)
# wrk's own figures (latencies in microseconds), printed as one JSON line after its report.
WRK_REPORT = """done = function(summary, latency, requests) local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "duration_us": %d, "p50": %d, "p90": %d, '
    .. '"p99": %d, "non_2xx": %d, "socket_errors": %d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""

VERSIONS_OF = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "pydantic", "sqlalchemy",
               "asyncpg", "psycopg", "aiosqlite", "asyncmy", "pymysql", "argon2-cffi", "libpass",
               "prometheus-client", "slowapi", "pyjwt")  # fmt: skip
SETTINGS_NOTE = {"ENVIRONMENT": "development", "LOG_LEVEL": "INFO (access log to a file)",
                 "AUTH_LOGIN_RATE_LIMIT": "100000/minute (benchmark only: logins are measured)",
                 "CORS_ORIGINS": '["http://localhost:3000"] (CORS middleware on)',
                 "password hashing": "defaults (argon2id m=19456 KiB, t=2, p=1)"}  # fmt: skip


def call(conn: HTTPConnection, method: str, path: str, *args: Any, expect: int = 200) -> Any:
    """A request (`request_on`) that must answer `expect`; the answer's body."""
    status, body = support.request_on(conn, method, path, *args)
    if status != expect:
        raise RuntimeError(f"{method} {path} answered {status}: {body}")
    return body


def login(conn: HTTPConnection) -> str:
    return str(call(conn, "POST", "/api/v1/auth/login", LOGIN_BODY)["access_token"])


def seed(port: int) -> str:
    """A user with 10 items, through the API; returns an access token."""
    conn = connect(port)
    call(conn, "POST", "/api/v1/users", LOGIN_BODY, expect=201)
    token = login(conn)
    for n in range(10):
        item = {"title": f"Item {n}", "description": f"Benchmark item number {n}"}
        call(conn, "POST", "/api/v1/items", json.dumps(item), token, expect=201)
    page = call(conn, "GET", "/api/v1/items?include_total=true", None, token)
    if page.get("total") != 10 or len(page.get("items", [])) != 10:
        raise RuntimeError(f"GET /api/v1/items answered {page}")
    conn.close()
    return token


def seconds(action: Callable[..., object], *args: Any) -> float:
    """How long `action(*args)` takes."""
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


def wrk(
    target: str, load: str, duration: float, token: str | None = None, lua: str = ""
) -> dict[str, float]:
    """One wrk run, `load` its threads and connections; its figures from the Lua hook. `lua`:
    more of wrk's script (a method and body, a `request` function)."""
    argv = ["wrk", *load.split(), f"-d{duration:g}s", "--latency"]
    argv += ["-H", f"Authorization: Bearer {token}"] if token else []
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua + WRK_REPORT)
        script.flush()
        out = run([*argv, "-s", script.name, target], timeout=duration + 60).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"no report from wrk:\n{out}")
    raw = json.loads(line.removeprefix("BENCH "))
    if raw["non_2xx"]:
        raise RuntimeError(f"{target}: {raw['non_2xx']} responses were not 2xx: the run is invalid")
    return {
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        **{f"p{p}_ms": round(raw[f"p{p}"] / 1000, 3) for p in (50, 90, 99)},
        "requests": raw["requests"], "non_2xx": 0, "socket_errors": raw["socket_errors"],
    }  # fmt: skip


def paired_ratios(
    runs: list[dict[str, float]], over: list[dict[str, float]], field: str
) -> list[float]:
    """Round by round, `field` of each run over that of the run it was paired with: drift
    between rounds (a neighbour's load, clock changes) cancels out."""
    return [run[field] / base[field] for run, base in zip(runs, over, strict=True)]


def medians(runs: dict[str, list[dict[str, float]]], field: str) -> dict[str, float]:
    """The median of `field` over the rounds of each of `runs`, as `<name>_<field>`."""
    return {f"{name}_{field}": float(statistics.median(r[field] for r in rounds))
            for name, rounds in runs.items()}  # fmt: skip


def measure_throughput(subject: int, ceiling: int, token: str, args: Any) -> dict[str, Any]:
    """Rounds of ceiling, live, items: alternating, so drift hits all three alike."""
    log("throughput: ceiling vs /health/live vs /items")
    targets = {"ceiling": (url(ceiling, "/"), None), "live": (url(subject, "/health/live"), None),
               "items": (url(subject, "/api/v1/items"), token)}  # fmt: skip
    for target, auth in targets.values():  # a short warm-up of each (imports, pools, caches)
        wrk(target, LOAD, 1, auth)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    for n in range(args.rounds):
        for name, (target, auth) in targets.items():
            runs[name].append(wrk(target, LOAD, args.duration, auth))
        last = {name: results[-1]["rps"] for name, results in runs.items()}
        log(f"round {n + 1}/{args.rounds}: ceiling {last['ceiling']:.0f} req/s, "
            f"live {last['live']:.0f}, items {last['items']:.0f}")  # fmt: skip
    # Each round's run over the ceiling run just before it; the ratio is the rounds' median.
    ratios = {name: paired_ratios(runs[name], runs["ceiling"], "rps") for name in ("live", "items")}
    return {"wrk": f"wrk {LOAD} -d{args.duration:g}s --latency", "rounds": runs,
            **medians(runs, "rps"), **{f"{name}_round_ratios": r for name, r in ratios.items()},
            **{f"{name}_ratio": statistics.median(r) for name, r in ratios.items()},
            **medians(runs, "p50_ms")}  # fmt: skip


def measure_logins(port: int, count: int) -> dict[str, Any]:
    log(f"{count} sequential logins")
    conn = connect(port)
    login(conn)  # warm-up
    times = [seconds(login, conn) * 1000 for _ in range(count)]
    conn.close()
    return {"logins": count, "login_p50_ms": statistics.median(times),
            "login_min_ms": min(times), "login_max_ms": max(times)}  # fmt: skip


def login_storm(port: int, times: list[float], during: Callable[[], object]) -> None:
    """`during()` while STORM_CLIENTS threads log in back to back; each login's ms in `times`."""
    done = threading.Event()

    def worker() -> None:
        conn = connect(port, timeout=60)
        while not done.is_set():
            times.append(seconds(login, conn) * 1000)

    with ThreadPoolExecutor(STORM_CLIENTS) as pool:
        futures = [pool.submit(worker) for _ in range(STORM_CLIENTS)]
        try:
            time.sleep(1)  # every client is hashing
            during()
        finally:
            done.set()
    if failures := [repr(f.exception()) for f in futures if f.exception()]:
        raise RuntimeError(f"the login storm failed: {failures[0]}")


def measure_storm(port: int, args: Any) -> dict[str, Any]:
    """/health/live p50 quiet and during a login storm: wrk at low concurrency (the verdict),
    then a paced single client (what a health checker sees), each phase in turn."""
    log("login storm")
    runs: dict[str, list[dict[str, float]]] = {"quiet": [], "storm": []}
    paced: dict[str, list[float]] = {"quiet": [], "storm": []}
    logins: list[float] = []
    storm_seconds = 0.0

    def probe(phase: str, interval: float = 0.01) -> None:
        runs[phase].append(wrk(url(port, "/health/live"), PROBE, args.duration))
        conn, deadline = connect(port), time.perf_counter() + args.duration
        while time.perf_counter() < deadline:  # one request at a time, every `interval` s
            elapsed = seconds(call, conn, "GET", "/health/live")
            paced[phase].append(elapsed * 1000)
            time.sleep(max(0.0, interval - elapsed))
        conn.close()

    for n in range(args.storm_rounds):
        before = len(logins)
        probe("quiet")
        storm_seconds += seconds(login_storm, port, logins, lambda: probe("storm"))
        quiet, storm = runs["quiet"][-1]["p50_ms"], runs["storm"][-1]["p50_ms"]
        log(f"storm round {n + 1}/{args.storm_rounds}: live p50 quiet {quiet:.2f} ms, "
            f"storm {storm:.2f} ms ({len(logins) - before} logins)")  # fmt: skip
    p50, paced_p50 = medians(runs, "p50_ms"), {k: statistics.median(v) for k, v in paced.items()}
    return {
        "probe": f"wrk {PROBE} -d{args.duration:g}s --latency",
        "storm_clients": STORM_CLIENTS,
        "rounds": runs,
        **p50,
        "storm_slowdown": statistics.median(paired_ratios(runs["storm"], runs["quiet"], "p50_ms")),
        **medians(runs, "rps"),
        **{f"paced_{phase}_p50_ms": value for phase, value in paced_p50.items()},
        "paced_slowdown": paced_p50["storm"] / paced_p50["quiet"],
        "storm_logins_per_s": len(logins) / storm_seconds,
        "storm_login_p50_ms": statistics.median(logins) if logins else None,
    }


def suite(project: Path, env: dict[str, str], xml: Path, *extra: str) -> dict[str, Any]:
    """One run of `project`'s suite: wall seconds, pytest's counts (its JUnit XML), exit."""
    argv = [project / ".venv" / "bin" / "pytest", "-q", "-p", "no:cacheprovider", *extra]
    start = time.perf_counter()
    proc = run([*argv, f"--junitxml={xml}"], cwd=project, env=env, timeout=900, check=False)
    wall = time.perf_counter() - start
    if not xml.exists():
        raise RuntimeError(f"pytest wrote no report:\n{proc.stdout[-3000:]}{proc.stderr}")
    counts = next(ET.parse(xml).getroot().iter("testsuite"))
    failed, skipped = (int(counts.get(k, 0)) for k in ("failures", "skipped"))
    failed += int(counts.get("errors", 0))
    passed = int(counts.get("tests", 0)) - failed - skipped
    return {"seconds": wall, "passed": passed, "failed": failed, "skipped": skipped,
            "per_test_ms": 1000 * wall / max(passed, 1), "exit": proc.returncode}  # fmt: skip


def has_xdist(project: Path) -> bool:
    return any((project / ".venv" / "lib").glob("python*/site-packages/pytest_xdist-*"))


def measure_tests(dest: Path, answers: dict[str, str], workdir: Path, args: Any,
                  baseline: Path | None) -> dict[str, Any]:  # fmt: skip
    """The rendered suite as a developer's loop runs it (warm: a first run caches byte code), in
    alternating rounds: in one process (`-n 0`), the baseline's suite (the same, in one
    process), then `-n auto`. The verdicts are ratios of paired rounds: seconds per test over
    the baseline's, and `-n 0` over `-n auto`; seconds are recorded beside them."""
    log(f"rendered test suite, baseline {args.baseline}, a warm-up then alternating rounds")
    env, database = clean_env(), answers.get("database", "sqlite")
    # Warm as on a developer's machine: where PYTHONDONTWRITEBYTECODE is set (CI images, this
    # host) every process compiles the whole stack again, about 1 s of CPU per process here.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if combination_id(answers).endswith("-redis"):
        env["TEST_REDIS_URL"] = redis_url(REDIS_TEST_DB)  # `-n auto` also 14: the service has gone
    xdist = has_xdist(dest)
    plan = {
        "serial": (dest, ["-n", "0"] if xdist else []),
        "xdist": (dest, ["-n", "auto"]),
        "baseline": (baseline, ["-n", "0"] if baseline and has_xdist(baseline) else []),
    }
    plan = {k: v for k, v in plan.items() if v[0] and (k != "xdist" or xdist)}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in plan}
    with contextlib.ExitStack() as stack:
        envs = {}
        for name in plan:  # a database per project (its own schema)
            db = f"{DB_PREFIX}_{os.getpid()}_{'base' if name == 'baseline' else 'tests'}"
            url = stack.enter_context(support.throwaway_database(database, db, workdir))
            envs[name] = (
                env | {"TEST_SQLALCHEMY_DATABASE_URI": url} if database != "sqlite" else env
            )
        for n in range(-1, args.suite_rounds):  # round -1: the warm-up, not counted
            for name, (project, extra) in plan.items():
                if n >= 0 or name != "xdist":
                    result = suite(project, envs[name], workdir / f"pytest-{name}.xml", *extra)
                    runs[name] += [result] if n >= 0 else []
            seconds_of = ", ".join(f"{k} {v[-1]['seconds']:.1f}s" for k, v in runs.items() if v)
            log(f"suite round {n + 1}/{args.suite_rounds}: {seconds_of}" if n >= 0 else "warmed up")
    last = runs["serial"][-1]
    out = {"database": database, **{f"tests_{k}": last[k] for k in ("passed", "skipped", "exit")},
           "tests_failed": max(r["failed"] for r in runs["serial"]), "rounds": runs,
           **{f"{k}_seconds": statistics.median(r["seconds"] for r in v) for k, v in runs.items()},
           **{f"{k}_per_test_ms": statistics.median(r["per_test_ms"] for r in v)
              for k, v in runs.items()}}  # fmt: skip
    out["tests_seconds"], out["tests_per_test_ms"] = (
        out.pop(f"serial_{k}") for k in ("seconds", "per_test_ms")
    )
    out["tests_summary"] = f"{last['passed']} passed in {out['tests_seconds']:.2f}s (`-n 0`)"
    out["tests_xdist_speedup"] = (
        statistics.median(paired_ratios(runs["serial"], runs["xdist"], "seconds"))
        if xdist
        else None
    )
    out["tests_vs_baseline"] = statistics.median(paired_ratios(
        runs["serial"], runs["baseline"], "per_test_ms")) if baseline else None  # fmt: skip
    return out


def measure_copier(workdir: Path, args: Any, repeats: int = 3) -> dict[str, Any]:
    """`copier copy` of the defaults, the baseline's in alternation with it when given."""
    refs = {"copier": args.vcs_ref} | ({"baseline": args.baseline} if args.baseline else {})
    log("copier copy of the defaults: " + " vs ".join(str(ref) for ref in refs.values()))
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in refs}
    for n in range(repeats):
        for name, ref in refs.items():
            dest = workdir / "copier-defaults" / f"{name}-{n}"
            runs[name].append({"seconds": seconds(support.render, {}, dest, ref)})
    shutil.rmtree(workdir / "copier-defaults")
    out = {f"{k}_seconds": statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    out["copier_runs"] = [r["seconds"] for r in runs["copier"]]
    out["baseline_runs"] = [r["seconds"] for r in runs.get("baseline", [])]
    out["copier_vs_baseline"] = statistics.median(paired_ratios(
        runs["copier"], runs["baseline"], "seconds")) if args.baseline else None  # fmt: skip
    return out


def machine(venv: Path) -> dict[str, Any]:
    cpus = [x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("model name")]
    listed = run(["uv", "pip", "list", "--format", "json", "--python", venv / "bin" / "python"])
    installed = {p["name"]: p["version"] for p in json.loads(listed.stdout)}
    postgres = ["psql", SERVERS["postgresql"].admin_url, "-tAc", "SHOW server_version"]
    mysql = [*support.mysql_client(SERVERS["mysql"].admin_url), "-BNe", "SELECT VERSION()"]
    wrk_version, postgres_version, mysql_version = (
        run(argv, check=False, timeout=10).stdout.strip() or None
        for argv in (["wrk", "--version"], postgres, mysql)
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpus[0].split(":", 1)[1].strip() if cpus else "unknown",
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "kernel": os.uname().release,
        "versions": {
            "python": run([venv / "bin" / "python", "--version"]).stdout.split()[-1],
            **{name: installed[name] for name in VERSIONS_OF if name in installed},
            "wrk": (wrk_version or "").split(" [")[0].removeprefix("wrk "),
            "postgresql": postgres_version,
            "mysql": mysql_version,
            "copier": importlib.metadata.version("copier"),
        },
    }


def prepare(answers: dict[str, str], args: Any) -> tuple[dict[str, Any], Path, Path]:
    """Render (or take `--project`) and install the combination: the result's heading, the
    work directory and the project."""
    if args.project:  # an existing rendered project, e.g. with a change to try out
        text = (args.project / ".copier-answers.yml").read_text()
        recorded = yaml.load(text, yaml.BaseLoader)  # every value a string, as on a command line
        answers = {**{k: v for k, v in recorded.items() if not k.startswith("_")}, **answers}
    combo = args.label or combination_id(answers)
    workdir = args.workdir / combo
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    dest = args.project.resolve() if args.project else workdir / "project"
    venv = dest / ".venv"
    result: dict[str, Any] = {
        "combination": combo,
        "answers": answers,
        "project": str(args.project) if args.project else None,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "template_ref": args.vcs_ref or "working tree",
        "baseline": args.baseline,
        "template_commit": run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip(),
        "settings": SETTINGS_NOTE,
        "load_average_before": os.getloadavg(),
    }
    if not args.project:
        log(f"rendering {combo} into {dest}")
        support.render(answers, dest, args.vcs_ref)
    if not (args.project and venv.exists()):
        log("installing (uv sync)")
        run(["uv", "sync", "--python", args.python], cwd=dest, timeout=900)  # clean env: dest/.venv
    result["machine"] = machine(venv)
    return result, workdir, dest


def migrated_env(
    answers: dict[str, str], dest: Path, db_url: str, **settings: str
) -> dict[str, str]:
    """The service's environment on the migrated database `db_url`."""
    service_env = clean_env(
        ENVIRONMENT="development", SQLALCHEMY_DATABASE_URI=db_url, PYTHONDONTWRITEBYTECODE="1",
        SECRET_KEY=secrets.token_hex(20), REFRESH_TOKEN_SECRET=secrets.token_hex(20),  # 40 each
        CORS_ORIGINS='["http://localhost:3000"]', AUTH_LOGIN_RATE_LIMIT="100000/minute",
        AUTH_REFRESH_RATE_LIMIT="100000/minute", **settings,
    )  # fmt: skip
    if combination_id(answers).endswith("-redis"):
        service_env["REDIS_URL"] = redis_url(REDIS_DB)
        support.flush_redis(service_env["REDIS_URL"])
    log("migrating (alembic upgrade head)")
    run([dest / ".venv" / "bin" / "alembic", "upgrade", "head"], cwd=dest, env=service_env)
    return service_env


def bench(answers: dict[str, str], args: Any) -> dict[str, Any]:
    result, workdir, dest = prepare(answers, args)
    answers, skip, venv = result["answers"], args.skip, dest / ".venv"
    (ceiling_dir := workdir / "ceiling").mkdir()
    (ceiling_dir / "ceiling.py").write_text(CEILING_APP)
    database = answers.get("database", "sqlite")
    with support.throwaway_database(database, f"{DB_PREFIX}_{os.getpid()}", workdir) as db_url:
        service_env = migrated_env(answers, dest, db_url)
        log("starting the service and the ceiling (one uvicorn worker each)")
        subject, ceiling = support.free_port(), support.free_port()
        flags = ("--workers", "1", "--no-access-log")
        service = support.uvicorn(venv, "app.main:app", subject, *flags)
        bare = support.uvicorn(venv, "ceiling:app", ceiling, *flags)
        service_log, ceiling_log = workdir / "service.log", ceiling_dir / "uvicorn.log"
        with (
            support.running(service, url(subject, "/health/live"), service_log, dest, service_env),
            support.running(bare, url(ceiling, "/"), ceiling_log, ceiling_dir, clean_env()),
        ):
            token = seed(subject)
            result["throughput"] = measure_throughput(subject, ceiling, token, args)
            result["login"] = None if "logins" in skip else measure_logins(subject, args.logins)
            result["storm"] = None if "storm" in skip else measure_storm(subject, args)
        result["service_log_bytes"] = service_log.stat().st_size
    baseline = None
    if args.baseline and "tests" not in skip:
        log(f"rendering and installing the baseline, {args.baseline}")
        support.render(answers, baseline := workdir / "baseline", args.baseline)
        run(["uv", "sync", "--python", args.python], cwd=baseline, timeout=900)
    result["tests"] = None if "tests" in skip else measure_tests(
        dest, answers, workdir, args, baseline)  # fmt: skip
    result["copier"] = None if "copier" in skip else measure_copier(workdir, args)
    result["load_average_after"] = os.getloadavg()
    result["measures"] = report.measures(result)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    env = os.environ.get
    work = Path(env("TEMPLATE_WORKDIR") or Path(tempfile.gettempdir()) / "fastapi-template")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    add = p.add_argument
    add("answers", nargs="*", help="copier answers, key=value (passed as --data)")
    add("--duration", type=float, default=float(env("BENCH_DURATION") or 8), help="s per wrk run")
    # Nine: a single round's ratio ranged 0.64-1.21 for one build on a noisy host (performance.md)
    add("--rounds", type=int, default=int(env("BENCH_ROUNDS") or 9), help="throughput rounds")
    add("--storm-rounds", type=int, default=int(env("BENCH_STORM_ROUNDS") or 0),
        help="login-storm rounds (default: 3, or --rounds if fewer)")  # fmt: skip
    add("--logins", type=int, default=int(env("BENCH_LOGINS") or 20), help="sequential logins")
    add("--python", default=env("BENCH_PYTHON", "3.11"), help="the project's interpreter")
    add("--vcs-ref", default=env("BENCH_VCS_REF", "HEAD"), help="empty: the working tree")
    add("--skip", default=env("BENCH_SKIP", ""), help="any of tests,copier,logins,storm")
    add("--baseline", nargs="?", const=LAST_RELEASE, default=env("BENCH_BASELINE") or None,
        help=f"judge the suite and copier copy against this ref (alone: {LAST_RELEASE[:10]}, "
        "the last release)")  # fmt: skip
    add("--suite-rounds", type=int, default=int(env("BENCH_SUITE_ROUNDS") or 0),
        help="rounds of the suite (default: 3, or --rounds if fewer)")  # fmt: skip
    add("--workdir", type=Path, default=work / "bench")
    add("--project", type=Path, help="benchmark this rendered project instead of rendering")
    add("--label", help="name of the result (default: the combination id)")
    add("--pages", action="store_true",
        help="cursor pages on a long list (scripts/bench_pages.py)")  # fmt: skip
    add("--rows", type=int, default=0,
        help="--pages: items of the one owner (default: 1e6 on PostgreSQL, 2e5 else)")  # fmt: skip
    add("--floor", action="store_true",
        help="the service against the hand-written floor (scripts/bench_floor.py)")  # fmt: skip
    add("--ladder", action="store_true",
        help="the floor, its rungs and the service in turn (scripts/floor_ladder.py)")  # fmt: skip
    add("--floor-requests", type=int, default=int(env("BENCH_FLOOR_REQUESTS") or 100_000),
        help="--floor: requests over which the warmed worker's RSS is watched")  # fmt: skip
    add("--floor-rss-seconds", type=float, default=float(env("BENCH_FLOOR_RSS_SECONDS") or 600),
        help="--floor: ... or at most this long")  # fmt: skip
    add("--startups", type=int, default=3, help="--floor: start-ups of each, to the first 200")
    add("--ab", choices=("items", "create", "reset"),
        help="this route against --baseline's, in turn (scripts/bench_floor.py)")  # fmt: skip
    add("--in-process", action="store_true",
        help="--ab items: CPU µs per request in one process, not wrk")  # fmt: skip
    add("--cpu-requests", type=int, default=3000, help="--in-process: requests per round")
    add("--load", default=LOAD, help="--ab, --floor: wrk's threads and connections")
    add("--synchronous-commit", choices=("on", "off"), default="on",
        help="--ab: PostgreSQL's commit (on: production's)")  # fmt: skip
    add("--tracing", type=float, metavar="RATIO",
        help="--ab: tracing on (parent-based, RATIO sampled, exported to a local OTLP/HTTP "
             "sink) over the same render with OTEL_SDK_DISABLED=true")  # fmt: skip
    add("--summary", action="store_true", help="print every result side by side and exit")
    add("--chart-only", action="store_true", help="redraw the chart and exit")
    args = p.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    args.vcs_ref = args.vcs_ref or None
    args.storm_rounds = args.storm_rounds or min(3, args.rounds)
    args.suite_rounds = args.suite_rounds or min(3, args.rounds)
    if args.summary:
        print(report.summary_table(report.load_results()), end="")
    if args.chart_only:
        report.chart(report.load_results())
    if args.summary or args.chart_only:
        return 0
    if not shutil.which("wrk"):
        log("wrk is not installed. It is a Debian package: apt-get install -y wrk")
        return 2
    if args.floor or args.ab or args.ladder:
        from scripts import bench_floor  # it imports this module

        run_mode = (bench_floor.run_floor if args.floor
                    else bench_floor.run_ladder if args.ladder else bench_floor.run_ab)  # fmt: skip
        try:
            return run_mode(support.parse_answers(args.answers), args)
        except RuntimeError as exc:
            log(f"FAILED: {exc}")
            return 2
    if args.pages:
        from scripts import bench_pages  # it imports this module

        return bench_pages.run_pages(support.parse_answers(args.answers), args)
    try:
        result = bench(support.parse_answers(args.answers), args)
    except RuntimeError as exc:  # a command, server or database that failed
        log(f"FAILED: {exc}")
        return 2
    report.RESULTS.mkdir(parents=True, exist_ok=True)
    out = report.RESULTS / f"{result['combination']}.json"
    out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(report.markdown_table(result))
    log(f"results: {out}")
    report.chart(report.load_results())
    missed = [m["title"] for m in result["measures"].values() if m["met"] is False]
    for title in missed:
        log(f"target missed: {title}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
