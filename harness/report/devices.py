"""Tables of a ``harness bench devices`` document: one source for the screen and the report.

Each ``*_rows`` function returns ``(header, rows)`` of strings; ``section_devices`` renders
them as the report's markdown section, and the command prints them as rich tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.report import tables_text as text
from harness.report.markdown import md_table, percent, shown_path, significant, times

if TYPE_CHECKING:
    from harness.report.context import ReportContext

DEVICES_JSON = "devices.json"  # under the runs folder: where 'harness bench devices' writes
DEFAULT_MODE = {"cpu": "eager", "cuda": "graph"}  # what the harness itself runs on each
LAB_PATH_GOAL = 5.0  # the CUDA-graph path should be this many times faster than the lab's

Table = tuple[list[str], list[list[str]]]


def _kind(device: str) -> str:
    return "cuda" if device.startswith("cuda") else "cpu"


def _ok(record: dict[str, Any]) -> bool:
    return record.get("status") == "ok" and bool(record.get("seconds_per_epoch"))


def rate(flops: float) -> str:
    return f"{flops / 1e12:.2f} TFLOP/s" if flops >= 1e12 else f"{flops / 1e9:.1f} GFLOP/s"


def by_workload(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records grouped by workload (in first-seen order), devices in measured order within."""
    order = {name: i for i, name in enumerate(dict.fromkeys(r["workload"] for r in records))}
    return sorted(records, key=lambda r: order[r["workload"]])


def environment_line(document: dict[str, Any]) -> str:
    """Where and when, and how busy the machine was (other work slows every timing)."""
    env = document["environment"]
    text = f"{env['host']}, {env['date']}, torch {env['torch']}"
    if env.get("gpus"):
        driver = env.get("gpu_driver")
        text += f", {', '.join(env['gpus'])}" + (f" (driver {driver})" if driver else "")
    start, end = env.get("load_average_at_start"), env.get("load_average_at_end")
    if start is not None and end is not None:
        text += (
            f"; load average (1 min) {start:.2f} at start, {end:.2f} at end, on "
            f"{env.get('cpu_count', '?')} cores"
        )
    return text


def device_lines(document: dict[str, Any]) -> list[str]:
    """One line per device: what it is and its measured matrix-multiply rate."""
    lines = []
    for device in document["devices"]:
        matmul = device["matmul"]
        lines.append(
            f"{device['name']} ({device['description']}): {rate(matmul['flops'])} "
            f"(fp32 {matmul['size']}² matmul)"
        )
    return lines


def epoch_rows(document: dict[str, Any]) -> Table:
    """Per workload and device, the harness's own path there (CPU eager, CUDA graph)."""
    header = [
        "workload",
        "device",
        "mode",
        "parameters",
        "s/epoch",
        "first epoch s",
        "samples/s",
        "vs CPU",
        "floor %",
    ]
    rows = []
    for r in by_workload(document["records"]):
        if r["mode"] != DEFAULT_MODE[_kind(r["device"])]:
            continue
        if not _ok(r):
            rows.append(
                [
                    r["workload"],
                    r["device"],
                    r["mode"],
                    f"{r['parameters']:,}",
                    r["status"],
                    "—",
                    "—",
                    "—",
                    "—",
                ]
            )
            continue
        rows.append(
            [
                r["workload"],
                r["device"],
                r["mode"],
                f"{r['parameters']:,}",
                significant(r["seconds_per_epoch"]),
                significant(r["first_epoch_s"]),
                f"{r['samples_per_second']:,.0f}",
                times(r.get("cpu_ratio")),
                percent(r["floor_fraction"]),
            ]
        )
    return header, rows


def fast_path_rows(document: dict[str, Any]) -> Table:
    """Per workload and card: the CUDA-graph path against eager and against the lab's path,
    all measured in the same run on the same card."""
    by_key = {(r["workload"], r["device"], r["mode"]): r for r in by_workload(document["records"])}
    header = [
        "workload",
        "device",
        "graph s/epoch",
        "eager s/epoch",
        "graph vs eager",
        "lab path s/epoch",
        "graph vs lab",
    ]
    rows = []
    for (workload, device, mode), graph in by_key.items():
        if mode != "graph":
            continue
        eager, lab = by_key.get((workload, device, "eager")), by_key.get((workload, device, "lab"))
        rows.append(
            [
                workload,
                device,
                _per_epoch(graph),
                _per_epoch(eager),
                times(_speed_up(eager, graph)),
                _per_epoch(lab) if lab else "—",
                times(_speed_up(lab, graph)),
            ]
        )
    return header, rows


def _per_epoch(record: dict[str, Any] | None) -> str:
    if record is None:
        return "—"
    return significant(record["seconds_per_epoch"]) if _ok(record) else record["status"]


