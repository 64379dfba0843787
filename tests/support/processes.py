"""Servers started by the sessions: a free port, start, wait until up, stop with its children;
commands run to their end; requests to a server."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil

HOST = "127.0.0.1"  # loopback only: the machine is shared
# Settings of the rendered service: none may leak from the caller's shell into a started one.
SETTINGS = ("ENVIRONMENT", "LOG_LEVEL", "SECRET_KEY", "REFRESH_TOKEN_SECRET", "CORS_ORIGINS")
SETTING_PREFIXES = ("TEST_", "PASSWORD_HASH_", "AUTH_", "DB_", "SQLALCHEMY_", "REDIS_")
OUTER = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class NotUp(RuntimeError):
    """A started server exited or never answered."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the caller's virtualenv or any service setting, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in OUTER and key not in SETTINGS and not key.startswith(SETTING_PREFIXES)
    }
    return env | {"UV_PYTHON_DOWNLOADS": "never"} | extra


def uvicorn(venv: Path, app: str, port: int, *flags: str) -> list[str]:
    return [str(venv / "bin" / "uvicorn"), app, "--host", HOST, "--port", str(port), *flags]


def start(
    argv: Sequence[str | Path],
    log: Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> psutil.Popen:
    """Start `argv` in a session of its own, its output in `log`."""
    with log.open("wb") as out:
        return psutil.Popen(
            [str(a) for a in argv], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop(proc: psutil.Popen, timeout: float = 15) -> int | None:
    """SIGTERM a process and every process under it, SIGKILL what outlives `timeout`;
    returns its exit status."""
    with contextlib.suppress(psutil.NoSuchProcess):
        family = [proc, *proc.children(recursive=True)]
        for member in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.terminate()
        _, alive = psutil.wait_procs(family, timeout=timeout)
        for member in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.kill()
        psutil.wait_procs(alive, timeout=timeout)
    return proc.poll()


def kill_tree(proc: psutil.Popen) -> None:
    """SIGKILL a process and every process under it at once, as when a machine dies."""
    with contextlib.suppress(psutil.NoSuchProcess):
        family = [proc, *proc.children(recursive=True)]
        for member in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.kill()
        psutil.wait_procs(family, timeout=10)


def run(
    argv: Sequence[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None,
    timeout: float = 600, check: bool = True,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run a command to its end, its output captured; RuntimeError (with the tail of its output)
    when it times out, or exits non-zero unless `check` is false. `env` defaults to clean_env()."""
    args = [str(a) for a in argv]
    try:
        proc = subprocess.run(args, cwd=cwd, env=env or clean_env(), capture_output=True,
                              text=True, timeout=timeout, check=False)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"`{' '.join(args)}` timed out after {timeout:.0f} s") from exc
    if check and proc.returncode:
        out = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        raise RuntimeError(f"`{' '.join(args)}` exited {proc.returncode}\n{out}")
    return proc


def url(port: int, path: str) -> str:
    return f"http://{HOST}:{port}{path}"


def connect(port: int, timeout: float = 30) -> http.client.HTTPConnection:
    """A connection to a local server, kept alive across requests (a timing measures the server,
    not a client's connection setup)."""
    return http.client.HTTPConnection(HOST, port, timeout=timeout)


def request_on(
    conn: http.client.HTTPConnection, method: str, path: str, body: str | None = None,
    token: str | None = None,
) -> tuple[int, Any]:  # fmt: skip
    """One request on `conn` (JSON `body` already encoded); the status and the decoded JSON,
    None when the answer has no body."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    headers |= {"Authorization": f"Bearer {token}"} if token else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data else None


def request_json(
    url: str, body: object = None, token: str | None = None, timeout: float = 10
) -> tuple[int, Any]:
    """One request (POST when there is a body), no proxy; the status and the decoded JSON."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with _NO_PROXY.open(req, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else {}
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_until_up(url: str, proc: psutil.Popen, log: Path, timeout: float = 60) -> None:
    """Poll `url` until it answers 200; fail early when the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise NotUp(f"{proc.args[0]} exited {proc.returncode} at startup:\n{tail}")
        with contextlib.suppress(OSError):  # refused, reset, timed out: not up yet
            if request_json(url, timeout=2)[0] == 200:
                return
        time.sleep(0.2)
    raise NotUp(f"{url} did not answer 200 within {timeout:.0f} s (log: {log})")


@contextlib.contextmanager
def running(
    argv: Sequence[str | Path], url: str, log: Path, cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[psutil.Popen]:  # fmt: skip
    """A server started, up (`url` answered 200), and stopped with its children afterwards."""
    proc = start(argv, log, cwd, env)
    try:
        wait_until_up(url, proc, log)
        yield proc
    finally:
        stop(proc)
