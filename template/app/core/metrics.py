"""Prometheus metrics, one registry per app so tests can build apps side by side.

With several worker processes (`uvicorn --workers N`), each process counts its own requests
and a scrape reaches only one of them. Set `PROMETHEUS_MULTIPROC_DIR` (prometheus-client reads
it at import) to an empty directory shared by the workers: each writes its values there and
every scrape adds them all up (`create_metrics` picks the mode). Wipe the directory when the
service starts, never while it runs: counts of workers that died stay in the totals.
"""

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.metrics_core import Metric
from sqlalchemy import Engine, event

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The labels of an exemplar (the trace and span of one observation), or None for none.
ExemplarSource = Callable[[], dict[str, str] | None]


class Metrics:
    """The per-request work is two increments: labelled children are looked up once per
    (method, route template, status) and kept, and the in-flight gauge reads a plain counter
    that only the event loop changes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = self._in_flight_gauge()
        self.in_flight_count = 0
        self._job_metrics()
        self._pool_metrics()
        # Bounded like the label set itself: route templates, never raw paths.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._exemplar: ExemplarSource | None = None

    def _in_flight_gauge(self) -> Gauge:
        gauge = Gauge(
            "http_requests_in_progress", "HTTP requests being served.", registry=self.registry
        )
        gauge.set_function(lambda: self.in_flight_count)
        return gauge

    def _job_metrics(self) -> None:
        """The outbox (app/services/jobs.py). The gauges are read from the database by every
        process's job runner: with several workers a scrape shows the largest live reading."""
        self.jobs_pending = Gauge(
            "jobs_pending",
            "Outbox jobs not yet done (queued, running or waiting to be retried).",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.jobs_oldest_pending_age = Gauge(
            "jobs_oldest_pending_age_seconds",
            "Age of the oldest job not yet done; 0 when there is none.",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.jobs_retrying = Gauge(
            "jobs_retrying",
            "Jobs whose last attempt failed, waiting for their next one.",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.jobs_dead = Gauge(
            "jobs_dead_letters",
            "Jobs given up after JOB_MAX_ATTEMPTS (`python -m app.cli jobs list --dead`).",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.job_failures = Counter(
            "job_failures_total", "Failed job attempts, by kind.", ["kind"], registry=self.registry
        )

    def _pool_metrics(self) -> None:
        """The database pool of each process, summed over the live ones: in use against the
        most it opens, so a dashboard shows saturation before requests wait (then 503)."""
        self.db_connections_in_use = Gauge(
            "db_connections_in_use",
            "Database connections checked out of the pool (by a request or a job).",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.db_connections_limit = Gauge(
            "db_connections_limit",
            "The most connections the pool opens: DB_POOL_SIZE + DB_MAX_OVERFLOW.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def watch_pool(self, engine: Engine, limit: int) -> None:
        """Count `engine`'s connections from checkout to checkin (the sync engine of an async
        one: the pool's events are its)."""
        self.db_connections_limit.set(limit)
        event.listen(engine, "checkout", lambda *_: self.db_connections_in_use.inc())
        event.listen(engine, "checkin", lambda *_: self.db_connections_in_use.dec())

    @property
    def exposition_registry(self) -> CollectorRegistry:
        """What a scrape of /metrics shows."""
        return self.registry

    def use_exemplars(self, source: ExemplarSource) -> None:
        """Mark each latency observation with `source()` (with tracing on, the ids of the
        request's sampled span), shown to scrapers that ask for OpenMetrics: a slow bucket
        links to a trace of it."""
        self._exemplar = source

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds, self._exemplar() if self._exemplar else None)


class MultiprocessMetrics(Metrics):
    """The same metrics, written to files in `directory` and summed over every worker.

    Counters and the histogram keep the counts of workers that have exited (a restarted worker
    does not reset the totals); the in-flight gauge sums live workers only (`livesum`). A
    worker that was killed cannot remove its gauge file itself, so each new worker removes
    those of processes that no longer exist.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        _forget_dead_processes(directory)
        super().__init__()
        self._exposition = CollectorRegistry()
        self._exposition.register(_SizedFilesCollector(directory))

    def _in_flight_gauge(self) -> Gauge:
        return Gauge(
            "http_requests_in_progress",
            "HTTP requests being served, summed over live workers.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    @property
    def in_flight_count(self) -> int:
        return self._in_flight_count

    @in_flight_count.setter
    def in_flight_count(self, value: int) -> None:
        self._in_flight_count = value
        self.in_flight.set(value)

    @property
    def exposition_registry(self) -> CollectorRegistry:
        return self._exposition

    def use_exemplars(self, source: ExemplarSource) -> None:
        """None: prometheus-client keeps no exemplars in multiprocess mode (its files hold
        values only). With tracing on, the access log line carries the trace id instead."""


class _SizedFilesCollector:
    """prometheus-client's MultiProcessCollector, minus the files a worker has created but not
    yet sized.

    A worker creates its file on its first value of a kind (its first request, for the
    counter) and sizes it a moment later; a scrape that reads it in between fails whole, a
    500 (prometheus/client_python#1199). Such a file holds no value yet, so leaving it out
    loses nothing.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def collect(self) -> Iterable[Metric]:
        files = []
        for path in self.directory.glob("*.db"):
            try:
                if path.stat().st_size:
                    files.append(str(path))
            except FileNotFoundError:
                pass  # a dead worker's in-flight gauge, removed since the listing
        merge = multiprocess.MultiProcessCollector.merge  # what its collect() does with them
        return merge(files, accumulate=True)  # type: ignore[no-any-return,no-untyped-call]


def create_metrics() -> Metrics:
    """Multiprocess metrics when PROMETHEUS_MULTIPROC_DIR is set, else in-process ones."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return MultiprocessMetrics(Path(directory)) if directory else Metrics()


def _forget_dead_processes(directory: Path) -> None:
    for path in directory.glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, someone else's
