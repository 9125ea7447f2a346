"""harness.report.stats on known inputs: curves, the bootstrap band, the paired Wilcoxon test."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from scipy import stats as scipy_stats

from harness.errors import HarnessError
from harness.report.stats import (
    best_so_far,
    bootstrap_median_band,
    completion_seconds,
    min_exact_p,
    paired_wilcoxon,
    rank_biserial,
    stack,
    time_curve,
    trial_curve,
    trials_to_reach,
    verdict,
)

NAN = math.nan


@pytest.mark.parametrize(
    ("values", "maximize", "expected"),
    [
        ([0.5, 0.7, 0.6, 0.9], True, [0.5, 0.7, 0.7, 0.9]),
        ([0.5, 0.7, 0.6, 0.9], False, [0.5, 0.5, 0.5, 0.5]),
        ([NAN, 0.6, NAN, 0.8, 0.7], True, [NAN, 0.6, 0.6, 0.8, 0.8]),
        ([0.3, 0.2, NAN, 0.25], False, [0.3, 0.2, 0.2, 0.2]),
        ([], True, []),
    ],
)
def test_best_so_far(values, maximize, expected):
    np.testing.assert_array_equal(best_so_far(values, maximize), np.array(expected, dtype=float))


def _trial(number, value, start_s, seconds, state=TrialState.COMPLETE):
    origin = datetime(2025, 1, 1)
    trial = create_trial(
        state=state,
        value=value if state == TrialState.COMPLETE else None,
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0, 1)},
    )
    trial.number = number
    trial.datetime_start = origin + timedelta(seconds=start_s)
    trial.datetime_complete = origin + timedelta(seconds=start_s + seconds)
    return trial


def test_trial_curve_skips_failed_trials_and_orders_by_number():
    trials = [
        _trial(2, 0.80, 20, 5),
        _trial(0, 0.70, 0, 5),
        _trial(1, None, 10, 5, TrialState.FAIL),
        _trial(3, 0.75, 30, 5),
    ]
    np.testing.assert_array_equal(trial_curve(trials), [0.70, 0.80, 0.80])
    np.testing.assert_array_equal(trial_curve(trials, maximize=False), [0.70, 0.70, 0.70])


def test_a_pruned_trial_counts_as_a_trial_without_a_value():
    trials = [
        _trial(0, None, 0, 5, TrialState.PRUNED),
        _trial(1, 0.70, 10, 5),
        _trial(2, None, 20, 5, TrialState.PRUNED),
        _trial(3, 0.75, 30, 5),
    ]
    np.testing.assert_array_equal(trial_curve(trials), [NAN, 0.70, 0.70, 0.75])
    seconds, values = completion_seconds(trials, limit=3)
    np.testing.assert_array_equal(seconds, [5, 15, 25])
    np.testing.assert_array_equal(values, [NAN, 0.70, NAN])


def test_time_curve_uses_completion_times_from_the_first_start():
    # Two workers: trial 1 finishes before trial 0; the failed trial starts the clock.
    trials = [
        _trial(0, 0.70, 10, 50),  # completes at 60 s
        _trial(1, 0.80, 10, 20),  # completes at 30 s
        _trial(2, None, 0, 5, TrialState.FAIL),
        _trial(3, 0.90, 60, 30),  # completes at 90 s
    ]
    seconds, values = completion_seconds(trials)
    np.testing.assert_array_equal(seconds, [30, 60, 90])
    np.testing.assert_array_equal(values, [0.80, 0.70, 0.90])
    grid = np.array([0, 29.9, 30, 59, 60, 89, 90, 200])
    expected = [NAN, NAN, 0.80, 0.80, 0.80, 0.80, 0.90, 0.90]
    np.testing.assert_array_equal(time_curve(seconds, values, grid), expected)
    # only the first two completed trials (by number): 0 and 1
    seconds, values = completion_seconds(trials, limit=2)
    np.testing.assert_array_equal(seconds, [30, 60])


def test_time_curve_cuts_out_an_interruption():
    # trials 0-1 run, the study is stopped for an hour, then resumed with trial 2
    trials = [_trial(0, 0.70, 0, 10), _trial(1, 0.75, 10, 10), _trial(2, 0.80, 3620, 10)]
    seconds, _ = completion_seconds(trials)
    np.testing.assert_array_equal(seconds, [10, 20, 30])  # the 3600 s idle gap is cut
    seconds, _ = completion_seconds(trials, max_idle=None)
    np.testing.assert_array_equal(seconds, [10, 20, 3630])
    # a short pause (the driver sampling, a worker starting) is kept
    seconds, _ = completion_seconds([_trial(0, 0.7, 0, 10), _trial(1, 0.8, 40, 10)])
    np.testing.assert_array_equal(seconds, [10, 50])


def test_stack_pads_with_nan_and_cuts():
    out = stack([np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])], length=3)
    np.testing.assert_array_equal(out, [[1, 2, NAN], [3, 4, 5]])
    np.testing.assert_array_equal(stack([np.array([1.0, 2.0, 3.0])], length=2), [[1, 2]])


def _loop_band(sample: np.ndarray, resamples: int, seed: int, confidence: float):
    """The percentile bootstrap written as a plain loop over the same random draws."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, sample.shape[0], size=(resamples, sample.shape[0]))
    medians = np.array([np.median(sample[r], axis=0) for r in rows])
    tail = 100 * (1 - confidence) / 2
    return np.percentile(medians, [tail, 100 - tail], axis=0)


