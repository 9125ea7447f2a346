"""Fixtures of the timing benchmarks: one torch thread, and ratios recorded into the JSON.

A ratio a test asserts (engine against the DataLoader loop, Ray against local) is measured
inside that test, not by pytest-benchmark; ``record_ratio`` keeps it, and the hook below adds
the list to the ``--benchmark-json`` file under ``harness_ratios`` so the report can show the
ratios next to the timings they explain.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from harness.report.benchmarks import RATIOS_KEY

RATIOS = pytest.StashKey[list[dict[str, Any]]]()
RULES = {">=": lambda value, bound: value >= bound, "<=": lambda value, bound: value <= bound}

RecordRatio = Callable[..., None]


BENCH_ENGINE = Path(__file__).resolve().parents[2] / "scripts" / "bench_engine.py"


@pytest.fixture(scope="session")
def bench_engine() -> ModuleType:
    """``scripts/bench_engine.py`` (not a package module), loaded once: the tests time the
    same epochs the script prints as tables."""
    spec = importlib.util.spec_from_file_location("bench_engine", BENCH_ENGINE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread: with two, any other load on a 2-core machine makes both sides wait on
    each other's threads and the timings say nothing (seen: 0.16 s/epoch becoming 6 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def record_ratio(request: pytest.FixtureRequest) -> RecordRatio:
    """``record_ratio(name, value, rule, bound, detail)``: keep a measured ratio (call it before
    asserting, so a failing ratio is in the JSON too)."""

    def record(name: str, value: float, rule: str, bound: float, detail: str = "") -> None:
        if rule not in RULES:
            raise ValueError(f"rule must be one of {list(RULES)}, but got {rule!r}")
        request.config.stash.setdefault(RATIOS, []).append(
            {
                "name": name,
                "value": value,
                "rule": rule,
                "bound": bound,
                "holds": RULES[rule](value, bound),
                "detail": detail,
                "test": request.node.nodeid,
            }
        )

    return record


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any, output_json: dict) -> None:
    output_json[RATIOS_KEY] = config.stash.get(RATIOS, [])
