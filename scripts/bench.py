"""Benchmark one rendered combination side by side with a bare FastAPI app (SPEC section 4).

Run by the ``bench`` nox session, or alone: ``python -m scripts.bench database=postgresql``.
Renders the combination (or takes ``--project``), installs it, migrates a throw-away database,
starts it with ONE uvicorn worker next to a bare FastAPI app (the ceiling, same venv and flags),
seeds a user with 10 items, then measures, subject and ceiling alternately, round after round
(medians reported): 1. ``/health/live`` req/s vs the ceiling; 2. authenticated ``GET /items``
vs the ceiling; 3. the p50 of sequential logins (production argon2id); 4. ``/health/live`` p50
during a login storm / quiet; 5. the rendered test suite (pytest's JUnit XML report); 6.
``copier copy`` of the defaults. wrk's figures come from a Lua ``done`` hook, not its text.
Writes ``<results-dir>/<id>.json``, prints a markdown table, redraws the chart from every
result. Exit status: 0 every target met, 1 a target missed, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import yaml

from scripts.bench_report import chart, log, markdown_table, measures, summary_table
from tests import support
from tests.support import ROOT, clean_env, redis_url

REDIS_DB, REDIS_TEST_DB = 14, 15  # the service's rate-limit counters (flushed first), its tests
EMAIL, PASSWORD = "bench@example.com", "Timing-Harness-Passphrase-42"
LOGIN_BODY = json.dumps({"email": EMAIL, "password": PASSWORD})
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


class BenchError(RuntimeError):
    """The benchmark could not run (not a missed target)."""


def run(
    args: Sequence[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None,
    timeout: float = 600, check: bool = True,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    argv = [str(a) for a in args]
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env or clean_env(), capture_output=True,
                              text=True, timeout=timeout, check=False)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"`{' '.join(argv)}` timed out after {timeout:.0f} s") from exc
    if check and proc.returncode:
        out = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        raise BenchError(f"`{' '.join(argv)}` exited {proc.returncode}\n{out}")
    return proc


def parse_answers(pairs: Sequence[str]) -> dict[str, str]:
    if bad := [pair for pair in pairs if not pair.partition("=")[0] or "=" not in pair]:
        raise BenchError(f"answers are key=value pairs, got {bad[0]!r}")
    return dict(pair.split("=", 1) for pair in pairs)


def truthy(value: str) -> bool:
    return value.strip().lower() not in ("false", "no", "0", "off", "n")


def combination_id(answers: dict[str, str]) -> str:
    flavour = "async" if truthy(answers.get("use_async", "true")) else "sync"
    limits = answers.get("rate_limit_storage", "memory")
    if not truthy(answers.get("rate_limiting", "true")):
        limits = "nolimit"
    return f"{answers.get('database', 'sqlite')}-{flavour}-{limits}"


def copier_argv(answers: dict[str, str], dest: Path, vcs_ref: str | None) -> list[str]:
    return [sys.executable, "-m", "copier", *support.copy_args(answers, dest, vcs_ref)]


def url(port: int, path: str) -> str:
    return f"http://127.0.0.1:{port}{path}"


def request(
    conn: http.client.HTTPConnection, method: str, path: str, body: str | None = None,
    token: str | None = None,
) -> tuple[int, Any]:  # fmt: skip
    """One request on a kept-alive connection: what is measured is the server, not a client."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    headers |= {"Authorization": f"Bearer {token}"} if token else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data else None


def connect(port: int, timeout: float = 30) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


def login(conn: http.client.HTTPConnection) -> str:
    status, body = request(conn, "POST", "/api/v1/auth/login", LOGIN_BODY)
    if status != 200:
        raise BenchError(f"login answered {status}: {body}")
    return str(body["access_token"])


def seed(port: int) -> str:
    """A user with 10 items, through the API; returns an access token."""
    status, body = support.request_json(url(port, "/api/v1/users"), json.loads(LOGIN_BODY))
    if status != 201:
        raise BenchError(f"registering the bench user answered {status}: {body}")
    token = login(connect(port))
    for n in range(10):
        item = {"title": f"Item {n}", "description": f"Benchmark item number {n}"}
        status, body = support.request_json(url(port, "/api/v1/items"), item, token)
        if status != 201:
            raise BenchError(f"creating an item answered {status}: {body}")
    status, body = support.request_json(url(port, "/api/v1/items"), token=token)
    if status != 200 or body.get("total") != 10 or len(body.get("items", [])) != 10:
        raise BenchError(f"GET /api/v1/items answered {status}: {body}")
    return token


