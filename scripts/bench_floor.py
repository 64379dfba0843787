"""The service against the floor (issue 28), and a route against an earlier ref (issue 30).

`python -m scripts.bench --floor database=postgresql [use_async=false]`: the service and the
floor, scripts/floor_app.py (the same page and write by hand: Starlette + pyjwt + asyncpg, in a
venv of its own when the project has no asyncpg, so both flavours meet the same floor), one
uvicorn worker each, on one database, the same rows, one token. Alternating rounds of
`GET /api/v1/items` (10 items) and `POST /api/v1/items` on each, at 32 connections; then each
one's start-up to its first 200 of the page (alternately), and the warmed worker's RSS over
`--floor-requests` more requests. Ratios are medians of the rounds' own ratios.
Writes docs/bench/floor/<combination>.json.

`python -m scripts.bench --ab ROUTE --baseline REF database=postgresql ...`: alternating rounds
of one route on this ref's render and REF's, each on its own database with PostgreSQL's durable
commit (the bench's databases otherwise run `synchronous_commit=off`; `--synchronous-commit
off` measures that, to show the fsync's share): `items` (`GET /api/v1/items`, 10 items),
`create` (`POST /api/v1/items`), `reset` (`POST /api/v1/auth/password-reset`, a new address per
request; `email=true`), at wrk's `--load` (`-t2 -c32`; `"-t1 -c1"`: one request at a time).
The A/B of a change, and issue 30's measure. Writes
docs/bench/floor/ab-<route>-<combination>.json.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import statistics
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil

from scripts import bench
from scripts.bench_pages import rss_mib
from scripts.bench_report import RESULTS, log
from tests import support
from tests.support import SERVERS, clean_env, connect, run, url

FLOOR_RESULTS = RESULTS / "floor"
FLOOR_APP = Path(__file__).with_name("floor_app.py")
LADDER_APP = Path(__file__).with_name("floor_ladder.py")
# fastapi: the ladder's first rung (scripts/floor_ladder.py) runs beside the floor.
FLOOR_NEEDS = ("starlette", "uvicorn", "uvloop", "httptools", "pyjwt", "asyncpg", "fastapi")
WRITER = json.dumps({"email": "writer@example.com", "password": "Timing-Harness-Passphrase-43"})
POST_ITEM = """wrk.method = "POST"
wrk.body = '{"title": "Bench item", "description": "Written by wrk"}'
wrk.headers["Content-Type"] = "application/json"
"""
# A new address per request (a thread's own prefix: wrk gives each thread a Lua state), so no
# address reaches its mail budget and every request queues its mail.
POST_RESET = """local n, prefix = 0, ""
init = function(args) prefix = os.time() .. tostring({}):match("0x(%x+)") end
request = function()
  n = n + 1
  local body = string.format('{"email": "r%s-%d@example.com"}', prefix, n)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""
RATE_LIMITS = ("REGISTER", "PASSWORD_RESET", "PASSWORD_CHANGE",
               "EMAIL_ADDRESS", "EMAIL_ADDRESS_CLIENT", "ACCOUNT_LOGIN",
               "ACCOUNT_CLIENT_LOGIN")  # fmt: skip
UNLIMITED = {f"AUTH_{name}_RATE_LIMIT": "1000000/minute" for name in RATE_LIMITS}


def installed(venv: Path) -> dict[str, str]:
    listed = run(["uv", "pip", "list", "--format", "json", "--python", venv / "bin" / "python"])
    return {p["name"]: p["version"] for p in json.loads(listed.stdout)}


def floor_venv(project_venv: Path, workdir: Path, python: str) -> Path:
    """The project's venv if it has everything the floor imports; else a venv with the
    project's versions of what it has (the same server stack) and asyncpg."""
    versions = installed(project_venv)
    if all(name in versions for name in FLOOR_NEEDS):
        return project_venv
    venv = workdir / "floor-venv"
    log("installing the floor's venv (the project has no asyncpg)")
    run(["uv", "venv", "-q", "--python", python, venv])
    pins = [f"{n}=={versions[n]}" if n in versions else n for n in FLOOR_NEEDS]
    run(["uv", "pip", "install", "-q", "--python", venv / "bin" / "python", *pins], timeout=600)
    return venv


