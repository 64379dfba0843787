"""Cursor pages on a long list (issue 27): `python -m scripts.bench --pages database=postgresql`.

One owner gets ROWS items, inserted by the database itself (generate_series on PostgreSQL, a
recursive CTE on MariaDB and SQLite), then ANALYZEd. With one uvicorn worker:

- a walk from the first page to the last, following `next_cursor` (WALK_LIMIT rows a page),
  sampling the worker's RSS every RSS_EVERY pages: memory must stay flat; the walk also keeps the
  cursor found at 99 % of the rows;
- rounds of wrk at one connection (latency) on the first cursor page, the cursor page at 99 %,
  and, for the docs, the same depth by `skip` (PAGINATION_MAX_SKIP lifted for this run);
- rounds of wrk under load (throughput) on the first cursor page and on today's offset page
  (`skip=0`, which counts the whole list as every list page did before cursors).

Ratios are medians of each round's own ratio. Writes docs/bench/pages/<combination>.json.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from http.client import HTTPConnection
from typing import Any
from urllib.parse import quote

import psutil

from scripts import bench
from scripts.bench_report import RESULTS, log
from tests import support
from tests.support import SERVERS, run, url

ROWS = {"postgresql": 1_000_000, "mysql": 200_000, "sqlite": 200_000}
LIMIT, WALK_LIMIT, RSS_EVERY = 20, 100, 50
LATENCY, LOAD = "-t1 -c1", bench.LOAD
PAGES_RESULTS = RESULTS / "pages"
COLUMNS = "INSERT INTO items (owner_id, title, description, created_at, updated_at)"
COUNT_TO = "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {rows})"
# One statement numbering 1..rows in the database itself: no round trip per row.
INSERT = {
    "postgresql": f"{COLUMNS} SELECT {{owner}}, 'Item ' || n, 'Benchmark item', now(), now()"
    " FROM generate_series(1, {rows}) AS seq(n); ANALYZE items;",
    "mysql": "SET SESSION max_recursive_iterations = {rows}; "
    f"{COLUMNS} {COUNT_TO} SELECT {{owner}}, CONCAT('Item ', n), 'Benchmark item',"
    " UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) FROM seq; ANALYZE TABLE items;",
    "sqlite": f"{COUNT_TO} {COLUMNS} SELECT {{owner}}, 'Item ' || n, 'Benchmark item',"
    " '2026-12-06 00:00:00.000000', '2026-12-06 00:00:00.000000' FROM seq; ANALYZE;",
}
# name: title, "max" or "min", target
TARGETS = {
    "deep_over_first": ("cursor page at 99 % depth, p50 over the first page's", "max", 1.2),
    "first_page_ratio": ("first page: cursor req/s over today's offset page", "min", 1.0),
    "walk_rss_growth_mib": ("worker RSS growth over the second half of a full walk", "max", 8.0),
}


def insert_items(database: str, db_url: str, owner: int, rows: int) -> None:
    sql = INSERT[database].format(owner=owner, rows=rows)
    if database == "sqlite":
        argv = ["sqlite3", db_url.removeprefix("sqlite:///"), sql]
    else:
        argv = SERVERS[database].admin_command(db_url, sql)
    run(argv, timeout=900)


def rss_mib(proc: psutil.Process) -> float:
    """Resident memory of the server and its children (uvicorn's worker), MiB."""
    processes = [proc, *proc.children(recursive=True)]
    return sum(p.memory_info().rss for p in processes) / 2**20


def walk(port: int, token: str, proc: psutil.Process, rows: int) -> dict[str, Any]:
    """Every page from the first, following next_cursor: RSS samples and the 99 % cursor."""
    conn: HTTPConnection = support.connect(port)
    path, seen, pages, samples = f"/api/v1/items?limit={WALK_LIMIT}", 0, 0, []
    deep, depth = None, 0
    start = time.perf_counter()
    while True:
        page = bench.call(conn, "GET", path, None, token)
        seen, pages = seen + len(page["items"]), pages + 1
        if pages % RSS_EVERY == 1:
            samples.append({"page": pages, "rows": seen, "rss_mib": round(rss_mib(proc), 1)})
        if seen <= rows * 99 // 100:  # the cursor past the most rows, at most 99 % of them
            deep, depth = page["next_cursor"], seen
        if page["next_cursor"] is None:
            break
        path = f"/api/v1/items?limit={WALK_LIMIT}&cursor={quote(page['next_cursor'])}"
    seconds = time.perf_counter() - start
    conn.close()
    if seen != rows:
        raise RuntimeError(f"the walk saw {seen} rows of {rows}")
    half = [s["rss_mib"] for s in samples[len(samples) // 2 :]]
    return {
        "pages": pages, "rows": seen, "page_limit": WALK_LIMIT, "seconds": round(seconds, 1),
        "rss_samples": samples, "walk_rss_growth_mib": round(max(half) - half[0], 1),
        "rss_first_mib": samples[0]["rss_mib"], "rss_last_mib": samples[-1]["rss_mib"],
        "deep_cursor": deep, "depth": depth,
    }  # fmt: skip


def rounds(targets: dict[str, str], load: str, token: str, args: Any) -> dict[str, list[Any]]:
    for target in targets.values():  # warm-up: imports, pools, the database's caches
        bench.wrk(target, load, 1, token)
    runs: dict[str, list[Any]] = {name: [] for name in targets}
    for n in range(args.rounds):
        for name, target in targets.items():
            runs[name].append(bench.wrk(target, load, args.duration, token))
        log(f"round {n + 1}/{args.rounds}: " + ", ".join(
            f"{name} p50 {r[-1]['p50_ms']} ms {r[-1]['rps']:.0f} req/s" for name, r in runs.items()
        ))  # fmt: skip
    return runs


def measure(port: int, token: str, proc: psutil.Process, rows: int, args: Any) -> dict[str, Any]:
    log(f"walking {rows} rows, {WALK_LIMIT} a page")
    walked = walk(port, token, proc, rows)
    depth = walked["depth"]
    base = url(port, "/api/v1/items")
    latency = rounds({
        "first": f"{base}?limit={LIMIT}",
        "deep_cursor": f"{base}?limit={LIMIT}&cursor={quote(walked['deep_cursor'])}",
        "deep_skip": f"{base}?limit={LIMIT}&skip={depth}",
    }, LATENCY, token, args)  # fmt: skip
    throughput = rounds({
        "cursor_first": f"{base}?limit={LIMIT}",
        "offset_first": f"{base}?limit={LIMIT}&skip=0",
    }, LOAD, token, args)  # fmt: skip
    ratio = bench.paired_ratios
    deep = ratio(latency["deep_cursor"], latency["first"], "p50_ms")
    skip = ratio(latency["deep_skip"], latency["first"], "p50_ms")
    first = ratio(throughput["cursor_first"], throughput["offset_first"], "rps")
    return {
        "rows": rows, "depth": depth, "limit": LIMIT,
        "latency_wrk": f"wrk {LATENCY} -d{args.duration:g}s", "latency": latency,
        "throughput_wrk": f"wrk {LOAD} -d{args.duration:g}s", "throughput": throughput,
        **bench.medians(latency, "p50_ms"), **bench.medians(throughput, "rps"),
        "deep_over_first_rounds": deep, "deep_over_first": statistics.median(deep),
        "skip_over_first_rounds": skip, "skip_over_first": statistics.median(skip),
        "first_page_ratio_rounds": first, "first_page_ratio": statistics.median(first),
        "walk": walked, "walk_rss_growth_mib": walked["walk_rss_growth_mib"],
    }  # fmt: skip


def verdicts(pages: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, (title, kind, target) in TARGETS.items():
        value = pages[name]
        met = value <= target if kind == "max" else value >= target
        out[name] = {"title": title, "value": value, "target": target, "kind": kind, "met": met}
    return out


def run_pages(answers: dict[str, str], args: Any) -> int:
    result, workdir, dest = bench.prepare(answers, args)
    answers = result["answers"]
    database = answers.get("database", "sqlite")
    rows = args.rows or ROWS[database]
    with support.throwaway_database(
        database, f"{bench.DB_PREFIX}_{os.getpid()}", workdir
    ) as db_url:
        env = bench.migrated_env(answers, dest, db_url, PAGINATION_MAX_SKIP=str(rows))
        port, service_log = support.free_port(), workdir / "service.log"
        argv = support.uvicorn(dest / ".venv", "app.main:app", port, "--workers", "1",
                               "--no-access-log")  # fmt: skip
        with support.running(argv, url(port, "/health/live"), service_log, dest, env) as proc:
            token = bench.seed(port)
            owner = bench.call(support.connect(port), "GET", "/api/v1/users/me", None, token)["id"]
            log(f"inserting {rows - 10} more items for one owner")
            started = time.perf_counter()
            insert_items(database, db_url, owner, rows - 10)
            result["insert_seconds"] = round(time.perf_counter() - started, 1)
            result["pages"] = measure(port, token, proc, rows, args)
    result["load_average_after"] = os.getloadavg()
    result["measures"] = verdicts(result["pages"])
    PAGES_RESULTS.mkdir(parents=True, exist_ok=True)
    out = PAGES_RESULTS / f"{result['combination']}.json"
    out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    pages = result["pages"]
    print(f"{result['combination']}: {rows} rows; first page p50 {pages['first_p50_ms']} ms, "
          f"cursor at 99 % {pages['deep_cursor_p50_ms']} ms ({pages['deep_over_first']:.2f}x), "
          f"skip at 99 % {pages['deep_skip_p50_ms']} ms ({pages['skip_over_first']:.2f}x); "
          f"first page cursor/offset req/s {pages['first_page_ratio']:.2f}x; walk RSS "
          f"{pages['walk']['rss_first_mib']} -> {pages['walk']['rss_last_mib']} MiB")  # fmt: skip
    log(f"results: {out}")
    missed = [m["title"] for m in result["measures"].values() if not m["met"]]
    for title in missed:
        log(f"target missed: {title}")
    return 1 if missed else 0
