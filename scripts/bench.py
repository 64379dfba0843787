"""Benchmark one rendered combination side by side with a bare FastAPI app (SPEC section 4).

The ``bench`` nox session runs this script; it also runs alone, from the template repo's venv:

    python scripts/bench.py database=postgresql use_async=false

Steps: render the combination outside the repo (``copier copy --data`` per answer), ``uv sync`` it,
migrate a throw-away database (PostgreSQL ``bench_<pid>``, dropped afterwards, or a temporary
SQLite file), start it with ONE uvicorn worker on loopback next to a bare FastAPI app (one
``async def`` route, same venv, same flags), seed a user with 10 items through the HTTP API, then
measure with ``wrk`` and a small stdlib HTTP client:

1. ``/health/live`` (every middleware on) vs the ceiling: ratio of median requests/s;
2. authenticated ``GET /api/v1/items`` (10 items) vs the ceiling;
3. one login with production argon2id parameters: p50 of sequential logins;
4. ``/health/live`` p50 during a login storm (8 concurrent logins) / its quiet p50;
5. the rendered test suite (``pytest -q``): tests passed and pytest's time;
6. ``copier copy`` of the defaults: wall time.

The subject and the ceiling are driven alternately, round after round; medians are reported.
Everything started is stopped (process groups, try/finally). Writes ``<results-dir>/<id>.json``,
prints a markdown table, and redraws the chart from every JSON file in the results directory.
Exit status: 0 every target met, 1 a target missed, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN_URL = os.environ.get("MYSQL_ADMIN_URL", "mysql://root@127.0.0.1:3306")
REDIS_BASE_URL = os.environ.get("REDIS_BASE_URL", "redis://127.0.0.1:6379")
REDIS_DB = 14  # rate-limit counters of the benchmarked service (flushed before use)
REDIS_TEST_DB = 15
EMAIL = "bench@example.com"
PASSWORD = "Timing-Harness-Passphrase-42"
LOGIN_BODY = json.dumps({"email": EMAIL, "password": PASSWORD})
STORM_CLIENTS = 8
CEILING_APP = '''\
"""The ceiling: the least a FastAPI app can do per request."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root() -> dict[str, str]:
    return {"status": "ok"}
