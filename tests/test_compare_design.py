"""harness compare's looks: pairs added up to each look, the first decided look ends the run,
the time budget ends it between looks with a last look, and a re-run continues the design.

The studies are replaced by a fake batch that writes retrain records (the primary outcome)
and advances a fake clock, so the loop is checked exactly and in milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import harness.experiment.compare as compare
from harness.experiment.config import CompareConfig
from harness.experiment.design import read_design
from harness.experiment.verdict import Plan

SECONDS_PER_PAIR = 600.0


class FakeRun:
    """Writes retrain.json records for repeats < pairs: TPE - random = effect + noise."""

    def __init__(self, directory: Path, effect: float, sd: float = 1e-3) -> None:
        self.directory, self.effect, self.sd = directory, effect, sd
        self.now, self.batches = 0.0, []
        self.noise = np.random.default_rng(0).normal(0.0, sd, 100)

    def clock(self) -> float:
        return self.now

    def batch(self, config, space, storage, directory, pairs, log) -> None:
        path = directory / "retrain.json"
        records = json.loads(path.read_text())["records"] if path.is_file() else []
        done = {r["repeat"] for r in records}
        new = [r for r in range(pairs) if r not in done]
        self.batches.append(pairs)
        for repeat in new:
            for sampler, auroc in (
                ("tpe", 0.91 + self.effect + self.noise[repeat]),
                ("random", 0.91),
            ):
                records.append(
                    {
                        "study": f"{config.run}/{sampler}/r{repeat}",
                        "sampler": sampler,
                        "repeat": repeat,
                        "trial": 0,
                        "results": [{"seed": 0, "status": "ok", "test_auroc": auroc}],
                    }
                )
        path.write_text(json.dumps({"records": records}))
        self.now += SECONDS_PER_PAIR * len(new)


def _run(tmp_path: Path, monkeypatch, fake: FakeRun, **config) -> list[str]:
    monkeypatch.setattr(compare, "_run_batch", fake.batch)
    monkeypatch.setattr(compare.time, "monotonic", fake.clock)
    lines: list[str] = []
    cfg = CompareConfig(run="d", runs_root=tmp_path, retrain_seeds=1, **config)
    compare._run_looks(cfg, None, None, tmp_path / "d", lines.append)
    return lines


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    (tmp_path / "d").mkdir()
    return tmp_path / "d"


def test_a_clear_difference_is_decided_at_the_first_look(tmp_path, directory, monkeypatch):
    fake = FakeRun(directory, effect=5e-3)
    lines = _run(tmp_path, monkeypatch, fake, plan=Plan())
    design = read_design(directory / "plan.json")
    assert fake.batches == [5]
    assert [look["pairs"] for look in design.looks] == [5]
    assert design.decided["outcome"] == "a_better"
    assert "verdict decided at 5 pairs: a better" in lines[-1]


def test_the_time_budget_ends_the_run_with_a_last_look(tmp_path, directory, monkeypatch):
    """60 minutes, 10 minutes a pair: the first look's 5 pairs take 50 minutes, one more pair
    fits, and the 6 pairs get a last look at the level the spending function gives them."""
    fake = FakeRun(directory, effect=0.0, sd=3e-3)
    lines = _run(tmp_path, monkeypatch, fake, plan=Plan(), time_budget_s=3600)
    design = read_design(directory / "plan.json")
    assert fake.batches == [5, 6]
    assert [look["pairs"] for look in design.looks] == [5, 6]
    assert design.looks[1]["level"] == pytest.approx(Plan().level(6, 5))
    assert any("time budget of 60 min reached: stopping at 6 pairs" in line for line in lines)
    # a re-run continues the same design: a fresh budget takes it to the next look, 10
    fake.now = 0.0
    _run(tmp_path, monkeypatch, fake, plan=Plan(), time_budget_s=3600)
    design = read_design(directory / "plan.json")
    assert [look["pairs"] for look in design.looks][:3] == [5, 6, 10]
    assert design.changes == []


def test_a_budget_with_no_room_takes_no_new_pair(tmp_path, directory, monkeypatch):
    fake = FakeRun(directory, effect=0.0, sd=3e-3)
    lines = _run(tmp_path, monkeypatch, fake, plan=Plan(), time_budget_s=3000)
    assert fake.batches == [5]
    assert any("time budget of 50 min used: stopping at 5 pairs" in line for line in lines)


def test_a_changed_design_is_recorded(tmp_path, directory, monkeypatch):
    fake = FakeRun(directory, effect=0.0, sd=3e-3)
    _run(tmp_path, monkeypatch, fake, repeats=3)
    lines = _run(tmp_path, monkeypatch, fake, repeats=4)
    design = read_design(directory / "plan.json")
    assert design.plan == Plan.fixed(4)
    assert len(design.changes) == 1 and design.changes[0]["after_looks"] == 3
    assert any("the error rate holds only for the design as first declared" in x for x in lines)
