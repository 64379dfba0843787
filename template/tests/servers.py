"""The app under a real uvicorn, for what only a server shows: HTTP framing on the wire,
keep-alive, worker processes, signals. In-process tests (httpx's ASGITransport) stay for speed.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.core.config import Settings
from tests.settings import as_environment

HOST = "127.0.0.1"


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def get(self, path: str) -> tuple[int, bytes]:
        """One request on a new connection (successive ones spread over workers)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:  # noqa: S310
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def live(self) -> bool:
        try:
            return self.get("/health/live")[0] == 200
        except urllib.error.URLError:  # not listening yet
            return False

    def logged(self, message: str, times: int = 1) -> Callable[[], bool]:
        """Whether the server has logged `message` `times` times (e.g. once per worker)."""
        return lambda: self.log.read_text().count(message) >= times

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `condition`; fail with `what` and the server's log when the server exits or
        `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"the server exited:\n{self.log.read_text()}"
            assert time.monotonic() < deadline, f"{what}:\n{self.log.read_text()}"
            time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def run_uvicorn(
    work: Path,
    settings: Settings,
    *options: str,
    workers: int = 1,
    environment: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """`uvicorn app.main:app` on a free loopback port, configured by `settings` (passed as
    environment variables) and `environment`, its output in `work`/server.log. Yields once
    every worker has started and the server answers; kills it afterwards if it still runs.

    Start-up's admin bootstrap is left out: the suite's own app has made the admin already,
    and several workers would race to make it.
    """
    settings = settings.model_copy(update={"FIRST_ADMIN_EMAIL": None, "FIRST_ADMIN_PASSWORD": None})
    env = os.environ | as_environment(settings) | {"LOG_LEVEL": "INFO"} | dict(environment or {})
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", HOST, "--port", str(port)]
    argv += ["--workers", str(workers), "--no-access-log", "--no-proxy-headers", *options]
    log = work / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, port, log)
    try:
        started = server.logged("Application startup complete", workers)
        server.wait_until(started, 30, f"{workers} worker(s) never started")
        server.wait_until(server.live, 5, "the server never answered")
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