def claims(token: str) -> dict[str, Any]:
    """The token's claims, unverified: the floor is told the issuer and audience they name."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def writer_token(port: int) -> str:
    """A second user, whose items the write rounds pile up: the page's user keeps 10."""
    conn = connect(port)
    bench.call(conn, "POST", "/api/v1/users", WRITER, expect=201)
    token = str(bench.call(conn, "POST", "/api/v1/auth/login", WRITER)["access_token"])
    conn.close()
    return token


def same_answers(service: int, floor: int, token: str, writer: str) -> None:
    """The floor serves the service's rows and refuses what it refuses; its item too."""
    same_page(service, floor, token, "floor")
    conn_s, conn_f = connect(service), connect(floor)
    created = bench.call(conn_f, "POST", "/api/v1/items", '{"title": "t"}', writer, expect=201)
    if set(created) != set(bench.call(conn_s, "GET", f"/api/v1/items/{created['id']}", None,
                                      writer)):  # fmt: skip
        raise RuntimeError(f"the floor's item differs from the service's: {created}")
    conn_s.close()
    conn_f.close()


def floor_env(db_url: str, service_env: dict[str, str], token: str, **more: str) -> dict[str, str]:
    """The floor's (and a rung's) settings: the service's database and key, the token's issuer
    and audience."""
    token_claims = claims(token)
    return clean_env(FLOOR_DATABASE_URL=db_url, FLOOR_SECRET_KEY=service_env["SECRET_KEY"],
                     FLOOR_ISSUER=token_claims["iss"], FLOOR_AUDIENCE=token_claims["aud"],
                     **more)  # fmt: skip


Target = tuple[str, str | None, str]  # url, token, wrk's Lua script


def same_page(service: int, other: int, token: str, name: str) -> None:
    """`other` (the floor, a rung) serves the service's rows under the service's keys, and
    refuses a forged token."""
    conn_s, conn_o = connect(service), connect(other)
    ours = bench.call(conn_s, "GET", "/api/v1/items", None, token)
    theirs = bench.call(conn_o, "GET", "/api/v1/items", None, token)
    if [i["id"] for i in ours["items"]] != [i["id"] for i in theirs["items"]] or set(ours) != set(
        theirs
    ):
        raise RuntimeError(f"the {name}'s page differs from the service's: {theirs}")
    bench.call(conn_o, "GET", "/api/v1/items", None, token[:-2] + "xx", expect=401)
    conn_s.close()
    conn_o.close()


def interleaved(
    targets: dict[str, Target], args: Any, servers: dict[str, psutil.Process] | None = None
) -> dict[str, list[Any]]:
    """Rounds of every target in turn (`target: (url, token, lua)`), after a warm-up of each;
    with `servers` (a target's process), each round also gives the CPU µs it spent per request."""
    for target, token, lua in targets.values():
        bench.wrk(target, args.load, 2, token, lua)
    runs: dict[str, list[Any]] = {name: [] for name in targets}
    for n in range(args.rounds):
        for name, (target, token, lua) in targets.items():
            server = (servers or {}).get(name)
            cpu = sum(server.cpu_times()[:2]) if server else 0.0
            runs[name].append(bench.wrk(target, args.load, args.duration, token, lua))
            if server:
                spent = sum(server.cpu_times()[:2]) - cpu
                runs[name][-1]["cpu_us"] = round(spent / runs[name][-1]["requests"] * 1e6, 1)
        log(f"round {n + 1}/{args.rounds}: " + ", ".join(
            f"{k} {r[-1]['rps']:.0f} req/s p50 {r[-1]['p50_ms']} p99 {r[-1]['p99_ms']} ms"
            for k, r in runs.items()))  # fmt: skip
    return runs


def ratio(runs: dict[str, list[Any]], name: str, over: str, field: str) -> dict[str, Any]:
    rounds = bench.paired_ratios(runs[name], runs[over], field)
    return {"rounds": [round(r, 4) for r in rounds], "median": statistics.median(rounds)}


