"""The Redis job queue engines considered for ``task_queue=redis`` (issue 30, ADR 0017), measured.

For one engine at a time, in an environment holding that engine's pinned release (their Redis
clients conflict: arq caps redis-py below 6, taskiq-redis wants 8), through a real SMTP server
(aiosmtpd) on loopback and a real Redis:

* **typing**: mypy --strict over ``scripts/queue_probes/<engine>_probe.py`` (a mail job, its
  enqueue, the worker, written as the service would), and over a copy whose enqueue passes a
  ``str`` for the job's ``int``: does mypy see the mistake?
* **throughput**: a worker process (``concurrency`` jobs at a time) is started and warmed up;
  ``JOBS`` mail jobs are enqueued one by one, as an outbox relay would, and the clock stops when
  the SMTP server holds every message; ``ROUNDS`` times, the median kept. Once with an
  ``async def`` task (aiosmtplib), once with a plain ``def`` task (smtplib), run however the
  engine runs sync code (the sync flavour).
* **redelivery**: ``REDELIVERY_JOBS`` jobs that take 0.2 s each, 4 at a time; half a job after
  a third of the messages arrived, the worker gets ``kill -9`` and a new one starts at once; the
  run counts what arrives within ``REDELIVERY_DEADLINE`` seconds: delivered, lost, duplicated,
  and the seconds from the kill to the last message. Each engine's redelivery knob is set to 5 s.
* **drain**: ``DRAIN_JOBS`` jobs of 1 s, 4 at a time; half a second in, the worker gets SIGTERM
  (a grace of 10 s configured): how many arrived before it exited, when it exited, and whether
  a new worker delivers the rest (none lost, none twice).

    nox -s queues     # every engine, each in its own venv; one: nox -s "queues(engine='saq')"

writes docs/bench/queues/engines.json (one entry per engine, merged) and prints a markdown
table.
Redis: ``QUEUES_REDIS_URL`` (default redis://127.0.0.1:6379/9), flushed before every run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# a folder of its own: docs/bench/*.json are scripts/bench.py's results, read by bench_report
RESULTS = ROOT / "docs" / "bench" / "queues" / "engines.json"
REDIS_URL = os.environ.get("QUEUES_REDIS_URL", "redis://127.0.0.1:6379/9")
JOBS = int(os.environ.get("QUEUES_JOBS", "500"))
ROUNDS = int(os.environ.get("QUEUES_ROUNDS", "3"))  # of JOBS each, the median reported
CONCURRENCY = 10
REDELIVERY_JOBS = 30
REDELIVERY_CONCURRENCY = 4
JOB_SECONDS = 0.2  # a redelivery job's work before its message
KNOB_SECONDS = 5  # each engine's "a job whose worker vanished runs again after" setting
REDELIVERY_DEADLINE = 60.0
DRAIN_JOBS = 8
DRAIN_JOB_SECONDS = 1.0
GRACE_SECONDS = 10  # each engine's "finish what runs after SIGTERM" setting
QUEUE = "bench"

# The pins the ADR was written against; noxfile.py's `queues` session installs them.
ENGINES: dict[str, list[str]] = {
    "saq": ["saq[redis]==0.26.4"],
    "taskiq": ["taskiq==0.13.0", "taskiq-redis==1.2.4"],
    "arq": ["arq==0.28.0"],
    "streaq": ["streaq==7.2.0"],
    "dramatiq": ["dramatiq[redis]==2.2.1"],
}
# saq 0.26.4 imports typing_extensions without declaring it (a service has it through pydantic);
# `redis` for flushing the bench's db, in whichever release the engine allows.
COMMON = ["aiosmtpd==1.4.6", "aiosmtplib==5.1.3", "redis", "typing-extensions", "mypy==2.4.1"]
PROBES = ROOT / "scripts" / "queue_probes"
DISTRIBUTIONS = {
    "saq": ["saq", "redis"],
    "taskiq": ["taskiq", "taskiq-redis", "redis"],
    "arq": ["arq", "redis"],
    "streaq": ["streaq", "coredis"],
    "dramatiq": ["dramatiq", "redis"],
}

# --- the job: one message to the SMTP server whose port the worker was given ---------------

SMTP_PORT = int(os.environ.get("QUEUES_SMTP_PORT", "0"))


def message(run: str, number: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "bench@example.org"
    mail["To"] = "sink@example.org"
    mail["Subject"] = f"job {number}"
    mail["Message-ID"] = f"<{run}.{number}@queues.bench>"
    mail.set_content("A mail job.")
    return mail


async def send_async(run: str, number: int, seconds: float) -> None:
    import aiosmtplib

    if seconds:
        await asyncio.sleep(seconds)
    await aiosmtplib.send(message(run, number), hostname="127.0.0.1", port=SMTP_PORT)


def send_sync(run: str, number: int, seconds: float) -> None:
    if seconds:
        time.sleep(seconds)
    with smtplib.SMTP("127.0.0.1", SMTP_PORT) as smtp:
        smtp.send_message(message(run, number))


# --- engines: each enqueues (`Producer`) and runs a worker (`work`) --------------------------


class Producer:
    async def __aenter__(self) -> Producer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def enqueue(self, flavour: str, run: str, number: int, seconds: float) -> None:
        raise NotImplementedError


def saq_engine(concurrency: int) -> tuple[type[Producer], Any]:
    from saq import Queue, Worker

    async def mail_async(ctx: Any, *, run: str, number: int, seconds: float) -> None:
        await send_async(run, number, seconds)

    def mail_sync(ctx: Any, *, run: str, number: int, seconds: float) -> None:
        send_sync(run, number, seconds)

    class SaqProducer(Producer):
        async def __aenter__(self) -> Producer:
            self.queue = Queue.from_url(REDIS_URL, name=QUEUE)
            await self.queue.connect()
            return self

        async def __aexit__(self, *exc: object) -> None:
            await self.queue.disconnect()

        async def enqueue(self, flavour: str, run: str, number: int, seconds: float) -> None:
            await self.queue.enqueue(
                f"mail_{flavour}", run=run, number=number, seconds=seconds,
                key=f"{run}.{number}", retries=5, timeout=KNOB_SECONDS,
            )  # fmt: skip

    def work() -> None:
        queue = Queue.from_url(REDIS_URL, name=QUEUE)
        worker = Worker(
            queue, functions=[("mail_async", mail_async), ("mail_sync", mail_sync)],
            concurrency=concurrency, shutdown_grace_period_s=GRACE_SECONDS,
            # SIGTERM waits for the upkeep loops too: worker_info sleeps 10 s by default
            timers={"sweep": 1, "worker_info": 1, "schedule": 1, "abort": 1},
        )  # fmt: skip
        asyncio.run(worker.start())

    return SaqProducer, work


def taskiq_engine(concurrency: int) -> tuple[type[Producer], Any]:
    from taskiq.receiver import Receiver
    from taskiq_redis import RedisStreamBroker

    broker = RedisStreamBroker(REDIS_URL, queue_name=QUEUE, idle_timeout=KNOB_SECONDS * 1000)

    @broker.task(task_name="mail_async")
    async def mail_async(run: str, number: int, seconds: float) -> None:
        await send_async(run, number, seconds)

    @broker.task(task_name="mail_sync")
    def mail_sync(run: str, number: int, seconds: float) -> None:
        send_sync(run, number, seconds)

    tasks = {"async": mail_async, "sync": mail_sync}

    class TaskiqProducer(Producer):
        async def __aenter__(self) -> Producer:
            await broker.startup()
            return self

        async def __aexit__(self, *exc: object) -> None:
            await broker.shutdown()

        async def enqueue(self, flavour: str, run: str, number: int, seconds: float) -> None:
            await tasks[flavour].kiq(run, number, seconds)

    def work() -> None:
        async def listen() -> None:  # what `taskiq worker` does in each of its processes
            broker.is_worker_process = True
            await broker.startup()
            finish = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, finish.set)
            with ThreadPoolExecutor(concurrency) as executor:
                receiver = Receiver(
                    broker, executor=executor, max_async_tasks=concurrency,
                    wait_tasks_timeout=GRACE_SECONDS,
                )  # fmt: skip
                await receiver.listen(finish)
            await broker.shutdown()

        asyncio.run(listen())

    return TaskiqProducer, work


def arq_engine(concurrency: int) -> tuple[type[Producer], Any]:
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker, func

    settings = RedisSettings.from_dsn(REDIS_URL)

    async def mail_async(ctx: Any, run: str, number: int, seconds: float) -> None:
        await send_async(run, number, seconds)

    async def mail_sync(ctx: Any, run: str, number: int, seconds: float) -> None:
        # arq runs coroutines only: the sync flavour's code goes to a thread by our hand
        await asyncio.to_thread(send_sync, run, number, seconds)

    class ArqProducer(Producer):
        async def __aenter__(self) -> Producer:
            self.pool = await create_pool(settings, default_queue_name=QUEUE)
            return self

        async def __aexit__(self, *exc: object) -> None:
            await self.pool.aclose()

        async def enqueue(self, flavour: str, run: str, number: int, seconds: float) -> None:
            await self.pool.enqueue_job(
                f"mail_{flavour}", run, number, seconds, _job_id=f"{run}.{number}"
            )

    def work() -> None:
        worker = Worker(
            functions=[func(mail_async, name="mail_async"), func(mail_sync, name="mail_sync")],
            redis_settings=settings, queue_name=QUEUE,
            max_jobs=concurrency, job_timeout=KNOB_SECONDS, poll_delay=0.05,
            job_completion_wait=GRACE_SECONDS,
        )  # fmt: skip
        worker.run()

    return ArqProducer, work


def streaq_engine(concurrency: int) -> tuple[type[Producer], Any]:
    from streaq import Worker

    worker = Worker(
        redis_url=REDIS_URL,
        queue_name=QUEUE,
        idle_timeout=KNOB_SECONDS,
        concurrency=concurrency,
        grace_period=GRACE_SECONDS,
    )

    @worker.task(max_tries=5)
    async def mail_async(run: str, number: int, seconds: float) -> None:
        await send_async(run, number, seconds)

    @worker.task(max_tries=5)
    def mail_sync(run: str, number: int, seconds: float) -> None:
        send_sync(run, number, seconds)

    tasks: dict[str, Any] = {"async": mail_async, "sync": mail_sync}

    class StreaqProducer(Producer):
        async def __aenter__(self) -> Producer:
            await worker.__aenter__()
            return self

        async def __aexit__(self, *exc: object) -> None:
            await worker.__aexit__(None, None, None)

        async def enqueue(self, flavour: str, run: str, number: int, seconds: float) -> None:
            await tasks[flavour].enqueue(run, number, seconds)

    def work() -> None:
        worker.run_sync()

    return StreaqProducer, work


def dramatiq_engine(concurrency: int) -> tuple[type[Producer], Any]:
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.middleware.asyncio import AsyncIO

    broker = RedisBroker(url=REDIS_URL, heartbeat_timeout=KNOB_SECONDS * 1000)
    broker.add_middleware(AsyncIO())
    dramatiq.set_broker(broker)

    @dramatiq.actor(queue_name=QUEUE, actor_name="mail_async", max_retries=5)
    async def mail_async(run: str, number: int, seconds: float) -> None:
        await send_async(run, number, seconds)

    @dramatiq.actor(queue_name=QUEUE, actor_name="mail_sync", max_retries=5)
    def mail_sync(run: str, number: int, seconds: float) -> None:
        send_sync(run, number, seconds)

    actors: dict[str, Any] = {"async": mail_async, "sync": mail_sync}

    class DramatiqProducer(Producer):
        async def enqueue(self, flavour: str, run: str, number: int, seconds: float) -> None:
            actors[flavour].send(run, number, seconds)  # redis-py, blocking: as its API is

    def work() -> None:
        worker = dramatiq.Worker(broker, worker_threads=concurrency)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        worker.start()
        stop.wait()
        worker.stop(timeout=GRACE_SECONDS * 1000)

    return DramatiqProducer, work


ENGINE_FACTORIES = {
    "saq": saq_engine,
    "taskiq": taskiq_engine,
    "arq": arq_engine,
    "streaq": streaq_engine,
    "dramatiq": dramatiq_engine,
}
# What each engine was told so a vanished worker's job runs again (see KNOB_SECONDS), and the
# default when nobody says anything: read in each release's source.
REDELIVERY_KNOB = {
    "saq": "job timeout=5 s, sweep every 1 s (defaults: timeout 10 s, sweep 60 s, retries 1);"
    " each stuck job's abort is awaited 5 s, one after another",
    "taskiq": "RedisStreamBroker idle_timeout=5000 ms (default 600000 ms = 10 min)",
    "arq": "job_timeout=5 s -> in-progress key lives 15 s (default job_timeout 300 s -> 310 s)",
    "streaq": "idle_timeout=5 s (default 60 s)",
    "dramatiq": "heartbeat_timeout=5000 ms (default 60 s); requeue on random maintenance",
}

# --- the SMTP server, Redis, the worker process ---------------------------------------------


class Sink:
    """aiosmtpd on loopback; remembers each Message-ID with the time it arrived."""

    def __init__(self) -> None:
        self.arrived: list[tuple[str, float]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        for line in content.splitlines():
            if line.lower().startswith(b"message-id:"):
                self.arrived.append((line.split(b":", 1)[1].strip().decode(), time.monotonic()))
                break
        return "250 OK"

    def ids(self, run: str) -> list[str]:
        return [mid for mid, _ in self.arrived if mid.startswith(f"<{run}.")]

    def wait(self, run: str, count: int, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if len(set(self.ids(run))) >= count:
                return True
            time.sleep(0.005)
        return False


@contextlib.contextmanager
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # a free port: aiosmtpd's controller cannot take port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def start_worker(engine: str, port: int, concurrency: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "QUEUES_SMTP_PORT": str(port), "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "scripts.queue_engines", "--worker", engine]
    argv += ["--concurrency", str(concurrency)]
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def enqueue_all(producer: Producer, flavour: str, run: str, count: int, s: float) -> None:
    for number in range(count):
        await producer.enqueue(flavour, run, number, s)


def warm_up(engine: str, sink: Sink, producer_cls: type[Producer]) -> None:
    async def go() -> None:
        async with producer_cls() as producer:
            await producer.enqueue("async", "warm", 0, 0)

    asyncio.run(go())
    if not sink.wait("warm", 1, time.monotonic() + 30):
        raise RuntimeError(f"{engine}: the worker did not deliver a first job within 30 s")


def throughput(engine: str, producer_cls: type[Producer], flavour: str) -> dict[str, Any]:
    flush_redis()
    rounds = []
    with smtp_sink() as (sink, port):
        worker = start_worker(engine, port, CONCURRENCY)
        try:
            warm_up(engine, sink, producer_cls)
            for round_ in range(ROUNDS):
                run = f"tp-{flavour}-{round_}"
                start = time.monotonic()

                async def go(run: str = run) -> None:
                    async with producer_cls() as producer:
                        await enqueue_all(producer, flavour, run, JOBS, 0)

                asyncio.run(go())
                enqueued = time.monotonic() - start
                complete = sink.wait(run, JOBS, start + 120)
                elapsed = time.monotonic() - start
                ids = sink.ids(run)
                rounds.append(
                    {
                        "delivered": len(set(ids)),
                        "duplicates": len(ids) - len(set(ids)),
                        "complete": complete,
                        "enqueue_seconds": round(enqueued, 3),
                        "seconds": round(elapsed, 3),
                        "jobs_per_second": round(len(set(ids)) / elapsed, 1),
                    }
                )
        finally:
            stop_worker(worker)
    return {
        "jobs": JOBS,
        "concurrency": CONCURRENCY,
        "jobs_per_second": statistics.median(r["jobs_per_second"] for r in rounds),
        "rounds": rounds,
    }


Interrupt = Callable[[subprocess.Popen[bytes], Sink, str], tuple[dict[str, Any], float]]


def interrupted(
    engine: str, producer_cls: type[Producer], run: str, count: int, seconds: float,
    interrupt: Interrupt,
) -> dict[str, Any]:  # fmt: skip
    """`count` jobs of `seconds` for a worker running 4 at a time, which `interrupt` strikes
    (it returns its own figures and the moment it struck); then a new worker, and what arrived
    within REDELIVERY_DEADLINE of the strike."""
    flush_redis()
    with smtp_sink() as (sink, port):
        first = start_worker(engine, port, REDELIVERY_CONCURRENCY)
        second = None
        try:
            warm_up(engine, sink, producer_cls)

            async def go() -> None:
                async with producer_cls() as producer:
                    await enqueue_all(producer, "async", run, count, seconds)

            asyncio.run(go())
            figures, struck = interrupt(first, sink, run)
            second = start_worker(engine, port, REDELIVERY_CONCURRENCY)
            sink.wait(run, count, struck + REDELIVERY_DEADLINE)
            time.sleep(1)  # a duplicate arriving just after the last new message still counts
        finally:
            stop_worker(first)
            if second is not None:
                stop_worker(second)
    ids = sink.ids(run)
    last = max((at for mid, at in sink.arrived if mid.startswith(f"<{run}.")), default=struck)
    delivered = len(set(ids))
    return {
        **figures,
        "jobs": count,
        "concurrency": REDELIVERY_CONCURRENCY,
        "job_seconds": seconds,
        "delivered": delivered,
        "lost": count - delivered,
        "duplicates": len(ids) - delivered,
        "seconds_to_last": round(last - struck, 2),
        "deadline_seconds": REDELIVERY_DEADLINE,
    }


def kill(worker: subprocess.Popen[bytes], sink: Sink, run: str) -> tuple[dict[str, Any], float]:
    sink.wait(run, REDELIVERY_JOBS // 3, time.monotonic() + 30)
    time.sleep(JOB_SECONDS / 2)  # into the next jobs' work: the kill finds them running
    worker.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    worker.wait()
    return {"delivered_before_kill": len(set(sink.ids(run)))}, killed


def terminate(
    worker: subprocess.Popen[bytes], sink: Sink, run: str
) -> tuple[dict[str, Any], float]:
    time.sleep(DRAIN_JOB_SECONDS / 2)
    worker.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    try:
        worker.wait(timeout=GRACE_SECONDS + 10)
        exit_seconds: float | None = round(time.monotonic() - stopped, 2)
    except subprocess.TimeoutExpired:
        exit_seconds = None
    figures = {"delivered_before_exit": len(set(sink.ids(run))), "exit_seconds": exit_seconds}
    return {**figures, "grace_seconds": GRACE_SECONDS}, stopped


def redelivery(engine: str, producer_cls: type[Producer]) -> dict[str, Any]:
    result = interrupted(engine, producer_cls, "kill", REDELIVERY_JOBS, JOB_SECONDS, kill)
    late = result.pop("seconds_to_last")
    recovered = result["delivered"] > result["delivered_before_kill"]
    return {
        **result,
        "seconds_from_kill_to_last": late if recovered else None,
        "knob": REDELIVERY_KNOB[engine],
    }


def drain(engine: str, producer_cls: type[Producer]) -> dict[str, Any]:
    result = interrupted(engine, producer_cls, "drain", DRAIN_JOBS, DRAIN_JOB_SECONDS, terminate)
    del result["seconds_to_last"], result["deadline_seconds"]
    return result


def versions(engine: str) -> dict[str, str]:
    found = {}
    for name in DISTRIBUTIONS[engine]:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def mypy_errors(path: Path) -> list[str]:
    argv = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", os.devnull, path.name]
    checked = subprocess.run(argv, capture_output=True, text=True, cwd=path.parent, check=False)
    return [line for line in checked.stdout.splitlines() if ": error:" in line]


def typing(engine: str) -> dict[str, Any]:
    """mypy --strict over scripts/queue_probes/<engine>_probe.py (the job, its enqueue, the
    worker, as the service would write them), then over a copy whose enqueue passes a `str`
    where the job takes an `int`: does the engine's API let mypy see it?"""
    probe = PROBES / f"{engine}_probe.py"
    errors = mypy_errors(probe)
    with tempfile.TemporaryDirectory() as tmp:
        wrong = Path(tmp) / probe.name
        wrong.write_text(probe.read_text().replace("NUMBER: int = 1", 'NUMBER: str = "1"'))
        wrong_errors = mypy_errors(wrong)
    return {
        "mypy": metadata.version("mypy"),
        "strict_errors": errors,
        "wrong_argument_type_caught": len(wrong_errors) > len(errors),
    }


