"""harness.report.importance: which trials each method sees, the bootstrap intervals over
repeats, and the words that answer "which 4 matter most" only where the methods agree."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from synthetic_run import DISTRIBUTIONS, make_run, write_caches

from harness.experiment.runs import RunStudy
from harness.report import importance
from harness.report.importance import Importance, estimate, importances, trial_sets
from harness.report.importance_section import agreement
from harness.report.load import RunData, load_run, shared_start

optuna.logging.set_verbosity(optuna.logging.WARNING)
STARTUP, TRIALS, REPEATS = 4, 7, 2


def _objective(trial: optuna.Trial) -> float:
    params = {name: trial._suggest(name, dist) for name, dist in DISTRIBUTIONS.items()}
    return -((np.log10(params["lr"]) + 2.7) ** 2) - 0.1 * params["dropout"]


@pytest.fixture(scope="module")
def paired_run() -> RunData:
    """Real samplers as the harness seeds them: in repeat r, TPE(seed=r) and random(seed=r),
    so TPE's start-up trials draw exactly what random search draws."""
    studies = []
    for repeat in range(REPEATS):
        for sampler, make in (
            (
                "tpe",
                lambda r: optuna.samplers.TPESampler(
                    seed=r, n_startup_trials=STARTUP, multivariate=True, constant_liar=True
                ),
            ),
            ("random", lambda r: optuna.samplers.RandomSampler(seed=r)),
        ):
            study = optuna.create_study(direction="maximize", sampler=make(repeat))
            study.optimize(_objective, n_trials=TRIALS)
            studies.append(
                RunStudy(f"p/{sampler}/r{repeat}", sampler, repeat, study, study.get_trials())
            )
    return RunData("p", "memory", studies, ["tpe", "random"], "val_auroc", True, TRIALS)


def test_start_up_trials_are_counted_once_and_fanova_sees_only_random(paired_run, monkeypatch):
    assert shared_start(paired_run, "random", "tpe") == [STARTUP] * REPEATS
    seen: list[tuple[str, list]] = []

    def record(trials, method, maximize):
        seen.append((method, list(trials)))
        return {name: 1.0 / len(DISTRIBUTIONS) for name in DISTRIBUTIONS}

    monkeypatch.setattr(importance, "evaluate", record)
    results, sets, problems = importances(paired_run, resamples=3)
    assert not problems
    counts = {r.label: r.trials for r in results}
    assert counts == {
        "fANOVA, random-search trials": REPEATS * TRIALS,
        "PED-ANOVA, TPE trials": REPEATS * (TRIALS - STARTUP),
        "PED-ANOVA, random-search trials": REPEATS * TRIALS,
    }
    tpe = {s.label: s for s in sets}["PED-ANOVA, TPE trials"]
    assert tpe.shared == REPEATS * STARTUP
    assert all(t.number >= STARTUP for t in tpe.trials)
    # the evaluators get bare copies (params and value): compare by those
    key = lambda t: (tuple(sorted(t.params.items())), t.value)  # noqa: E731
    random = {key(t) for st in paired_run.of("random") for t in st.trials}
    tpe_own = {key(t) for t in tpe.trials}
    assert tpe_own and not tpe_own & random  # TPE's own trials left the start-up behind
    fanova = [trials for method, trials in seen if method == "fANOVA"]
    assert len(fanova) > 1 and all(key(t) in random for ts in fanova for t in ts)
    # every resample draws REPEATS groups of equal size: each call gets the full count
    assert {len(ts) for ts in fanova} == {REPEATS * TRIALS}
    own = [ts for method, ts in seen if method == "PED-ANOVA" and key(ts[0]) in tpe_own]
    assert own and {len(ts) for ts in own} == {REPEATS * (TRIALS - STARTUP)}
    assert all(key(t) in tpe_own for ts in own for t in ts)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> RunData:
    folder = tmp_path_factory.mktemp("importance")
    url = f"sqlite:///{folder / 'study.db'}"
    write_caches(folder / "runs" / "s", make_run(url, "s", repeats=4, trials=10))
    return load_run("s", url, folder / "runs")


