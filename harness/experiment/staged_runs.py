"""A comparison's surrogate studies on every core: one process per core runs whole studies.

A surrogate trial evaluates in microseconds, so a surrogate study's time is its sampler's own
proposal time (a GP sampler's 30 proposals take about 5 s of one core; TPE's 0.07 s), all of it
in the driver, which the one scheduler runs on one core. Studies are independent (each has its
own seed and its own in-memory study, stored whole when done, harness.search.staging), so
they run in a pool of processes, each writing its finished studies to the storage (SQLite and
journal files take writers from several processes); the retraining and the verdict then run
as for any run. Results do not depend on the number of processes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import replace
from multiprocessing import get_context

from harness.search.config import StudyConfig
from harness.tasks.problem import is_surrogate_ref


def surrogate_studies(studies: list[StudyConfig]) -> bool:
    """Whether these studies all search a surrogate task in this process (executor local)."""
    return bool(studies) and all(
        is_surrogate_ref(s.task) and s.executor == "local" for s in studies
    )


def processes_for(studies: list[StudyConfig], asked: int | None) -> int:
    """``--cpu-workers`` when given, else one per core this process may use."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(asked or cores or 1, len(studies)))


def run_in_processes(
    studies: list[StudyConfig], processes: int, log: Callable[[str], None]
) -> None:
    """Run every study to its target in ``processes`` spawned processes, saying how many are
    done every 10%; the first study that fails ends the rest (its error is raised here)."""
    log(f"{len(studies)} surrogate studies on {processes} processes (one study each at a time)")
    started, done, step = time.monotonic(), 0, max(1, len(studies) // 10)
    # spawn: a forked child would inherit torch's and Ray's threads in an unknown state
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
        pending = {pool.submit(_run_one, replace(s, show_progress=False)) for s in studies}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()  # a study's error ends the run here
                    done += 1
                    if done % step == 0 or done == len(studies):
                        elapsed = time.monotonic() - started
                        log(f"  {done}/{len(studies)} studies done, {elapsed:.0f} s")
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _run_one(config: StudyConfig) -> str:
    """A child process's study: run to its target (top level, so that it pickles)."""
    import torch

    torch.set_num_threads(1)  # one process per core: a GP sampler's small tensors, one thread
    from harness.search.study import run_study

    run_study(config)
    return config.name
