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
    completion_seconds,
    compute_seconds,
    paired_wilcoxon,
    rank_biserial,
    stack,
    time_curve,
    trial_curve,
    trials_to_reach,
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


def test_compute_time_is_the_studys_own_trial_seconds_not_the_wall_clock():
    """Issue 17: a study that waited on a shared pool looked slower by the wall clock. Its
    own compute is the running sum of its trials' recorded seconds (their start-to-end time
    where none is recorded), in trial order, whatever waited between them."""
    trials = [
        _trial(0, 0.70, 0, 10),
        _trial(1, 0.80, 50, 20),  # queued 40 s behind other studies' trials
        _trial(2, None, 75, 5, TrialState.PRUNED),
        _trial(3, None, 85, 5, TrialState.FAIL),  # retried: not a trial of the budget
        _trial(4, 0.90, 120, 30),  # queued 30 s
    ]
    trials[1].user_attrs["seconds"] = 12.5  # training time as the worker measured it
    seconds, values = compute_seconds(trials)
    np.testing.assert_array_equal(seconds, [10, 22.5, 27.5, 57.5])
    np.testing.assert_array_equal(values, [0.70, 0.80, NAN, 0.90])
    assert completion_seconds(trials)[0][-1] == 150, "the wall clock counts the queueing"
    np.testing.assert_array_equal(compute_seconds(trials, limit=2)[0], [10, 22.5])


def test_stack_pads_with_nan_and_cuts():
    out = stack([np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])], length=3)
    np.testing.assert_array_equal(out, [[1, 2, NAN], [3, 4, 5]])
    np.testing.assert_array_equal(stack([np.array([1.0, 2.0, 3.0])], length=2), [[1, 2]])


PERMUTATION = "exact permutation, ties or zeros present"
PAIRS = [
    # (a, b, the method named): no ties, float ties, ties, zeros, many pairs
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.5], [0.0, 4.0, 0.5, 0.0, 9.5, 0.5, 0.5], "exact"),
    (
        [0.91, 0.92, 0.905, 0.915, 0.93, 0.918, 0.911],
        [0.90, 0.915, 0.91, 0.9, 0.92, 0.91, 0.902],
        PERMUTATION,
    ),
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0.0, 1.0, 2.0, 5.0, 4.0, 5.0], PERMUTATION),
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [1.0, 2.5, 2.0, 4.0, 3.0, 7.5, 4.0], PERMUTATION),
    (
        list(np.linspace(0, 1, 60) + np.sin(np.arange(60))),
        list(np.linspace(0, 1, 60)),
        "normal approximation",
    ),
]


@pytest.mark.parametrize(("a", "b", "method"), PAIRS)
def test_paired_wilcoxon_matches_scipy(a, b, method):
    """The method passed explicitly gives what SciPy's own rule ("auto", SciPy >= 1.15) gives."""
    result = paired_wilcoxon(a, b)
    assert result.method == method
    expected = scipy_stats.wilcoxon(
        a, b, zero_method="wilcox", alternative="two-sided", method="auto"
    )
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
    [
        ([1, -2, 3, 4], 0.6),
        ([1, 2, 3], 1.0),
        ([-1, -2], -1.0),
        ([1, -1], 0.0),
        ([0, 0], 0.0),
        ([0, 2, -1], 1 / 3),
    ],
)
def test_rank_biserial(d, expected):
    assert rank_biserial(d) == pytest.approx(expected)


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
