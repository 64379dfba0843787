"""scripts/bench_report.py reads the committed results (docs/bench/*.json) as they were written;
so do scripts/bench_pages.py (docs/bench/pages/*.json) and scripts/bench_floor.py
(docs/bench/floor/*.json).

The benchmark itself needs wrk and minutes of load (`nox -s bench`); its report does not.
"""

from __future__ import annotations

import copy
import json
import statistics
from typing import Any

import pytest

from scripts.bench_floor import FLOOR_APP, FLOOR_RESULTS
from scripts.bench_pages import PAGES_RESULTS, ROWS
from scripts.bench_pages import verdicts as pages_verdicts
from scripts.bench_report import RESULTS, TARGETS, markdown_table, measures, summary_table
from tests.support import ROOT

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


def test_the_floor_shown_in_the_docs_is_the_floor_that_runs() -> None:
    """docs/performance.md shows scripts/floor_app.py whole: what the ratios are over."""
    doc = (ROOT / "docs" / "performance.md").read_text()
    shown = doc.split("<!-- scripts/floor_app.py -->\n```python\n", 1)[1].split("\n```\n", 1)[0]
    assert shown + "\n" == FLOOR_APP.read_text()


FLOORS = [json.loads(path.read_text()) for path in sorted(FLOOR_RESULTS.glob("*.json"))]


@pytest.mark.parametrize(
    "result", FLOORS, ids=[p.stem for p in sorted(FLOOR_RESULTS.glob("*.json"))]
)
def test_a_committed_floor_ladder_or_ab_ratio_is_the_median_of_its_paired_rounds(
    result: dict[str, Any],
) -> None:
    if "cpu" in result:  # --in-process: CPU µs per page, one figure per side and round
        cpu = result["cpu"]
        runs, base = cpu["cpu_us"]["head"], cpu["cpu_us"]["baseline"]
        assert len(runs) == len(base) >= 1
        ratios = [r / b for r, b in zip(runs, base, strict=True)]
        assert cpu["cpu_over_baseline"]["median"] == pytest.approx(statistics.median(ratios))
        return
    if "ladder" in result:  # --ladder: every rung and the service over the floor, per round
        ladder = result["ladder"]
        floor = ladder["rounds"]["floor"]
        assert set(ladder["rounds"]) > {"floor", "fastapi", "service"}
        for name, runs in ladder["rounds"].items():
            assert len(runs) == len(floor) >= 1
            ratios = [r["rps"] / f["rps"] for r, f in zip(runs, floor, strict=True)]
            assert ladder[f"{name}_over_floor"]["median"] == pytest.approx(
                statistics.median(ratios)
            )
            cpu = statistics.median(r["cpu_us"] for r in runs)
            assert ladder[f"{name}_cpu_us"] == pytest.approx(cpu)
        return
    part = result.get("floor") or result["ab"]
    pairs = (
        [("items", "floor"), ("create", "floor_insert")]
        if "floor" in result
        else [("head", "baseline")]
    )
    for name, over in pairs:
        runs, base = part["rounds"][name], part["rounds"][over]
        assert len(runs) == len(base) >= 1
        for field, key in (("rps", ""), ("p50_ms", "p50_"), ("p99_ms", "p99_")):
            label = f"{field}_over_baseline" if over == "baseline" else f"{name}_{key}over_{over}"
            if label not in part:
                continue
            ratios = [r[field] / b[field] for r, b in zip(runs, base, strict=True)]
            assert part[label]["median"] == pytest.approx(statistics.median(ratios))