def _speed_up(slow: dict[str, Any] | None, fast: dict[str, Any]) -> float | None:
    if slow is None or not (_ok(slow) and _ok(fast)):
        return None
    return slow["seconds_per_epoch"] / fast["seconds_per_epoch"]


def throughput_rows(document: dict[str, Any]) -> Table:
    """Trials per minute for N workers sharing a device, and against one worker there."""
    header = ["device", "workers", "trials", "seconds", "trials/min", "vs 1 worker"]
    records = document.get("throughput") or []
    single = {r["device"]: r.get("trials_per_minute") for r in records if r["workers"] == 1}
    rows = []
    for r in records:
        if r.get("status") != "ok":
            rows.append([r["device"], str(r["workers"]), str(r["trials"]), r["status"], "—", "—"])
            continue
        base = single.get(r["device"])
        rows.append(
            [
                r["device"],
                str(r["workers"]),
                str(r["trials"]),
                f"{r['seconds']:.1f}",
                f"{r['trials_per_minute']:.1f}",
                times(r["trials_per_minute"] / base if base else None),
            ]
        )
    return header, rows


def lab_path_lines(document: dict[str, Any]) -> list[str]:
    """The fast path against the lab's GPU path, one line per card that ran both."""
    lines = []
    by_key = {(r["workload"], r["device"], r["mode"]): r for r in document["records"]}
    for (workload, device, mode), lab in by_key.items():
        graph = by_key.get((workload, device, "graph"))
        speed_up = _speed_up(lab, graph) if mode == "lab" and graph else None
        if speed_up is not None and graph is not None:
            lines.append(
                text.LAB_PATH.format(
                    workload=workload,
                    device=device,
                    graph=significant(graph["seconds_per_epoch"]),
                    lab=significant(lab["seconds_per_epoch"]),
                    speed_up=speed_up,
                    goal=LAB_PATH_GOAL,
                    met="met" if speed_up >= LAB_PATH_GOAL else "NOT met",
                )
            )
    return lines


def problem_lines(document: dict[str, Any]) -> list[str]:
    """What did not measure (an error, a diverged run), one line each."""
    lines = [
        f"{r['workload']} on {r['device']} ({r['mode']}): {r['status']}"
        for r in document["records"]
        if r.get("status") != "ok"
    ]
    lines += [
        f"{r['workers']} workers on {r['device']}: {r['status']}"
        for r in document.get("throughput") or []
        if r.get("status") != "ok"
    ]
    return lines


def read_devices(path: Path) -> dict[str, Any]:
    """The document at ``path``; ValueError with the reason when it is not one."""
    document = json.loads(path.read_text())
    if not isinstance(document, dict) or document.get("kind") != "harness bench devices":
        raise ValueError("not a document written by 'harness bench devices'")
    return document


def section_devices(report: ReportContext) -> list[str]:
    return devices_lines(report.data.runs_root)


def devices_lines(runs_root: str | Path) -> list[str]:
    """The report's section on devices, from ``<runs_root>/devices.json``."""
    path = Path(runs_root) / DEVICES_JSON
    lines = ["## Devices: seconds per epoch and study throughput", ""]
    if not path.is_file():
        return [*lines, text.NO_DEVICES.format(path=shown_path(path)), ""]
    try:
        document = read_devices(path)
    except (OSError, ValueError) as err:  # json.JSONDecodeError is a ValueError
        return [*lines, text.DEVICES_UNREADABLE.format(path=shown_path(path), error=err), ""]
    lines += [
        text.DEVICES.format(
            environment=environment_line(document),
            epochs=document["settings"]["epochs"],
            rows=_rows_text(document),
        ),
        "",
        *[f"- {line}" for line in device_lines(document)],
        "",
        md_table(*epoch_rows(document)),
        "",
    ]
    fast = fast_path_rows(document)
    if fast[1]:
        lines += [text.FAST_PATH, "", md_table(*fast), ""]
        lines += [*[f"- {line}" for line in lab_path_lines(document)], ""]
    throughput = throughput_rows(document)
    if throughput[1]:
        lines += [throughput_text(document), "", md_table(*throughput), ""]
    lines += [f"- {line}" for line in problem_lines(document)]
    return [*lines, ""]


def throughput_text(document: dict[str, Any]) -> str:
    settings, first = document["settings"], document["throughput"][0]
    return text.THROUGHPUT.format(
        trials=settings["trials_per_worker"],
        epochs=settings["trial_epochs"],
        params=", ".join(f"{k} {v:g}" for k, v in first["params"].items()),
    )


def _rows_text(document: dict[str, Any]) -> str:
    rows = {r["train_rows"] for r in document["records"]}
    return f"{', '.join(f'{n:,}' for n in sorted(rows))} training rows" if rows else "no rows"