def startup(argv: list[str], cwd: Path, env: dict[str, str], port: int, token: str,
            log_file: Path) -> float:  # fmt: skip
    """Seconds from the process's start to its first 200 of the page, polled every 10 ms."""
    started = time.perf_counter()
    proc = support.start(argv, log_file, cwd, env)
    try:
        while proc.poll() is None:
            with contextlib.suppress(OSError):
                conn = connect(port, timeout=2)
                if support.request_on(conn, "GET", "/api/v1/items", None, token)[0] == 200:
                    return time.perf_counter() - started
            time.sleep(0.01)
        raise RuntimeError(f"{argv[0]} exited at start-up: {log_file.read_text()[-2000:]}")
    finally:
        support.stop(proc)


def rss_growth(port: int, token: str, proc: psutil.Process, requests: int, seconds: float,
               chunk: float = 10) -> dict[str, Any]:  # fmt: skip
    """The warmed worker's RSS, then after each `chunk` s of load until `requests` more, or
    `seconds` have passed (a loaded host serves a fifth of a quiet one's requests)."""
    samples, done = [{"requests": 0, "rss_mib": round(rss_mib(proc), 1)}], 0
    deadline = time.monotonic() + seconds
    while done < requests and time.monotonic() < deadline:
        done += int(bench.wrk(url(port, "/api/v1/items"), bench.LOAD, chunk, token)["requests"])
        samples.append({"requests": done, "rss_mib": round(rss_mib(proc), 1)})
    return {"requests": done, "warm_rss_mib": samples[0]["rss_mib"],
            "last_rss_mib": samples[-1]["rss_mib"],
            "growth_mib": round(samples[-1]["rss_mib"] - samples[0]["rss_mib"], 1),
            "samples": samples}  # fmt: skip


def run_floor(answers: dict[str, str], args: Any) -> int:
    result, workdir, dest = bench.prepare(answers, args)
    answers = result["answers"]
    if answers.get("database") != "postgresql":
        log("the floor is written for PostgreSQL (asyncpg): database=postgresql")
        return 2
    floor_dir = workdir / "floor"
    floor_dir.mkdir()
    shutil.copy(FLOOR_APP, floor_dir / FLOOR_APP.name)
    venv = floor_venv(dest / ".venv", workdir, args.python)
    result["floor_versions"] = {k: v for k, v in installed(venv).items() if k in FLOOR_NEEDS}
    name = f"{bench.DB_PREFIX}_{os.getpid()}"
    with support.throwaway_database("postgresql", name, workdir) as db_url:
        # A token outlives the run (15 minutes by default); everything else as benchmarked.
        env = bench.migrated_env(answers, dest, db_url, ACCESS_TOKEN_EXPIRE_MINUTES="1440")
        flags = ("--workers", "1", "--no-access-log")
        port, floor = support.free_port(), support.free_port()
        service_argv = support.uvicorn(dest / ".venv", "app.main:app", port, *flags)
        with support.running(service_argv, url(port, "/health/live"), workdir / "service.log",
                             dest, env) as proc:  # fmt: skip
            token, writer = bench.seed(port), writer_token(port)
            settings = floor_env(db_url, env, token)
            floor_argv = support.uvicorn(venv, "floor_app:app", floor, *flags)
            floor_proc = support.start(floor_argv, floor_dir / "uvicorn.log", floor_dir, settings)
            try:
                startup_poll(floor, token, floor_proc)
                same_answers(port, floor, token, writer)
                log("throughput: items, floor, create, floor insert in turn")
                runs = interleaved({
                    "items": (url(port, "/api/v1/items"), token, ""),
                    "floor": (url(floor, "/api/v1/items"), token, ""),
                    "create": (url(port, "/api/v1/items"), writer, POST_ITEM),
                    "floor_insert": (url(floor, "/api/v1/items"), writer, POST_ITEM),
                }, args)  # fmt: skip
                log(f"RSS over {args.floor_requests} requests (service, then floor)")
                most = args.floor_requests, args.floor_rss_seconds
                service_rss = rss_growth(port, token, proc, *most)
                floor_rss = rss_growth(floor, token, floor_proc, *most)
            finally:
                support.stop(floor_proc)
        log(f"start-up to the first 200 of the page, {args.startups} of each, alternately")
        starts: dict[str, list[float]] = {"service": [], "floor": []}
        for n in range(args.startups):
            p = support.free_port()
            starts["service"].append(startup(
                support.uvicorn(dest / ".venv", "app.main:app", p, *flags), dest, env, p, token,
                workdir / f"start-{n}.log"))  # fmt: skip
            p = support.free_port()
            starts["floor"].append(startup(support.uvicorn(venv, "floor_app:app", p, *flags),
                                           floor_dir, settings, p, token,
                                           floor_dir / f"start-{n}.log"))  # fmt: skip
    result["floor"] = {
        "wrk": f"wrk {args.load} -d{args.duration:g}s --latency", "rounds": runs,
        **{f"{k}_{f}": bench.medians(runs, f)[f"{k}_{f}"] for k in runs
           for f in ("rps", "p50_ms", "p99_ms")},
        "items_over_floor": ratio(runs, "items", "floor", "rps"),
        "create_over_floor_insert": ratio(runs, "create", "floor_insert", "rps"),
        "items_p50_over_floor": ratio(runs, "items", "floor", "p50_ms"),
        "items_p99_over_floor": ratio(runs, "items", "floor", "p99_ms"),
        "create_p50_over_floor_insert": ratio(runs, "create", "floor_insert", "p50_ms"),
        "create_p99_over_floor_insert": ratio(runs, "create", "floor_insert", "p99_ms"),
        "rss": {"service": service_rss, "floor": floor_rss},
        "startup_seconds": starts,
        "startup_median_seconds": {k: statistics.median(v) for k, v in starts.items()},
    }  # fmt: skip
    result["load_average_after"] = os.getloadavg()
    return write(result, FLOOR_RESULTS / f"{result['combination']}.json", floor_summary(result))