def measure(engine: str) -> dict[str, Any]:
    producer_cls, _ = ENGINE_FACTORIES[engine](CONCURRENCY)
    load = os.getloadavg()[0]
    return {
        "versions": versions(engine),
        "python": sys.version.split()[0],
        "load_average_before": round(load, 2),
        "typing": typing(engine),
        "throughput": {f: throughput(engine, producer_cls, f) for f in ("async", "sync")},
        "redelivery": redelivery(engine, producer_cls),
        "drain": drain(engine, producer_cls),
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def table(results: dict[str, Any]) -> str:
    rows = [
        "| engine | version | jobs/s async | jobs/s sync | kill -9: delivered / lost / dup"
        " | kill to last (s) | SIGTERM: before exit / lost / dup | mypy --strict errors"
        " | wrong argument caught |",
        "| --- | --- | ---: | ---: | --- | ---: | --- | ---: | --- |",
    ]
    for engine, result in results.items():
        if "error" in result:
            rows.append(f"| {engine} | not measured: {result['error']} |" + " - |" * 7)
            continue
        tp, rd, ty, dr = (result[k] for k in ("throughput", "redelivery", "typing", "drain"))
        version = ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        rows.append(
            f"| {engine} | {version} | {tp['async']['jobs_per_second']}"
            f" | {tp['sync']['jobs_per_second']}"
            f" | {rd['delivered']} / {rd['lost']} / {rd['duplicates']}"
            f" | {rd['seconds_from_kill_to_last']}"
            f" | {dr['delivered_before_exit']} / {dr['lost']} / {dr['duplicates']}"
            f" | {len(ty['strict_errors'])}"
            f" | {'yes' if ty['wrong_argument_type_caught'] else 'no'} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "engines", nargs="*", metavar="ENGINE",
        help=f"any of {', '.join(ENGINES)}; none: print the stored results",
    )  # fmt: skip
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if unknown := set(args.engines) - set(ENGINES):
        parser.error(f"unknown engines: {', '.join(sorted(unknown))}")
    if args.worker:  # its log on stderr: QUEUES_LOG_LEVEL=INFO shows what each engine does
        logging.basicConfig(level=os.environ.get("QUEUES_LOG_LEVEL", "WARNING"))
        _, work = ENGINE_FACTORIES[args.worker](args.concurrency)
        work()
        return 0
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for engine in args.engines:
        try:
            results[engine] = measure(engine)
        except (ImportError, RuntimeError) as exc:
            results[engine] = {"error": str(exc)}
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(table({engine: results[engine] for engine in ENGINES if engine in results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
