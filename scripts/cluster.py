"""Many instances of one rendered service behind HAProxy, under a bounded write load.

Used by the `cluster` nox session, which renders postgresql-async-redis, installs it and passes
its directory here. Three instances, each started as the image starts it (docker-entrypoint.sh,
uvicorn with 2 workers, --no-proxy-headers, multiprocess metrics), share one PostgreSQL database
and one Redis db, behind HAProxy on loopback (X-Forwarded-For added; the app trusts 127.0.0.1).

1. The shared rate limit: one client logs in 12 times through the balancer, spread over the
   three instances; AUTH_LOGIN_RATE_LIMIT=5/minute lets exactly 5 through. Then a client that
   writes a new X-Forwarded-For line of its own for each of 12 logins is limited the same
   way: HAProxy appends its line after the client's, and the app reads them from the right.
2. Refresh races: a refresh token is presented at the same moment to two instances directly;
   exactly one gets a new pair, every time.
3. Load: CLIENTS clients (each its own loopback address) register, log in, create items and
   refresh their tokens through the balancer. A third of the way through, instance 2 gets
   SIGTERM (it drains, then finishes its requests); two thirds through, instance 3 and all its
   workers are killed with SIGKILL, as when a node dies.
4. Afterwards: every creation acknowledged with 201 exists exactly once; no request got a 500,
   and none failed while instance 2 drained; each instance's metrics (its multiprocess
   directory, read after it stopped too) add up to the requests it served (HAProxy names the
   server in X-Served-By): exactly for the running and the drained instance, and within the
   requests in flight at the kill for the killed one.

    python -m scripts.cluster PROJECT_DIR --database-url URL --redis-url URL [--json PATH]

Prints a table; exit status 0 when every check holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from tabulate import tabulate

from tests.support import HOST, clean_env, free_port, kill_tree, start, stop

INSTANCES = 3
WORKERS = 2
CLIENTS = 16
ITEMS_PER_CLIENT = 24
REFRESH_EVERY = 6
RACES = 6
LOGIN_LIMIT = 5
PASSWORD = "Cluster-Test-Passphrase-42"
DRAIN_SECONDS = 1.0
GRACEFUL_SECONDS = 10


@dataclass
class Response:
    status: int  # 0: no response (connection reset or refused)
    body: dict[str, object]
    server: str | None  # HAProxy's server name, when the balancer answered from a server


def call(
    port: int, method: str, path: str, body: object = None, token: str | None = None,
    source: str = HOST, forwarded_for: str | None = None,
) -> Response:  # fmt: skip
    """One request on a new connection from `source` (a loopback address of its own);
    `forwarded_for` is an X-Forwarded-For line the client writes itself (a spoofer's)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {}
        return Response(response.status, parsed, response.getheader("X-Served-By"))
    except (ConnectionError, http.client.HTTPException, TimeoutError, OSError):
        return Response(0, {}, None)
    finally:
        connection.close()


@dataclass
class Instance:
    name: str
    port: int
    metrics_dir: Path
    log: Path
    process: psutil.Popen | None = None
    stopped_at: float | None = None
    exited_at: float | None = None

    def start(self, project: Path, env: dict[str, str]) -> None:
        env = env | {"PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)}
        argv = [
            "/bin/sh",
            str(project / "docker-entrypoint.sh"),
            str(project / ".venv/bin/uvicorn"),
        ]
        argv += ["app.main:app", "--host", HOST, "--port", str(self.port), "--no-access-log"]
        argv += ["--no-proxy-headers"]  # the app's trusted-proxy walk reads X-Forwarded-For
        self.process = start(argv, self.log, project, env)  # a session of its own: a "container"

    def started(self) -> bool:
        return self.log.read_text(errors="replace").count("Application startup complete") >= WORKERS

    def stop(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.stopped_at = time.monotonic()
        if sig == signal.SIGKILL:
            kill_tree(self.process)  # the whole container at once
        else:
            self.process.send_signal(sig)  # PID 1 of the container: uvicorn's supervisor

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        code = self.process.wait(timeout=timeout)
        self.exited_at = time.monotonic()
        return code

    def counted(self, python: str) -> Counter[str]:
        """Requests its workers counted, by route, summed from its multiprocess directory."""
        code = (
            "import json, sys\n"
            "from prometheus_client import CollectorRegistry, multiprocess\n"
            "registry = CollectorRegistry()\n"
            "multiprocess.MultiProcessCollector(registry, path=sys.argv[1])\n"
            "counts = {}\n"
            "for family in registry.collect():\n"
            "    for s in family.samples:\n"
            "        if s.name == 'http_requests_total':\n"
            "            counts[s.labels['route']] = counts.get(s.labels['route'], 0) + s.value\n"
            "print(json.dumps(counts))\n"
        )
        out = subprocess.run(
            [python, "-c", code, str(self.metrics_dir)], capture_output=True, text=True, check=True
        ).stdout
        return Counter({route: int(value) for route, value in json.loads(out).items()})


def haproxy_config(port: int, instances: list[Instance]) -> str:
    servers = "\n".join(
        f"    server {i.name} {HOST}:{i.port} check inter 300ms fall 1 rise 2" for i in instances
    )
    return f"""global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch

frontend api
    bind {HOST}:{port}
    option forwardfor
    default_backend instances

backend instances
    balance roundrobin
    # A server that answers readiness 503 (draining) or not at all gets no new requests.
    option httpchk GET /health/ready
    http-check expect status 200
    # Only a connection that failed before the request was sent is retried (the default):
    # a POST is never sent twice.
    http-response set-header X-Served-By %s
{servers}
"""


@dataclass
class Load:
    port: int
    acknowledged: dict[str, int] = field(default_factory=dict)  # title -> item id
    statuses: Counter[int] = field(default_factory=Counter)
    served: Counter[str] = field(default_factory=Counter)  # server -> responses with X-Served-By
    errors: list[tuple[float, str, int]] = field(default_factory=list)  # (when, path, status)
    created: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, path: str, response: Response) -> Response:
        with self.lock:
            self.statuses[response.status] += 1
            if response.server:
                self.served[response.server] += 1
            if response.status == 0 or response.status >= 500:
                self.errors.append((time.monotonic(), path, response.status))
        return response

    def client(self, index: int) -> None:
        source = f"127.0.1.{index + 1}"
        email = f"load{index}-{secrets.token_hex(3)}@example.com"
        credentials = {"email": email, "password": PASSWORD}
        self.record(
            "/api/v1/users", call(self.port, "POST", "/api/v1/users", credentials, source=source)
        )
        tokens = self.record(
            "/api/v1/auth/login",
            call(self.port, "POST", "/api/v1/auth/login", credentials, source=source),
        ).body
        for n in range(ITEMS_PER_CLIENT):
            if n and n % REFRESH_EVERY == 0:
                rotated = self.record(
                    "/api/v1/auth/refresh",
                    call(self.port, "POST", "/api/v1/auth/refresh",
                         {"refresh_token": tokens.get("refresh_token")}, source=source),
                )  # fmt: skip
                if rotated.status == 200:
                    tokens = rotated.body
            title = f"c{index}-n{n}-{secrets.token_hex(4)}"
            created = self.record(
                "/api/v1/items",
                call(self.port, "POST", "/api/v1/items", {"title": title},
                     token=str(tokens.get("access_token")), source=source),
            )  # fmt: skip
            with self.lock:
                self.created += 1
                if created.status == 201:
                    self.acknowledged[title] = int(str(created.body["id"]))


def race(instances: list[Instance], refresh_token: str, source: str) -> list[int]:
    """The same refresh token presented to each instance at the same moment; sorted statuses."""
    barrier = threading.Barrier(len(instances))

    def present(instance: Instance) -> int:
        barrier.wait()
        body = {"refresh_token": refresh_token}
        return call(instance.port, "POST", "/api/v1/auth/refresh", body, source=source).status

    with ThreadPoolExecutor(len(instances)) as pool:
        return sorted(pool.map(present, instances))


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {what}")
        time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    project: Path = args.project.resolve()
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        raise SystemExit("haproxy is not installed: apt-get install -y haproxy (Debian)")
    python = str(project / ".venv" / "bin" / "python")
    work = Path(tempfile.mkdtemp(prefix="cluster-"))

    env = clean_env() | {
        "ENVIRONMENT": "production",  # production hash parameters and checks, as deployed
        "SECRET_KEY": secrets.token_hex(32),
        "REFRESH_TOKEN_SECRET": secrets.token_hex(32),
        "MFA_ENCRYPTION_KEY": secrets.token_hex(32),
        "SQLALCHEMY_DATABASE_URI": args.database_url,
        "REDIS_URL": args.redis_url,
        "WEB_CONCURRENCY": str(WORKERS),
        "SHUTDOWN_DRAIN_SECONDS": str(DRAIN_SECONDS),
        "UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN": str(GRACEFUL_SECONDS),
        "RATE_LIMIT_TRUST_PROXY_HEADERS": "true",
        "RATE_LIMIT_TRUSTED_PROXY_IPS": '["127.0.0.1/32"]',
        "AUTH_LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT}/minute",
        "PASSWORD_HASH_CONCURRENCY": "1",
        "LOG_LEVEL": "WARNING",
        "CORS_ORIGINS": "[]",
    }
    subprocess.run([python, "-m", "alembic", "upgrade", "head"], cwd=project, env=env, check=True)

    instances = [
        Instance(f"api{n}", free_port(), work / f"metrics{n}", work / f"api{n}.log")
        for n in range(1, INSTANCES + 1)
    ]
    lb_port = free_port()
    (work / "haproxy.cfg").write_text(haproxy_config(lb_port, instances))
    balancer = start([haproxy, "-db", "-f", work / "haproxy.cfg"], work / "haproxy.log")
    checks: dict[str, bool] = {}
    figures: dict[str, object] = {}
    try:
        started = time.monotonic()
        for instance in instances:
            instance.start(project, env)
        for instance in instances:
            wait_for(instance.started, 90, f"{instance.name} to start ({instance.log})")
        wait_for(lambda: call(lb_port, "GET", "/health/ready").status == 200, 30, "the balancer")
        time.sleep(1.0)  # every server has passed its rise checks
        figures["startup_s"] = round(time.monotonic() - started, 1)
        direct: Counter[str] = Counter()  # requests sent to an instance without the balancer
        load = Load(lb_port)  # every request through the balancer is recorded by it

        # 1. One login budget shared by every instance (Redis).
        email = f"limit-{secrets.token_hex(3)}@example.com"
        account = {"email": email, "password": PASSWORD}
        path = "/api/v1/auth/login"
        registered = call(lb_port, "POST", "/api/v1/users", account, source="127.0.2.1")
        assert load.record("/api/v1/users", registered).status == 201
        logins = [
            load.record(path, call(lb_port, "POST", path, account, source="127.0.2.2"))
            for _ in range(12)
        ]
        allowed = sum(r.status == 200 for r in logins)
        spread = {r.server for r in logins}
        checks["shared rate limit: 5 of 12 logins, over 3 instances"] = (
            allowed == LOGIN_LIMIT
            and {r.status for r in logins} == {200, 429}
            and len(spread) == INSTANCES
        )
        figures["logins_allowed"] = f"{allowed}/12 over {len(spread)} instances"

        # 1b. A client that writes its own X-Forwarded-For line, a new one per request: HAProxy
        # appends its own line after it, and the app reads every line from the right, so the
        # spoofer is keyed by its real address and limited like anyone else.
        wrong = {"email": email, "password": f"wrong-{PASSWORD}"}
        spoofed = [
            load.record(
                path,
                call(
                    lb_port,
                    "POST",
                    path,
                    wrong,
                    source="127.0.2.3",
                    forwarded_for=f"198.51.100.{n}",
                ),
            )
            for n in range(12)
        ]
        statuses = [r.status for r in spoofed]
        checks["spoofed X-Forwarded-For: limited after 5 of 12"] = statuses == [
            401
        ] * LOGIN_LIMIT + [429] * (12 - LOGIN_LIMIT)
        figures["spoofed_logins"] = " ".join(map(str, statuses))

        # 2. A refresh token presented to two instances at once: one winner.
        winners = []
        for n in range(RACES):
            source = f"127.0.3.{n + 1}"
            racer = {
                "email": f"race{n}-{secrets.token_hex(3)}@example.com",
                "password": PASSWORD,
            }
            assert (
                call(instances[0].port, "POST", "/api/v1/users", racer, source=source).status == 201
            )
            tokens = call(
                instances[0].port, "POST", "/api/v1/auth/login", racer, source=source
            ).body
            direct[instances[0].name] += 2
            statuses = race(instances[:2], str(tokens["refresh_token"]), source)
            direct[instances[0].name] += 1
            direct[instances[1].name] += 1
            winners.append(statuses)
        one_winner = sum(s[0] == 200 and s[1] == 401 for s in winners)
        checks["refresh races: exactly one winner each"] = one_winner == RACES
        figures["refresh_races"] = f"{one_winner}/{RACES} with one winner"

        # 3. Load, with one instance drained (SIGTERM) and one killed (SIGKILL) mid-run.
        total = CLIENTS * ITEMS_PER_CLIENT
        load_started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(load.client, i) for i in range(CLIENTS)]
            wait_for(lambda: load.created >= total // 3, 120, "a third of the load")
            drained, killed = instances[1], instances[2]
            drained.stop(signal.SIGTERM)
            wait_for(lambda: load.created >= 2 * total // 3, 120, "two thirds of the load")
            killed.stop(signal.SIGKILL)
            for future in futures:
                future.result()
        figures["load_s"] = round(time.monotonic() - load_started, 1)
        drain_code = drained.wait(GRACEFUL_SECONDS + 10)
        killed.wait(10)
        assert drained.exited_at and drained.stopped_at and killed.stopped_at
        figures["time_to_drain_s"] = round(drained.exited_at - drained.stopped_at, 2)
        checks["SIGTERM: the drained instance exited cleanly"] = drain_code in (0, -signal.SIGTERM)

        # 4. The database, the errors and the metrics.
        titles = subprocess.run(
            ["psql", args.database_url, "-At", "-c", "SELECT id, title FROM items"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        stored = Counter(line.split("|", 1)[1] for line in titles)
        ids = dict(line.split("|", 1)[::-1] for line in titles)
        found_once = sum(
            stored[title] == 1 and int(ids[title]) == item_id
            for title, item_id in load.acknowledged.items()
        )
        checks["every acknowledged creation exists exactly once"] = found_once == len(
            load.acknowledged
        )
        server_errors = load.statuses[500]
        during_drain = [e for e in load.errors if drained.stopped_at <= e[0] < killed.stopped_at]
        checks["no request answered 500"] = server_errors == 0
        checks["no request failed while an instance drained"] = during_drain == []
        lost_at_kill = [e for e in load.errors if e[0] >= killed.stopped_at]
        figures["requests"] = sum(load.statuses.values())
        figures["statuses"] = dict(sorted(load.statuses.items()))
        figures["acknowledged_writes"] = len(load.acknowledged)
        figures["acknowledged_found_once"] = found_once
        figures["http_500"] = server_errors
        figures["failed_in_flight_at_kill"] = len(lost_at_kill)

        rows = []
        for instance in instances:
            counted = instance.counted(python)
            # Health checks and scrapes reach an instance without the balancer.
            served_by_app = sum(
                n for route, n in counted.items() if route not in ("/health/ready", "/metrics")
            )
            observed = load.served[instance.name] + direct[instance.name]
            exact = served_by_app == observed
            name = f"metrics of {instance.name} add up to the requests it served"
            if instance is killed:
                # SIGKILL cuts the requests in flight (at most one per client) either way: an
                # answer sent before its count was written, or a count whose answer was lost.
                exact = abs(served_by_app - observed) <= CLIENTS
                name = f"metrics of {instance.name} within the {CLIENTS} requests in flight"
            checks[name] = exact
            fate = {drained.name: "SIGTERM", killed.name: "SIGKILL"}.get(instance.name, "up")
            rows.append([instance.name, fate, observed, served_by_app])
        print()
        print(
            tabulate(
                rows, headers=["instance", "fate", "requests served", "counted in its /metrics"]
            )
        )
        print()
        summary = [
            ["requests (load, through HAProxy)", figures["requests"]],
            ["responses by status", figures["statuses"]],
            ["creations acknowledged (201)", figures["acknowledged_writes"]],
            ["acknowledged creations found exactly once", figures["acknowledged_found_once"]],
            ["500 responses", server_errors],
            ["failed while api2 drained", len(during_drain)],
            ["failed once api3 was killed (502 from HAProxy, not acknowledged)", len(lost_at_kill)],
            ["time to drain api2 (SIGTERM to exit)", f"{figures['time_to_drain_s']} s"],
            ["shared login limit", figures["logins_allowed"]],
            ["logins with a spoofed X-Forwarded-For line each", figures["spoofed_logins"]],
            ["concurrent refresh", figures["refresh_races"]],
            ["load duration", f"{figures['load_s']} s"],
        ]
        print(tabulate(summary, headers=["measure", "value"]))
        print()
        print(
            tabulate(
                [[name, "ok" if ok else "FAILED"] for name, ok in checks.items()],
                headers=["check", ""],
            )
        )
        if args.json:
            args.json.write_text(json.dumps(figures | {"checks": checks}, indent=2))
    finally:
        for instance in instances:
            if instance.process:
                kill_tree(instance.process)
        stop(balancer)
    if not all(checks.values()):
        for instance in instances:
            print(f"--- {instance.log}\n{instance.log.read_text(errors='replace')[-3000:]}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
