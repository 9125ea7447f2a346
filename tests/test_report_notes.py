"""The report's notes around the verdict and the anytime numbers: the shared start-up counted,
the anytime section labelled and read against the verdict, coinciding targets merged."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial
from synthetic_run import make_run, write_caches

from harness.report.anytime_inputs import anytime_inputs, reach_targets
from harness.report.anytime_reach import _merged
from harness.report.load import load_run
from harness.report.verdict_notes import shared_note
from harness.report.write import write_report

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(sampler: str, repeat: int, xs: list[float]) -> SimpleNamespace:
    trials = []
    for number, x in enumerate(xs):
        trial = create_trial(value=x, params={"x": x}, distributions={"x": FloatDistribution(0, 1)})
        trial.number = number
        trials.append(trial)
    return SimpleNamespace(sampler=sampler, repeat=repeat, trials=trials)


def test_pairs_that_chose_a_shared_start_up_trial_are_counted():
    """Issue 17: 'the paired differences come from the trials after them' was false when both
    studies of a repeat chose the same start-up trial (a difference of 0 by construction)."""
    start = [0.1, 0.2, 0.3, 0.4]  # both samplers' first 4 trials, as TPE's start-up draws them
    studies = [
        _study("tpe", 0, [*start, 0.05, 0.06]),  # best: trial 3, shared
        _study("random", 0, [*start, 0.01, 0.02]),  # best: trial 3, shared
        _study("tpe", 1, [*start, 0.9, 0.8]),  # best: trial 4, its own
        _study("random", 1, [*start, 0.05, 0.7]),  # best: trial 5
    ]
    data = SimpleNamespace(
        studies=studies,
        of=lambda s: [st for st in studies if st.sampler == s],
        title=lambda s: {"tpe": "TPE"}.get(s, s),
        target=10,
        retrain={
            "records": [
                {"sampler": "tpe", "repeat": 0, "trial": 3},
                {"sampler": "random", "repeat": 0, "trial": 3},
                {"sampler": "tpe", "repeat": 1, "trial": 4},
                {"sampler": "random", "repeat": 1, "trial": 5},
            ]
        },
    )
    analysis = SimpleNamespace(pair=("tpe", "random"), pairs=[(0, 0.9, 0.9), (1, 0.91, 0.9)])
    text = " ".join(shared_note(data, analysis))  # type: ignore[arg-type]
    assert "the first 4 trials of TPE and random had identical configurations" in text
    assert "In 1 of 2 pairs (repeat 0) both studies chose one of those shared trials" in text
    assert "effectively 6 trials of TPE after its start-up against as many of random" in text
    assert "come from the trials after them" not in text


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notes")
    url = f"sqlite:///{folder / 'n.db'}"
    studies = make_run(url, "n", repeats=3, trials=10)
    write_caches(folder / "runs" / "n", studies)
    text = write_report("n", url, folder / "n.md", folder / "runs").path.read_text()
    return load_run("n", url, folder / "runs"), text


def test_the_anytime_section_says_what_it_measures_and_reads_it_against_the_verdict(small_run):
    data, text = small_run
    section = text[text.index("## Anytime performance") : text.index("### Win probability")]
    assert "## Anytime performance on the search's own objective" in section
    assert "optimistically biased by selection" in section
    records = data.retrain["records"]
    optimism = np.mean(
        [r["value"] - np.mean([x["val_auroc"] for x in r["results"]]) for r in records]
    )
    assert f"scored {optimism:.1e} lower on average than their search value (6 studies)" in section
    assert (
        "Read against the verdict: after 10 trials TPE - random in best validation AUROC" in section
    )
    assert "while the primary outcome, retrained test AUROC, is" in section


def test_targets_with_the_same_outcome_are_one(small_run):
    data, _ = small_run
    run = anytime_inputs(data)
    merged = _merged(run, data)
    outcomes = [needed for _, _, needed in merged]
    assert all(a != b for i, a in enumerate(outcomes) for b in outcomes[i + 1 :])
    labels = " = ".join(label for label, _, _ in merged)
    assert all(label in labels for label, _ in reach_targets(run, data))