def startup_poll(port: int, token: str, proc: psutil.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError):
            if support.request_on(connect(port, timeout=2), "GET", "/api/v1/items", None,
                                  token)[0] == 200:  # fmt: skip
                return
        time.sleep(0.05)
    raise RuntimeError("the floor did not come up")


def floor_summary(result: dict[str, Any]) -> str:
    f = result["floor"]
    lines = [f"{result['combination']} against the floor (medians of {len(f['rounds']['items'])} "
             "rounds; ratios of paired rounds)"]  # fmt: skip
    for name, over in (("items", "floor"), ("create", "floor_insert")):
        lines.append(
            f"  {name} / {over}: {f[f'{name}_over_{over}']['median']:.3f} "
            f"({f[f'{name}_rps']:.0f} / {f[f'{over}_rps']:.0f} req/s); p50 "
            f"{f[f'{name}_p50_ms']} / {f[f'{over}_p50_ms']} ms, p99 {f[f'{name}_p99_ms']} / "
            f"{f[f'{over}_p99_ms']} ms"
        )
    for who, rss in f["rss"].items():
        lines.append(f"  {who} RSS {rss['warm_rss_mib']} MiB warm, {rss['growth_mib']:+} MiB "
                     f"over {rss['requests']} requests; start-up to the first 200 "
                     f"{f['startup_median_seconds'][who]:.2f} s")  # fmt: skip
    return "\n".join(lines)


def write(result: dict[str, Any], out: Path, summary: str) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(summary)
    log(f"results: {out}")
    return 0


@contextlib.contextmanager
def ab_database(name: str, workdir: Path, durable: bool) -> Iterator[str]:
    with support.throwaway_database("postgresql", name, workdir) as db_url:
        if durable:  # production's commit: the bench's databases skip the WAL flush
            SERVERS["postgresql"].execute(f"ALTER DATABASE {name} RESET synchronous_commit")
        yield db_url


