"""A run's pre-declared design on disk (``runs/RUN/plan.json``) and the looks taken under it.

Written before the first pair is trained, so the report can show what was declared and when.
Each look is appended as it is taken, whole: how many pairs, its level, both intervals, the
TOST p-value and the outcome; the report shows these records and never judges a look again.

One error budget per run: the levels recorded here add up to at most alpha over every
command ever run on it. Before the first look a design may be changed freely (no data has
been seen); after it, a changed ``--looks``/``--max-pairs`` continues from what was spent
(``Plan.continued``), while a changed margin, sampler pair, outcome (retraining seeds) or
alpha is refused, as is any change once the verdict is decided or the budget spent.
``read_design`` and ``save`` are the only functions that read or write the file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.experiment.run_files import read_run_file
from harness.experiment.verdict import Interval, Look, Plan
from harness.files import write_atomically

PRIMARY_OUTCOME = (
    "the paired difference A - B in test AUROC of each study's chosen "
    "configuration, retrained with K seeds (mean over the seeds)"
)
SPENT = 1e-12  # floating-point slack: a budget within this of alpha is spent


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class Design:
    """What ``plan.json`` holds."""

    plan: Plan
    pair: tuple[str, str]  # the primary comparison: samplers A and B
    retrain_seeds: int
    declared_at: str = field(default_factory=_now)
    changes: list[dict[str, Any]] = field(default_factory=list)
    looks: list[Look] = field(default_factory=list)

    @property
    def last_look(self) -> int:
        return max((look.pairs for look in self.looks), default=0)

    @property
    def decided(self) -> Look | None:
        return next((look for look in self.looks if look.decided), None)

    @property
    def spent(self) -> float:
        """The error rate the recorded looks have spent."""
        return float(sum(look.level for look in self.looks))

    @property
    def exhausted(self) -> bool:
        """No error rate left for another look."""
        return self.spent >= self.plan.alpha - SPENT

    def level_at(self, pairs: int) -> float:
        """The level a look at ``pairs`` pairs may spend now (0 when nothing is left)."""
        return max(0.0, min(self.plan.spent(pairs), self.plan.alpha) - self.spent)

    def future(self, in_hand: int) -> list[tuple[int, float]]:
        """(pairs, level) of the looks still to come once ``in_hand`` pairs are complete: at
        the design's next counts, the first of them at once on the pairs in hand when they
        already reach it (as the next ``harness compare`` would take it)."""
        if self.decided is not None or self.exhausted:
            return []
        out, previous, spent = [], self.last_look, self.spent
        for n in self.plan.looks:
            pairs = max(n, in_hand)
            level = min(self.plan.spent(pairs), self.plan.alpha) - spent
            if pairs > previous and level > 0:
                out.append((pairs, level))
                previous, spent = pairs, spent + level
        return out

    def schedule(self) -> list[tuple[int, float]]:
        """(pairs, level) of every look of the run: those taken, then those still planned."""
        return [(look.pairs, look.level) for look in self.looks] + self.future(self.last_look)


def _interval(values: Any) -> Interval:
    return Interval(*(float(v) for v in values))


def _look_record(look: Look) -> dict[str, Any]:
    def interval(i: Interval) -> list[float]:
        return [i.estimate, i.low, i.high, i.level]

    tost = None if math.isnan(look.tost_p) else look.tost_p
    record: dict[str, Any] = {
        "pairs": look.pairs,
        "level": look.level,
        "outcome": look.outcome,
        "at": look.at,
        "margin": look.margin,
    }
    if math.isnan(look.mean.level):  # recorded before looks kept their intervals: as it was
        return record
    return {
        **record,
        "mean": interval(look.mean),
        "equivalence": interval(look.equivalence),
        "tost_p": tost,
        "test": look.test,
    }


def _look(record: dict[str, Any], margin: float) -> Look:
    """A recorded look. Records from before intervals were stored hold pairs, level and
    outcome only: their intervals are NaN and the report says so."""
    nan = Interval(math.nan, math.nan, math.nan, math.nan)
    tost = record.get("tost_p")
    return Look(
        int(record["pairs"]),
        float(record["level"]),
        record["outcome"],
        _interval(record["mean"]) if "mean" in record else nan,
        _interval(record["equivalence"]) if "equivalence" in record else nan,
        math.nan if tost is None else float(tost),
        float(record.get("margin", margin)),
        str(record.get("test", "")),
        str(record.get("at", "")),
    )


def read_design(path: Path) -> Design | None:
    """The run's design; None when the run has none (made before designs were recorded)."""
    record = read_run_file(path)  # checked against run_files.PLAN (what plan.json holds)
    if record is None:
        return None
    try:
        plan = Plan.from_dict(record["plan"])
        return Design(
            plan,
            tuple(record["pair"]),
            int(record["retrain_seeds"]),
            str(record["declared_at"]),
            list(record.get("changes", [])),
            [_look(look, plan.margin) for look in record.get("looks", [])],
        )
    except (ValueError, KeyError, TypeError, HarnessError) as err:  # a rule beyond the schema
        raise HarnessError(
            f"{path}: must be the design written by 'harness compare', but it "
            f"cannot be read ({err})"
        ) from None


