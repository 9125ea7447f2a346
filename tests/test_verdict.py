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
from harness.experiment.simulation import (
    Outlook,
    judge_many,
    new_run_pairs,
    new_run_range,
    outlook,
    sd_interval,
    simulate,
)
from harness.experiment.verdict import (
    ALPHA,
    MARGIN,
    Interval,
    Look,
    Plan,
    hodges_lehmann,
    judge,
    mean_interval,
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
    many = judge_many(rows, 0.01, 0.001)
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
        ({"looks": (0, 5)}, "--looks must be pair counts >= 2"),
        ({"looks": (1, 3)}, "--looks must be pair counts >= 2"),
        ({"max_pairs": 0}, "--max-pairs >= 2"),
        ({"max_pairs": 1}, "--max-pairs >= 2"),
        ({"margin": 0.0}, "--margin > 0"),
        ({"start_pairs": 30}, "--max-pairs must exceed the 30 pairs already looked at"),
    ],
)
def test_bad_designs(kwargs, rule):
    with pytest.raises(HarnessError, match=re.escape(rule)):
        Plan(**kwargs)


@pytest.mark.parametrize(
    "first, looked, then",
    [
        (Plan(looks=(5, 10), max_pairs=10), 5, Plan()),
        (Plan(), 5, Plan(looks=(8, 12), max_pairs=12)),
        (Plan(), 10, Plan.fixed(14)),
    ],
)
def test_a_continued_design_shares_only_what_is_left(first, looked, then):
    """The levels of the looks taken before and after a change add up to alpha at most (to
    alpha exactly once the new design is run to its end), every new level is positive, and
    the new design's spending keeps its shape."""
    spent = first.spent(looked)
    continued = then.continued(looked, spent)
    levels = [level for _, level in continued.schedule(after=looked)]
    assert all(level > 0 for level in levels)
    assert spent + sum(levels) == pytest.approx(ALPHA)
    assert continued.spent(looked) == pytest.approx(spent)
    ratios = np.array(levels) / np.array([level for _, level in then.schedule(after=looked)])
    assert np.ptp(ratios) == pytest.approx(0.0, abs=1e-12), "scaled, not reshaped"


def test_vectorised_judge_has_no_decision_without_spread():
    assert list(judge_many(np.zeros((3, 4)), 0.05, 0.001)) == ["undecided"] * 3


