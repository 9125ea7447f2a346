"""Issue 17's paths to a wrong verdict, each through the real command line and the files it
leaves: a design changed after a look, a spent budget, a changed margin, pairs beyond the last
look at report time; and issue 18's look below 2 pairs.

The studies are replaced by a fake batch (tests/fake_compare.py) that writes the primary
outcome's retrain records, so every check runs in milliseconds; plan.json is read as plain
JSON, as a reader of the run folder would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_compare import FakeRun
from synthetic_run import make_run, write_caches

import harness.experiment.compare as compare
from harness.cli.app import run
from harness.report.write import write_report

ALPHA = 0.05


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """``harness compare --name d ...`` with fake batches; returns (exit code, stderr)."""
    fake = FakeRun(tmp_path / "runs" / "d", effect=0.0, sd=3e-3)
    monkeypatch.setattr(compare, "_run_batch", fake.batch)
    monkeypatch.setattr(compare.time, "monotonic", fake.clock)
    url = f"sqlite:///{tmp_path / 'd.db'}"

    def call(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = run(
            [
                "compare",
                "--name",
                "d",
                "--storage",
                url,
                "--runs-dir",
                str(tmp_path / "runs"),
                "--retrain-seeds",
                "1",
                "--bench-seeds",
                "0",
                "--reference-seeds",
                "0",
                *argv,
            ]
        )
        return code, capsys.readouterr().err

    call.plan = tmp_path / "runs" / "d" / "plan.json"  # type: ignore[attr-defined]
    call.fake = fake  # type: ignore[attr-defined]
    return call


def _levels(path: Path) -> list[float]:
    return [float(look["level"]) for look in json.loads(path.read_text())["looks"]]


def _refused(code: int, err: str, words: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert lines and lines[-1].startswith("harness: error: ") and words in lines[-1], err
    assert sum(line.startswith("harness: error: ") for line in lines) == 1


def test_a_bigger_design_after_a_spent_one_spends_nothing_more(cli):
    """Done when: --looks 2 --max-pairs 2, then --looks 2 4 6 --max-pairs 6 on the same run:
    refused in one line with exit 2, or the recorded levels sum to at most 0.05."""
    code, err = cli("--looks", "2", "--max-pairs", "2")
    assert code == 0, err
    assert _levels(cli.plan) == pytest.approx([ALPHA])
    code, err = cli("--looks", "2", "4", "6", "--max-pairs", "6")
    if code == 0:
        assert sum(_levels(cli.plan)) <= ALPHA + 1e-12
    else:
        _refused(code, err, "new run")
        assert _levels(cli.plan) == pytest.approx([ALPHA])


def test_a_fixed_design_then_a_sequential_one_stays_within_alpha(cli):
    """Issue 17: a fixed 5-pair design followed by the default design summed to 0.087."""
    assert cli("--repeats", "5")[0] == 0
    code, err = cli()
    if code == 0:
        assert sum(_levels(cli.plan)) <= ALPHA + 1e-12
    else:
        _refused(code, err, "new run")


def test_a_changed_design_after_a_look_spends_only_what_is_left(cli):
    """Issue 17: looks (5, 10) with at most 10 pairs, then the default design after the look
    at 5: the levels summed to 0.068."""
    code, err = cli("--looks", "5", "10", "--max-pairs", "10", "--time-budget", "0.001")
    assert code == 0, err
    assert len(_levels(cli.plan)) == 1
    code, err = cli()
    assert code == 0, err
    levels = _levels(cli.plan)
    assert len(levels) >= 2 and sum(levels) <= ALPHA + 1e-12, levels


def test_a_changed_margin_after_the_first_look_is_refused(cli):
    """Done when: --margin 0.002 after the first look: refused, exit 2, plan.json as it was."""
    assert cli("--looks", "5", "10", "--max-pairs", "10", "--time-budget", "0.001")[0] == 0
    before = cli.plan.read_bytes()
    _refused(*cli("--looks", "5", "10", "--max-pairs", "10", "--margin", "0.002"), "--margin")
    assert cli.plan.read_bytes() == before


def test_a_look_below_two_pairs_is_refused_before_anything_is_written(cli):
    """Issue 18, item 3: with --looks 1 3 every run printed '1 pair: a verdict needs at least
    2; stopping' and exited 0, recording no look."""
    _refused(*cli("--looks", "1", "3"), "--looks")
    assert not cli.plan.exists()
    assert cli.fake.batches == []


