"""The service run as production runs it: uvicorn with two worker processes.

One server for the module (its two workers take a few seconds to start): metrics add up over
the workers (PROMETHEUS_MULTIPROC_DIR), and SIGTERM drains (readiness 503 first), then
finishes the request in flight and exits 0. `nox -s cluster` in the template kills workers
and instances.
"""

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import PASSWORD, unique_email
from tests.servers import Server, free_port, run_uvicorn
from tests.settings import as_environment, make_settings

DRAIN_SECONDS = 0.5


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("metrics")  # empty, as the image's entrypoint leaves it


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, metrics_dir: Path) -> Iterator[Server]:
    environment = {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "SHUTDOWN_DRAIN_SECONDS": str(DRAIN_SECONDS),
    }
    # --workers, which the service cannot see, rather than WEB_CONCURRENCY: with rate-limit
    # counters in memory it refuses more than one worker, and these tests are not about limits.
    with run_uvicorn(
        tmp_path_factory.mktemp("workers"),
        make_settings(),
        "--timeout-graceful-shutdown",
        "5",
        workers=2,
        environment=environment,
    ) as running:
        yield running


def in_progress(server: Server) -> float:
    _, body = server.get("/metrics")
    return next(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "http_requests_in_progress"
    )


def requests_counted(server: Server, route: str) -> float:
    status, body = server.get("/metrics")
    assert status == 200, f"/metrics answered {status}:\n{server.log.read_text()}"
    return sum(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "http_requests_total" and sample.labels["route"] == route
    )


def live_requests_so_far(server: Server) -> float:
    """`/health/live`'s count once it holds the server fixture's own liveness probe, which a
    worker counts just after its answer, perhaps not yet: a baseline read before that would be
    one short. Either test of the count may be the first on its server (pytest-xdist)."""
    server.wait_until(
        lambda: requests_counted(server, "/health/live") >= 1, 5, "the probe was not counted"
    )
    return requests_counted(server, "/health/live")


def test_a_bad_setting_stops_the_workers_instead_of_restarting_them(tmp_path: Path) -> None:
    """uvicorn imports the app in its workers only: each finds the bad setting, prints it and
    exits with the status that tells the supervisor it cannot start, so the supervisor stops
    (the image's entry point checks the settings before uvicorn starts: exit status 1)."""
    env = os.environ | as_environment(make_settings())
    env |= {"WEB_CONCURRENCY": "2", "SECRET_KEY": "too-short"}
    argv = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    argv += ["--port", str(free_port())]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after 30 s:\n{log.read_text()}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    output = log.read_text()
    assert "  SECRET_KEY: must be at least 32 characters" in output
    assert "Traceback" not in output
    assert "Child process died" not in output, "the supervisor started a worker again"
    assert output.count("Invalid settings:") <= 2, "once per worker at most"


def test_metrics_add_up_over_the_workers(server: Server, metrics_dir: Path) -> None:
    before = live_requests_so_far(server)

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: server.get("/health/live")[0], range(120)))

    assert statuses == [200] * 120

    # A worker counts a request just after sending its answer: the last ones may take a moment.
    def counted() -> float:
        return requests_counted(server, "/health/live") - before

    server.wait_until(lambda: counted() >= 120, 5, "not every request was counted")
    assert counted() == 120
    assert len(list(metrics_dir.glob("counter_*.db"))) == 2, "both workers served"
    # The scrape itself, summed over live workers.
    server.wait_until(lambda: in_progress(server) == 1, 5, "requests stayed in progress")


def test_a_scrape_skips_a_file_a_worker_has_only_just_created(
    server: Server, metrics_dir: Path
) -> None:
    # A worker creates its file empty and sizes it a moment later (or is killed in between).
    before = live_requests_so_far(server)
    just_created = metrics_dir / "counter_999999999.db"
    just_created.touch()
    try:
        assert server.get("/health/live")[0] == 200
        server.wait_until(
            lambda: requests_counted(server, "/health/live") == before + 1,
            5,
            "the request was not counted",
        )
    finally:
        just_created.unlink()


def test_sigterm_drains_then_finishes_the_request_in_flight(server: Server) -> None:
    # A login reads the database and hashes a password, and leaves no row behind.
    body = json.dumps({"email": unique_email("inflight"), "password": PASSWORD}).encode()
    head = (
        f"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as in_flight:
        in_flight.sendall(head + body[:10])  # the rest comes after the server has stopped
        # A worker has taken it once it is in progress beside the scrape that asks.
        server.wait_until(lambda: in_progress(server) >= 2, 5, "no worker took the request")

        server.process.send_signal(signal.SIGTERM)
        server.wait_until(
            lambda: server.get("/health/ready")[0] == 503, 3, "readiness never turned 503"
        )
        assert server.get("/health/live")[0] == 200  # draining, still serving
        # The drain is over once both workers' servers shut down (they stop accepting).
        stopping = server.logged("Shutting down", 2)
        server.wait_until(stopping, DRAIN_SECONDS + 5, "the workers never shut down")
        in_flight.sendall(body[10:])
        response = in_flight.recv(65536).decode()

    assert response.startswith("HTTP/1.1 401 "), response  # an answer, not a reset
    assert server.process.wait(timeout=10) == 0  # a clean stop, not killed by the signal
    assert "Application shutdown complete" in server.log.read_text()