def _zero_inflated_lognormal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """30% exact zeros (both studies chose a shared start-up trial), else lognormal(0, 1.5)
    magnitudes with random signs: identical samplers, skewed magnitudes, heavy tails."""
    magnitude = rng.lognormal(0.0, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return np.where(rng.random(shape) < 0.3, 0.0, magnitude) * 1e-3


@pytest.mark.parametrize(
    "noise",
    [
        pytest.param(1e-3, id="normal"),
        pytest.param(3e-3, id="normal-wide"),
        pytest.param(_zero_inflated_lognormal, id="zero-inflated-lognormal"),
        pytest.param(np.random.default_rng(7).lognormal(0, 1.2, 15) * 1e-3, id="skewed-resampled"),
        pytest.param(
            np.random.default_rng(8).standard_t(2, 15) * 1e-3, id="heavy-tailed-resampled"
        ),
    ],
)
def test_each_direction_of_the_design_errs_at_most_alpha_over_two(noise):
    """Two identical samplers (differences symmetric about 0), 4000 simulated runs through
    every look of the default design: each direction is claimed in at most alpha / 2 of them
    (binomial sd at 2.5% is 0.25%; the bound is not loosened)."""
    result = simulate(Plan().schedule(), MARGIN, 0.0, noise, runs=4000, seed=11)
    assert result.a_better <= ALPHA / 2 and result.b_better <= ALPHA / 2, result


@pytest.mark.parametrize("sd", [2e-4, 5e-4, 1e-3, 3e-3])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_false_equivalence_at_the_margin_is_at_most_alpha(sd, sign):
    """A true difference of exactly ±margin is not equivalent: the design calls it so in at
    most 5% of 4000 simulated runs, at any spread."""
    result = simulate(Plan().schedule(), MARGIN, sign * MARGIN, sd, runs=4000, seed=5)
    assert result.equivalent <= ALPHA, result


def test_power_grows_with_the_effect():
    small = simulate(Plan().schedule(), MARGIN, 2e-4, 1e-3, runs=2000, seed=1)
    large = simulate(Plan().schedule(), MARGIN, 1.5e-3, 1e-3, runs=2000, seed=1)
    assert large.a_better > 0.9 > small.a_better
    assert large.mean_pairs < small.mean_pairs


def test_a_new_runs_size_is_a_power_calculation():
    """At the N it names, one look at alpha decides in >= 80% of runs (checked on another
    random stream); at N - 1 in fewer."""
    mean, sd = 8e-4, 1.5e-3
    n = new_run_pairs(mean, sd, ALPHA, MARGIN)
    assert n is not None and n > 2

    def power(total: int) -> float:
        rows = np.random.default_rng(3).normal(mean, sd, (20000, total))
        return float(np.mean(judge_many(rows, ALPHA, MARGIN) != "undecided"))

    assert power(n) >= 0.78
    assert power(n - 1) < 0.82  # just below the 80% it was found at (another stream)
    assert new_run_pairs(0.0, 5.0, ALPHA, MARGIN) is None, "hopeless: more than 1000 pairs"
    d = np.random.default_rng(4).normal(mean, sd, 5)
    low, middle, high = new_run_range(d, ALPHA, MARGIN)
    assert low <= middle <= high  # a wider spread needs more pairs


def test_the_outlook_continues_from_the_pairs_in_hand():
    """The chance that the next look decides is a simulation of the missing pairs only: with
    every pair of the next look in hand it is 0 or 1, what judging them gives; the range
    across the sd's interval holds the value at the observed sd."""
    plan = Plan(looks=(5, 10), max_pairs=10)
    d = np.random.default_rng(0).normal(4e-4, 1e-3, 5)
    level = plan.level(10, 5)
    view = outlook(d, [(10, level)], MARGIN, runs=2000)
    assert view is not None and view.next_pairs == 10 and view.last_pairs == 10
    assert view.next_range[0] <= view.next_p <= view.next_range[1]
    assert view.sd_range == pytest.approx(sd_interval(float(np.std(d, ddof=1)), 5))
    full = np.random.default_rng(1).normal(4e-4, 1e-3, 10)
    decided = judge(full, level, MARGIN).decided
    in_hand = outlook(full, [(10, level)], MARGIN, runs=50)
    assert in_hand is not None and in_hand.next_p == float(decided)
    assert outlook(d, [], MARGIN) is None


# ---------------------------------------------------------------- wording


def _look(n: int, outcome: str, low: float, high: float, estimate: float) -> Look:
    mean = Interval(estimate, low, high, 0.99)
    return Look(n, 0.01, outcome, mean, Interval(estimate, low, high, 0.98), 0.2, 0.001)  # type: ignore[arg-type]


OUTLOOK = Outlook(10, 0.62, (0.41, 0.80), 30, 0.93, (0.85, 0.97), (6e-4, 2e-3), 4000)


@pytest.mark.parametrize(
    "look, first_words",
    [
        (_look(6, "a_better", 1e-3, 3e-3, 2e-3), "TPE is better than random by +0.0020"),
        (_look(6, "b_better", -3e-3, -1e-3, -2e-3), "random is better than TPE by +0.0020"),
        (_look(6, "equivalent", -4e-4, 5e-4, 5e-5), "TPE and random are equivalent within ±0.001"),
        (_look(6, "undecided", -1e-3, 2e-3, 5e-4), "Not yet decided"),
        (None, "Not yet judged"),
    ],
)
def test_the_verdict_starts_with_one_of_three_sentences(look, first_words):
    assert verdict_sentence(look, NAMES, outlook_=OUTLOOK, sd=1e-3).startswith(first_words)


@pytest.mark.parametrize("low, high", [(-1e-3, 2e-3), (-2e-3, 1e-4), (0.0, 1e-3), (-5e-4, 0.0)])
def test_no_direction_word_unless_the_interval_excludes_zero(low, high):
    for outcome in ("undecided", "equivalent"):
        for tail in ({"outlook_": OUTLOOK}, {"new_run": (12, 20, 45)}):
            look = _look(12, outcome, low, high, (low + high) / 2)
            text = verdict_sentence(look, NAMES, sd=1e-3, **tail)  # type: ignore[arg-type]
            assert not DIRECTION_WORDS.search(text), text


@pytest.mark.parametrize("n", [3, 5, 9, 10, 20])
def test_no_effect_size_adjective_below_ten_pairs(n):
    text = verdict_sentence(_look(n, "a_better", 1e-3, 3e-3, 2e-3), NAMES, sd=1e-3)
    assert bool(ADJECTIVES.search(text)) == (n >= ADJECTIVE_PAIRS), text


def test_undecided_speaks_in_the_designs_own_looks():
    text = verdict_sentence(_look(5, "undecided", -1e-3, 2e-3, 5e-4), NAMES, outlook_=OUTLOOK)
    assert "the next look, at 10 pairs, decides with probability 0.62" in text
    assert "(0.41-0.80 across the 95% interval of the pairs' sd)" in text
    assert "by the design's last look (30 pairs) with probability 0.93 (0.85-0.97)" in text


def test_a_spent_run_names_a_new_runs_size_as_a_range():
    look = _look(5, "undecided", -1e-3, 2e-3, 5e-4)
    text = verdict_sentence(look, NAMES, new_run=(12, 20, None))
    assert "error rate is spent, so deciding it needs a new run" in text
    assert "about 20 pairs (12 to more than 1000 across" in text


def test_headline_interval_is_labelled_with_its_level_and_purpose():
    direction = verdict_sentence(_look(6, "undecided", -1e-3, 2e-3, 5e-4), NAMES)
    assert "99.0% CI, the direction test's 1 - level interval at this look's level" in direction
    equivalent = verdict_sentence(_look(6, "equivalent", -4e-4, 5e-4, 5e-5), NAMES)
    assert "98.0% CI, the TOST-consistent 1 - 2 x level interval" in equivalent
