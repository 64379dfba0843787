"""The report of scripts/bench.py, from nothing but the result dicts it writes (docs/bench/*.json):
the targets of SPEC section 4, markdown tables (tabulate) of one result or of every result side
by side, and the chart (docs/performance.png)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from tests.support import ROOT

RESULTS, CHART = ROOT / "docs" / "bench", ROOT / "docs" / "performance.png"
# name: title, kind ("min" = value must be at least the target, "max" = at most), target, unit.
# A measure is read from the part of a result its name starts with; the ratios from throughput.
TARGETS: dict[str, tuple[str, str, float, str]] = {
    "live_ratio": ("`/health/live`, every middleware on (ratio to ceiling)", "min", 0.85, "x"),
    "items_ratio": ("authenticated `GET /items`, 10 items (ratio to ceiling)", "min", 0.05, "x"),
    "login_p50_ms": ("one login, production argon2id (p50)", "max", 80.0, "ms"),
    "storm_slowdown": ("`/health/live` p50 in a login storm / quiet p50", "max", 3.0, "x"),
    # decided 2026-12-06: no absolute seconds; same-window A/B against `--baseline` (a release)
    "tests_vs_baseline": ("rendered suite, s per test over the baseline's", "max", 1.05, "x"),
    "tests_xdist_speedup": ("rendered suite, `-n 0` time over `-n auto`'s", "min", 1.6, "x"),
    "tests_passed": ("rendered test suite (tests passed)", "min", 100, ""),
    "copier_vs_baseline": ("`copier copy` of the defaults over the baseline's", "max", 1.1, "x"),
}
# SPEC section 4, decided 2026-12: four thread-pool hops per request bound the sync flavour.
SYNC_ITEMS_TARGET = 0.03
VERDICT_COLORS = {True: "#2e7d32", False: "#c62828", None: "#9e9e9e"}


def measures(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The SPEC section 4 figures with their targets and verdicts."""
    out = {}
    for name, (title, kind, target, unit) in TARGETS.items():
        part = result["throughput" if name.endswith("_ratio") else name.split("_")[0]]
        value, note, met = part.get(name) if part else None, None, None  # None: not measured
        if name == "items_ratio" and result["answers"].get("database", "sqlite") != "postgresql":
            note = "the target is for PostgreSQL"
        if name == "tests_xdist_speedup" and result["machine"]["nproc"] != 2:
            note = "the target is for 2 cores"
        if name == "items_ratio" and result["answers"].get("use_async") == "false":
            target = SYNC_ITEMS_TARGET
        if value is not None and note is None:
            met = value >= target if kind == "min" else value <= target
        if met and name == "tests_passed" and part["tests_failed"]:
            met = False  # a suite with failures proves nothing
        out[name] = {"title": title, "value": value, "target": target, "kind": kind,
                     "unit": unit, "met": met, "note": note}  # fmt: skip
    return out


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    digits = {"x": 3, "": 0, "ms": 1}.get(unit, 2)  # 3: a missed 0.846 never reads 0.85
    return f"{value:.{digits}f}" + ("" if unit in ("x", "") else f" {unit}")


def bound(kind: str, target: float, unit: str) -> str:
    return ("≥ " if kind == "min" else "≤ ") + fmt(target, unit)


def markdown(headers: list[str], rows: list[list[Any]]) -> str:
    return tabulate(rows, headers, tablefmt="github", disable_numparse=True) + "\n"


def markdown_table(result: dict[str, Any]) -> str:
    t, lg, st, tests, cp = (result[k] for k in ("throughput", "login", "storm", "tests", "copier"))
    detail = {
        **{f"{name}_ratio": "rounds " + ", ".join(fmt(r, "x") for r in t[f"{name}_round_ratios"])
           + f"; medians {t[f'{name}_rps']:.0f} / {t['ceiling_rps']:.0f} req/s"
           for name in ("live", "items")},
        "login_p50_ms": f"{lg['logins']} sequential logins, min {lg['login_min_ms']:.1f} / "
        f"max {lg['login_max_ms']:.1f} ms" if lg else "skipped",
        "storm_slowdown": f"{st['storm_p50_ms']:.2f} / {st['quiet_p50_ms']:.2f} ms; paced client "
        f"{st['paced_storm_p50_ms']:.2f} / {st['paced_quiet_p50_ms']:.2f} ms; "
        f"{st['storm_logins_per_s']:.1f} logins/s" if st else "skipped",
        "tests_vs_baseline": tests["tests_summary"] + (
            f"; {tests['tests_per_test_ms']:.1f} / {tests['baseline_per_test_ms']:.1f} ms per "
            f"test, baseline {tests['baseline_seconds']:.2f}s" if "baseline_seconds" in tests
            else "") if tests else "skipped",
        "tests_xdist_speedup": f"`-n auto` {tests['xdist_seconds']:.2f}s"
        if tests and "xdist_seconds" in tests else "",
        "tests_passed": "",
        "copier_vs_baseline": "runs: " + ", ".join(f"{s:.2f}" for s in cp["copier_runs"])
        + ("; baseline " + ", ".join(f"{s:.2f}" for s in cp["baseline_runs"])
           if cp.get("baseline_runs") else "") if cp else "skipped",
    }  # fmt: skip
    rows = []
    for name, m in result["measures"].items():
        met = {True: "yes", False: "**no**", None: "n/a"}[m["met"]]
        met += f" ({m['note']})" if m.get("note") else ""
        value = fmt(m["value"], m["unit"]) + absolute(result, name, m["value"])
        target = bound(m["kind"], m["target"], m["unit"])
        rows.append([m["title"], value, target, met, detail[name]])
    table = markdown(["measure", "value", "target", "met", "detail"], rows)
    return f"### {result['combination']}\n\n{table}"


