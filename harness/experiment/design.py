"""A run's pre-declared design on disk (``runs/RUN/plan.json``) and the looks taken under it.

Written before the first pair is trained, so the report can show what was declared and when;
a later command with another design is recorded as a change (the report then warns that the
error rate holds only for the design as first declared). Each look is appended as it is
taken: how many pairs, at what level, with what outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.experiment.retrain import write_atomically
from harness.experiment.verdict import Look, Plan

PRIMARY_OUTCOME = (
    "the paired difference A - B in test AUROC of each study's chosen "
    "configuration, retrained with K seeds (mean over the seeds)"
)


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
    looks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last_look(self) -> int:
        return max((int(look["pairs"]) for look in self.looks), default=0)

    @property
    def decided(self) -> dict[str, Any] | None:
        return next((look for look in self.looks if look["outcome"] != "undecided"), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "primary_outcome": PRIMARY_OUTCOME,
            "pair": list(self.pair),
            "retrain_seeds": self.retrain_seeds,
            "declared_at": self.declared_at,
            "plan": self.plan.as_dict(),
            "changes": self.changes,
            "looks": self.looks,
        }


def read_design(path: Path) -> Design | None:
    """The run's design; None when the run has none (made before designs were recorded)."""
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        return Design(
            Plan.from_dict(record["plan"]),
            tuple(record["pair"]),
            int(record["retrain_seeds"]),
            str(record["declared_at"]),
            list(record.get("changes", [])),
            list(record.get("looks", [])),
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise HarnessError(
            f"{path}: must be the design written by 'harness compare', but it "
            f"cannot be read ({err})"
        ) from None


def declare(
    path: Path, plan: Plan, pair: tuple[str, str], retrain_seeds: int, log: Any = print
) -> Design:
    """The design of the run at ``path``: declared now when new; when it exists and this
    command asks for another design, the change is recorded and the new design used."""
    design = read_design(path)
    if design is None:
        design = Design(plan, pair, retrain_seeds)
    elif (design.plan, design.pair, design.retrain_seeds) != (plan, pair, retrain_seeds):
        log(
            f"note: this run was declared with {design.plan.describe()} comparing "
            f"{' - '.join(design.pair)} with {design.retrain_seeds} retraining seeds; now "
            f"{plan.describe()} comparing {' - '.join(pair)} with {retrain_seeds}. The change "
            f"is recorded in {path} and the report will say that the error rate holds only "
            "for the design as first declared."
        )
        design.changes.append(
            {
                "at": _now(),
                "after_looks": design.last_look,
                "from": {
                    "plan": design.plan.as_dict(),
                    "pair": list(design.pair),
                    "retrain_seeds": design.retrain_seeds,
                },
            }
        )
        design.plan, design.pair, design.retrain_seeds = plan, pair, retrain_seeds
    save(path, design)
    return design


def record_look(path: Path, design: Design, look: Look) -> None:
    design.looks.append(
        {"pairs": look.pairs, "level": look.level, "outcome": look.outcome, "at": _now()}
    )
    save(path, design)


def save(path: Path, design: Design) -> None:
    write_atomically(path, json.dumps(design.as_dict(), indent=2) + "\n")
