"""The report's timing benchmarks: the newest pytest-benchmark JSON in ``<runs>/benchmarks/``.

``scripts/test.sh`` (and so ``.ci/run``) saves one per run as ``ci-<UTC time>.json``. The
timings come from whatever machine and day made that file, not from the run the report is
about, so the section names the file, the machine and the date the JSON records. The ratios
are the ones the benchmark tests assert, each measured inside one test (interleaved, same
process) and added to the JSON under ``harness_ratios`` by ``tests/benchmarks/conftest.py``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.report import tables_text as text
from harness.report.markdown import fmt_seconds, md_table, shown_path

if TYPE_CHECKING:
    from harness.report.context import ReportContext

BENCH_DIR = "benchmarks"  # under the runs folder: runs/benchmarks/*.json
RATIOS_KEY = "harness_ratios"
SYMBOLS = {">=": "≥", "<=": "≤"}


def latest_benchmark_json(folder: Path) -> Path | None:
    """The most recently written ``*.json`` in ``folder`` (None when there is none)."""
    if not folder.is_dir():
        return None
    files = [p for p in folder.glob("*.json") if p.is_file()]
    return max(files, key=lambda p: (p.stat().st_mtime, p.name), default=None)


def _fmt_value(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _when(document: dict[str, Any]) -> str:
    raw = str(document.get("datetime", "?"))
    try:
        return datetime.fromisoformat(raw).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return raw


def _machine(document: dict[str, Any]) -> str:
    info = document.get("machine_info") or {}
    cpu = info.get("cpu") or {}
    parts = [
        cpu.get("brand_raw") or info.get("processor") or "unknown CPU",
        f"{cpu['count']} CPUs" if cpu.get("count") else "",
        " ".join(filter(None, [info.get("system"), info.get("machine")])),
        " ".join(filter(None, [info.get("python_implementation"), info.get("python_version")])),
    ]
    node = f"`{info['node']}`: " if info.get("node") else ""
    return node + ", ".join(p for p in parts if p)


def _commit(document: dict[str, Any]) -> str:
    commit = document.get("commit_info") or {}
    if not commit.get("id"):
        return ""
    dirty = " with uncommitted changes" if commit.get("dirty") else ""
    return f"; commit `{str(commit['id'])[:7]}`{dirty}"


def _timing_rows(benchmarks: list[dict[str, Any]]) -> list[list[str]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for bench in benchmarks:
        groups.setdefault(str(bench.get("group") or "—"), []).append(bench)
    rows = []
    for group in sorted(groups):
        ranked = sorted(groups[group], key=lambda b: b["stats"]["median"])
        fastest = ranked[0]["stats"]["median"]
        for bench in ranked:
            stats = bench["stats"]
            extra = ", ".join(
                f"{k}={_fmt_value(v)}" for k, v in (bench.get("extra_info") or {}).items()
            )
            relative = f"{stats['median'] / fastest:.2f}x" if fastest > 0 else "—"
            rows.append(
                [
                    group,
                    f"`{bench.get('name', '?')}`",
                    fmt_seconds(stats["median"]),
                    fmt_seconds(stats.get("iqr")),
                    fmt_seconds(stats.get("min")),
                    str(stats.get("rounds", "?")),
                    relative,
                    extra,
                ]
            )
    return rows


def _ratio_rows(ratios: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for ratio in ratios:
        if not isinstance(ratio, dict):  # a hand-edited file must not stop a report
            continue
        value, rule = ratio.get("value"), str(ratio.get("rule", "?"))
        measured = f"{value:.2f}x" if isinstance(value, int | float) else "—"
        rows.append(
            [
                str(ratio.get("name", "?")),
                measured,
                f"{SYMBOLS.get(rule, rule)} {ratio.get('bound', '?')}x",
                "yes" if ratio.get("holds") else "**no**",
                str(ratio.get("detail", "")),
            ]
        )
    return rows


def section_benchmarks(report: ReportContext) -> list[str]:
    return benchmark_lines(report.data.runs_root)


def benchmark_lines(runs_root: str | Path) -> list[str]:
    """The newest benchmark JSON under ``runs_root/benchmarks/`` as tables; when there is
    none (or it cannot be read), one line that says so and how to make one."""
    folder = Path(runs_root) / BENCH_DIR
    lines = ["## Timing benchmarks", ""]
    path = latest_benchmark_json(folder)
    if path is None:
        return [*lines, text.NO_BENCHMARKS.format(folder=shown_path(folder)), ""]
    try:
        document = json.loads(path.read_text())
        benchmarks = [
            b for b in document["benchmarks"] if isinstance(b["stats"]["median"], int | float)
        ]
    except (OSError, ValueError, KeyError, TypeError) as err:
        unreadable = text.BENCHMARKS_UNREADABLE.format(
            path=shown_path(path), kind=type(err).__name__, error=err
        )
        return [*lines, unreadable, ""]
    count = len(list(folder.glob("*.json")))
    newest = f" (the newest of {count} there)" if count > 1 else ""
    lines += [
        text.BENCHMARKS.format(
            path=shown_path(path),
            newest=newest,
            when=_when(document),
            machine=_machine(document),
            commit=_commit(document),
        ),
        "",
    ]
    if not benchmarks:
        lines += ["The file holds no timings (was benchmarking disabled?).", ""]
    else:
        header = ["group", "benchmark", "median", "IQR", "min", "rounds", "vs fastest", "details"]
        lines += [md_table(header, _timing_rows(benchmarks)), ""]
    ratios = document.get(RATIOS_KEY)
    if isinstance(ratios, list) and ratios:
        header = ["asserted ratio", "measured", "required", "holds", "how it was measured"]
        lines += [md_table(header, _ratio_rows(ratios)), ""]
    else:
        lines += ["No asserted ratios are recorded in this file.", ""]
    return lines
