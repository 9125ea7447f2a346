"""harness.report.benchmarks: the newest pytest-benchmark JSON as the report's tables.

The hand-made documents copy the structure pytest-benchmark 5 writes (a real one, from
``pytest tests/benchmarks --benchmark-enable --benchmark-json``, trimmed); one test makes a
real file with a subprocess pytest through ``tests/benchmarks/conftest.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.report.benchmarks import (
    RATIOS_KEY,
    benchmark_lines,
    latest_benchmark_json,
)
from harness.report.markdown import fmt_seconds

BENCH_CONFTEST = Path(__file__).parent / "benchmarks" / "conftest.py"


def _bench(group: str | None, name: str, median: float, **extra) -> dict:
    """One entry of ``benchmarks`` as pytest-benchmark writes it (stats trimmed)."""
    return {
        "group": group,
        "name": name,
        "fullname": f"tests/benchmarks/test_x.py::{name}",
        "params": None,
        "param": None,
        "extra_info": extra,
        "options": {
            "disable_gc": False,
            "timer": "perf_counter",
            "min_rounds": 5,
            "max_time": 1.0,
            "min_time": 5e-06,
            "warmup": False,
        },
        "stats": {
            "min": median * 0.9,
            "max": median * 1.5,
            "mean": median * 1.1,
            "stddev": median * 0.2,
            "rounds": 5,
            "median": median,
            "iqr": median * 0.1,
            "q1": median * 0.95,
            "q3": median * 1.05,
            "iqr_outliers": 0,
            "stddev_outliers": 1,
            "outliers": "1;0",
            "ld15iqr": median * 0.9,
            "hd15iqr": median * 1.5,
            "ops": 1 / median,
            "total": median * 5.5,
            "data": [median] * 5,
            "iterations": 1,
        },
    }


def _document(**changes) -> dict:
    document = {
        "machine_info": {
            "node": "ci-box",
            "processor": "",
            "machine": "x86_64",
            "python_implementation": "CPython",
            "python_version": "3.11.7",
            "system": "Linux",
            "cpu": {"brand_raw": "AMD EPYC", "count": 2, "arch": "X86_64"},
        },
        "commit_info": {
            "id": "52e8d63c54c3ffac97c585fbc2a0ae3b2e5b994a",
            "dirty": True,
            "project": "main",
            "branch": "main",
        },
        "benchmarks": [
            _bench("regularized_mlp_epoch", "test_dataloader_epoch", 0.30),
            _bench("regularized_mlp_epoch", "test_engine_epoch", 0.15),
            _bench("recipe epoch: mlp", "test_recipe_epoch[mlp]", 0.0177, rows=4000, batches=1),
            _bench(None, "test_ungrouped", 2.5e-4),
        ],
        "datetime": "2026-11-27T12:54:49.072659+00:00",
        "version": "5.3.1",
        RATIOS_KEY: [
            {
                "name": "DataLoader loop / harness engine",
                "value": 1.85,
                "rule": ">=",
                "bound": 1.5,
                "holds": True,
                "detail": "median of 3 interleaved runs",
                "test": "tests/benchmarks/test_engine_speed.py::test_engine",
            },
            {
                "name": "Ray / local, s per trial",
                "value": 3.4,
                "rule": "<=",
                "bound": 3.0,
                "holds": False,
                "detail": "one worker each",
                "test": "t::ray",
            },
        ],
    }
    return document | changes


def _write(folder: Path, name: str, document: dict | str, age_s: float = 0.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    stamp = path.stat().st_mtime - age_s
    os.utime(path, (stamp, stamp))
    return path


def _rows(lines: list[str]) -> dict[str, list[str]]:
    """Table rows by their first two cells ("group benchmark"), or first cell alone."""
    rows = {}
    for line in "\n".join(lines).splitlines():  # a table is one entry of the section's lines
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells
            rows[f"{cells[0]} {cells[1]}"] = cells
    return rows


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (2.5, "2.5 s"),
        (12.345, "12.3 s"),
        (0.15438, "154 ms"),
        (0.0088, "8.8 ms"),
        (0.000382, "382 µs"),
        (None, "—"),
        ("x", "—"),
    ],
)
def test_seconds_in_a_readable_unit(seconds, text):
    assert fmt_seconds(seconds) == text


def test_the_newest_file_is_rendered_with_its_provenance(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the file is named relative to the current folder
    folder = tmp_path / "benchmarks"
    _write(
        folder,
        "ci-20260101T000000Z.json",
        _document(datetime="2026-01-01T00:00:00+00:00"),
        age_s=3600,
    )
    _write(folder, "zz-older-but-later-name.json", _document(), age_s=7200)
    _write(folder, "ci-20261127T125449Z.json", _document())
    (folder / "notes.txt").write_text("not a benchmark")
    lines = benchmark_lines(tmp_path)
    text = "\n".join(lines)
    assert lines[0] == "## Timing benchmarks"
    assert "`benchmarks/ci-20261127T125449Z.json` (the newest of 3 there)" in text
    assert "saved 2026-11-27 12:54 UTC" in text
    assert "`ci-box`: AMD EPYC, 2 CPUs, Linux x86_64, CPython 3.11.7" in text
    assert "commit `52e8d63` with uncommitted changes" in text
    assert latest_benchmark_json(folder) == folder / "ci-20261127T125449Z.json"


def test_timings_table_per_group_fastest_first(tmp_path):
    _write(tmp_path / "benchmarks", "ci.json", _document())
    lines = benchmark_lines(tmp_path)
    rows = _rows(lines)
    assert rows["group benchmark"] == [
        "group",
        "benchmark",
        "median",
        "IQR",
        "min",
        "rounds",
        "vs fastest",
        "details",
    ]
    engine = rows["regularized_mlp_epoch `test_engine_epoch`"]
    loader = rows["regularized_mlp_epoch `test_dataloader_epoch`"]
    assert engine[2:7] == ["150 ms", "15 ms", "135 ms", "5", "1.00x"]
    assert loader[2] == "300 ms" and loader[6] == "2.00x"
    names = [key for key in rows if key.startswith("regularized_mlp_epoch ")]
    assert names == [
        "regularized_mlp_epoch `test_engine_epoch`",
        "regularized_mlp_epoch `test_dataloader_epoch`",
    ], "fastest first"
    assert rows["recipe epoch: mlp `test_recipe_epoch[mlp]`"][7] == "rows=4000, batches=1"
    assert rows["— `test_ungrouped`"][2] == "250 µs"


def test_asserted_ratios_say_whether_they_hold(tmp_path):
    _write(tmp_path / "benchmarks", "ci.json", _document())
    rows = _rows(benchmark_lines(tmp_path))
    assert rows["DataLoader loop / harness engine"][1:4] == ["1.85x", "≥ 1.5x", "yes"]
    assert rows["Ray / local, s per trial"][1:5] == ["3.40x", "≤ 3.0x", "**no**", "one worker each"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({RATIOS_KEY: []}, "No asserted ratios are recorded in this file."),
        ({RATIOS_KEY: None}, "No asserted ratios are recorded in this file."),
        ({"benchmarks": []}, "The file holds no timings"),
        (
            {"machine_info": {}, "commit_info": {}, "datetime": "yesterday"},
            "saved yesterday on unknown CPU.",
        ),
    ],
)
def test_partial_files_still_render(tmp_path, changes, expected):
    _write(tmp_path / "benchmarks", "ci.json", _document(**changes))
    assert expected in "\n".join(benchmark_lines(tmp_path))


@pytest.mark.parametrize("runs_root", ["no-runs", "empty-runs"])
def test_no_json_says_how_to_make_one(tmp_path, runs_root):
    (tmp_path / "empty-runs" / "benchmarks").mkdir(parents=True)
    lines = benchmark_lines(tmp_path / runs_root)
    body = [line for line in lines[1:] if line]
    assert len(body) == 1
    assert "No benchmark JSON in" in body[0] and "scripts/test.sh" in body[0]
    assert "--benchmark-enable --benchmark-json" in body[0]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"benchmarks": [{"name": "x"}]}',
        '{"benchmarks": [{"stats": null}]}',
        '{"machine_info": {}}',
    ],
)
def test_an_unreadable_file_is_one_line_not_a_crash(tmp_path, content):
    _write(tmp_path / "benchmarks", "broken.json", content)
    body = [line for line in benchmark_lines(tmp_path)[1:] if line]
    assert len(body) == 1
    # outside the current folder: by file name, no machine path
    assert body[0].startswith("`…/broken.json` is not a readable pytest-benchmark JSON (")


def test_a_real_pytest_benchmark_file_round_trips(tmp_path):
    """pytest-benchmark writes the JSON and the benchmarks' conftest adds the ratios."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(BENCH_CONFTEST.read_text())
    (tmp_path / "test_tiny.py").write_text(
        "def test_sum(benchmark, record_ratio):\n"
        "    benchmark.group = 'tiny'\n"
        "    benchmark.extra_info['n'] = 100\n"
        "    assert benchmark.pedantic(sum, args=(range(100),), rounds=3) == 4950\n"
        "    record_ratio('one / one', 1.0, '>=', 0.5, 'trivial')\n"
    )
    out = tmp_path / "runs" / "benchmarks" / "ci-test.json"
    out.parent.mkdir(parents=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--benchmark-enable",
            f"--benchmark-json={out}",
            "test_tiny.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(out.read_text())
    assert document[RATIOS_KEY][0] | {"test": "?"} == {
        "name": "one / one",
        "value": 1.0,
        "rule": ">=",
        "bound": 0.5,
        "holds": True,
        "detail": "trivial",
        "test": "?",
    }
    rows = _rows(benchmark_lines(tmp_path / "runs"))
    assert rows["tiny `test_sum`"][5] == "3"
    assert rows["tiny `test_sum`"][7] == "n=100"
    assert rows["one / one"][1:4] == ["1.00x", "≥ 0.5x", "yes"]
