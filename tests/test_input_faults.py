"""Issue 12, "nothing lost, nothing leaked": every bad input is one line naming the rule and
the value, exit 2, and writes nothing (no study, no runs/NAME/ folder, no report file), and
no command prints a storage password. docs/faults.md lists these cases with their messages.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.cli.app import run
from harness.paths import SPACES_DIR

# The storage each case is given; its folder must not exist afterwards (nothing was opened).
STORE = "{tmp}/store/s.db"
SMOKE = str(SPACES_DIR / "smoke.toml")
PARAMS = {"hidden_size": 16, "lr": 3e-3, "batch_size": 128, "weight_decay": 0, "dropout": 0.2}
SEED_RULE = "in [0, 4294967295]"
LONG = "a" * 513

# Space files of the cases, written to {tmp}/in/NAME.toml; {tmp}/in is the only input folder.
SMOKE_TEXT = Path(SMOKE).read_text()
STEP_ZERO = SMOKE_TEXT.replace("log = true\n\n[params.lr]", "step = 0\n\n[params.lr]")
SPACES: dict[str, bytes] = {
    "not_utf8": b"[params]\nlr = 0.001 # \xff\xfe\n",
    "step_zero": STEP_ZERO.encode(),
    "huge_hidden": SMOKE_TEXT.replace("high = 256", "high = 2000000000").encode(),
    "huge_epochs": SMOKE_TEXT.replace("max_epochs = 5", f"max_epochs = {2**63 - 1}").encode(),
    "batch_over_rows": SMOKE_TEXT.replace("[64, 128, 256]", "[64, 128, 4096]").encode(),
    "rows_over_data": SMOKE_TEXT.replace("train_rows = 2000", "train_rows = 99999").encode(),
    # issue 18: Optuna moved high to 16 with only a warning: every trial had hidden_size 16
    "step_coarse": SMOKE_TEXT.replace("high = 256\nlog = true", "high = 256\nstep = 1000").encode(),
}
# more workers than this machine's Ray has CPUs (it counts no more than os.cpu_count())
TOO_MANY = str((os.cpu_count() or 1) + 1)


def _study(*extra: str) -> list[str]:
    return [
        "study",
        "--name",
        "s",
        "--sampler",
        "random",
        "--storage",
        f"sqlite:///{STORE}",
        "--executor",
        "local",
        "--trials",
        "1",
        "--space",
        SMOKE,
        *extra,
    ]


def _space(name: str) -> list[str]:
    return [*_study(), "--space", f"{{tmp}}/in/{name}.toml"]


def _trial(*extra: str, **params) -> list[str]:
    return [
        "trial",
        "--params",
        json.dumps({**PARAMS, **params}),
        "--max-epochs",
        "1",
        "--data",
        "{data}",
        *extra,
    ]


# compare and run options that would keep a run tiny if a check were missing
QUICK = ["--executor", "local", "--trials", "1", "--repeats", "1", "--bench-seeds", "0"]
COMPARE = ["compare", *QUICK, "--space", SMOKE, "--retrain-seeds", "1", "--reference-seeds", "0"]
RUN = ["run", "--preset", "smoke", *QUICK]

BAD_INPUTS = [
    # 1. seeds outside numpy's and Optuna's range
    ("study seed -1", _study("--seed", "-1"), ["--seed", SEED_RULE, "-1"]),
    ("study seed 2**32", _study("--seed", "4294967296"), ["--seed", SEED_RULE, "4294967296"]),
    ("trial seed -1", _trial("--seed", "-1"), ["--seed", SEED_RULE, "-1"]),
    ("trial seed 2**32", _trial("--seed", "4294967296"), ["--seed", SEED_RULE, "4294967296"]),
    # 2. names longer than the storage's study_name column or a file name
    ("study name 513", [*_study(), "--name", LONG], ["study name", "at most 512", "513"]),
    (
        "compare name 201",
        [*COMPARE, "--name", "a" * 201, "--storage", f"sqlite:///{STORE}"],
        ["--name", "at most 200 characters", "201"],
    ),
    (
        "run name 201",
        [*RUN, "--name", "a" * 201, "--storage", f"sqlite:///{STORE}"],
        ["--name", "at most 200 characters", "201"],
    ),
    (
        "report name 300",
        ["report", "--name", "a" * 300, "--storage", f"sqlite:///{STORE}"],
        ["--name", "at most 200 characters", "300"],
    ),
    # 3., 4. space files: encoding, step, caps
    ("space not UTF-8", _space("not_utf8"), ["not_utf8.toml", "UTF-8", "0xff"]),
    ("space step 0", _space("step_zero"), ["params.hidden_size.step", ">= 1", "0"]),
    ("space hidden_size 2e9", _space("huge_hidden"), ["hidden_size", "<= 16384", "2000000000"]),
    (
        "space max_epochs 2**63-1",
        _space("huge_epochs"),
        ["fixed.max_epochs", "<= 100000", "9223372036854775807"],
    ),
    (
        "space batch_size > train_rows",
        _space("batch_over_rows"),
        ["params.batch_size", "<= data.train_rows (2000)", "4096"],
    ),
    ("space train_rows > data", _space("rows_over_data"), ["data.train_rows", "20838", "99999"]),
    (
        "trial hidden_size 2e9",
        _trial(hidden_size=2_000_000_000),
        ["hidden_size", "<= 16384", "2000000000"],
    ),
    (
        "trial max-epochs 2**63-1",
        [*_trial(), "--max-epochs", "9223372036854775807"],
        ["max_epochs", "<= 100000", "9223372036854775807"],
    ),
    ("trial batch_size > rows", _trial(batch_size=5000), ["batch_size", "1920", "5000"]),
    # 5. an empty run name
    (
        "run name empty",
        [*RUN, "--name", "", "--storage", f"sqlite:///{STORE}"],
        ["--name", "empty"],
    ),
    # 6. a storage that cannot be opened leaves no runs/NAME/ (nor reports/)
    (
        "compare storage under a file",
        [*COMPARE, "--name", "x", "--storage", "sqlite:///{tmp}/blocker/x.db"],
        ["cannot open storage"],
    ),
    (
        "compare storage foo://",
        [*COMPARE, "--name", "x", "--storage", "foo://x"],
        ["cannot open storage foo://x"],
    ),
    (
        "run storage foo://",
        [*RUN, "--name", "x", "--storage", "foo://x"],
        ["cannot open storage foo://x"],
    ),
    # issue 18: refused before the run's plan.json and studies (was: after 11 s, both left)
    (
        "compare cpu-workers > CPUs",
        [*COMPARE, "--name", "x", "--executor", "ray", "--cpu-workers", TOO_MANY],
        ["each worker needs one CPU", f"{TOO_MANY} CPU + 0 GPU workers asked for", "Ray has"],
    ),
    (
        "run cpu-workers > CPUs",
        [*RUN, "--executor", "ray", "--cpu-workers", TOO_MANY, "--storage", f"sqlite:///{STORE}"],
        ["each worker needs one CPU", f"{TOO_MANY} CPU + 0 GPU workers asked for"],
    ),
    (
        "study cpu-workers > CPUs",
        [*_study(), "--executor", "ray", "--cpu-workers", TOO_MANY],
        ["each worker needs one CPU", f"{TOO_MANY} CPU + 0 GPU workers asked for"],
    ),
    (
        "space step 1000 over [16, 256]",
        _space("step_coarse"),
        ["params.hidden_size.step", "multiple of step", "256 - 16 = 240", "[16, 16]"],
    ),
    (
        "trial params nested 50,000 deep",
        ["trial", "--params", "[" * 50_000, "--data", "{data}"],
        ["--params must be a JSON object", "nests deeper", "50000 characters"],
    ),
    (
        "data /dev/zero",
        ["data", "--data", "/dev/zero"],
        ["/dev/zero: must be a regular data file", "character device"],
    ),
    ("data a folder", ["data", "--data", "{tmp}/in"], ["in: must be a data file", "a folder"]),
]


@pytest.mark.parametrize(
    ("argv", "pieces"), [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS]
)
def test_bad_input_is_one_line_and_writes_nothing(
    capsys, monkeypatch, tmp_path, small_data_file, argv, pieces
):
    inputs, work = tmp_path / "in", tmp_path / "work"
    inputs.mkdir()
    work.mkdir()
    (tmp_path / "blocker").write_text("a file, so no folder can be made under it")
    for name, content in SPACES.items():
        (inputs / f"{name}.toml").write_bytes(content)
    monkeypatch.chdir(work)  # runs/ and reports/ would appear here
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{data}", str(small_data_file)) for a in argv]
    code = run(argv)
    captured = capsys.readouterr()
    assert code == 2, captured.err[-2000:]
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err[-2000:]
    assert lines[0].startswith("harness: error: ")
    for piece in pieces:
        assert piece in lines[0], lines[0]
    assert list(work.iterdir()) == [], "a refused command left files behind"
    assert not (tmp_path / "store").exists(), "a refused command opened the storage"


# --- 7. no storage password on the screen -----------------------------------------------

SECRET = "s3cret-pw"
SECRET_URL = f"postgresql://user:{SECRET}@127.0.0.1:1/db"


@pytest.mark.parametrize("command", ["study", "compare", "run"])
def test_no_command_prints_the_storage_password(capsys, monkeypatch, tmp_path, command):
    """The command's own messages around a (faked) successful run, and the report's line."""
    import harness.experiment.compare
    import harness.report.write
    import harness.search.storage
    import harness.search.study
    from harness.cli import studies

    class FakeStudy:
        study_name, user_attrs = "s", {}
        best_trial = type("Best", (), {"value": 0.5, "number": 0, "params": {}})()

        def get_trials(self, **_):
            return []

    def fake_report(name, url, out, *_):
        out.write_text(f"storage `{harness.search.storage.redact_url(url)}`\n")
        return harness.report.write.ReportResult(out, None)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(harness.search.storage, "open_storage", lambda url: object())
    monkeypatch.setattr(harness.search.study, "run_study", lambda config: FakeStudy())
    monkeypatch.setattr(
        harness.experiment.compare,
        "run_compare",
        lambda config, log: Path(config.runs_root) / config.run,
    )
    monkeypatch.setattr(harness.report.write, "write_report", fake_report)
    monkeypatch.setattr(studies, "summarize_study", lambda study: None)
    argv = {
        "study": ["study", "--name", "s", "--sampler", "random"],
        "compare": ["compare", "--name", "r"],
        "run": ["run", "--preset", "smoke"],
    }[command]
    assert run([*argv, "--storage", SECRET_URL]) == 0
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert SECRET not in shown
    assert "user:***@127.0.0.1:1/db" in shown
    if command == "compare":
        assert "next: harness report --name r --storage 'postgresql://user:***@" in captured.out
        assert "password not shown" in captured.out


def test_a_storage_that_refuses_the_connection_does_not_show_its_password(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    code = run([*COMPARE, "--name", "x", "--storage", SECRET_URL])
    captured = capsys.readouterr()
    assert code == 2
    assert SECRET not in captured.out + captured.err
    assert "user:***@" in captured.err
    assert list(tmp_path.iterdir()) == []


def test_the_study_name_limit_is_optunas_column_width():
    from optuna.storages._rdb.models import MAX_INDEXED_STRING_LENGTH

    from harness.search.config import STUDY_NAME_MAX

    assert STUDY_NAME_MAX == MAX_INDEXED_STRING_LENGTH


def test_compare_study_names_fit_the_column(monkeypatch):
    """A user sampler's label counts too: RUN/<label>/r<last repeat> must fit 512."""
    from harness.errors import HarnessError
    from harness.experiment.config import CompareConfig
    from harness.search import samplers

    monkeypatch.setattr(samplers, "check_sampler", lambda spec: spec)
    monkeypatch.setattr(samplers, "sampler_label", lambda spec: spec)
    label = "x" * 510
    with pytest.raises(
        HarnessError,
        match=r"study name .* at most 512 characters "
        r"\(.*\), but 'r/x{510}/r29' has 516",
    ):
        CompareConfig(run="r", samplers=("tpe", label))


def test_packaged_train_rows_is_the_split(splits):
    """The cap of [data] train_rows and batch_size in space files is the real split's size."""
    from harness.lab.data import PACKAGED_TRAIN_ROWS

    assert len(splits.x_train) == PACKAGED_TRAIN_ROWS


def test_no_library_log_line_comes_before_an_error(tmp_path):
    """Optuna's INFO lines ("A new study created in RDB ...") and Ray's start-up warning came
    between the harness's own lines and its one-line error; now only the harness speaks."""
    import subprocess
    import sys

    argv = [sys.executable, "-m", "harness", "compare", "--name", "r", "--repeats", "2"]
    argv += ["--storage", f"sqlite:///{tmp_path / 's.db'}", "--trials", "1", "--space", SMOKE]
    argv += ["--executor", "local", "--trial-timeout", "0.001", "--bench-seeds", "0"]
    done = subprocess.run(
        [*argv, "--reference-seeds", "0", "--retrain-seeds", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[-1].startswith("harness: error: 2 trials of r/tpe/r0 failed in this session")
    library = [line for line in lines if line.startswith("[") or " -- " in line]
    assert library == [], library