def wrk(
    target: str, *, threads: int, connections: int, duration: float, token: str | None = None
) -> dict[str, float]:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency"]
    argv += ["-H", f"Authorization: Bearer {token}"] if token else []
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_REPORT)
        script.flush()
        out = run([*argv, "-s", script.name, target], timeout=duration + 60).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise BenchError(f"no report from wrk:\n{out}")
    raw = json.loads(line.removeprefix("BENCH "))
    if raw["non_2xx"]:
        raise BenchError(f"{target}: {raw['non_2xx']} responses were not 2xx: the run is invalid")
    return {
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        **{f"p{p}_ms": round(raw[f"p{p}"] / 1000, 3) for p in (50, 90, 99)},
        "requests": raw["requests"], "non_2xx": 0, "socket_errors": raw["socket_errors"],
    }  # fmt: skip


def median_of(results: Sequence[dict[str, float]], field: str) -> float:
    return float(statistics.median(r[field] for r in results))


def measure_throughput(subject: int, ceiling: int, token: str, args: Any) -> dict[str, Any]:
    """Rounds of ceiling, live, items: alternating, so drift hits all three alike."""
    load = {"threads": args.threads, "connections": args.connections, "duration": args.duration}
    targets = {
        "ceiling": (url(ceiling, "/"), None),
        "live": (url(subject, "/health/live"), None),
        "items": (url(subject, "/api/v1/items"), token),
    }
    for target, auth in targets.values():  # a short warm-up of each (imports, pools, caches)
        wrk(target, token=auth, **{**load, "duration": 1})
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    for n in range(args.rounds):
        for name, (target, auth) in targets.items():
            runs[name].append(wrk(target, token=auth, **load))
        last = {name: results[-1]["rps"] for name, results in runs.items()}
        log(f"round {n + 1}/{args.rounds}: ceiling {last['ceiling']:.0f} req/s, "
            f"live {last['live']:.0f}, items {last['items']:.0f}")  # fmt: skip
    rps = {name: median_of(results, "rps") for name, results in runs.items()}
    return {
        "wrk": f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency",
        "rounds": runs,
        **{f"{name}_rps": value for name, value in rps.items()},
        "live_ratio": rps["live"] / rps["ceiling"],
        "items_ratio": rps["items"] / rps["ceiling"],
        **{f"{name}_p50_ms": median_of(results, "p50_ms") for name, results in runs.items()},
    }


def measure_logins(port: int, count: int) -> dict[str, Any]:
    conn, times = connect(port), []
    login(conn)  # warm-up
    for _ in range(count):
        start = time.perf_counter()
        login(conn)
        times.append((time.perf_counter() - start) * 1000)
    conn.close()
    return {"logins": count, "login_p50_ms": statistics.median(times),
            "login_min_ms": min(times), "login_max_ms": max(times)}  # fmt: skip


@contextlib.contextmanager
def login_storm(port: int, clients: int) -> Iterator[list[float]]:
    """`clients` threads logging in back to back until the block ends; yields login times."""
    done, times = threading.Event(), []

    def worker() -> None:
        conn = connect(port, timeout=60)
        while not done.is_set():
            start = time.perf_counter()
            login(conn)
            times.append((time.perf_counter() - start) * 1000)

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(worker) for _ in range(clients)]
        try:
            yield times
        finally:
            done.set()
    if failures := [repr(f.exception()) for f in futures if f.exception()]:
        raise BenchError(f"the login storm failed: {failures[0]}")


def paced_probe(port: int, seconds: float, interval: float = 0.01) -> list[float]:
    """What a health checker sees: one request at a time, every `interval` s; latencies in ms."""
    conn, times, deadline = connect(port), [], time.perf_counter() + seconds
    while (start := time.perf_counter()) < deadline:
        status, _ = request(conn, "GET", "/health/live")
        elapsed = time.perf_counter() - start
        if status != 200:
            raise BenchError(f"/health/live answered {status} during the probe")
        times.append(elapsed * 1000)
        time.sleep(max(0.0, interval - elapsed))
    conn.close()
    return times