# --ab items --in-process: the app in one process (Starlette's TestClient), CPU per request.
CPU_CHILD = """import json, os, sys, time
from fastapi.testclient import TestClient
from app.main import app
token, n = os.environ.get("BENCH_TOKEN"), int(sys.argv[1])
with TestClient(app) as client:
    if not token:
        body = json.loads(os.environ["BENCH_USER"])
        assert client.post("/api/v1/users", json=body).status_code == 201
        token = client.post("/api/v1/auth/login", json=body).json()["access_token"]
        for i in range(10):
            item = {"title": f"Item {i}", "description": "Benchmark item"}
            auth = {"Authorization": f"Bearer {token}"}
            assert client.post("/api/v1/items", json=item, headers=auth).status_code == 201
        print("BENCH " + json.dumps({"token": token}))
        sys.exit()
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(300):
        assert client.get("/api/v1/items", headers=auth).status_code == 200
    start = time.process_time()
    for _ in range(n):
        client.get("/api/v1/items", headers=auth)
    print("BENCH " + json.dumps({"cpu_us": (time.process_time() - start) / n * 1e6}))
"""


def in_process(project: Path, env: dict[str, str], requests: int = 0) -> dict[str, Any]:
    """CPU_CHILD in `project`: seeds (no BENCH_TOKEN) or measures `requests` pages."""
    argv = [project / ".venv" / "bin" / "python", "-c", CPU_CHILD, str(requests)]
    out = run(argv, cwd=project, env=env | {"BENCH_USER": bench.LOGIN_BODY}, timeout=600).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    return dict(json.loads(line.removeprefix("BENCH ")))


def cpu_rounds(sides: dict[str, tuple[Path, dict[str, str]]], args: Any) -> dict[str, Any]:
    """CPU µs per `GET /api/v1/items` in one process per side and round, sides in turn:
    the time a loaded host steals from one process is not counted in its CPU time, so this
    decides where wall-clock rounds spread too far."""
    envs = {side: env | {"BENCH_TOKEN": in_process(project, env)["token"]}
            for side, (project, env) in sides.items()}  # fmt: skip
    runs: dict[str, list[float]] = {side: [] for side in sides}
    for n in range(args.rounds):
        for side, (project, _) in sides.items():
            runs[side].append(in_process(project, envs[side], args.cpu_requests)["cpu_us"])
        log(f"round {n + 1}/{args.rounds}: " + ", ".join(
            f"{side} {r[-1]:.0f} µs" for side, r in runs.items()))  # fmt: skip
    rounds = [h / b for h, b in zip(runs["head"], runs["baseline"], strict=True)]
    return {"requests_per_round": args.cpu_requests, "cpu_us": runs,
            **{f"{side}_cpu_us": statistics.median(r) for side, r in runs.items()},
            "cpu_over_baseline": {"rounds": [round(r, 4) for r in rounds],
                                  "median": statistics.median(rounds)}}  # fmt: skip


ROUTES = {  # --ab: what each side serves: path, its wrk script, whether it needs seeding
    "items": ("/api/v1/items", "", True),
    "create": ("/api/v1/items", POST_ITEM, True),
    "reset": ("/api/v1/auth/password-reset", POST_RESET, False),
}