def absolute(result: dict[str, Any], name: str, value: float | None) -> str:
    """Seconds beside a ratio over the baseline (no verdict: they describe the host)."""
    part = result.get(name.split("_")[0])
    if not part or name not in ("tests_vs_baseline", "copier_vs_baseline"):
        return ""
    seconds = part["tests_seconds" if name.startswith("tests") else "copier_seconds"]
    base = part.get("baseline_seconds")
    return f" ({seconds:.2f} s" + (f" / {base:.2f} s)" if base and value else " measured)")


def summary_table(results: Sequence[dict[str, Any]]) -> str:
    """Every result side by side: a row per measure, a column per combination."""
    rows = []
    for name, (title, kind, target, unit) in TARGETS.items():
        cells = []
        for r in results:
            m = r["measures"][name]  # no verdict without a value: "n/a"
            verdict = {True: " ✓", False: " ✗", None: ""}[m["met"]]
            cells.append(fmt(m["value"], unit) + verdict + absolute(r, name, m["value"]))
        sync = f" (sync {bound(kind, SYNC_ITEMS_TARGET, unit)})" if name == "items_ratio" else ""
        rows.append([title, bound(kind, target, unit) + sync, *cells])
    return markdown(["measure", "target", *(r["combination"] for r in results)], rows)


def load_results() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]


def chart(results: Sequence[dict[str, Any]], output: Path = CHART) -> None:
    """One panel per measure: a bar per combination, the target as a dashed line."""
    try:  # a Figure of its own, not pyplot's: no GUI backend, no global state
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError:
        log("matplotlib is not installed: no chart (the nox session installs it)")
        return
    if not results:
        return
    fig = Figure(figsize=(17, 7.5))
    axes, names = fig.subplots(2, 4).flat, [n for n in TARGETS if n != "tests_passed"]
    combos, xs = [r["combination"] for r in results], range(len(results))
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes, names, strict=False):
        title, kind, target, unit = TARGETS[name]
        values = [r["measures"][name]["value"] for r in results]
        colors = [VERDICT_COLORS[r["measures"][name]["met"]] for r in results]
        bars = ax.bar(xs, [v if v is not None else 0 for v in values], color=colors)
        ax.bar_label(bars, ["n/a" if v is None else fmt(v, unit) for v in values], fontsize=8)
        lines = [("target ", target, "--", "bottom")]
        if name == "items_ratio":
            lines.append(("sync ", SYNC_ITEMS_TARGET, ":", "top"))
        for label, value, style, va in lines:
            ax.axhline(value, color="black", linestyle=style, linewidth=1.2)
            where = {"xycoords": ("axes fraction", "data"), "ha": "right", "va": va}
            ax.annotate(label + bound(kind, value, unit), (1.0, value), fontsize=8, **where)
        ax.set_title(title.replace("`", ""), fontsize=9)
        ax.set_xticks(list(xs), combos, rotation=20, ha="right", fontsize=8)
        ax.set_ylim(0, max([v for v in values if v is not None] + [target]) * 1.25)
        ax.set_ylabel({"x": "ratio", "ms": "ms", "s": "seconds"}.get(unit, unit), fontsize=8)
    handles = [Patch(color=c, label=label) for label, c in
               (("target met", VERDICT_COLORS[True]), ("target missed", VERDICT_COLORS[False]),
                ("no target for this combination", VERDICT_COLORS[None]))]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("Rendered service vs targets (SPEC §4); ratios are to a bare FastAPI app in the "
                 "same run", fontsize=11)  # fmt: skip
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    log(f"chart: {output}")