def measure_storm(port: int, args: Any) -> dict[str, Any]:
    """/health/live p50 quiet and during a login storm: wrk at low concurrency (the verdict),
    then a paced single client (what a health checker sees), each phase in turn."""
    probe = {"threads": 1, "connections": args.probe_connections, "duration": args.duration}
    quiet, storm, paced_quiet, paced_storm, login_times = [], [], [], [], []
    storm_seconds = 0.0
    for n in range(args.rounds):
        quiet.append(wrk(url(port, "/health/live"), **probe))
        paced_quiet += paced_probe(port, args.duration)
        started = time.perf_counter()
        with login_storm(port, STORM_CLIENTS) as times:
            time.sleep(1)  # every client is hashing
            storm.append(wrk(url(port, "/health/live"), **probe))
            paced_storm += paced_probe(port, args.duration)
        storm_seconds += time.perf_counter() - started
        login_times += times
        log(f"storm round {n + 1}/{args.rounds}: live p50 quiet {quiet[-1]['p50_ms']:.2f} ms, "
            f"storm {storm[-1]['p50_ms']:.2f} ms ({len(times)} logins)")  # fmt: skip
    quiet_p50, storm_p50 = median_of(quiet, "p50_ms"), median_of(storm, "p50_ms")
    paced_quiet_p50 = statistics.median(paced_quiet)
    paced_storm_p50 = statistics.median(paced_storm)
    return {
        "probe": f"wrk -t1 -c{args.probe_connections} -d{args.duration:g}s --latency",
        "storm_clients": STORM_CLIENTS,
        "rounds": {"quiet": quiet, "storm": storm},
        "quiet_p50_ms": quiet_p50,
        "storm_p50_ms": storm_p50,
        "storm_slowdown": storm_p50 / quiet_p50,
        "quiet_rps": median_of(quiet, "rps"),
        "storm_rps": median_of(storm, "rps"),
        "paced_quiet_p50_ms": paced_quiet_p50,
        "paced_storm_p50_ms": paced_storm_p50,
        "paced_slowdown": paced_storm_p50 / paced_quiet_p50,
        "storm_logins_per_s": len(login_times) / storm_seconds,
        "storm_login_p50_ms": statistics.median(login_times) if login_times else None,
    }


def measure_tests(dest: Path, env: dict[str, str], report: Path) -> dict[str, Any]:
    """The rendered suite; counts and pytest's own time from its JUnit XML report."""
    report.unlink(missing_ok=True)
    start = time.perf_counter()
    argv = [dest / ".venv" / "bin" / "pytest", "-q", "-p", "no:cacheprovider"]
    proc = run([*argv, f"--junitxml={report}"], cwd=dest, env=env, timeout=900, check=False)
    wall = time.perf_counter() - start
    if not report.exists():
        raise BenchError(f"pytest wrote no report:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    suite = next(ET.parse(report).getroot().iter("testsuite"))
    n = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    passed, failed = n["tests"] - n["failures"] - n["errors"] - n["skipped"], n["failures"]
    seconds = float(suite.get("time", 0))
    counts = {"passed": passed, "failed": failed, "errors": n["errors"], "skipped": n["skipped"]}
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v or k == "passed")
    return {
        "tests_passed": passed,
        "tests_failed": failed + n["errors"],
        "tests_skipped": n["skipped"],
        "tests_seconds": seconds,
        "tests_wall_seconds": wall,
        "tests_summary": f"{summary} in {seconds:.2f}s",
        "tests_exit": proc.returncode,
    }


def measure_copier(workdir: Path, vcs_ref: str | None, repeats: int) -> dict[str, Any]:
    times = []
    for n in range(repeats):
        dest = workdir / f"copier-defaults-{n}"
        shutil.rmtree(dest, ignore_errors=True)
        start = time.perf_counter()
        run(copier_argv({}, dest, vcs_ref), timeout=120)
        times.append(time.perf_counter() - start)
        shutil.rmtree(dest, ignore_errors=True)
    return {"copier_seconds": statistics.median(times), "copier_runs": times}


