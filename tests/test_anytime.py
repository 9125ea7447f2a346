"""harness.report.anytime: the numbers of the anytime sections, checked on hand-made inputs, by
brute force, and against SciPy; and the sections on a synthetic run without a random sampler."""

from __future__ import annotations

import itertools

import numpy as np
import optuna
import pytest
from scipy import stats as scipy_stats
from synthetic_run import make_run

from harness.errors import HarnessError
from harness.report.anytime import (
    MIN_REPEATS_FOR_CI,
    aggregate,
    band_label,
    expected_best_of_n,
    iqm,
    normalised_regret,
    paired_difference,
    reach_ecdf,
    win_probability,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize(
    ("values", "maximize"),
    [
        ([0.1, 0.5, 0.5, 0.9], True),  # a tie among the values
        ([0.1, 0.5, 0.5, 0.9], False),
        ([3.0, -1.0, 2.0], True),
        ([0.7], True),  # one value: every draw is it
    ],
)
def test_expected_best_of_n_matches_enumeration(values, maximize):
    """Every ordered n-tuple of draws with replacement is equally likely: their mean best is
    the exact expectation."""
    pick = max if maximize else min
    for n in (1, 2, 3, 4):
        tuples = list(itertools.product(values, repeat=n))
        brute = np.mean([pick(t) for t in tuples])
        assert expected_best_of_n(values, n, maximize)[0] == pytest.approx(brute, abs=1e-12)
    assert expected_best_of_n(values, [1, 2, 3], maximize) == pytest.approx(
        [np.mean([pick(t) for t in itertools.product(values, repeat=n)]) for n in (1, 2, 3)]
    )


def test_expected_best_of_n_agrees_with_monte_carlo():
    rng = np.random.default_rng(0)
    values = rng.normal(size=25)
    draws = rng.choice(values, size=(200_000, 7)).max(axis=1)
    assert expected_best_of_n(values, 7)[0] == pytest.approx(draws.mean(), abs=0.01)
    assert expected_best_of_n(values, 1)[0] == pytest.approx(values.mean())


@pytest.mark.parametrize(("values", "n"), [([], 1), ([0.5], 0), ([np.nan], 2)])
def test_expected_best_of_n_rejects_bad_input(values, n):
    with pytest.raises(HarnessError):
        expected_best_of_n(values, n)


def test_normalised_regret_hand_case():
    # random search's expected best after 1 and 2 trials: 0.80 and 0.85; best known 0.90
    reference = np.array([0.80, 0.85])
    assert normalised_regret(np.array([0.90, 0.90]), 0.90, reference) == pytest.approx([0, 0])
    assert normalised_regret(np.array([0.80, 0.85]), 0.90, reference) == pytest.approx([1, 1])
    assert normalised_regret(np.array([0.70, 0.875]), 0.90, reference) == pytest.approx([2, 0.5])
    # minimisation mirrors it: best known 0.2, random's expectation 0.4
    assert normalised_regret(np.array([0.2, 0.4, 0.3]), 0.2, 0.4, False) == pytest.approx(
        [0, 1, 0.5]
    )
    # no random sampler: plain regret, in the objective's units and >= 0 both ways
    assert normalised_regret(np.array([0.85]), 0.9, None) == pytest.approx([0.05])
    assert normalised_regret(np.array([0.25]), 0.2, None, False) == pytest.approx([0.05])
    # random search's expectation equal to the best known: nothing to normalise by
    assert np.isnan(normalised_regret(np.array([0.9]), 0.9, 0.9)).all()


def test_iqm_is_scipy_trim_mean():
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(11, 6))
    assert iqm(matrix) == pytest.approx(scipy_stats.trim_mean(matrix, 0.25, axis=0))
    assert iqm([1.0, 2.0, 3.0, 4.0, 100.0]) == pytest.approx(3.0)  # one cut from each end
    assert iqm([1.0, 2.0, 9.0]) == pytest.approx(4.0)  # fewer than 4 values: the mean


def test_band_is_the_range_below_ten_repeats():
    rng = np.random.default_rng(2)
    few = rng.normal(size=(MIN_REPEATS_FOR_CI - 1, 5))
    agg = aggregate(few)
    assert not agg.is_ci
    assert agg.low == pytest.approx(few.min(axis=0))
    assert agg.high == pytest.approx(few.max(axis=0))
    assert agg.centre == pytest.approx(scipy_stats.trim_mean(few, 0.25, axis=0))
    assert agg.band_label == "range (min-max) of the 9 repeats, not a CI"
    assert "CI of" not in band_label(3) and "range" in band_label(3)


def test_band_is_a_bootstrap_ci_from_ten_repeats():
    rng = np.random.default_rng(3)
    many = rng.normal(size=(12, 4))
    agg = aggregate(many, resamples=500, seed=5)
    assert agg.is_ci
    assert agg.band_label == "95% bootstrap CI of the IQM (12 repeats)"
    expected = scipy_stats.bootstrap(
        (many,),
        lambda x, axis: scipy_stats.trim_mean(x, 0.25, axis=axis),
        n_resamples=500,
        method="percentile",
        rng=np.random.default_rng(5),
    ).confidence_interval
    assert agg.low == pytest.approx(expected.low)
    assert agg.high == pytest.approx(expected.high)
    again = aggregate(many, resamples=500, seed=5)
    assert again.low == pytest.approx(agg.low)  # a fixed seed: the same band every time