def save(path: Path, design: Design) -> None:
    record = {
        "primary_outcome": PRIMARY_OUTCOME,
        "pair": list(design.pair),
        "retrain_seeds": design.retrain_seeds,
        "declared_at": design.declared_at,
        "plan": design.plan.as_dict(),
        "spent": design.spent,
        "changes": design.changes,
        "looks": [_look_record(look) for look in design.looks],
    }
    write_atomically(path, json.dumps(record, indent=2) + "\n")


def declare(
    path: Path, plan: Plan, pair: tuple[str, str], retrain_seeds: int, log: Any = print
) -> Design:
    """The design of the run at ``path``: declared now when new; an existing one is kept, or
    changed as the module's docstring says (HarnessError, one line, where it may not be)."""
    design = read_design(path)
    if design is None:
        design = Design(plan, pair, retrain_seeds)
    elif design.looks:
        _check_change(path, design, plan, pair, retrain_seeds)
        if not design.plan.same_design(plan):
            continued = plan.continued(design.last_look, design.spent)  # may refuse
            _record_change(design)
            design.plan = continued
            log(
                f"note: the design of this run changes after {design.last_look} pairs were "
                f"looked at, with {design.spent:.4f} of its {plan.alpha} error rate spent: "
                f"{design.plan.describe()}. The change is recorded in {path}."
            )
    elif (design.plan, design.pair, design.retrain_seeds) != (plan, pair, retrain_seeds):
        # no look yet, so no data has been judged: the new design replaces the old one
        _record_change(design)
        design.plan, design.pair, design.retrain_seeds = plan, pair, retrain_seeds
    save(path, design)
    return design


def _check_change(
    path: Path, design: Design, plan: Plan, pair: tuple[str, str], retrain_seeds: int
) -> None:
    """Refuse what a run may not change after its first look (module docstring)."""
    run = path.parent.name
    after = f"after its look at {design.last_look} pairs"
    way_on = f"start a new run (another --name than {run!r}) for that"
    changed = [
        f"{what} {old} -> {new}"
        for what, old, new in (
            ("--margin", f"±{design.plan.margin:g}", f"±{plan.margin:g}"),
            ("alpha", design.plan.alpha, plan.alpha),
            ("the sampler pair", " - ".join(design.pair), " - ".join(pair)),
            ("--retrain-seeds (the primary outcome)", design.retrain_seeds, retrain_seeds),
        )
        if old != new
    ]
    if changed:
        raise HarnessError(
            f"run {run!r} cannot change {', '.join(changed)} {after} (its verdict's "
            f"hypothesis is fixed once data were judged); {way_on}"
        )
    if design.plan.same_design(plan):
        return
    if design.decided is not None:
        raise HarnessError(
            f"run {run!r} was decided ({design.decided.outcome.replace('_', ' ')}) at "
            f"{design.decided.pairs} pairs, so it takes no more looks and its design cannot "
            f"change; {way_on}"
        )
    if design.exhausted:
        raise HarnessError(
            f"run {run!r} has spent its whole {design.plan.alpha} error rate {after}, so it "
            f"takes no more looks; {way_on}"
        )


def _record_change(design: Design) -> None:
    design.changes.append(
        {
            "at": _now(),
            "after_looks": design.last_look,
            "spent": design.spent,
            "from": {
                "plan": design.plan.as_dict(),
                "pair": list(design.pair),
                "retrain_seeds": design.retrain_seeds,
            },
        }
    )


def record_look(path: Path, design: Design, look: Look) -> Look:
    """Append ``look`` to the design, stamped with the time, and save the file."""
    stamped = replace(look, at=_now())
    design.looks.append(stamped)
    save(path, design)
    return stamped