def machine(venv: Path) -> dict[str, Any]:
    cpus = [x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("model name")]
    listed = run(["uv", "pip", "list", "--format", "json", "--python", venv / "bin" / "python"])
    installed = {p["name"]: p["version"] for p in json.loads(listed.stdout)}
    python = run([venv / "bin" / "python", "--version"]).stdout.split()[-1]
    wrk_version = run(["wrk", "--version"], check=False, timeout=10)
    postgres = run(["psql", support.SERVERS["postgresql"].admin_url, "-tAc", "SHOW server_version"],
                   check=False, timeout=10)  # fmt: skip
    mysql_argv = support.mysql_client(support.SERVERS["mysql"].admin_url)
    mysql = run([*mysql_argv, "-BNe", "SELECT VERSION()"], check=False, timeout=10)
    copier = run([sys.executable, "-m", "copier", "--version"], check=False, timeout=60)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpus[0].split(":", 1)[1].strip() if cpus else "unknown",
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "kernel": platform.release(),
        "versions": {
            "python": python,
            **{name: installed[name] for name in VERSIONS_OF if name in installed},
            "wrk": (wrk_version.stdout + wrk_version.stderr).split(" [")[0].removeprefix("wrk "),
            "postgresql": postgres.stdout.strip() or None,
            "mysql": mysql.stdout.strip() or None,
            "copier": (copier.stdout.split() or [None])[-1],
        },
    }


