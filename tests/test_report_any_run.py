"""Issue 18: a report on any run, never a traceback. A run with no COMPLETE trial is one line
(exit 2); studies without one are left out and named; one sampler only is a report that says
there is nothing to compare."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from synthetic_run import make_run, write_caches

from harness.cli.app import run

optuna.logging.set_verbosity(optuna.logging.WARNING)
LR = {"lr": FloatDistribution(1e-4, 1e-1, log=True)}


def _studies_without_a_value(url: str, samplers: tuple[str, ...], repeats: range, state) -> None:
    """Studies RUN/<sampler>/r<repeat> of run "r" whose 3 trials all ended in ``state`` (a
    trial timeout of 0.001 s fails every one; RUNNING: a driver killed at its first trials)."""
    for repeat in repeats:
        for sampler in samplers:
            study = optuna.create_study(
                study_name=f"r/{sampler}/r{repeat}", storage=url, direction="maximize"
            )
            study.set_user_attr("objective", "val_auroc")
            study.set_user_attr("target_trials", 3)
            for _ in range(3):
                if state == TrialState.RUNNING:
                    study.ask(LR)
                    continue
                reason = {"fail_reason": "timeout after 0.001 s"}
                study.add_trial(
                    create_trial(
                        state=state,
                        params={"lr": 1e-3},
                        distributions=LR,
                        user_attrs=reason if state == TrialState.FAIL else {},
                    )
                )


def _report(tmp_path, capsys, url: str) -> tuple[int, str, str]:
    out = tmp_path / "reports" / "r.md"
    argv = ["report", "--name", "r", "--storage", url, "--runs-dir", str(tmp_path / "runs")]
    code = run([*argv, "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.err, out.read_text() if out.is_file() else ""


@pytest.mark.parametrize(
    ("state", "counts"),
    [
        (TrialState.FAIL, "12 trials: 12 FAIL; e.g. 'timeout after 0.001 s'"),
        (TrialState.PRUNED, "12 trials: 12 PRUNED"),
        (TrialState.RUNNING, "12 trials: 12 RUNNING"),
    ],
    ids=["failed only", "pruned only", "none finished"],
)
def test_a_run_without_a_complete_trial_is_one_line(tmp_path, capsys, state, counts):
    """Was: `ValueError: max() arg is an empty sequence`, a traceback, exit 1."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    _studies_without_a_value(url, ("tpe", "random"), range(2), state)
    code, err, _ = _report(tmp_path, capsys, url)
    assert code == 2, err
    assert err.splitlines() == [
        "harness: error: --name 'r': a report needs a COMPLETE trial, but none of the run's 4 "
        f"studies has one ({counts}); see the trials in the storage (harness dashboard), or run "
        "the same 'harness compare' again: FAIL trials are retried"
    ]
    assert not (tmp_path / "reports").exists(), "no report, no figures folder"


def test_studies_without_a_complete_trial_are_left_out_and_named(tmp_path, capsys):
    """Was: every comparison cut to 1 trial ('the fewest any study has ()'), with the failed
    studies in every table."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    write_caches(tmp_path / "runs" / "r", make_run(url, "r", repeats=1, trials=6), k=1)
    _studies_without_a_value(url, ("tpe", "random"), range(1, 2), TrialState.FAIL)
    code, err, text = _report(tmp_path, capsys, url)
    assert code == 0, err
    assert "2 studies, 6 trials each" in text
    assert (
        "Left out, with no COMPLETE trial to compare: r/tpe/r1 (3 trials: 3 FAIL; e.g. "
        "'timeout after 0.001 s'); r/random/r1 (3 trials: 3 FAIL; e.g. 'timeout after 0.001 "
        "s')." in text
    )
    assert "the fewest any study has ()" not in text


@pytest.mark.parametrize("failed", [False, True], ids=["one sampler", "the other all failed"])
def test_a_run_of_one_sampler_says_there_is_nothing_to_compare(tmp_path, capsys, failed):
    url = f"sqlite:///{tmp_path / 's.db'}"
    write_caches(
        tmp_path / "runs" / "r", make_run(url, "r", repeats=2, trials=5, samplers=("tpe",)), k=1
    )
    if failed:
        _studies_without_a_value(url, ("random",), range(2), TrialState.FAIL)
    code, err, text = _report(tmp_path, capsys, url)
    assert code == 0, err
    assert "Only one sampler (TPE) is in this run: there is nothing to compare." in text
    assert ("Left out, with no COMPLETE trial" in text) == failed
