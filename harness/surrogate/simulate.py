"""K asynchronous workers on a simulated clock: a study runs as if K workers trained its
trials in parallel, each trial taking the seconds the surrogate predicts, without the wait.

The way OptunaHub's asynchronous benchmark simulator and Syne Tune's simulator backend do it:
K trials are asked at time 0; the one that would finish first is told first, and its worker
asks the next trial at that moment, so the sampler sees exactly the results a real run with K
workers would have had at each ask (constant liar and the like included: the trials still
running are RUNNING in the study when it asks). Each trial records its simulated start and end
(user attributes ``sim_start`` and ``sim_end``, seconds from the study's start).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna

Evaluate = Callable[[optuna.Trial], float]  # the objective's value of a trial
Duration = Callable[[optuna.Trial], float]  # the seconds it would take


@dataclass(order=True)
class _Running:
    end: float
    number: int
    trial: optuna.Trial = field(compare=False)
    value: float = field(compare=False)


def simulate(
    study: optuna.Study, evaluate: Evaluate, duration: Duration, trials: int, workers: int
) -> float:
    """Run ``trials`` trials of ``study`` with ``workers`` simulated workers; the simulated
    wall time (seconds) at which the last one finished."""
    if workers < 1:
        raise ValueError("workers must be >= 1")
    running: list[_Running] = []
    asked, clock = 0, 0.0

    def start(now: float) -> None:
        nonlocal asked
        trial = study.ask()
        value = evaluate(trial)  # the parameters are suggested here, before anything is told
        seconds = max(float(duration(trial)), 0.0)
        trial.set_user_attr("sim_start", now)
        trial.set_user_attr("sim_end", now + seconds)
        heapq.heappush(running, _Running(now + seconds, trial.number, trial, value))
        asked += 1

    while asked < min(workers, trials):
        start(0.0)
    while running:
        done = heapq.heappop(running)  # ties: the lower trial number first, reproducibly
        clock = done.end
        study.tell(done.trial, done.value)
        if asked < trials:
            start(clock)
    return clock


def completion_order(study: optuna.Study) -> list[int]:
    """Trial numbers in the order of their simulated end (what tests and reports read)."""
    done = [t for t in study.get_trials(deepcopy=False) if "sim_end" in t.user_attrs]
    key: Callable[[Any], tuple[float, int]] = lambda t: (t.user_attrs["sim_end"], t.number)  # noqa: E731
    return [t.number for t in sorted(done, key=key)]