def test_aggregate_starts_once_every_repeat_has_a_value():
    matrix = np.array([[np.nan, 1.0, 2.0], [0.5, 1.5, 2.5], [0.0, 0.5, 1.0]])
    agg = aggregate(matrix)
    assert np.isnan([agg.centre[0], agg.low[0], agg.high[0]]).all()
    assert agg.centre[1:] == pytest.approx([1.0, 5.5 / 3])


@pytest.mark.parametrize(
    ("a", "b", "maximize", "expected"),
    [
        ([1, 2, 3, np.nan], [1, 3, 2, np.nan], True, 0.5),  # tie, loss, win, tie (none found)
        ([1, 2, 3], [0, 0, 0], True, 1.0),
        ([1, 2, 3], [0, 0, 0], False, 0.0),
        ([0.9, np.nan], [np.nan, np.nan], True, 0.75),  # a value beats nothing found yet
        ([0.5, 0.5, 0.5], [0.5, 0.5, 0.4], True, 4 / 6),
    ],
)
def test_win_probability_counts_ties_as_half(a, b, maximize, expected):
    p, pairs = win_probability(a, b, maximize)
    assert p == pytest.approx(expected)
    assert pairs == len(a)


def test_win_probability_needs_pairs():
    with pytest.raises(HarnessError, match="equal-length"):
        win_probability([1.0], [1.0, 2.0])
    assert win_probability([], [])[1] == 0


def test_paired_difference_is_a_student_t_interval():
    a, b = [0.5, 0.7, 0.4, 0.9], [0.6, 0.6, 0.6, 0.6]
    d = paired_difference(a, b)
    expected = scipy_stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (d.mean, d.low, d.high, d.pairs) == pytest.approx(
        (0.025, expected.low, expected.high, 4)
    )
    assert np.isnan(paired_difference([1.0], [0.0]).low)  # one pair: no interval
    assert np.isnan(paired_difference([1.0, 2.0], [0.0, 1.0]).low)  # no spread: no interval


def test_reach_ecdf_is_kaplan_meier_with_censoring():
    """Hand-computed Kaplan-Meier: repeats reach the target at trials 2, 6 and 8; one stopped
    after 4 trials without reaching it (censored). S(2) = 3/4; at 6 two are at risk, so
    S(6) = 3/4 * 1/2 = 3/8; S(8) = 0. The ECDF is 1 - S: 1/4, 5/8, 1."""
    curve = reach_ecdf([2, None, 6, 8], [10, 4, 10, 10])
    by_trial = dict(zip(curve.trials, curve.fraction, strict=True))
    assert by_trial[2] == pytest.approx(0.25)
    assert by_trial[4] == pytest.approx(0.25)  # a censoring is no step
    assert by_trial[6] == pytest.approx(5 / 8)
    assert by_trial[8] == pytest.approx(1.0)
    assert curve.median == 6  # the first trial count with a fraction of at least 1/2
    assert (curve.reached, curve.repeats, list(curve.censored_at)) == (3, 4, [4.0])
    # the same as SciPy's Kaplan-Meier survival function, read directly
    km = scipy_stats.ecdf(scipy_stats.CensoredData(uncensored=[2, 6, 8], right=[4]))
    assert 1 - km.sf.evaluate(np.array([2, 6, 8])) == pytest.approx([0.25, 5 / 8, 1.0])


def test_reach_ecdf_with_one_budget():
    """All censored at the same budget: the plain fraction of repeats, and a median beyond the
    budget when fewer than half reached the target."""
    curve = reach_ecdf([3, 5, 5, 8, None, None], 10)
    by_trial = dict(zip(curve.trials, curve.fraction, strict=True))
    assert by_trial[5] == pytest.approx(0.5)
    assert by_trial[8] == pytest.approx(4 / 6)
    assert curve.median == 5
    assert reach_ecdf([None, None, 7], 10).median == np.inf
    assert reach_ecdf([None, None], 10).reached == 0
    assert reach_ecdf([], 10).repeats == 0


def test_report_without_a_random_sampler_shows_plain_regret(tmp_path):
    from harness.report.write import write_report

    url = f"sqlite:///{tmp_path / 'solo.db'}"
    make_run(url, "solo", repeats=2, trials=6, samplers=("tpe",))
    result = write_report("solo", url, tmp_path / "solo.md", tmp_path / "runs")
    assert result.verdict is None  # one sampler: no verdict for 'harness run' to print
    text = result.path.read_text()
    assert (
        "## Anytime performance on the search's own objective: regret (validation AUROC) by trial"
        in text
    )
    assert "This run has no random sampler" in text
    assert "all completed trials of the run (it has no random sampler)" in text
    assert "range (min-max) of the 2 repeats, not a CI" in text
    assert (tmp_path / "solo_figures" / "regret_by_trial.png").is_file()
