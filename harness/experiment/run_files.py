"""The files of a run folder (``runs/RUN/``): their schemas, read validated, and one lock.

Each file is checked against its JSON schema as it is read, so a hand-edited or damaged file
(valid JSON with the wrong types) is one line naming the file and the field, never a
traceback from the code that uses it. The schemas state what the harness reads; a record may
carry more keys (``additionalProperties`` is left open), so a file written by a newer harness
still reads. To record something new in a file, add its key to the schema here.

Writes go through ``harness.files.write_atomically`` (whole or not at all). While ``harness
compare`` or ``harness run`` works on a run it holds ``runs/RUN/.lock`` (``fcntl.flock``, freed
by the kernel when the process ends, however it ends): a second command on the same run is
refused in one line instead of overwriting the first one's records with its own older copy.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

_INT = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 0}
_NUMBER = {"type": ["number", "null"]}  # null: a metric a failed run does not have
_TEXT = {"type": "string"}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_OBJECT = {"type": "object"}
_INTERVAL = {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}


def _record(required: tuple[str, ...], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


_METRICS = {
    key: _NUMBER
    for key in (
        "val_auroc",
        "threshold",
        "test_auroc",
        "test_f1",
        "test_precision",
        "test_recall",
        "seconds",
    )
}
# runs/RUN/retrain.json: each study's best configuration retrained (experiment/retrain.py)
RETRAIN = _record(
    ("records",),
    records=_list_of(
        _record(
            ("study", "sampler", "repeat", "trial", "results"),
            study=_TEXT,
            sampler=_TEXT,
            repeat=_COUNT,
            trial=_COUNT,
            value=_NUMBER,
            params=_OBJECT,
            # the retrained models' test-row probabilities (experiment/predictions.py)
            predictions=_TEXT,
            prediction_seeds=_list_of(_INT),
            results=_list_of(
                _record(
                    ("seed", "status"),
                    seed=_INT,
                    status=_TEXT,
                    device=_TEXT_OR_NULL,
                    epochs=_NUMBER,
                    **_METRICS,
                )
            ),
        )
    ),
)
# runs/RUN/bench.json (and `harness bench models --json`): the lab's fixed models (bench/models.py)
_BENCH_RECORD = _record(
    ("recipe", "seed"),
    recipe=_TEXT,
    title=_TEXT,
    seed=_INT,
    device=_TEXT,
    status=_TEXT,
    epochs=_NUMBER,
    best_epoch=_NUMBER,
    seconds_per_epoch=_NUMBER,
    lab=_OBJECT,
    **{key: _NUMBER for key in ("auroc", "f1", "precision", "recall", "mse")},
    **_METRICS,
)
# a model that trained has its epochs and time: the report's table averages them
_BENCH_OK = {"type": "number"}
_BENCH_RECORD["if"] = {"required": ["status"], "properties": {"status": {"const": "ok"}}}
_BENCH_RECORD["then"] = {
    "required": ["epochs", "seconds_per_epoch"],
    "properties": {"epochs": _BENCH_OK, "seconds_per_epoch": _BENCH_OK},
}
BENCH = _list_of(_BENCH_RECORD)
# runs/RUN/reference.json: the gradient-boosting reference (lab/reference.py)
REFERENCE = _record(
    ("records",),
    model=_TEXT,
    settings=_OBJECT,
    data=_OBJECT,
    records=_list_of(_record(("seed",), seed=_INT, status=_TEXT, iterations=_NUMBER, **_METRICS)),
)
# runs/RUN/pool.json: the pool's utilization, one entry per session (search/scheduler.py Usage)
POOL = _list_of(
    _record(
        (),
        workers=_COUNT,
        wall_s=_NUMBER,
        busy_s=_NUMBER,
        jobs=_COUNT,
        utilization=_NUMBER,
    )
)
# runs/RUN/plan.json: the pre-declared design and its looks (experiment/design.py, with the
# rules of experiment/verdict.py's Plan); a look may record more than these keys
PLAN = _record(
    ("pair", "retrain_seeds", "declared_at", "plan"),
    primary_outcome=_TEXT,
    pair={"type": "array", "items": _TEXT, "minItems": 2, "maxItems": 2},
    retrain_seeds={"type": "integer", "minimum": 1},
    declared_at=_TEXT,
    plan=_record(
        ("looks", "max_pairs", "alpha", "margin"),
        looks={
            "type": "array",
            "items": {"type": "integer", "minimum": 1},
            "minItems": 1,
            "uniqueItems": True,
        },
        max_pairs={"type": "integer", "minimum": 1},
        alpha={"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        margin={"type": "number", "exclusiveMinimum": 0},
        spending=_TEXT,
        # a design that replaced another after that many pairs, with that much alpha spent
        start_pairs=_COUNT,
        start_spent={"type": "number", "minimum": 0},
    ),
    spent={"type": "number", "minimum": 0},
    changes=_list_of(_record((), spent={"type": "number", "minimum": 0}, plan=_OBJECT)),
    looks=_list_of(
        _record(
            ("pairs", "level", "outcome"),
            pairs={"type": "integer", "minimum": 1},
            level={"type": "number", "minimum": 0},
            outcome=_TEXT,
            margin={"type": "number", "exclusiveMinimum": 0},
            # [estimate, low, high, confidence level]; absent in looks recorded before
            mean=_INTERVAL,
            equivalence=_INTERVAL,
            tost_p=_NUMBER,
            test=_TEXT,
            at=_TEXT,
        )
    ),
)
# each run file by its name, and what writes it (said when the file cannot be read)
SCHEMAS: dict[str, tuple[dict[str, Any], str]] = {
    "retrain.json": (RETRAIN, "harness compare"),
    "bench.json": (BENCH, "harness bench models"),
    "reference.json": (REFERENCE, "harness compare"),
    "pool.json": (POOL, "harness compare"),
    "plan.json": (PLAN, "harness compare"),
}


def _field(error: Any) -> str:
    """Where in the document a jsonschema error is: ``looks[0].pairs``, or ``(top level)``."""
    where = ""
    for step in error.absolute_path:
        where += f"[{step}]" if isinstance(step, int) else f".{step}"
    return where.lstrip(".") or "(top level)"


def _rule(error: Any) -> tuple[str, str]:
    """(field, what it breaks), stated as a rule and the value found."""
    field, kind, rule = _field(error), error.validator, error.validator_value
    found = json.dumps(error.instance)
    found = found if len(found) <= 60 else found[:57] + "..."
    if kind == "required":
        missing = next((key for key in rule if key not in error.instance), rule[0])
        return (f"{field}.{missing}" if error.absolute_path else missing), "is required"
    if kind == "type":
        kinds = " or ".join(rule) if isinstance(rule, list) else rule
        return field, f"must be of type {kinds}, but got {found}"
    bounds = {
        "minimum": ">=",
        "maximum": "<=",
        "exclusiveMinimum": ">",
        "exclusiveMaximum": "<",
    }
    if kind in bounds:
        return field, f"must be {bounds[kind]} {rule}, but got {found}"
    if kind in ("minItems", "maxItems"):
        size = "at least" if kind == "minItems" else "at most"
        return field, f"must have {size} {rule} items, but has {len(error.instance)}"
    return field, f"{error.message}"


def read_run_file(path: Path, kind: str | None = None) -> Any | None:
    """The JSON of run file ``path``, checked against the schema of ``kind`` (a name in
    SCHEMAS; default: the file's name); None when the file does not exist. A file that is not
    JSON, or breaks its schema, is one line naming the file (and the field)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    schema, writer = SCHEMAS[kind or path.name]
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError included
        raise HarnessError(
            f"{path}: must be the JSON written by '{writer}', but it cannot be read "
            f"({getattr(err, 'strerror', None) or err})"
        ) from None
    error = best_match(Draft202012Validator(schema).iter_errors(document))
    if error is not None:
        field, broken = _rule(error)
        raise HarnessError(f"{path}: {field}: {broken}")
    return document


def check_run_files(directory: Path) -> None:
    """Read every run file in ``directory`` once: a damaged one is refused before a command
    spends anything on the run (``harness compare`` would otherwise meet it hours later)."""
    for name in SCHEMAS:
        read_run_file(directory / name)


@contextlib.contextmanager
def run_lock(directory: Path, command: str) -> Iterator[None]:
    """Hold ``directory/.lock`` for the block (the folder is created); another holder is
    refused in one line naming it (module docstring)."""
    import fcntl

    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise HarnessError(f"cannot write the run folder {directory}: {err.strerror}") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 500, 0).decode(errors="replace").strip()
            raise HarnessError(
                f"run folder {directory} is in use by {holder or 'another command'}; one "
                "command per run at a time: wait for it to end, or stop it, then run this "
                "again"
            ) from None
        since = time.strftime("%Y-%m-%d %H:%M:%S")
        holder = f"'{command}' (pid {os.getpid()} on {socket.gethostname()}, since {since})"
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, holder.encode() + b"\n", 0)
        yield
    finally:
        os.close(descriptor)  # closing the last descriptor releases the lock


@contextlib.contextmanager
def locked_run(directory: Path, command: str) -> Iterator[None]:
    """The run folder held by ``command`` (a second command on the run is refused in one
    line), its files checked against their schemas before anything is spent on the run."""
    with run_lock(directory, command):
        check_run_files(directory)
        yield
