"""The lines ``harness study`` prints when its study is done: counts by state, the best trial."""

from __future__ import annotations

import json
from typing import Any

from harness.cli.command import console


def summarize_study(study: Any) -> None:
    from optuna.trial import TrialState

    counts = {
        state.name: len(study.get_trials(deepcopy=False, states=(state,)))
        for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    }
    best = study.best_trial
    # a problem task has no test split: its primary outcome is made its own way
    after = {
        "seeds": "its primary outcome re-evaluates it with fresh seeds",
        "true": "its primary outcome is its true value, without noise",
        "trial": "its primary outcome is this value",
    }.get(study.user_attrs.get("primary_source"), "test scores come from retraining it")
    console.print(
        f"study {study.study_name!r}: {counts['COMPLETE']} COMPLETE, {counts['PRUNED']} PRUNED, "
        f"{counts['FAIL']} FAIL; best {study.user_attrs.get('objective', 'value')} "
        f"{best.value:.4f} (trial #{best.number}; {after}, as harness compare does)",
        markup=False,
        highlight=False,
    )
    console.print(f"best params: {json.dumps(best.params)}", markup=False, highlight=False)