def recorded_answers(project: Path) -> dict[str, str]:
    """The answers of an already rendered project (its `.copier-answers.yml`)."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return {key: str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in answers.items() if not key.startswith("_")}  # fmt: skip


def bench(answers: dict[str, str], args: Any) -> dict[str, Any]:
    if args.project:  # an existing rendered project, e.g. with a change to try out
        answers = {**recorded_answers(args.project), **answers}
    combo = args.label or combination_id(answers)
    database = answers.get("database", "sqlite")
    workdir = args.workdir / combo
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "ceiling").mkdir(parents=True)
    (workdir / "ceiling" / "ceiling.py").write_text(CEILING_APP)
    dest = args.project.resolve() if args.project else workdir / "project"
    venv = dest / ".venv"
    result: dict[str, Any] = {
        "combination": combo,
        "answers": answers,
        "project": str(args.project) if args.project else None,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "template_ref": args.vcs_ref or "working tree",
        "template_commit": run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip(),
        "settings": SETTINGS_NOTE,
        "load_average_before": os.getloadavg(),
    }
    if not args.project:
        log(f"rendering {combo} into {dest}")
        run(copier_argv(answers, dest, args.vcs_ref), timeout=300)
    if not (args.project and venv.exists()):
        log("installing (uv sync)")
        uv_env = clean_env(UV_PROJECT_ENVIRONMENT=str(venv))
        run(["uv", "sync", "--python", args.python], cwd=dest, env=uv_env, timeout=900)
    result["machine"] = machine(venv)
    uses_redis = combination_id(answers).endswith("-redis")
    name = f"bench_{os.getpid()}"
    with (
        support.throwaway_database(database, name, workdir) as db_url,
        contextlib.ExitStack() as servers,
    ):
        service_env = clean_env(
            ENVIRONMENT="development", SQLALCHEMY_DATABASE_URI=db_url, PYTHONDONTWRITEBYTECODE="1",
            SECRET_KEY=secrets.token_hex(20), REFRESH_TOKEN_SECRET=secrets.token_hex(20),  # 40 each
            CORS_ORIGINS='["http://localhost:3000"]', AUTH_LOGIN_RATE_LIMIT="100000/minute",
            AUTH_REFRESH_RATE_LIMIT="100000/minute",
        )  # fmt: skip
        if uses_redis:
            service_env["REDIS_URL"] = redis_url(REDIS_DB)
            support.flush_redis(service_env["REDIS_URL"])
        log("migrating (alembic upgrade head)")
        run([venv / "bin" / "alembic", "upgrade", "head"], cwd=dest, env=service_env)

        log("starting the service and the ceiling (one uvicorn worker each)")
        subject, ceiling = support.free_port(), support.free_port()
        service_log = workdir / "service.log"
        ceiling_dir = workdir / "ceiling"
        for app, port, probe, cwd, env, log_path in (
            ("app.main:app", subject, "/health/live", dest, service_env, service_log),
            ("ceiling:app", ceiling, "/", ceiling_dir, clean_env(), ceiling_dir / "uvicorn.log"),
        ):
            argv = support.uvicorn(venv, app, port, "--workers", "1", "--no-access-log")
            servers.enter_context(support.running(argv, url(port, probe), log_path, cwd, env))
        token = seed(subject)

        log("throughput: ceiling vs /health/live vs /items")
        result["throughput"] = measure_throughput(subject, ceiling, token, args)
        result["login"] = result["storm"] = None
        if "logins" not in args.skip:
            log(f"{args.logins} sequential logins")
            result["login"] = measure_logins(subject, args.logins)
        if "storm" not in args.skip:
            log("login storm")
            result["storm"] = measure_storm(subject, args)
        servers.close()
        result["service_log_bytes"] = service_log.stat().st_size

    result["tests"] = result["copier"] = None
    if "tests" not in args.skip:
        log("rendered test suite (pytest -q)")
        with support.throwaway_database(database, f"{name}_tests", workdir) as test_url:
            test_env = clean_env()
            if database != "sqlite":
                test_env["TEST_SQLALCHEMY_DATABASE_URI"] = test_url
            if uses_redis:
                test_env["TEST_REDIS_URL"] = redis_url(REDIS_TEST_DB)
            result["tests"] = measure_tests(dest, test_env, workdir / "pytest.xml")
            result["tests"]["database"] = database
    if "copier" not in args.skip:
        log("copier copy of the defaults")
        result["copier"] = measure_copier(workdir, args.vcs_ref, repeats=3)
    result["load_average_after"] = os.getloadavg()
    result["measures"] = measures(result)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    env = os.environ.get
    work = Path(env("TEMPLATE_WORKDIR") or Path(tempfile.gettempdir()) / "fastapi-template")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    add = p.add_argument
    add("answers", nargs="*", help="copier answers, key=value (passed as --data)")
    add("--duration", type=float, default=float(env("BENCH_DURATION") or 8), help="s per wrk run")
    add("--rounds", type=int, default=int(env("BENCH_ROUNDS") or 3), help="alternating rounds")
    add("--threads", type=int, default=2, help="wrk threads")
    add("--connections", type=int, default=32, help="wrk connections")
    add("--probe-connections", type=int, default=4, help="wrk connections of the storm probe")
    add("--logins", type=int, default=int(env("BENCH_LOGINS") or 20), help="sequential logins")
    add("--python", default=env("BENCH_PYTHON", "3.11"), help="the project's interpreter")
    add("--vcs-ref", default=env("BENCH_VCS_REF", "HEAD"), help="empty: the working tree")
    add("--skip", default=env("BENCH_SKIP", ""), help="any of tests,copier,logins,storm")
    add("--workdir", type=Path, default=work / "bench")
    add("--results-dir", type=Path, default=ROOT / "docs" / "bench", help="<combination>.json")
    add("--project", type=Path, help="benchmark this rendered project instead of rendering")
    add("--label", help="name of the result (default: the combination id)")
    add("--chart", type=Path, default=ROOT / "docs" / "performance.png")
    add("--summary", action="store_true", help="print every result side by side and exit")
    add("--chart-only", action="store_true", help="redraw the chart and exit")
    args = p.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    args.vcs_ref = args.vcs_ref or None
    if args.summary:
        results = [json.loads(p.read_text()) for p in sorted(args.results_dir.glob("*.json"))]
        print(summary_table(results), end="")
    if args.chart_only:
        chart(args.results_dir, args.chart)
    if args.summary or args.chart_only:
        return 0
    if not shutil.which("wrk"):
        log("wrk is not installed. It is a Debian package: apt-get install -y wrk")
        return 2
    try:
        result = bench(parse_answers(args.answers), args)
    except (BenchError, RuntimeError) as exc:  # RuntimeError: a server or database failed
        log(f"FAILED: {exc}")
        return 2
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"{result['combination']}.json"
    out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(markdown_table(result))
    log(f"results: {out}")
    chart(args.results_dir, args.chart)
    missed = [m["title"] for m in result["measures"].values() if m["met"] is False]
    for title in missed:
        log(f"target missed: {title}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