def test_the_time_budget_holds_when_pairs_slow_down(cli):
    """Done when (item 9): a 60-minute budget of pairs stays within 10%. Issue 17's run:
    pairs 1-5 took 6.7 min each, then 13.6 min (the machine's load doubled), and starting
    as many pairs as the first batch's pace allowed ran 74.5 minutes."""
    cli.fake.pace = [6.7 * 60, 13.6 * 60]
    code, err = cli("--time-budget", "60")
    assert code == 0, err
    assert cli.fake.now <= 1.1 * 3600, (cli.fake.batches, cli.fake.now / 60)


# ---------------------------------------------------------------- the report takes no look


def _plan(path: Path, looks: list[dict], max_pairs: int) -> None:
    """A plan.json as 'harness compare' writes it, with these looks recorded."""
    path.write_text(
        json.dumps(
            {
                "primary_outcome": "the paired difference",
                "pair": ["tpe", "random"],
                "retrain_seeds": 3,
                "declared_at": "2025-01-01 12:00:00 UTC",
                "plan": {
                    "looks": [2, max_pairs],
                    "max_pairs": max_pairs,
                    "alpha": ALPHA,
                    "margin": 0.001,
                    "spending": "Lan-DeMets",
                },
                "changes": [],
                "looks": looks,
            },
            indent=2,
        )
    )


def test_pairs_beyond_the_last_look_are_not_judged_by_the_report(tmp_path):
    """Done when: pairs beyond the last look at report time: no new look in the report, and
    plan.json unchanged. A run with 3 complete pairs whose only look was at 2."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    studies = make_run(url, "r", repeats=3, trials=8)
    folder = tmp_path / "runs" / "r"
    write_caches(folder, studies)
    look = {"pairs": 2, "level": 0.0201, "outcome": "undecided", "at": "2025-01-01 13:00:00 UTC"}
    _plan(folder / "plan.json", [look], max_pairs=6)
    before = (folder / "plan.json").read_bytes()
    text = write_report("r", url, tmp_path / "r.md", tmp_path / "runs").path.read_text()
    verdict = text[text.index("## Verdict") : text.index("\n## ", text.index("## Verdict") + 3)]
    table = [line for line in verdict.splitlines() if line.startswith("| ")]
    rows = [line.split("|")[1].strip() for line in table[1:]]
    assert rows == ["2"], table  # the recorded look only: none at 3
    assert "0.0201" in table[1], "the level as recorded, not as the plan would compute it"
    assert "1 pair(s) beyond the last look (at 2 pairs) are **not yet judged**" in verdict
    assert (folder / "plan.json").read_bytes() == before
    # the headline (and what would decide it) is the same without the unjudged pair
    retrain = json.loads((folder / "retrain.json").read_text())
    retrain["records"] = [r for r in retrain["records"] if r["repeat"] < 2]
    (folder / "retrain.json").write_text(json.dumps(retrain))
    again = write_report("r", url, tmp_path / "r2.md", tmp_path / "runs").path.read_text()
    headline = verdict.split("\n")[2]
    assert again[again.index("## Verdict") :].split("\n")[2] == headline


def test_the_report_shows_each_look_as_recorded(tmp_path):
    """A recorded look is shown with its own level, intervals and outcome, even where the
    pairs would be judged otherwise now."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    studies = make_run(url, "r", repeats=2, trials=8)
    folder = tmp_path / "runs" / "r"
    write_caches(folder, studies)
    look = {
        "pairs": 2,
        "level": 0.03,
        "outcome": "undecided",
        "at": "2025-01-01 13:00:00 UTC",
        "margin": 0.001,
        "mean": [1e-4, -0.0123, 0.0125, 0.97],
        "equivalence": [1e-4, -0.0111, 0.0113, 0.94],
        "tost_p": 0.61,
        "test": "paired t",
    }
    _plan(folder / "plan.json", [look], max_pairs=6)
    text = write_report("r", url, tmp_path / "r.md", tmp_path / "runs").path.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 2 |"))
    assert "0.0300" in row and "[-0.0123, +0.0125] (97.0%)" in row and "0.61" in row
    headline = text[text.index("## Verdict") :].split("\n")[2]
    assert "[-0.0123, +0.0125]" in headline and "97.0% CI" in headline
