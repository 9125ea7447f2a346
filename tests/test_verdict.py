"""The verdict's statistics against SciPy/statsmodels on hand-made cases, the design's error
rate over simulated null runs, and the wording rules."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttost_paired

from harness.errors import HarnessError
from harness.experiment.verdict import (
    Interval,
    Look,
    Plan,
    _judge_many,
    hodges_lehmann,
    judge,
    mean_interval,
    pairs_to_decide,
    run_looks,
    simulate,
)
from harness.report.verdict import ADJECTIVE_PAIRS, verdict_sentence

NAMES = ("TPE", "random")
DIRECTION_WORDS = re.compile(r"\b(better|worse|ahead|outperform\w*|beats?|wins?)\b", re.I)
ADJECTIVES = re.compile(r"\b(negligible|small|medium|large)\b", re.I)


# ---------------------------------------------------------------- intervals and tests


@pytest.mark.parametrize(
    "d",
    [
        [0.0012, -0.0003, 0.0021, 0.0008, 0.0015],
        [1e-4, -2e-4, 3e-4, -1e-4, 2.5e-4, 0.5e-4, -0.7e-4, 1.1e-4],
    ],
)
def test_mean_interval_is_scipys_t_interval(d):
    interval = mean_interval(d, 0.95)
    low, high = stats.t.interval(0.95, len(d) - 1, loc=np.mean(d), scale=stats.sem(d))
    assert (interval.low, interval.high) == pytest.approx((low, high), rel=1e-12)
    assert interval.estimate == pytest.approx(np.mean(d))


def test_hodges_lehmann_by_hand():
    # Walsh averages of [1, 2, 4]: 1, 1.5, 2.5, 2, 3, 4 -> median (2 + 2.5) / 2
    assert hodges_lehmann([1.0, 2.0, 4.0]).estimate == pytest.approx(2.25)
    # 3 pairs cannot give 95% coverage (the best is 1 - 2/8 = 75%): unbounded
    assert hodges_lehmann([1.0, 2.0, 4.0]).low == -math.inf


@pytest.mark.parametrize("n", [6, 9, 12, 20])
def test_hodges_lehmann_interval_inverts_scipys_wilcoxon(n):
    """Just inside the interval the exact two-sided test does not reject at 5%; just outside
    it does (continuous data, so no ties)."""
    d = np.random.default_rng(n).normal(3e-4, 1e-3, n)
    hl = hodges_lehmann(d, 0.95)
    step = 1e-9
    for end, inside, outside in (
        (hl.low, hl.low + step, hl.low - step),
        (hl.high, hl.high - step, hl.high + step),
    ):
        assert math.isfinite(end)
        p_in = stats.wilcoxon(d - inside, method="exact").pvalue
        p_out = stats.wilcoxon(d - outside, method="exact").pvalue
        assert p_in > 0.05 >= p_out, (end, p_in, p_out)


@pytest.mark.parametrize("seed", range(4))
def test_judge_tost_is_statsmodels_ttost(seed):
    d = np.random.default_rng(seed).normal(2e-4, 6e-4, 12)
    look = judge(d, 0.05, 0.001)
    assert look.tost_p == pytest.approx(ttost_paired(d, np.zeros(12), -0.001, 0.001)[0])
    # TOST at level a is the (1 - 2a) interval inside the margin
    inside = look.equivalence.low > -0.001 and look.equivalence.high < 0.001
    assert inside == (look.tost_p < 0.05)


@pytest.mark.parametrize(
    "d, outcome",
    [
        ([3e-3, 2.5e-3, 3.5e-3, 2.8e-3, 3.1e-3, 2.9e-3], "a_better"),
        ([-3e-3, -2.5e-3, -3.5e-3, -2.8e-3, -3.1e-3, -2.9e-3], "b_better"),
        ([1e-4, -1e-4, 0.5e-4, -0.5e-4, 0.2e-4, -0.3e-4], "equivalent"),
        ([3e-3, -2e-3, 1e-3, -4e-3, 2e-3, 0.0], "undecided"),
        ([0.0, 0.0, 0.0], "undecided"),  # no spread: no interval to judge by
    ],
)
def test_judge_outcomes(d, outcome):
    assert judge(d, 0.05, 0.001).outcome == outcome


def test_vectorised_judge_matches_judge():
    rng = np.random.default_rng(0)
    rows = np.vstack(
        [
            rng.normal(mu, sd, 10)
            for mu in (-2e-3, 0, 4e-4, 2e-3)
            for sd in (2e-4, 1e-3, 3e-3)
            for _ in range(5)
        ]
    )
    many = _judge_many(rows, 0.01, 0.001)
    assert list(many) == [judge(row, 0.01, 0.001).outcome for row in rows]
    assert len(set(many)) >= 3, "the cases cover several outcomes"


# ---------------------------------------------------------------- the design


def test_spending_adds_up_to_alpha_and_grows():
    plan = Plan()
    assert plan.looks == (5, 10, 15, 20, 30)
    levels = [plan.level(n, prev) for prev, n in zip((0, *plan.looks), plan.looks, strict=False)]
    assert sum(levels) == pytest.approx(plan.alpha)
    assert all(level > 0 for level in levels)
    assert plan.spent(plan.max_pairs) == pytest.approx(0.05)
    assert Plan(looks=(5, 10, 40), max_pairs=12).looks == (5, 10, 12)


@pytest.mark.parametrize(
    "kwargs, rule",
    [
        ({"looks": (10, 5)}, "--looks must be increasing"),
        ({"looks": (0, 5)}, "--looks must be increasing"),
        ({"max_pairs": 0}, "--max-pairs >= 1"),
        ({"margin": 0.0}, "--margin > 0"),
    ],
)
def test_bad_designs(kwargs, rule):
    with pytest.raises(HarnessError, match=re.escape(rule)):
        Plan(**kwargs)


def test_runs_stop_at_the_first_decided_look():
    d = [3e-3, 2.5e-3, 3.5e-3, 2.8e-3, 3.1e-3, 2.9e-3, 3e-3, 3e-3, 3.2e-3, 2.7e-3]
    looks = run_looks(d, Plan(looks=(5, 10), max_pairs=10), [5, 10])
    assert [look.pairs for look in looks] == [5] and looks[0].outcome == "a_better"


@pytest.mark.parametrize(
    "noise",
    [
        pytest.param(1e-3, id="normal"),
        pytest.param(np.random.default_rng(7).lognormal(0, 1.2, 15) * 1e-3, id="skewed-resampled"),
        pytest.param(
            np.random.default_rng(8).standard_t(2, 15) * 1e-3, id="heavy-tailed-resampled"
        ),
    ],
)
def test_false_direction_rate_of_the_design_is_at_most_alpha(noise):
    """Two identical samplers, 4000 simulated runs through every look: the design claims a
    direction in at most 5% of them (binomial sd at 5% is 0.34%; the bound is not loosened)."""
    result = simulate(Plan(), 0.0, noise, runs=4000, seed=11)
    assert result.runs >= 2000
    assert result.direction <= 0.05, result


def test_power_grows_with_the_effect():
    small = simulate(Plan(), 2e-4, 1e-3, runs=2000, seed=1)
    large = simulate(Plan(), 1.5e-3, 1e-3, runs=2000, seed=1)
    assert large.a_better > 0.9 > small.a_better
    assert large.mean_pairs < small.mean_pairs


def test_pairs_to_decide_is_a_power_calculation():
    """At the N it names, the one more look has >= 80% power (checked by simulating that
    look); at N - 1 it has less."""
    plan = Plan()
    mean, sd, last = 8e-4, 1.5e-3, 5
    n = pairs_to_decide(mean, sd, plan, last)
    assert n is not None and n > last

    def power(total: int) -> float:
        level = plan.level(total, last)
        rows = np.random.default_rng(3).normal(mean, sd, (20000, total))
        return float(np.mean(_judge_many(rows, level, plan.margin) != "undecided"))

    assert power(n) >= 0.78  # another random stream than the one it was found with
    assert power(n - 1) < 0.8
    assert pairs_to_decide(0.0, 5.0, plan, 5) is None, "hopeless: more than 1000 pairs"


# ---------------------------------------------------------------- wording


def _look(n: int, outcome: str, low: float, high: float, estimate: float) -> Look:
    mean = Interval(estimate, low, high, 0.99)
    return Look(n, 0.01, outcome, mean, Interval(estimate, low, high, 0.98), 0.2, 0.001)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "look, first_words",
    [
        (_look(6, "a_better", 1e-3, 3e-3, 2e-3), "TPE is better than random by +0.0020"),
        (_look(6, "b_better", -3e-3, -1e-3, -2e-3), "random is better than TPE by +0.0020"),
        (_look(6, "equivalent", -4e-4, 5e-4, 5e-5), "TPE and random are equivalent within ±0.001"),
        (_look(6, "undecided", -1e-3, 2e-3, 5e-4), "Not yet decided"),
        (None, "Not yet decided"),
    ],
)
def test_the_verdict_starts_with_one_of_three_sentences(look, first_words):
    assert verdict_sentence(look, NAMES, more_pairs=20, sd=1e-3).startswith(first_words)


@pytest.mark.parametrize("low, high", [(-1e-3, 2e-3), (-2e-3, 1e-4), (0.0, 1e-3), (-5e-4, 0.0)])
def test_no_direction_word_unless_the_interval_excludes_zero(low, high):
    for outcome in ("undecided", "equivalent"):
        text = verdict_sentence(
            _look(12, outcome, low, high, (low + high) / 2), NAMES, more_pairs=40, sd=1e-3
        )
        assert not DIRECTION_WORDS.search(text), text


@pytest.mark.parametrize("n", [3, 5, 9, 10, 20])
def test_no_effect_size_adjective_below_ten_pairs(n):
    text = verdict_sentence(_look(n, "a_better", 1e-3, 3e-3, 2e-3), NAMES, sd=1e-3)
    assert bool(ADJECTIVES.search(text)) == (n >= ADJECTIVE_PAIRS), text


def test_undecided_names_a_computed_number_of_pairs():
    text = verdict_sentence(_look(5, "undecided", -1e-3, 2e-3, 5e-4), NAMES, more_pairs=17)
    assert "about 12 more pairs" in text
    hopeless = verdict_sentence(_look(5, "undecided", -1e-2, 2e-2, 5e-4), NAMES, more_pairs=None)
    assert "more than 1000 more pairs" in hopeless