def test_bootstrap_band_on_a_fixed_sample():
    sample = np.array([[0.80, 0.85], [0.82, 0.86], [0.78, 0.90], [0.84, 0.88], [0.81, 0.87],
                       [0.79, 0.89], [0.83, 0.84]])  # fmt: skip
    band = bootstrap_median_band(sample, resamples=2000, seed=7)
    np.testing.assert_allclose(band.median, [0.81, 0.87])
    low, high = _loop_band(sample, 2000, 7, 0.95)
    np.testing.assert_allclose(band.low, low)
    np.testing.assert_allclose(band.high, high)
    # Medians of 7 resampled values are sample values, so the band's ends are too; for this
    # sample and seed they are the 2nd..6th order statistics (a known, hand-checkable result).
    np.testing.assert_allclose(band.low, [0.79, 0.85])
    np.testing.assert_allclose(band.high, [0.83, 0.89])
    # the same seed gives the same band; another seed may differ but stays in the sample range
    again = bootstrap_median_band(sample, resamples=2000, seed=7)
    np.testing.assert_array_equal(again.low, band.low)
    assert (band.low <= band.median).all() and (band.median <= band.high).all()


def test_bootstrap_band_agrees_with_scipy_percentile_bootstrap():
    rng = np.random.default_rng(1)
    sample = rng.normal(0.9, 0.01, size=25)
    ours = bootstrap_median_band(sample[:, None], resamples=4000, seed=3)
    theirs = scipy_stats.bootstrap((sample,), np.median, method="percentile",
                                   n_resamples=4000, rng=np.random.default_rng(3))  # fmt: skip
    interval = theirs.confidence_interval
    assert ours.low[0] == pytest.approx(interval.low, abs=0.002)
    assert ours.high[0] == pytest.approx(interval.high, abs=0.002)


def test_bootstrap_band_ignores_missing_values_and_keeps_all_missing_columns_empty():
    sample = np.array([[NAN, 1.0], [NAN, 1.0], [NAN, 1.0]])
    band = bootstrap_median_band(sample, resamples=50, seed=0)
    assert np.isnan(band.median[0]) and np.isnan(band.low[0])
    assert band.low[1] == band.high[1] == 1.0  # no spread, no band


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 1.0}, "confidence must be in (0, 1)"),
        ({"resamples": 0}, "resamples must be >= 1"),
    ],
)
def test_bootstrap_band_rejects_bad_settings(kwargs, message):
    with pytest.raises(HarnessError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bootstrap_median_band(np.ones((3, 2)), **kwargs)


PERMUTATION = "exact permutation, ties or zeros present"
PAIRS = [
    # (a, b, the method named): no ties, float ties, ties, zeros, many pairs
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.5], [0.0, 4.0, 0.5, 0.0, 9.5, 0.5, 0.5], "exact"),
    ([0.91, 0.92, 0.905, 0.915, 0.93, 0.918, 0.911], [0.90, 0.915, 0.91, 0.9, 0.92, 0.91, 0.902],
     PERMUTATION),
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0.0, 1.0, 2.0, 5.0, 4.0, 5.0], PERMUTATION),
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [1.0, 2.5, 2.0, 4.0, 3.0, 7.5, 4.0], PERMUTATION),
    (list(np.linspace(0, 1, 60) + np.sin(np.arange(60))), list(np.linspace(0, 1, 60)),
     "normal approximation"),
]  # fmt: skip


