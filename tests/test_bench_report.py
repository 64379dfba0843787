"""scripts/bench_report.py reads the committed results (docs/bench/*.json) as they were written;
so does scripts/bench_pages.py (docs/bench/pages/*.json).

The benchmark itself needs wrk and minutes of load (`nox -s bench`); its report does not.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from scripts.bench_pages import PAGES_RESULTS, ROWS
from scripts.bench_pages import verdicts as pages_verdicts
from scripts.bench_report import RESULTS, TARGETS, markdown_table, measures, summary_table

COMMITTED = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]


@pytest.mark.parametrize("result", COMMITTED, ids=[r["combination"] for r in COMMITTED])
def test_the_verdicts_of_a_committed_result_are_recomputed_alike(result: dict[str, Any]) -> None:
    assert measures(result) == result["measures"]


def test_a_suite_with_failures_misses_its_target_and_seconds_alone_decide_nothing() -> None:
    sqlite = next(r for r in COMMITTED if r["combination"] == "sqlite-async-memory")
    failing = copy.deepcopy(sqlite)
    failing["tests"]["tests_failed"] = 1
    assert measures(failing)["tests_passed"]["met"] is False

    # SPEC section 4: a suite of any length and a copy of any duration get no verdict without
    # a baseline measured in the same window; with one, the ratio decides.
    slow = copy.deepcopy(sqlite)
    slow["tests"]["tests_seconds"], slow["copier"]["copier_seconds"] = 600.0, 60.0
    verdicts = measures(slow)
    assert verdicts["tests_vs_baseline"]["met"] is None
    assert verdicts["copier_vs_baseline"]["met"] is None
    slow["tests"]["tests_vs_baseline"], slow["copier"]["copier_vs_baseline"] = 1.04, 1.2
    slow["tests"]["tests_xdist_speedup"] = 1.7
    verdicts = measures(slow)
    assert verdicts["tests_vs_baseline"]["met"] is True
    assert verdicts["tests_xdist_speedup"]["met"] is True
    assert verdicts["copier_vs_baseline"]["met"] is False
    slow["machine"]["nproc"] = 8
    assert measures(slow)["tests_xdist_speedup"]["note"] == "the target is for 2 cores"


def test_the_tables_have_a_row_per_target() -> None:
    table = markdown_table(COMMITTED[0]).splitlines()
    assert [cell.strip() for cell in table[2].split("|")[1:-1]] == [
        "measure",
        "value",
        "target",
        "met",
        "detail",
    ]
    assert len(table) == 4 + len(TARGETS)
    summary = summary_table(COMMITTED).splitlines()
    assert len(summary) == 2 + len(TARGETS)
    assert [cell.strip() for cell in summary[0].split("|")[3:-1]] == [
        r["combination"] for r in COMMITTED
    ]


PAGES = [json.loads(path.read_text()) for path in sorted(PAGES_RESULTS.glob("*.json"))]


@pytest.mark.parametrize("result", PAGES, ids=[r["combination"] for r in PAGES])
def test_a_committed_pages_result_meets_issue_27s_targets(result: dict[str, Any]) -> None:
    pages = result["pages"]
    assert pages_verdicts(pages) == result["measures"]
    assert all(measure["met"] for measure in result["measures"].values())
    assert pages["walk"]["rows"] == pages["rows"] == ROWS[result["answers"]["database"]]
    assert pages["depth"] >= pages["rows"] * 98 // 100