'''

# name, title, kind ("min" = value must be at least the target, "max" = at most), target, unit
TARGETS: dict[str, tuple[str, str, float, str]] = {
    "live_ratio": ("`/health/live`, every middleware on (ratio to ceiling)", "min", 0.85, "x"),
    "items_ratio": ("authenticated `GET /items`, 10 items (ratio to ceiling)", "min", 0.05, "x"),
    "login_p50_ms": ("one login, production argon2id (p50)", "max", 80.0, "ms"),
    "storm_slowdown": ("`/health/live` p50 in a login storm / quiet p50", "max", 3.0, "x"),
    "tests_seconds": ("rendered test suite (pytest's time)", "max", 10.0, "s"),
    "tests_passed": ("rendered test suite (tests passed)", "min", 100, ""),
    "copier_seconds": ("`copier copy` of the defaults (median wall time)", "max", 2.0, "s"),
}


VERDICT_COLORS = {True: "#2e7d32", False: "#c62828", None: "#9e9e9e"}


class BenchError(RuntimeError):
    """The benchmark could not run (not a missed target)."""


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


# --- answers and combination id ------------------------------------------------------------


def parse_answers(pairs: Sequence[str]) -> dict[str, str]:
    answers: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BenchError(f"answers are key=value pairs, got {pair!r}")
        answers[key] = value
    return answers


def truthy(value: str) -> bool:
    return value.strip().lower() not in ("false", "no", "0", "off", "n")


def combination_id(answers: dict[str, str]) -> str:
    database = answers.get("database", "sqlite")
    flavour = "async" if truthy(answers.get("use_async", "true")) else "sync"
    if not truthy(answers.get("rate_limiting", "true")):
        limits = "nolimit"
    else:
        limits = answers.get("rate_limit_storage", "memory")
    return f"{database}-{flavour}-{limits}"


# --- processes -----------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    # Nothing from the caller's shell may leak into the settings of the measured service.
    for key in list(env):
        if key.startswith(("TEST_", "PASSWORD_HASH_", "AUTH_", "DB_", "SQLALCHEMY_", "REDIS_")):
            del env[key]
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.update(extra)
    return env


def run(
    args: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    argv = [str(a) for a in args]
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
            timeout=timeout, check=False, start_new_session=True,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"`{' '.join(argv)}` timed out after {timeout:.0f} s") from exc
    if check and proc.returncode:
        raise BenchError(
            f"`{' '.join(argv)}` exited {proc.returncode}\n{proc.stdout[-3000:]}\n"
            f"{proc.stderr[-3000:]}"
        )
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started with start_new_session=True, and everything it started."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def start_server(
    name: str, venv: Path, app: str, cwd: Path, env: dict[str, str], log_path: Path, probe: str
) -> Server:
    port = free_port()
    argv = [
        str(venv / "bin" / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--no-access-log",
    ]  # fmt: skip
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, port, proc, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise BenchError(f"{name} exited {proc.returncode} at startup:\n{tail}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _ = request(port, "GET", probe, timeout=1)
            if status == 200:
                return server
        time.sleep(0.2)
    stop(proc)
    raise BenchError(f"{name} did not answer {probe} within 60 s (log: {log_path})")


# --- a tiny HTTP client (stdlib: nothing to install, nothing measured but the server) --------


def request(
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    token: str | None = None,
    conn: http.client.HTTPConnection | None = None,
    timeout: float = 30,
) -> tuple[int, Any]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        if own:
            conn.close()
    try:
        return response.status, json.loads(data) if data else None
    except ValueError:
        return response.status, data.decode(errors="replace")


def seed(port: int) -> str:
    """A user with 10 items, through the API; returns an access token."""
    status, body = request(
        port, "POST", "/api/v1/users", json.dumps({"email": EMAIL, "password": PASSWORD})
    )
    if status != 201:
        raise BenchError(f"registering the bench user answered {status}: {body}")
    token = login(port)
    for n in range(10):
        item = {"title": f"Item {n}", "description": f"Benchmark item number {n}"}
        status, body = request(port, "POST", "/api/v1/items", json.dumps(item), token=token)
        if status != 201:
            raise BenchError(f"creating an item answered {status}: {body}")
    status, body = request(port, "GET", "/api/v1/items", token=token)
    if status != 200 or body.get("total") != 10 or len(body.get("items", [])) != 10:
        raise BenchError(f"GET /api/v1/items answered {status}: {body}")
    return token


def login(port: int, conn: http.client.HTTPConnection | None = None) -> str:
    status, body = request(port, "POST", "/api/v1/auth/login", LOGIN_BODY, conn=conn)
    if status != 200:
        raise BenchError(f"login answered {status}: {body}")
    return str(body["access_token"])


# --- wrk -----------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    def as_dict(self) -> dict[str, float]:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p90_ms": round(self.p90_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "requests": self.requests,
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
        }


def wrk(
    url: str, *, threads: int, connections: int, duration: float, token: str | None = None
) -> WrkResult:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency"]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    out = run([*argv, url], timeout=duration + 60).stdout
    try:
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        pct = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.MULTILINE))
        requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    except (AttributeError, KeyError) as exc:
        raise BenchError(f"cannot read wrk's output:\n{out}") from exc
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result = WrkResult(
        rps=rps,
        p50_ms=_ms(pct["50"]),
        p90_ms=_ms(pct["90"]),
        p99_ms=_ms(pct["99"]),
        requests=requests,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )
    if result.non_2xx:
        raise BenchError(f"{url}: {result.non_2xx} responses were not 2xx: the run is invalid")
    return result


def median_of(results: Sequence[WrkResult], field: str) -> float:
    return float(statistics.median(getattr(r, field) for r in results))


# --- the measures --------------------------------------------------------------------------


def measure_throughput(
    subject: Server, ceiling: Server, token: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Rounds of ceiling, live, items: alternating, so drift hits all three alike."""
    load = {"threads": args.threads, "connections": args.connections, "duration": args.duration}
    runs: dict[str, list[WrkResult]] = {"ceiling": [], "live": [], "items": []}
    # a short warm-up of each (imports, pools, caches)
    warm = {**load, "duration": 1}
    wrk(ceiling.url("/"), **warm)
    wrk(subject.url("/health/live"), **warm)
    wrk(subject.url("/api/v1/items"), token=token, **warm)
    for n in range(args.rounds):
        runs["ceiling"].append(wrk(ceiling.url("/"), **load))
        runs["live"].append(wrk(subject.url("/health/live"), **load))
        runs["items"].append(wrk(subject.url("/api/v1/items"), token=token, **load))
        log(
            f"round {n + 1}/{args.rounds}: ceiling {runs['ceiling'][-1].rps:.0f} req/s, "
            f"live {runs['live'][-1].rps:.0f}, items {runs['items'][-1].rps:.0f}"
        )
    ceiling_rps = median_of(runs["ceiling"], "rps")
    return {
        "wrk": f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency",
        "rounds": {name: [r.as_dict() for r in results] for name, results in runs.items()},
        "ceiling_rps": ceiling_rps,
        "live_rps": median_of(runs["live"], "rps"),
        "items_rps": median_of(runs["items"], "rps"),
        "live_ratio": median_of(runs["live"], "rps") / ceiling_rps,
        "items_ratio": median_of(runs["items"], "rps") / ceiling_rps,
        "ceiling_p50_ms": median_of(runs["ceiling"], "p50_ms"),
        "live_p50_ms": median_of(runs["live"], "p50_ms"),
        "items_p50_ms": median_of(runs["items"], "p50_ms"),
    }


def measure_logins(port: int, count: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        login(port, conn)  # warm-up
        times = []
        for _ in range(count):
            start = time.perf_counter()
            login(port, conn)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        conn.close()
    return {
        "logins": count,
        "login_p50_ms": statistics.median(times),
        "login_min_ms": min(times),
        "login_max_ms": max(times),
    }


@contextlib.contextmanager
def login_storm(port: int, clients: int) -> Iterator[list[float]]:
    """`clients` threads logging in back to back until the block ends; yields login times."""
    done = threading.Event()
    times: list[float] = []
    failures: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while not done.is_set():
                start = time.perf_counter()
                login(port, conn)
                times.append((time.perf_counter() - start) * 1000)
        except Exception as exc:  # reported after the storm
            failures.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield times
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
    if failures:
        raise BenchError(f"the login storm failed: {failures[0]}")


def paced_probe(port: int, seconds: float, interval: float = 0.01) -> list[float]:
    """What a health checker sees: one request at a time, every `interval` s; latencies in ms."""
    times: list[float] = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    deadline = time.perf_counter() + seconds
    try:
        while (start := time.perf_counter()) < deadline:
            status, _ = request(port, "GET", "/health/live", conn=conn)
            elapsed = time.perf_counter() - start
            if status != 200:
                raise BenchError(f"/health/live answered {status} during the probe")
            times.append(elapsed * 1000)
            time.sleep(max(0.0, interval - elapsed))
    finally:
        conn.close()
    return times


def measure_storm(subject: Server, args: argparse.Namespace) -> dict[str, Any]:
    """/health/live p50 quiet and during a login storm: wrk at low concurrency (the verdict),
    then a paced single client (what a health checker sees), each phase in turn."""
    url = subject.url("/health/live")
    probe = {"threads": 1, "connections": args.probe_connections, "duration": args.duration}
    quiet: list[WrkResult] = []
    storm: list[WrkResult] = []
    paced_quiet: list[float] = []
    paced_storm: list[float] = []
    login_times: list[float] = []
    storm_seconds = 0.0
    for n in range(args.rounds):
        quiet.append(wrk(url, **probe))
        paced_quiet += paced_probe(subject.port, args.duration)
        started = time.perf_counter()
        with login_storm(subject.port, STORM_CLIENTS) as times:
            time.sleep(1)  # every client is hashing
            storm.append(wrk(url, **probe))
            paced_storm += paced_probe(subject.port, args.duration)
        storm_seconds += time.perf_counter() - started
        login_times += times
        log(
            f"storm round {n + 1}/{args.rounds}: live p50 quiet {quiet[-1].p50_ms:.2f} ms, "
            f"storm {storm[-1].p50_ms:.2f} ms ({len(times)} logins)"
        )
    quiet_p50 = median_of(quiet, "p50_ms")
    storm_p50 = median_of(storm, "p50_ms")
    paced_quiet_p50 = statistics.median(paced_quiet)
    paced_storm_p50 = statistics.median(paced_storm)
    return {
        "probe": f"wrk -t1 -c{args.probe_connections} -d{args.duration:g}s --latency",
        "storm_clients": STORM_CLIENTS,
        "rounds": {
            "quiet": [r.as_dict() for r in quiet],
            "storm": [r.as_dict() for r in storm],
        },
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


def measure_tests(dest: Path, env: dict[str, str]) -> dict[str, Any]:
    start = time.perf_counter()
    proc = run(
        [dest / ".venv" / "bin" / "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=dest, env=env, timeout=900, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    summary = next(
        (line for line in reversed(proc.stdout.splitlines()) if re.search(r" in [\d.]+s", line)),
        "",
    )
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|errors?|skipped)", summary)}
    seconds = re.search(r" in ([\d.]+)s", summary)
    if not seconds:
        raise BenchError(
            f"cannot read pytest's summary:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        )
    return {
        "tests_passed": counts.get("passed", 0),
        "tests_failed": counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0),
        "tests_skipped": counts.get("skipped", 0),
        "tests_seconds": float(seconds.group(1)),
        "tests_wall_seconds": wall,
        "tests_summary": summary.strip("= "),
        "tests_exit": proc.returncode,
    }


def copier_argv(answers: dict[str, str], dest: Path, vcs_ref: str | None) -> list[str]:
    argv = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
    if vcs_ref:
        argv.append(f"--vcs-ref={vcs_ref}")
    for key, value in answers.items():
        argv += ["--data", f"{key}={value}"]
    return [*argv, str(ROOT), str(dest)]


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


# --- database ------------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_database(database: str, workdir: Path, suffix: str = "") -> Iterator[str]:
    if database == "sqlite":
        path = workdir / f"bench{suffix}.db"
        for stale in workdir.glob(f"bench{suffix}.db*"):
            stale.unlink()
        yield f"sqlite:///{path}"
        return
    name = f"bench_{os.getpid()}{suffix}"
    if database == "mysql":
        yield from mysql_database(name)
        return
    run(["psql", PG_ADMIN_URL, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], timeout=60)
    run(["psql", PG_ADMIN_URL, "-qc", f"CREATE DATABASE {name}"], timeout=60)
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        run(
            ["psql", PG_ADMIN_URL, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
            timeout=60, check=False,
        )  # fmt: skip


def mysql_database(name: str) -> Iterator[str]:
    create = f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    run([*mysql_client(), "-e", f"DROP DATABASE IF EXISTS {name}; {create}"], timeout=60)
    try:
        yield f"{MYSQL_ADMIN_URL}/{name}"
    finally:
        run([*mysql_client(), "-e", f"DROP DATABASE IF EXISTS {name}"], timeout=60, check=False)


def mysql_client() -> list[str]:
    """The `mysql` command line for MYSQL_ADMIN_URL (mysql://user[:password]@host:port)."""
    url = urllib.parse.urlsplit(MYSQL_ADMIN_URL)
    argv = ["mysql", "-u", url.username or "root", "-h", url.hostname or "127.0.0.1"]
    argv += ["-P", str(url.port or 3306)]
    return argv + ([f"-p{url.password}"] if url.password else [])


# --- machine -------------------------------------------------------------------------------


def machine(venv: Path) -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError):
        meminfo = Path("/proc/meminfo").read_text()
        mem_gib = round(int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1)) / 1024**2, 1)  # type: ignore[union-attr]
    packages = [
        "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "pydantic", "sqlalchemy",
        "asyncpg", "psycopg", "aiosqlite", "asyncmy", "aiomysql", "pymysql", "argon2-cffi",
        "libpass", "prometheus-client", "slowapi", "pyjwt",
    ]  # fmt: skip
    code = (
        "import importlib.metadata as m, json, platform\n"
        f"names = {packages!r}\n"
        "out = {'python': platform.python_version()}\n"
        "for n in names:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    versions = json.loads(run([venv / "bin" / "python", "-c", code], timeout=60).stdout)
    wrk_version = run(["wrk", "--version"], check=False, timeout=10)
    postgres = run(["psql", PG_ADMIN_URL, "-tAc", "SHOW server_version"], check=False, timeout=10)
    mysql = run([*mysql_client(), "-BNe", "SELECT VERSION()"], check=False, timeout=10)
    copier = run([sys.executable, "-m", "copier", "--version"], check=False, timeout=60)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": mem_gib,
        "kernel": platform.release(),
        "versions": {
            **versions,
            "wrk": (wrk_version.stdout + wrk_version.stderr).split(" [")[0].removeprefix("wrk "),
            "postgresql": postgres.stdout.strip() or None,
            "mysql": mysql.stdout.strip() or None,
            "copier": (copier.stdout.split() or [None])[-1],
        },
    }


# --- one combination -----------------------------------------------------------------------


def recorded_answers(project: Path) -> dict[str, str]:
    """The answers of an already rendered project (its `.copier-answers.yml`)."""
    answers = {}
    for line in (project / ".copier-answers.yml").read_text().splitlines():
        key, sep, value = line.partition(": ")
        if sep and not key.startswith(("_", "#", " ")):
            answers[key] = value.strip().strip("'\"")
    return answers


def bench(answers: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    if args.project:  # an existing rendered project, e.g. with a change to try out
        answers = {**recorded_answers(args.project), **answers}
    combo = args.label or combination_id(answers)
    database = answers.get("database", "sqlite")
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
        "template_commit": run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip(),
        "settings": {
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "INFO (access log to a file)",
            "AUTH_LOGIN_RATE_LIMIT": "100000/minute (benchmark only: logins are measured)",
            "CORS_ORIGINS": '["http://localhost:3000"] (CORS middleware on)',
            "password hashing": "defaults (argon2id m=19456 KiB, t=2, p=1)",
        },
    }

    result["load_average_before"] = os.getloadavg()
    if not args.project:
        log(f"rendering {combo} into {dest}")
        run(copier_argv(answers, dest, args.vcs_ref), timeout=300)
    if not (args.project and venv.exists()):
        log("installing (uv sync)")
        uv_env = clean_env(UV_PROJECT_ENVIRONMENT=str(venv))
        run(["uv", "sync", "--python", args.python], cwd=dest, env=uv_env, timeout=900)
    result["machine"] = machine(venv)

    (workdir / "ceiling").mkdir()
    (workdir / "ceiling" / "ceiling.py").write_text(CEILING_APP)
    uses_redis = truthy(answers.get("rate_limiting", "true")) and (
        answers.get("rate_limit_storage", "memory") == "redis"
    )
    started: list[Server] = []
    try:
        with throwaway_database(database, workdir) as db_url:
            service_env = clean_env(
                ENVIRONMENT="development",
                SECRET_KEY=secrets.token_hex(20),  # 40 characters each, distinct
                REFRESH_TOKEN_SECRET=secrets.token_hex(20),
                SQLALCHEMY_DATABASE_URI=db_url,
                CORS_ORIGINS='["http://localhost:3000"]',
                AUTH_LOGIN_RATE_LIMIT="100000/minute",
                AUTH_REFRESH_RATE_LIMIT="100000/minute",
                PYTHONDONTWRITEBYTECODE="1",
            )
            service_env.pop("LOG_LEVEL", None)
            if uses_redis:
                service_env["REDIS_URL"] = f"{REDIS_BASE_URL}/{REDIS_DB}"
                run(["redis-cli", "-u", service_env["REDIS_URL"], "FLUSHDB"], timeout=30)
            log("migrating (alembic upgrade head)")
            run([venv / "bin" / "alembic", "upgrade", "head"], cwd=dest, env=service_env)

            log("starting the service and the ceiling (one uvicorn worker each)")
            subject = start_server(
                "service", venv, "app.main:app", dest, service_env,
                workdir / "service.log", "/health/live",
            )  # fmt: skip
            started.append(subject)
            ceiling = start_server(
                "ceiling", venv, "ceiling:app", workdir / "ceiling", clean_env(),
                workdir / "ceiling.log", "/",
            )  # fmt: skip
            started.append(ceiling)
            token = seed(subject.port)

            log("throughput: ceiling vs /health/live vs /items")
            result["throughput"] = measure_throughput(subject, ceiling, token, args)
            result["login"] = result["storm"] = None
            if "logins" not in args.skip:
                log(f"{args.logins} sequential logins")
                result["login"] = measure_logins(subject.port, args.logins)
            if "storm" not in args.skip:
                log("login storm")
                result["storm"] = measure_storm(subject, args)
            for server in started:
                stop(server.proc)
            result["service_log_bytes"] = subject.log_path.stat().st_size
    finally:
        for server in started:
            stop(server.proc)

    if "tests" in args.skip:
        result["tests"] = None
    else:
        log("rendered test suite (pytest -q)")
        with throwaway_database(database, workdir, suffix="_tests") as test_url:
            test_env = clean_env()
            if database != "sqlite":
                test_env["TEST_SQLALCHEMY_DATABASE_URI"] = test_url
            if uses_redis:
                test_env["TEST_REDIS_URL"] = f"{REDIS_BASE_URL}/{REDIS_TEST_DB}"
            result["tests"] = measure_tests(dest, test_env)
            result["tests"]["database"] = database

    if "copier" in args.skip:
        result["copier"] = None
    else:
        log("copier copy of the defaults")
        result["copier"] = measure_copier(workdir, args.vcs_ref, repeats=3)
    result["load_average_after"] = os.getloadavg()
    result["measures"] = measures(result)
    return result


def measures(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The SPEC section 4 figures with their targets and verdicts."""
    values: dict[str, float | None] = {
        "live_ratio": result["throughput"]["live_ratio"],
        "items_ratio": result["throughput"]["items_ratio"],
        "login_p50_ms": result["login"]["login_p50_ms"] if result["login"] else None,
        "storm_slowdown": result["storm"]["storm_slowdown"] if result["storm"] else None,
        "tests_seconds": None,
        "tests_passed": None,
        "copier_seconds": result["copier"]["copier_seconds"] if result["copier"] else None,
    }
    notes = {}
    if result["answers"].get("database", "sqlite") != "postgresql":
        notes["items_ratio"] = "the target is for PostgreSQL"
    tests = result["tests"]
    if tests and tests["database"] == "sqlite":  # the target is the SQLite suite
        values["tests_seconds"] = tests["tests_seconds"]
        values["tests_passed"] = tests["tests_passed"]
    out = {}
    for name, value in values.items():
        title, kind, target, unit = TARGETS[name]
        met = None
        if value is not None and name not in notes:
            met = value >= target if kind == "min" else value <= target
            if name == "tests_passed" and tests and tests["tests_failed"]:
                met = False  # a suite with failures proves nothing
        out[name] = {"title": title, "value": value, "target": target, "kind": kind,
                     "unit": unit, "met": met, "note": notes.get(name)}  # fmt: skip
    return out


# --- reporting -----------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "x":
        return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"
    if unit == "":
        return f"{value:.0f}"
    return f"{value:.1f} {unit}" if unit == "ms" else f"{value:.2f} {unit}"


def markdown_table(result: dict[str, Any]) -> str:
    t, lg, st = result["throughput"], result["login"], result["storm"]
    tests = result["tests"]
    detail = {
        "live_ratio": f"{t['live_rps']:.0f} / {t['ceiling_rps']:.0f} req/s",
        "items_ratio": f"{t['items_rps']:.0f} / {t['ceiling_rps']:.0f} req/s",
        "login_p50_ms": f"{lg['logins']} sequential logins, "
        f"min {lg['login_min_ms']:.1f} / max {lg['login_max_ms']:.1f} ms"
        if lg
        else "skipped",
        "storm_slowdown": f"{st['storm_p50_ms']:.2f} / {st['quiet_p50_ms']:.2f} ms; paced client "
        f"{st['paced_storm_p50_ms']:.2f} / {st['paced_quiet_p50_ms']:.2f} ms; "
        f"{st['storm_logins_per_s']:.1f} logins/s"
        if st
        else "skipped",
        "tests_seconds": f"{tests['tests_summary']} (wall {tests['tests_wall_seconds']:.1f} s)"
        if tests
        else "skipped",
        "tests_passed": "",
        "copier_seconds": "runs: " + ", ".join(f"{s:.2f}" for s in result["copier"]["copier_runs"])
        if result["copier"]
        else "skipped",
    }
    lines = [
        f"### {result['combination']}",
        "",
        "| measure | value | target | met | detail |",
        "|---|---|---|---|---|",
    ]
    for name, m in result["measures"].items():
        target = ("≥ " if m["kind"] == "min" else "≤ ") + fmt(m["target"], m["unit"])
        met = {True: "yes", False: "**no**", None: "n/a"}[m["met"]]
        if m.get("note"):
            met += f" ({m['note']})"
        value = fmt(m["value"], m["unit"])
        if m["value"] is None and name.startswith("tests_") and tests:
            value = f"n/a ({tests['database']}: {tests['tests_passed']} passed in "
            value += f"{tests['tests_seconds']:.1f} s)"
        lines.append(f"| {m['title']} | {value} | {target} | {met} | {detail[name]} |")
    return "\n".join(lines) + "\n"


def summary_table(results: Sequence[dict[str, Any]]) -> str:
    """Every result side by side: a row per measure, a column per combination."""
    head = "| measure | target | " + " | ".join(r["combination"] for r in results) + " |"
    lines = [head, "|---|---|" + "---|" * len(results)]
    for name, (title, kind, target, unit) in TARGETS.items():
        cells = []
        for r in results:
            m = r["measures"][name]
            if m["value"] is None:
                tests = r.get("tests")
                if name.startswith("tests_") and tests:
                    cells.append(f"({tests['tests_passed']} in {tests['tests_seconds']:.1f} s)")
                else:
                    cells.append("n/a")
                continue
            mark = {True: " ✓", False: " ✗", None: ""}[m["met"]]
            cells.append(fmt(m["value"], unit) + mark)
        bound = ("≥ " if kind == "min" else "≤ ") + fmt(target, unit)
        lines.append(f"| {title} | {bound} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def chart(results_dir: Path, output: Path) -> None:
    """One panel per measure: a bar per combination, the target as a dashed line."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        log("matplotlib is not installed: no chart (the nox session installs it)")
        return
    results = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    if not results:
        return
    names = [n for n in TARGETS if n != "tests_passed"]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    combos = [r["combination"] for r in results]
    for ax, name in zip(axes.flat, names, strict=True):
        title, kind, target, unit = TARGETS[name]
        values = [r["measures"][name]["value"] for r in results]
        if name == "tests_seconds":  # PostgreSQL suites: shown, without a verdict
            values = [v if v is not None or not r["tests"] else r["tests"]["tests_seconds"]
                      for v, r in zip(values, results, strict=True)]  # fmt: skip
        xs = range(len(combos))
        verdicts = [r["measures"][name]["met"] for r in results]
        bars = ax.bar(
            xs,
            [v if v is not None else 0 for v in values],
            color=[VERDICT_COLORS[v] for v in verdicts],
        )
        for bar, v in zip(bars, values, strict=True):
            label = "n/a" if v is None else fmt(v, unit)
            ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)  # fmt: skip
        ax.axhline(target, color="black", linestyle="--", linewidth=1.2)
        ax.annotate(
            ("target ≥ " if kind == "min" else "target ≤ ") + fmt(target, unit),
            (1.0, target), xycoords=("axes fraction", "data"), ha="right", va="bottom",
            fontsize=8, color="black",
        )  # fmt: skip
        ax.set_title(re.sub(r"`", "", title), fontsize=9)
        ax.set_xticks(list(xs), combos, rotation=20, ha="right", fontsize=8)
        top = max([v for v in values if v is not None] + [target])
        ax.set_ylim(0, top * 1.25)
        ax.set_ylabel({"x": "ratio", "ms": "ms", "s": "seconds"}.get(unit, unit), fontsize=8)
    handles = [Patch(color=c, label=label) for label, c in
               (("target met", VERDICT_COLORS[True]), ("target missed", VERDICT_COLORS[False]),
                ("no target for this combination", VERDICT_COLORS[None]))]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(
        "Rendered service vs targets (SPEC §4); ratios are to a bare FastAPI app in the same run",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    log(f"chart: {output}")


# --- main ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("answers", nargs="*", help="copier answers, key=value (passed as --data)")
    parser.add_argument(
        "--duration",
        type=float,
        default=env_number("BENCH_DURATION", 8),
        help="seconds per wrk run (env BENCH_DURATION, default 8)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(env_number("BENCH_ROUNDS", 3)),
        help="alternating rounds (env BENCH_ROUNDS, default 3)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--probe-connections",
        type=int,
        default=4,
        help="wrk connections of the health probe in the storm measure (4)",
    )
    parser.add_argument(
        "--logins",
        type=int,
        default=int(env_number("BENCH_LOGINS", 20)),
        help="sequential logins measured (env BENCH_LOGINS, default 20)",
    )
    parser.add_argument(
        "--python",
        default=os.environ.get("BENCH_PYTHON", "3.11"),
        help="interpreter of the rendered project (env BENCH_PYTHON)",
    )
    parser.add_argument(
        "--vcs-ref",
        default=os.environ.get("BENCH_VCS_REF", "HEAD"),
        help="template ref to render (env BENCH_VCS_REF; empty = working tree)",
    )
    parser.add_argument(
        "--skip",
        default=os.environ.get("BENCH_SKIP", ""),
        help="comma-separated: tests, copier, logins, storm (env BENCH_SKIP)",
    )
    parser.add_argument("--workdir", type=Path, default=Path(
        os.environ.get("TEMPLATE_WORKDIR", Path(tempfile.gettempdir()) / "fastapi-template")
    ) / "bench")  # fmt: skip
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=ROOT / "docs" / "bench",
        help="where <combination>.json is written (default docs/bench)",
    )
    parser.add_argument(
        "--project",
        type=Path,
        help="benchmark this already rendered project (e.g. with a change) instead of rendering",
    )
    parser.add_argument("--label", help="name of the result (default: the combination id)")
    parser.add_argument("--chart", type=Path, default=ROOT / "docs" / "performance.png")
    parser.add_argument(
        "--summary",
        action="store_true",
        help="print every result of the results directory side by side (markdown) and exit",
    )
    parser.add_argument(
        "--chart-only",
        action="store_true",
        help="redraw the chart from the results directory and exit",
    )
    args = parser.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    args.vcs_ref = args.vcs_ref or None
    if args.chart_only or args.summary:
        if args.summary:
            results = [json.loads(p.read_text()) for p in sorted(args.results_dir.glob("*.json"))]
            print(summary_table(results), end="")
        if args.chart_only:
            chart(args.results_dir, args.chart)
        return 0
    if not shutil.which("wrk"):
        print(
            "bench: wrk is not installed. It is a Debian package: apt-get install -y wrk",
            file=sys.stderr,
        )
        return 2
    try:
        answers = parse_answers(args.answers)
        result = bench(answers, args)
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
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
