"""harness compare's looks: pairs added up to each look, the first decided look ends the run,
the time budget ends it between looks with a last look, and a re-run continues the design.

The studies are replaced by a fake batch that writes retrain records (the primary outcome)
and advances a fake clock, so the loop is checked exactly and in milliseconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fake_compare import FakeRun

import harness.experiment.compare as compare
from harness.errors import HarnessError
from harness.experiment.config import CompareConfig
from harness.experiment.design import read_design
from harness.experiment.verdict import Plan


def _run(tmp_path: Path, monkeypatch, fake: FakeRun, **config) -> list[str]:
    monkeypatch.setattr(compare, "_run_batch", fake.batch)
    monkeypatch.setattr(compare.time, "monotonic", fake.clock)
    lines: list[str] = []
    config = {"retrain_seeds": 1, **config}
    cfg = CompareConfig(run="d", runs_root=tmp_path, **config)
    compare._run_looks(cfg, cfg.design, None, None, tmp_path / "d", lines.append)
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
    assert [look.pairs for look in design.looks] == [5]
    assert design.decided.outcome == "a_better"
    assert "verdict decided at 5 pairs: a better" in lines[-1]


def test_the_time_budget_ends_the_run_with_a_last_look(tmp_path, directory, monkeypatch):
    """80 minutes, 10 minutes a pair: the first look's 5 pairs take 50 minutes; a pair may take
    1.5 x the slowest so far (15 min), so two more fit, and the 7 pairs get a last look at the
    level the spending function gives them."""
    fake = FakeRun(directory, effect=0.0, sd=3e-3)
    lines = _run(tmp_path, monkeypatch, fake, plan=Plan(), time_budget_s=4800)
    design = read_design(directory / "plan.json")
    assert fake.batches == [5, 7]
    assert [look.pairs for look in design.looks] == [5, 7]
    assert design.looks[1].level == pytest.approx(Plan().level(7, 5))
    assert any("time budget of 80 min reached: stopping at 7 pairs" in line for line in lines)
    # a re-run continues the same design: a fresh budget takes it to the next look, 10
    fake.now = 0.0
    _run(tmp_path, monkeypatch, fake, plan=Plan(), time_budget_s=4800)
    design = read_design(directory / "plan.json")
    assert [look.pairs for look in design.looks][:3] == [5, 7, 10]
    assert design.changes == []


def test_a_budget_with_no_room_takes_no_new_pair(tmp_path, directory, monkeypatch):
    fake = FakeRun(directory, effect=0.0, sd=3e-3)
    lines = _run(tmp_path, monkeypatch, fake, plan=Plan(), time_budget_s=3600)
    assert fake.batches == [5]
    assert any("time budget of 60 min used" in line for line in lines)


def test_the_time_budget_holds_when_pairs_slow_down(tmp_path, directory, monkeypatch):
    """Issue 17's run: pairs 1-5 took 6.7 min each, the next ones 13.6 min (the machine's load
    doubled). Starting as many pairs as the first batch's pace allowed ran 74.5 min of a
    60-minute budget; the cautious estimate keeps the run within 10% of it."""
    fake = FakeRun(directory, effect=0.0, sd=3e-3)
    fake.pace = [6.7 * 60, 13.6 * 60]  # seconds per pair of the first batch, then of the rest
    _run(tmp_path, monkeypatch, fake, plan=Plan(), time_budget_s=3600)
    assert fake.now <= 1.1 * 3600, (fake.batches, fake.now / 60)
    assert len(fake.batches) == 2, "a second batch still fits"


def test_a_changed_design_continues_from_what_was_spent(tmp_path, directory, monkeypatch):
    """Issue 17: looks (5, 10) with at most 10 pairs, then the default design after the look
    at 5 summed to 0.068. The new design shares only what is left."""
    fake = FakeRun(directory, effect=0.0, sd=3e-3)
    _run(tmp_path, monkeypatch, fake, plan=Plan(looks=(5, 10), max_pairs=10), time_budget_s=1)
    first = read_design(directory / "plan.json")
    assert [look.pairs for look in first.looks] == [5] and first.decided is None
    lines = _run(tmp_path, monkeypatch, fake, plan=Plan())
    design = read_design(directory / "plan.json")
    levels = [look.level for look in design.looks]
    assert sum(levels) <= 0.05 + 1e-12
    assert len(design.changes) == 1 and design.changes[0]["after_looks"] == 5
    assert design.changes[0]["spent"] == pytest.approx(first.looks[0].level)
    if design.decided is None:  # ran to the end: everything left was spent, no more
        assert sum(levels) == pytest.approx(0.05)
    assert any("changes after 5 pairs were looked at" in line for line in lines)


@pytest.mark.parametrize(
    "first, then, words",
    [
        ({"repeats": 3}, {"repeats": 4}, "has spent its whole 0.05 error rate"),
        (
            {"plan": Plan(looks=(2,), max_pairs=2)},
            {"plan": Plan(looks=(2, 4, 6), max_pairs=6)},
            "has spent its whole 0.05 error rate",
        ),
        ({"plan": Plan()}, {"plan": Plan(margin=0.002)}, "cannot change --margin ±0.001 -> ±0.002"),
        (
            {"plan": Plan()},
            {"plan": Plan(), "samplers": ("tpe", "qmc")},
            "cannot change the sampler pair tpe - random -> tpe - qmc",
        ),
        (
            {"plan": Plan()},
            {"plan": Plan(), "retrain_seeds": 2},
            "cannot change --retrain-seeds (the primary outcome) 1 -> 2",
        ),
        (
            {"plan": Plan(looks=(5, 10), max_pairs=10)},
            {"plan": Plan(looks=(3, 4), max_pairs=4)},
            "--max-pairs must exceed the 5 pairs already looked at",
        ),
    ],
)
def test_what_a_run_may_not_change_after_a_look_is_refused(
    tmp_path, directory, monkeypatch, first, then, words
):
    """One line (HarnessError), plan.json as it was, no batch run."""
    fake = FakeRun(directory, effect=0.0, sd=3e-3)
    _run(tmp_path, monkeypatch, fake, time_budget_s=1, **first)
    before = (directory / "plan.json").read_bytes()
    batches = list(fake.batches)
    with pytest.raises(HarnessError, match=re.escape(words)) as refused:
        _run(tmp_path, monkeypatch, fake, **then)
    message = str(refused.value)
    assert "\n" not in message and ("new run" in message or "--max-pairs" in message)
    assert (directory / "plan.json").read_bytes() == before
    assert fake.batches == batches


def test_a_decided_run_refuses_another_design(tmp_path, directory, monkeypatch):
    fake = FakeRun(directory, effect=5e-3)
    _run(tmp_path, monkeypatch, fake, plan=Plan())
    with pytest.raises(HarnessError, match=re.escape("was decided (a better) at 5 pairs")):
        _run(tmp_path, monkeypatch, fake, plan=Plan(looks=(5, 10), max_pairs=10))
    # the same design again is no change: nothing to run, nothing refused
    _run(tmp_path, monkeypatch, fake, plan=Plan())
    assert fake.batches == [5]


def test_a_design_may_change_freely_before_its_first_look(tmp_path, directory, monkeypatch):
    design_path = directory / "plan.json"
    from harness.experiment.design import declare

    declare(design_path, Plan(), ("tpe", "random"), 5, log=lambda text: None)
    declare(design_path, Plan(margin=0.002), ("tpe", "qmc"), 3, log=lambda text: None)
    design = read_design(design_path)
    assert design.plan.margin == 0.002 and design.pair == ("tpe", "qmc")
    assert design.changes[0]["after_looks"] == 0


@pytest.mark.parametrize(
    "kwargs", [{"looks": (1, 3)}, {"looks": (1,), "max_pairs": 1}, {"max_pairs": 1}]
)
def test_a_look_below_two_pairs_is_refused_when_declared(kwargs):
    """Issue 18, item 3: '--looks 1 3' recorded no look, ever."""
    with pytest.raises(HarnessError, match="2"):
        Plan(**kwargs)


def test_a_run_declared_before_looks_kept_intervals_continues(tmp_path, directory, monkeypatch):
    """A plan.json of the earlier format (looks with pairs, level and outcome only) is read,
    continued from what its look spent, and written back without inventing intervals."""
    import json

    old = {
        "primary_outcome": "the paired difference",
        "pair": ["tpe", "random"],
        "retrain_seeds": 1,
        "declared_at": "2026-11-29 00:05:21 UTC",
        "plan": {"looks": [5, 10, 15, 20, 30], "max_pairs": 30, "alpha": 0.05, "margin": 0.001},
        "changes": [],
        "looks": [{"pairs": 5, "level": Plan().level(5, 0), "outcome": "undecided", "at": "x"}],
    }
    (directory / "plan.json").write_text(json.dumps(old))
    fake = FakeRun(directory, effect=0.0, sd=3e-3)
    fake.batch(CompareConfig(run="d", runs_root=tmp_path), None, None, directory, 5, None)
    _run(tmp_path, monkeypatch, fake, plan=Plan(), time_budget_s=1)
    written = json.loads((directory / "plan.json").read_text())
    assert "mean" not in written["looks"][0] and written["looks"][1]["pairs"] == 10
    assert written["looks"][1]["level"] == pytest.approx(Plan().level(10, 5))
    assert len(written["looks"][1]["mean"]) == 4
