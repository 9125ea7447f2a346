"""``harness bench devices``: bad input, a tiny CPU run, the floor arithmetic, the throughput
workers, and the report section from a hand-made document with GPU rows."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import torch

from harness.bench import devices as bench_devices
from harness.bench.config import DeviceBenchConfig
from harness.bench.devices import (
    add_cpu_ratios,
    floor_seconds,
    lab_epoch_seconds,
    modes,
    recipe_workload,
    search_workload,
    select_recipes,
    summarize,
    trainable_parameters,
)
from harness.bench.hardware import Device, cpu_count, list_devices
from harness.bench.throughput import ThroughputRun, measure_throughput, throughput_plan
from harness.cli.app import run
from harness.engine.train import ResidentSplits
from harness.errors import HarnessError
from harness.lab.recipes import load_recipes
from harness.report.devices import devices_lines

CUDA = torch.cuda.is_available()
NETWORK_RECIPES = "logistic_regression, mlp, regularized_mlp, normalizing_mlp"
TINY = ["--rows", "300", "--epochs", "2", "--no-throughput"]


def _one_line_error(capsys, code: int) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: "), err
    return lines[0]


# ---------------------------------------------------------------- command line


@pytest.mark.parametrize(
    ("argv", "piece"),
    [
        (["--epochs", "1"], "must be >= 2, but got 1"),
        (["--epochs", "three"], "must be an integer"),
        (["--shapes", "256"], "must be HIDDENxBATCH"),
        (["--shapes", "1x32"], "hidden >= 2"),
        (["--rows", "0"], "must be >= 1, but got 0"),
        (["--workers-per-gpu", "0"], "must be >= 1, but got 0"),
        (["--device", "tpu"], "invalid choice: 'tpu'"),
        (["--recipe", "mlp", "--no-recipes"], "not allowed with argument"),
        (["--shapes", "64x32", "--no-search"], "not allowed with argument"),
    ],
    ids=[
        "epochs 1",
        "epochs not int",
        "shape no x",
        "hidden 1",
        "rows 0",
        "workers 0",
        "bad device",
        "recipe and no-recipes",
        "shapes and no-search",
    ],
)
def test_argparse_errors(capsys, argv, piece):
    with pytest.raises(SystemExit) as caught:
        run(["bench", "devices", *argv])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: harness bench devices")
    assert piece in err


@pytest.mark.parametrize(
    ("argv", "pieces"),
    [
        (["--recipe", "resnet"], ["--recipe 'resnet' is unknown", NETWORK_RECIPES]),
        (["--recipe", "linear_regression"], ["is not a network", NETWORK_RECIPES]),
        (["--no-recipes", "--no-search"], ["nothing to time"]),
    ],
    ids=["unknown recipe", "linear regression", "nothing selected"],
)
def test_bad_selection_is_a_one_line_error(capsys, tmp_path, argv, pieces):
    code = run(["bench", "devices", *argv, *TINY, "--json", str(tmp_path / "d.json")])
    line = _one_line_error(capsys, code)
    for piece in pieces:
        assert piece in line
    assert not (tmp_path / "d.json").exists()


@pytest.mark.skipif(CUDA, reason="checks the message shown without CUDA")
def test_cuda_asked_for_without_cuda(capsys, tmp_path):
    code = run(["bench", "devices", "--device", "cuda", *TINY, "--json", str(tmp_path / "d.json")])
    assert "torch sees no CUDA device" in _one_line_error(capsys, code)


def test_help_explains_the_measurements(capsys):
    with pytest.raises(SystemExit):
        run(["bench", "devices", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for piece in ("seconds per epoch", "floor", "--workers-per-gpu", "--rows", "devices.json"):
        assert piece in text


def test_tiny_cpu_run_writes_the_records(capsys, tmp_path):
    path = tmp_path / "out" / "devices.json"
    argv = [
        "bench",
        "devices",
        "--device",
        "cpu",
        "--recipe",
        "normalizing_mlp",
        "--shapes",
        "32x128",
        *TINY,
        "--json",
        str(path),
    ]
    assert run(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "records written to" in out and "normalizing_mlp" in out
    document = json.loads(path.read_text())
    assert document["kind"] == "harness bench devices"
    for key in ("host", "date", "torch", "cpu", "cpu_count", "float32_matmul_precision"):
        assert key in document["environment"]
    assert document["settings"]["epochs"] == 2 and document["settings"]["rows"] == 300
    assert [d["name"] for d in document["devices"]] == ["cpu-1t", "cpu"]
    assert all(d["matmul"]["flops"] > 1e8 for d in document["devices"])
    records = document["records"]
    assert [(r["workload"], r["device"]) for r in records] == [  # workload by workload
        ("normalizing_mlp", "cpu-1t"),
        ("normalizing_mlp", "cpu"),
        ("search h32 b128", "cpu-1t"),
        ("search h32 b128", "cpu"),
    ]
    for record in records:
        assert record["status"] == "ok" and record["mode"] == "eager"
        assert record["train_rows"] == 300 and len(record["epoch_seconds"]) == 2
        assert record["first_epoch_s"] == record["epoch_seconds"][0]
        assert record["seconds_per_epoch"] == record["epoch_seconds"][1]
        assert record["samples_per_second"] == pytest.approx(300 / record["seconds_per_epoch"])
        assert 0 < record["floor_fraction"] < 1
    assert records[1]["cpu_ratio"] == pytest.approx(1.0)
    assert document["throughput"] == []


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_tiny_cuda_run_has_every_path(tmp_path):
    path = tmp_path / "devices.json"
    throughput = ["--workers-per-gpu", "1", "2", "--trials-per-worker", "1", "--trial-epochs", "1"]
    argv = [
        "bench",
        "devices",
        "--device",
        "cuda",
        "--recipe",
        "normalizing_mlp",
        "--shapes",
        "64x128",
        "--rows",
        "2000",
        "--epochs",
        "3",
        *throughput,
        "--json",
        str(path),
    ]
    assert run(argv) == 0
    document = json.loads(path.read_text())
    found = {(r["workload"], r["mode"]): r["status"] for r in document["records"]}
    assert found == {
        ("normalizing_mlp", "graph"): "ok",
        ("normalizing_mlp", "eager"): "ok",
        ("normalizing_mlp", "lab"): "ok",
        ("search h64 b128", "graph"): "ok",
        ("search h64 b128", "eager"): "ok",
    }
    assert [r["status"] for r in document["throughput"]] == ["ok", "ok"]
    assert document["devices"][0]["matmul"]["flops"] > 1e12


def test_lab_path_loop_runs(tiny_splits):
    """The lab's GPU path, run on CPU: the same loop but for the card (checked by the CUDA
    test above where there is one)."""
    recipe = load_recipes()["normalizing_mlp"]
    seconds = lab_epoch_seconds(recipe, tiny_splits.subset(500), epochs=2, device="cpu")
    assert len(seconds) == 2 and all(s > 0 for s in seconds)


def test_a_failing_path_is_recorded_not_raised(monkeypatch, tiny_splits):
    def capture_fails(*args, **kwargs):
        raise RuntimeError("CUDA error: operation not permitted when stream is capturing\nmore")

    monkeypatch.setattr(bench_devices, "harness_epoch_seconds", capture_fails)
    cpu = Device("cpu", "cpu", threads=1)
    splits = tiny_splits.subset(300)
    record = bench_devices.time_workload(
        search_workload(16, 64),
        "eager",
        splits,
        ResidentSplits(splits, torch.device("cpu")),
        cpu,
        epochs=2,
        flops=1e10,
    )
    assert record["status"] == "error: CUDA error: operation not permitted when stream is capturing"
    assert "seconds_per_epoch" not in record


# ---------------------------------------------------------------- arithmetic and selection


def test_floor_is_six_flops_per_parameter_and_row():
    assert floor_seconds(1000, 2000, 1.2e7) == pytest.approx(1.0)
    assert floor_seconds(61_697, 20_838, 1e12) == pytest.approx(6 * 61_697 * 20_838 / 1e12)


def test_summary_sets_the_first_epoch_apart():
    summary = summarize([5.0, 2.0, 4.0, 3.0], rows=300, floor=1.5)
    assert summary["first_epoch_s"] == 5.0
    assert summary["seconds_per_epoch"] == 3.0  # median of 2, 4, 3
    assert summary["samples_per_second"] == pytest.approx(100.0)
    assert summary["floor_fraction"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("workload", "parameters"),
    [
        (search_workload(64, 32), 108 * 64 + 64 + 64 * 32 + 32 + 32 + 1),
        (search_workload(1024, 512), 108 * 1024 + 1024 + 1024 * 512 + 512 + 512 + 1),
        ("logistic_regression", 108 + 1),
        # Linear, BatchNorm (weight and bias), twice, then the output layer
        ("normalizing_mlp", 108 * 256 + 256 + 2 * 256 + 256 * 128 + 128 + 2 * 128 + 128 + 1),
    ],
    ids=["search 64", "search 1024", "logistic", "normalizing"],
)
def test_trainable_parameters(workload, parameters):
    if isinstance(workload, str):
        workload = recipe_workload(load_recipes()[workload])
    assert trainable_parameters(workload, 108) == parameters


def test_cpu_ratio_is_cpu_seconds_over_own_seconds():
    records = [
        {"workload": "w", "device": "cpu-1t", "mode": "eager", "seconds_per_epoch": 4.0},
        {"workload": "w", "device": "cpu", "mode": "eager", "seconds_per_epoch": 2.0},
        {"workload": "w", "device": "cuda:0", "mode": "graph", "seconds_per_epoch": 0.1},
        {"workload": "w", "device": "cuda:0", "mode": "lab", "status": "error: x"},
        {"workload": "v", "device": "cuda:0", "mode": "graph", "seconds_per_epoch": 0.1},
    ]
    add_cpu_ratios(records)
    assert [r["cpu_ratio"] for r in records] == [0.5, 1.0, pytest.approx(20.0), None, None]


def test_recipe_selection():
    recipes = load_recipes()
    assert [r.name for r in select_recipes(recipes, None)] == NETWORK_RECIPES.split(", ")
    assert [r.name for r in select_recipes(recipes, ["mlp", "mlp"])] == ["mlp"]
    with pytest.raises(HarnessError, match="valid recipes: logistic_regression"):
        select_recipes(recipes, ["linear_regression"])


def test_modes_per_device():
    cpu, card = Device("cpu", "cpu", threads=2), Device("cuda:0", "cuda", index=0)
    normalizing = recipe_workload(load_recipes()["normalizing_mlp"])
    assert modes(normalizing, cpu) == ["eager"]
    assert modes(normalizing, card) == ["graph", "eager", "lab"]
    assert modes(search_workload(64, 32), card) == ["graph", "eager"]


def test_cpu_thread_count_is_restored():
    before = torch.get_num_threads()
    devices = list_devices("cpu")
    assert [(d.name, d.threads) for d in devices] == [("cpu-1t", 1), ("cpu", before)]
    config = DeviceBenchConfig(
        recipes=(), shapes=((16, 256),), device="cpu", rows=300, throughput=False
    )
    from harness.bench.devices import run_devices_bench
    from harness.lab.data import load_splits

    run_devices_bench(config, load_splits())
    assert torch.get_num_threads() == before


# ---------------------------------------------------------------- throughput workers


def test_throughput_plan():
    config = DeviceBenchConfig(recipes=(), workers_per_gpu=(1, 4))
    cpu = list_devices("cpu")
    plan = throughput_plan(
        config, [*cpu, Device("cuda:0", "cuda", index=0), Device("cuda:1", "cuda", index=1)]
    )
    cores = [("cpu", 1), ("cpu", cpu_count())]
    expected = [*dict.fromkeys(cores), ("cuda:0", 1), ("cuda:0", 4)]  # the first card only
    assert [(r.device, r.workers) for r in plan] == expected


@pytest.mark.slow
def test_throughput_workers_run_trials(tiny_config):
    record = measure_throughput(ThroughputRun("cpu", None, 2), tiny_config)
    assert record["status"] == "ok", record
    assert record["trials"] == 2 and record["trial_statuses"] == {"ok": 2}
    assert record["trials_per_minute"] == pytest.approx(2 * 60 / record["seconds"])


def test_a_failing_worker_is_an_error_record(tiny_config):
    config = DeviceBenchConfig(**{**tiny_config.__dict__, "data": "/nonexistent/adult.data"})
    record = measure_throughput(ThroughputRun("cpu", None, 1), config)
    assert record["status"].startswith("error: worker 0: HarnessError: data file not found")


@pytest.fixture
def tiny_config() -> DeviceBenchConfig:
    return DeviceBenchConfig(recipes=(), rows=300, trials_per_worker=1, trial_epochs=1)


# ---------------------------------------------------------------- report section


def _record(workload: str, device: str, mode: str, per_epoch: float, **extra) -> dict:
    rows = 20_838
    return {
        "workload": workload,
        "family": "recipe",
        "device": device,
        "mode": mode,
        "hidden": [256, 128],
        "batch_size": 128,
        "optimizer": "adamw",
        "parameters": 61_697,
        "train_rows": rows,
        "epochs": 3,
        "status": "ok",
        "epoch_seconds": [9 * per_epoch, per_epoch, per_epoch],
        "first_epoch_s": 9 * per_epoch,
        "seconds_per_epoch": per_epoch,
        "samples_per_second": rows / per_epoch,
        "floor_seconds": per_epoch / 50,
        "floor_fraction": 0.02,
        **extra,
    }


CPU = {
    "name": "cpu",
    "kind": "cpu",
    "description": "EPYC, 16 threads",
    "matmul": {"flops": 9.0e11, "size": 1024},
}
CARD = {
    "name": "cuda:0",
    "kind": "cuda",
    "description": "NVIDIA H100 80GB HBM3",
    "matmul": {"flops": 5.1e13, "size": 8192},
}
PARAMS = {"hidden_size": 256, "batch_size": 128}
HAND_MADE = {
    "kind": "harness bench devices",
    "environment": {
        "host": "gpu-box",
        "date": "2025-01-01 00:00 UTC",
        "torch": "2.13.0+cu126",
        "load_average_at_start": 0.5,
        "load_average_at_end": 1.25,
        "cpu_count": 16,
    },
    "settings": {"epochs": 3, "trials_per_worker": 3, "trial_epochs": 5},
    "devices": [CPU, CARD],
    "records": [
        _record("normalizing_mlp", "cpu", "eager", 1.0, cpu_ratio=1.0),
        _record("normalizing_mlp", "cuda:0", "graph", 0.05, cpu_ratio=20.0),
        _record("normalizing_mlp", "cuda:0", "eager", 0.2, cpu_ratio=5.0),
        _record("normalizing_mlp", "cuda:0", "lab", 0.6, cpu_ratio=1 / 0.6),
        {**_record("search h64 b32", "cuda:0", "graph", 0.1), "status": "error: capture failed"},
    ],
    "throughput": [
        {
            "device": "cuda:0",
            "workers": 1,
            "trials": 3,
            "status": "ok",
            "seconds": 6.0,
            "trials_per_minute": 30.0,
            "params": PARAMS,
        },
        {
            "device": "cuda:0",
            "workers": 4,
            "trials": 12,
            "status": "ok",
            "seconds": 8.0,
            "trials_per_minute": 90.0,
            "params": PARAMS,
        },
        {
            "device": "cuda:0",
            "workers": 8,
            "trials": 24,
            "status": "error: worker 3: boom",
            "params": PARAMS,
        },
    ],
}


def _cells(text: str, *first: str) -> list[str]:
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[: len(first)] == list(first):
            return cells
    raise AssertionError(f"no row starting with {first}")


def test_report_section_from_a_hand_made_document(tmp_path):
    (tmp_path / "devices.json").write_text(json.dumps(HAND_MADE))
    text = "\n".join(devices_lines(tmp_path))
    assert text.startswith("## Devices")
    assert "gpu-box" in text and "NVIDIA H100 80GB HBM3): 51.00 TFLOP/s" in text
    assert _cells(text, "normalizing_mlp", "cpu") == [
        "normalizing_mlp",
        "cpu",
        "eager",
        "61,697",
        "1",
        "9",
        "20,838",
        "1x",
        "2",
    ]
    assert _cells(text, "normalizing_mlp", "cuda:0", "graph")[4:] == [
        "0.05",
        "0.45",
        "416,760",
        "20x",
        "2",
    ]
    # the fast path against eager (4x) and the lab's path (12x), same run, same card
    fast = _cells(text, "normalizing_mlp", "cuda:0", "0.05")
    assert fast == ["normalizing_mlp", "cuda:0", "0.05", "0.2", "4x", "0.6", "12x"]
    assert (
        "normalizing_mlp on cuda:0: CUDA-graph path 0.05 s/epoch, the lab's path 0.6 "
        "s/epoch: 12.0x faster (same run, same card; goal >= 5x: met)" in text
    )
    assert _cells(text, "search h64 b32", "cuda:0", "graph")[4] == "error: capture failed"
    assert "search h64 b32 on cuda:0 (graph): error: capture failed" in text
    assert _cells(text, "cuda:0", "4") == ["cuda:0", "4", "12", "8.0", "90.0", "3x"]
    assert _cells(text, "cuda:0", "8")[3] == "error: worker 3: boom"
    assert "8 workers on cuda:0: error: worker 3: boom" in text
    assert "hidden_size 256, batch_size 128" in text
    assert "load average (1 min) 0.50 at start, 1.25 at end, on 16 cores" in text


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (
            {"gpus": ["NVIDIA H200"], "gpu_driver": "580.159.04"},
            ", NVIDIA H200 (driver 580.159.04);",
        ),
        ({"gpus": ["NVIDIA H200"], "gpu_driver": None}, ", NVIDIA H200;"),
        ({"gpus": []}, "torch 2.13.0+cu126;"),
    ],
)
def test_environment_line_names_the_card_and_its_driver(environment, expected):
    from harness.report.devices import environment_line

    document = {**HAND_MADE, "environment": {**HAND_MADE["environment"], **environment}}
    assert expected in environment_line(document)


def test_report_section_without_or_with_a_broken_document(tmp_path):
    lines = [line for line in devices_lines(tmp_path) if line]
    assert lines[0].startswith("## Devices") and len(lines) == 2
    assert re.search(r"run `harness bench devices --json .*devices\.json`", lines[1])
    (tmp_path / "devices.json").write_text("{not json")
    assert "cannot be read" in "\n".join(devices_lines(tmp_path))
    other = copy.deepcopy(HAND_MADE)
    other["kind"] = "something else"
    (tmp_path / "devices.json").write_text(json.dumps(other))
    assert "not a document written by" in "\n".join(devices_lines(tmp_path))


def test_cpu_only_document_has_no_gpu_tables(tmp_path):
    cpu_only = copy.deepcopy(HAND_MADE)
    cpu_only["records"] = cpu_only["records"][:1]
    cpu_only["throughput"] = []
    Path(tmp_path / "devices.json").write_text(json.dumps(cpu_only))
    text = "\n".join(devices_lines(tmp_path))
    assert "CUDA-graph fast path" not in text and "Study throughput" not in text