def test_bootstrap_intervals_contain_the_estimate_and_repeat_with_the_seed(synthetic):
    first, _, problems = importances(synthetic, resamples=40, seed=3)
    again, _, _ = importances(synthetic, resamples=40, seed=3)
    other, _, _ = importances(synthetic, resamples=40, seed=4)
    assert not problems and [r.label for r in first] == [r.label for r in again]
    assert first == again
    assert [r.low for r in first] != [r.low for r in other]
    for r in first:
        assert r.resamples + r.skipped == 40 and r.repeats == 4
        for p, value in r.point.items():
            assert r.low[p] - 1e-12 <= value <= r.high[p] + 1e-12, (r.label, p)


def test_a_resample_that_cannot_be_evaluated_is_skipped_and_counted(synthetic):
    (ped,) = [s for s in trial_sets(synthetic) if s.label == "PED-ANOVA, TPE trials"]
    # repeats 0-2 without trials: a resample without repeat 3 has nothing to evaluate
    lonely = {0: [], 1: [], 2: [], 3: ped.by_repeat[3]}
    result = estimate(
        importance.TrialSet("PED-ANOVA", "tpe", "TPE trials", lonely), True, resamples=60, seed=0
    )
    assert result.skipped > 0 and result.resamples + result.skipped == 60


PARAMS = ("lr", "weight_decay", "dropout", "hidden_size", "batch_size")


def _table(label: str, values: tuple[float, ...], spread: float = 0.01) -> Importance:
    point = dict(zip(PARAMS, values, strict=True))
    return Importance(
        label,
        "random",
        30,
        5,
        point,
        {p: v - spread for p, v in point.items()},
        {p: v + spread for p, v in point.items()},
        dict.fromkeys(PARAMS, 1.0),
        200,
        0,
    )


@pytest.mark.parametrize(
    ("tables", "present", "absent"),
    [
        (
            [_table("A", (0.5, 0.2, 0.15, 0.1, 0.05)), _table("B", (0.4, 0.3, 0.15, 0.1, 0.05))],
            [
                "**All methods agree** on the 4 that matter most: **lr, weight_decay, dropout, "
                "hidden_size** (least: batch_size)",
                "same order",
            ],
            ["disagree", "Unsettled"],
        ),
        (
            [_table("A", (0.5, 0.2, 0.15, 0.1, 0.05)), _table("B", (0.4, 0.1, 0.3, 0.15, 0.05))],
            [
                "**All methods agree**",
                "They order them differently: A: lr > weight_decay > "
                "dropout > hidden_size; B: lr > dropout > hidden_size > weight_decay",
            ],
            ["disagree"],
        ),
        (
            [_table("A", (0.5, 0.2, 0.15, 0.1, 0.05)), _table("B", (0.5, 0.2, 0.15, 0.05, 0.1))],
            [
                "**The methods disagree** on which 4 matter most",
                "this report names no 4",
                "Every method has **lr, weight_decay, dropout** in its top 4",
                "- hidden_size: in the top 4 of A (4th); not of B (5th).",
                "- batch_size: in the top 4 of B (4th); not of A (5th).",
                "fANOVA measures",
                "PED-ANOVA compares the top 10%",
                "where it searched",
            ],
            ["agree on", "Unsettled"],
        ),
        (
            [_table("A", (0.5, 0.2, 0.15, 0.1, 0.05), spread=0.03)],
            [
                "Only A could be computed, so nothing cross-checks it",
                "- **Unsettled**, A: the interval of batch_size (5th, 0.05 [0.02, 0.08]) overlaps "
                "those of hidden_size (4th)",
            ],
            ["agree", "disagree"],
        ),
        (
            [
                _table("A", (0.5, 0.2, 0.15, 0.1, 0.05), spread=0.03),
                _table("B", (0.5, 0.2, 0.15, 0.1, 0.05)),
            ],
            [
                "**All methods agree**",
                "these repeats leave the top-4 line unsettled",
                "**Unsettled**, A",
            ],
            ["disagree", "Unsettled**, B"],
        ),
    ],
)
def test_agreement_wording(tables, present, absent):
    text = "\n".join(agreement(tables))
    for phrase in present:
        assert phrase in text
    for phrase in absent:
        assert phrase not in text