@contextlib.contextmanager
def otlp_sink(received: list[int]) -> Iterator[str]:
    """An OTLP/HTTP endpoint on loopback that takes every export and keeps only its size (in
    `received`): the service pays for its spans and their export (protobuf, HTTP)."""

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(len(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def tracing_env(ratio: float | None, sink: str) -> dict[str, dict[str, str]]:
    """`--tracing RATIO`: each side's tracing variables (none without it)."""
    if ratio is None:
        return {"head": {}, "baseline": {}}
    on = {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp",
          "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": str(ratio),
          "OTEL_EXPORTER_OTLP_ENDPOINT": sink}  # fmt: skip
    return {"head": on, "baseline": {"OTEL_SDK_DISABLED": "true"}}


def run_ab(answers: dict[str, str], args: Any) -> int:
    """`--ab ROUTE`: ROUTE on this ref's render and on `--baseline`'s, rounds in turn; with
    `--tracing RATIO`, on this ref's render with tracing on and off."""
    if not args.baseline and args.tracing is None:
        log("--ab measures against --baseline REF (or, with --tracing, tracing off)")
        return 2
    result, workdir, dest = bench.prepare(answers, args)
    answers = result["answers"]
    result["route"], result["synchronous_commit"] = args.ab, args.synchronous_commit
    if args.tracing is not None:
        result["tracing"] = {"head": f"parent-based, {args.tracing:g} sampled", "baseline": "off"}
        args.baseline = "tracing off"
        baseline = dest
    else:
        log(f"rendering and installing the baseline, {args.baseline}")
        support.render(answers, baseline := workdir / "baseline", args.baseline)
        run(["uv", "sync", "--python", args.python], cwd=baseline, timeout=900)
    durable = args.synchronous_commit == "on"
    path, lua, seeded = ROUTES[args.ab]
    name = f"{bench.DB_PREFIX}_{os.getpid()}"
    flags = ("--workers", "1", "--no-access-log")
    with contextlib.ExitStack() as stack:
        targets: dict[str, tuple[str, str | None, str]] = {}
        sides: dict[str, tuple[Path, dict[str, str]]] = {}
        exports: list[int] = []
        tracing = tracing_env(args.tracing, stack.enter_context(otlp_sink(exports)))
        for side, project in (("head", dest), ("baseline", baseline)):
            db_url = stack.enter_context(ab_database(f"{name}_{side}", workdir, durable))
            env = bench.migrated_env(answers, project, db_url, ACCESS_TOKEN_EXPIRE_MINUTES="1440",
                                     **UNLIMITED, **tracing[side])  # fmt: skip
            sides[side] = (project, env)
            if args.in_process:
                continue
            port = support.free_port()
            argv = support.uvicorn(project / ".venv", "app.main:app", port, *flags)
            stack.enter_context(support.running(argv, url(port, "/health/live"),
                                                workdir / f"{side}.log", project, env))  # fmt: skip
            token = None
            if seeded:  # the page's user has 10 items; writes pile up under another user
                token = bench.seed(port)
                token = writer_token(port) if args.ab == "create" else token
            targets[side] = (url(port, path), token, lua)
        log(f"{args.ab}: {args.vcs_ref} and {args.baseline} in turn")
        if args.in_process:
            result["cpu"] = cpu_rounds(sides, args)
            result["load_average_after"] = os.getloadavg()
            c = result["cpu"]
            summary = (f"GET /api/v1/items in one process, {args.label or args.vcs_ref} over "
                       f"{args.baseline}: CPU per request {c['cpu_over_baseline']['median']:.3f}"
                       f" ({c['head_cpu_us']:.0f} / {c['baseline_cpu_us']:.0f} µs)")  # fmt: skip
            out = f"cpu-{args.label or result['combination']}.json"
            return write(result, FLOOR_RESULTS / out, summary)
        runs = interleaved(targets, args)
        if args.tracing is not None:  # proof that the spans left: batches and their bytes
            result["tracing"] |= {"exports": len(exports), "exported_bytes": sum(exports)}
            log(f"the OTLP sink received {len(exports)} exports, {sum(exports)} bytes")
    result["ab"] = {
        "wrk": f"wrk {args.load} -d{args.duration:g}s --latency", "rounds": runs,
        **{f"{k}_{f}": bench.medians(runs, f)[f"{k}_{f}"] for k in runs
           for f in ("rps", "p50_ms", "p99_ms")},
        **{f"{f}_over_baseline": ratio(runs, "head", "baseline", f)
           for f in ("p50_ms", "p99_ms", "rps")},
    }  # fmt: skip
    result["load_average_after"] = os.getloadavg()
    r = result["ab"]
    summary = (
        f"{args.ab} ({path}), {result['combination']} over {args.baseline} "
        f"(synchronous_commit={args.synchronous_commit}): p50 "
        f"{r['p50_ms_over_baseline']['median']:.3f} ({r['head_p50_ms']} / "
        f"{r['baseline_p50_ms']} ms), p99 {r['p99_ms_over_baseline']['median']:.3f} "
        f"({r['head_p99_ms']} / {r['baseline_p99_ms']} ms), req/s "
        f"{r['rps_over_baseline']['median']:.3f} ({r['head_rps']:.0f} / "
        f"{r['baseline_rps']:.0f})"
    )
    suffix = "" if durable else "-async-commit"
    label = args.label or result["combination"]
    return write(result, FLOOR_RESULTS / f"ab-{args.ab}-{label}{suffix}.json", summary)


def run_ladder(answers: dict[str, str], args: Any) -> int:
    """`--ladder`: the floor, the rungs of scripts/floor_ladder.py for the flavour and the
    service, rounds in turn: req/s, and the CPU each server spent per request."""
    result, workdir, dest = bench.prepare(answers, args)
    answers = result["answers"]
    if answers.get("database") != "postgresql":
        log("the floor is written for PostgreSQL (asyncpg): database=postgresql")
        return 2
    flavour = "sync" if "-sync-" in result["combination"] else "async"
    rungs = ("fastapi", *(f"{flavour}-{how}" for how in ("core", "session", "session-dep")))
    floor_dir = workdir / "floor"
    floor_dir.mkdir()
    for app in (FLOOR_APP, LADDER_APP):
        shutil.copy(app, floor_dir / app.name)
    venv = floor_venv(dest / ".venv", workdir, args.python)
    result["floor_versions"] = {k: v for k, v in installed(venv).items() if k in FLOOR_NEEDS}
    flags = ("--workers", "1", "--no-access-log")
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(support.throwaway_database(
            "postgresql", f"{bench.DB_PREFIX}_{os.getpid()}", workdir))  # fmt: skip
        env = bench.migrated_env(answers, dest, db_url, ACCESS_TOKEN_EXPIRE_MINUTES="1440")
        port = support.free_port()
        service = stack.enter_context(support.running(
            support.uvicorn(dest / ".venv", "app.main:app", port, *flags),
            url(port, "/health/live"), workdir / "service.log", dest, env))  # fmt: skip
        token = bench.seed(port)
        targets = {"service": (url(port, "/api/v1/items"), token, "")}
        servers: dict[str, psutil.Process] = {"service": service}
        for rung in ("floor", *rungs):
            rung_env = floor_env(db_url, env, token, LADDER_RUNG=rung)
            module = "floor_app:app" if rung == "floor" else "floor_ladder:app"
            rung_venv = venv if rung in ("floor", "fastapi") else dest / ".venv"
            p = support.free_port()
            proc = support.start(support.uvicorn(rung_venv, module, p, *flags),
                                 floor_dir / f"{rung}.log", floor_dir, rung_env)  # fmt: skip
            stack.callback(support.stop, proc)
            startup_poll(p, token, proc)
            same_page(port, p, token, f"{rung} rung")
            targets[rung], servers[rung] = (url(p, "/api/v1/items"), token, ""), proc
        log("throughput and CPU per request: " + ", ".join(targets) + " in turn")
        runs = interleaved(targets, args, servers)
    # wrk's socket errors (its 2 s timeouts, under SQLAlchemy's own pool) stay in the rounds.
    wrong = {k: r for k, rounds in runs.items() for r in rounds if r["non_2xx"]}
    if wrong:
        raise RuntimeError(f"answers other than 200 in a round: {wrong}")
    result["ladder"] = {
        "wrk": f"wrk {args.load} -d{args.duration:g}s --latency", "rounds": runs,
        **{f"{k}_{f}": statistics.median(r[f] for r in runs[k]) for k in runs
           for f in ("rps", "cpu_us")},
        **{f"{k}_over_floor": ratio(runs, k, "floor", "rps") for k in runs},
    }  # fmt: skip
    result["load_average_after"] = os.getloadavg()
    ladder = result["ladder"]
    summary = "\n".join(
        f"{k:14} {ladder[f'{k}_rps']:7.0f} req/s  {ladder[f'{k}_cpu_us']:6.0f} µs CPU per request"
        f"  over the floor {ladder[f'{k}_over_floor']['median']:.3f}"
        for k in ("floor", *rungs, "service"))  # fmt: skip
    return write(result, FLOOR_RESULTS / f"ladder-{result['combination']}.json", summary)