@pytest.mark.parametrize(("a", "b", "method"), PAIRS)
def test_paired_wilcoxon_matches_scipy(a, b, method):
    """The method passed explicitly gives what SciPy's own rule ("auto", SciPy >= 1.15) gives."""
    result = paired_wilcoxon(a, b)
    assert result.method == method
    expected = scipy_stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided",
                                    method="auto")  # fmt: skip
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    d = np.asarray(a) - np.asarray(b)
    assert result.n_pairs == len(a)
    assert result.n_nonzero == int(np.count_nonzero(d))
    assert result.median_difference == pytest.approx(float(np.median(d)))
    # without ties, r and W are tied by R+ + R- = n(n+1)/2 and W = min(R+, R-)
    n = result.n_nonzero
    total = n * (n + 1) / 2
    assert result.statistic == pytest.approx(total * (1 - abs(result.rank_biserial)) / 2)


def test_paired_wilcoxon_exact_case_by_hand():
    # d = 1..6, all positive: W = 0, two-sided exact p = 2 / 2**6, r = +1
    result = paired_wilcoxon([1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0])
    assert result.statistic == 0
    assert result.p_value == pytest.approx(2 / 64)
    assert result.rank_biserial == 1.0
    assert result.method == "exact"


@pytest.mark.parametrize(
    ("d", "expected"),
    [([1, -2, 3, 4], 0.6), ([1, 2, 3], 1.0), ([-1, -2], -1.0), ([1, -1], 0.0), ([0, 0], 0.0),
     ([0, 2, -1], 1 / 3)],
)  # fmt: skip
def test_rank_biserial(d, expected):
    assert rank_biserial(d) == pytest.approx(expected)


@pytest.mark.parametrize(("n", "p"), [(1, 1.0), (5, 0.0625), (6, 0.03125), (10, 2 / 1024)])
def test_min_exact_p(n, p):
    assert min_exact_p(n) == pytest.approx(p)


def test_verdict_with_too_few_repeats_says_so_plainly():
    test = paired_wilcoxon([0.91, 0.92, 0.93, 0.94, 0.95], [0.90, 0.90, 0.90, 0.90, 0.90])
    text = verdict(test, ("TPE", "random"), trials=30)
    assert "TPE found better configurations than random" in text
    assert "Too few repeats to tell" in text
    assert "0.0625" in text and "at least 6 pairs" in text


def test_verdict_significant_and_not():
    a = [0.92, 0.93, 0.925, 0.935, 0.94, 0.931, 0.928, 0.933]
    b = [0.90, 0.905, 0.91, 0.9, 0.908, 0.902, 0.904, 0.906]
    text = verdict(paired_wilcoxon(a, b), ("TPE", "random"))
    assert "significant at 0.05" in text and "not significant" not in text
    assert "large effect (rank-biserial r = +1.00)" in text
    mixed = verdict(paired_wilcoxon(a, a[1:] + a[:1]), ("TPE", "random"))
    assert "not significant" in mixed


def test_verdict_minimize_means_lower_is_better():
    test = paired_wilcoxon([0.30, 0.31, 0.29, 0.30, 0.32, 0.28], [0.35, 0.36, 0.34, 0.37, 0.33,
                                                                   0.38])  # fmt: skip
    text = verdict(test, ("TPE", "random"), maximize=False, metric="validation loss")
    assert text.startswith("After 30 trials, TPE found better configurations than random")


def test_verdict_states_no_direction_when_median_and_ranks_disagree():
    # differences -4.1e-5, +9.3e-4, -1.5e-4: the median is below 0, the rank sums are equal
    test = paired_wilcoxon([0.8982098, 0.8981641, 0.8970734], [0.8982511, 0.8972373, 0.8972265])
    assert test.rank_biserial == 0.0
    text = verdict(test, ("TPE", "random"))
    assert "neither sampler was consistently ahead" in text
    assert "is -4.1e-05" in text


def test_verdict_all_pairs_tied():
    text = verdict(paired_wilcoxon([0.9, 0.9], [0.9, 0.9]), ("TPE", "random"))
    assert "exactly the same" in text


@pytest.mark.parametrize(
    ("curve", "level", "maximize", "expected"),
    [
        ([0.80, 0.85, 0.91, 0.92], 0.908, True, 3),
        ([0.80, 0.85], 0.908, True, None),
        ([NAN, 0.95], 0.9, True, 2),
        ([0.5, 0.4, 0.3], 0.4, False, 2),
    ],
)
def test_trials_to_reach(curve, level, maximize, expected):
    assert trials_to_reach(np.array(curve), level, maximize) == expected


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [([1.0, 2.0], [1.0], "equal-length"), ([1.0, NAN], [1.0, 2.0], "must not contain NaN")],
)
def test_paired_wilcoxon_rejects_bad_input(a, b, message):
    with pytest.raises(HarnessError, match=message):
        paired_wilcoxon(a, b)
