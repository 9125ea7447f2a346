"""Issue 18: run files that survive a full disk, a crash mid-write, hand edits and two commands
at once (harness/files.py, harness/experiment/run_files.py)."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from synthetic_run import make_run, write_caches

from harness.cli.app import run
from harness.errors import HarnessError
from harness.paths import SPACES_DIR

optuna.logging.set_verbosity(optuna.logging.WARNING)
SMOKE = str(SPACES_DIR / "smoke.toml")
TEMPORARY = ".*.tmp*"  # what a writer leaves if it fails half-way (old: .NAME.PID.tmp)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A run "r" (2 repeats of tpe and random) with every run file, valid."""
    from harness.experiment.design import declare
    from harness.experiment.verdict import Plan

    folder = tmp_path_factory.mktemp("synthetic")
    url = f"sqlite:///{folder / 'study.db'}"
    runs = folder / "runs"
    write_caches(runs / "r", make_run(url, "r", repeats=2, trials=4), k=1)
    declare(runs / "r" / "plan.json", Plan.fixed(2), ("tpe", "random"), 1, log=lambda _: None)
    pool = [{"workers": 2, "wall_s": 10.0, "busy_s": 18.0, "jobs": 20, "utilization": 0.9}]
    (runs / "r" / "pool.json").write_text(json.dumps(pool))
    return folder, url


def _edit(key: str):
    """A change to a document: set the value at a dotted path (``looks.0.pairs``)."""

    def change(document, value):
        *parents, last = key.split(".")
        target = document
        for step in parents:
            target = target[int(step) if step.isdigit() else step]
        target[int(last) if last.isdigit() else last] = value
        return document

    return change


# (case id, file, the change: a function of the document or the file's new text, the rule)
DAMAGED = [
    (
        "plan looks one empty",
        "plan.json",
        lambda d: _edit("looks")(d, [{}]),
        "looks[0].pairs: is required",
    ),
    (
        "plan pairs 'x'",
        "plan.json",
        lambda d: _edit("looks")(d, [{"pairs": "x", "level": 0.01, "outcome": "undecided"}]),
        'looks[0].pairs: must be of type integer, but got "x"',
    ),
    (
        "plan pair of one",
        "plan.json",
        lambda d: _edit("pair")(d, ["tpe"]),
        "pair: must have at least 2 items",
    ),
    (
        "plan max_pairs 0",
        "plan.json",
        lambda d: _edit("plan.max_pairs")(d, 0),
        "plan.max_pairs: must be >= 1, but got 0",
    ),
    (
        "retrain records of 1",
        "retrain.json",
        lambda d: {"records": [1]},
        "records[0]: must be of type object, but got 1",
    ),
    (
        "retrain truncated",
        "retrain.json",
        '{"records": [{"study"',
        "must be the JSON written by 'harness compare'",
    ),
    (
        "retrain seed 'x'",
        "retrain.json",
        lambda d: _edit("records.0.results.0.seed")(d, "x"),
        'records[0].results[0].seed: must be of type integer, but got "x"',
    ),
    ("bench an object", "bench.json", lambda d: {"a": 1}, "(top level): must be of type array"),
    (
        "bench seconds_per_epoch 'fast'",
        "bench.json",
        lambda d: _edit("0.seconds_per_epoch")(d, "fast"),
        "[0].seconds_per_epoch: must be of type number",
    ),
    (
        "pool workers 'x'",
        "pool.json",
        lambda d: [{"workers": "x"}],
        '[0].workers: must be of type integer, but got "x"',
    ),
    (
        "reference records 'x'",
        "reference.json",
        lambda d: {"records": "x"},
        'records: must be of type array, but got "x"',
    ),
    (
        "reference record without seed",
        "reference.json",
        lambda d: {**d, "records": [{"status": "ok"}]},
        "records[0].seed: is required",
    ),
]


def _damage(folder: Path, name: str, change) -> None:
    path = folder / name
    if isinstance(change, str):
        path.write_text(change)
    else:
        path.write_text(json.dumps(change(json.loads(path.read_text()))))


@pytest.mark.parametrize(
    ("name", "change", "rule"), [case[1:] for case in DAMAGED], ids=[case[0] for case in DAMAGED]
)
def test_a_damaged_run_file_is_one_line_naming_it_and_its_field(
    synthetic, tmp_path, capsys, name, change, rule
):
    """`report` and `compare` on the run: exit 2, one line `runs/r/FILE: FIELD: RULE`, before
    anything is written (was: twelve tracebacks, silent defaults, a plan.json with max_pairs 0
    reported as '--max-pairs', and a report leaving an empty figures folder)."""
    folder, url = synthetic
    runs = tmp_path / "runs"
    shutil.copytree(folder / "runs", runs)
    _damage(runs / "r", name, change)
    before = {p.name: p.read_bytes() for p in (runs / "r").iterdir()}
    studies = optuna.study.get_all_study_names(url)
    out = tmp_path / "reports" / "r.md"
    report = ["report", "--name", "r", "--storage", url, "--runs-dir", str(runs), "--out", str(out)]
    compare = ["compare", "--name", "r", "--storage", url, "--runs-dir", str(runs)]
    compare += ["--repeats", "2", "--executor", "local", "--space", SMOKE]
    for argv in (report, compare):
        code = run(argv)
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert code == 2, captured.err[-3000:]
        assert len(lines) == 1, captured.err[-3000:]
        assert lines[0].startswith(f"harness: error: {runs / 'r' / name}: "), lines[0]
        assert rule in lines[0], lines[0]
        assert "--max-pairs" not in lines[0]
    assert not (tmp_path / "reports").exists(), "no report, no empty figures folder"
    after = {p.name: p.read_bytes() for p in (runs / "r").iterdir() if p.name != ".lock"}
    assert after == before, "the refused commands changed no run file"
    assert optuna.study.get_all_study_names(url) == studies


def test_compare_reads_its_run_files_even_when_its_design_is_done(synthetic, tmp_path, capsys):
    """A finished design never read retrain.json again: compare exited 0 over a truncated one,
    and only the report failed."""
    folder, url = synthetic
    runs = tmp_path / "runs"
    shutil.copytree(folder / "runs", runs)
    plan = json.loads((runs / "r" / "plan.json").read_text())
    plan["looks"] = [{"pairs": 2, "level": 0.05, "outcome": "undecided", "at": "then"}]
    (runs / "r" / "plan.json").write_text(json.dumps(plan))
    (runs / "r" / "retrain.json").write_text('{"records": [{"stu')
    argv = ["compare", "--name", "r", "--storage", url, "--runs-dir", str(runs), "--repeats", "2"]
    code = run([*argv, "--executor", "local", "--space", SMOKE, "--bench-seeds", "0"])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.err.splitlines() == [
        f"harness: error: {runs / 'r' / 'retrain.json'}: must be the JSON written by 'harness "
        "compare', but it cannot be read (Unterminated string starting at: line 1 column 15 "
        "(char 14))"
    ]


# ---------------------------------------------------------------- two commands, one run


def test_a_second_command_on_a_run_in_use_is_refused(tmp_path, capsys, monkeypatch):
    """While a command holds runs/RUN/.lock (flock), another compare on the run is refused in
    one line and writes nothing (was: both ran, each writing back its own copy of the run's
    files)."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "runs" / "r"
    folder.mkdir(parents=True)
    holder = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    url = f"sqlite:///{tmp_path / 's.db'}"
    argv = ["compare", "--name", "r", "--storage", url, "--repeats", "2", "--trials", "1"]
    argv += ["--executor", "local", "--space", SMOKE, "--bench-seeds", "0"]
    try:
        code = run([*argv, "--reference-seeds", "0", "--retrain-seeds", "1"])
    finally:
        os.close(holder)
    captured = capsys.readouterr()
    assert code == 2, captured.err[-2000:]
    assert captured.err.splitlines() == [
        "harness: error: run folder runs/r is in use by another command; one command per run "
        "at a time: wait for it to end, or stop it, then run this again"
    ]
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]
    assert optuna.study.get_all_study_names(url) == []


def test_the_lock_names_its_holder_and_dies_with_it(tmp_path):
    """The refusal names the holding command; a holder killed with SIGKILL holds nothing (the
    kernel drops its flock), so no stale lock file blocks the next command."""
    from harness.experiment.run_files import run_lock

    folder = tmp_path / "r"
    code = (
        "import sys, time; from pathlib import Path\n"
        "from harness.experiment.run_files import run_lock\n"
        "with run_lock(Path(sys.argv[1]), 'harness compare --name r'):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(HarnessError) as refused, run_lock(folder, "harness run --name r"):
            pass
        assert f"is in use by 'harness compare --name r' (pid {child.pid} on " in str(refused.value)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with run_lock(folder, "harness run --name r"):
        assert "harness run --name r" in (folder / ".lock").read_text()


# ---------------------------------------------------------------- a full disk


class FullDisk:
    """A file whose disk fills half-way through a write, as ENOSPC arrives."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stream.close()

    def write(self, data):
        self.stream.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")


def _fill_disk_for(monkeypatch, prefix: str) -> None:
    """Writes to a temporary file named ``prefix``* fail with ENOSPC (every writer of the run
    files, old and new, writes a temporary file beside its target through Path.open)."""
    real_open = Path.open

    def open_on_a_full_disk(self, mode="r", *args, **kwargs):
        stream = real_open(self, mode, *args, **kwargs)
        return FullDisk(stream) if "w" in mode and self.name.startswith(prefix) else stream

    monkeypatch.setattr(Path, "open", open_on_a_full_disk)


def test_a_full_disk_under_runs_ends_in_one_line_with_nothing_left_behind(
    tmp_path, capsys, monkeypatch
):
    """The disk fills as retrain.json is written, mid-run: one line naming the file, no
    temporary file, nothing RUNNING; plan.json, written before, whole (was: an OSError
    traceback from write_atomically and a stray .retrain.json.PID.tmp)."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 's.db'}"
    _fill_disk_for(monkeypatch, ".retrain.")
    argv = ["compare", "--name", "r", "--storage", url, "--repeats", "2", "--trials", "2"]
    argv += ["--executor", "local", "--space", SMOKE, "--bench-seeds", "0"]
    code = run([*argv, "--reference-seeds", "0", "--retrain-seeds", "1"])
    captured = capsys.readouterr()
    assert code == 2, captured.err[-3000:]
    assert "Traceback" not in captured.err
    assert captured.err.splitlines()[-1] == (
        "harness: error: cannot write runs/r/retrain.json: No space left on device (errno 28); "
        "nothing was written there, an earlier file of that name is unchanged"
    )
    files = [p for p in (tmp_path / "runs").rglob("*") if p.is_file()]
    # a retrained study's test-row probabilities are written, whole, before the record that
    # names them: such a file may stand; a temporary file may not
    assert sorted(p.name for p in files if p.parent.name != "predictions") == [
        ".lock",
        "plan.json",
    ]
    assert all(p.suffix == ".npz" for p in files if p.parent.name == "predictions")
    json.loads((tmp_path / "runs" / "r" / "plan.json").read_text())
    for name in optuna.study.get_all_study_names(url):
        trials = optuna.load_study(study_name=name, storage=url).get_trials()
        assert not [t for t in trials if t.state == TrialState.RUNNING], name


@pytest.mark.slow
def test_a_full_tmpfs_under_runs_ends_in_one_line(tmp_path):
    """The same on a real full file system: a 64 KiB tmpfs mounted over runs/ (in a user and
    mount namespace of its own; skipped where the kernel allows none)."""
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip("no user namespaces here to mount a small tmpfs in")
    url = f"sqlite:///{tmp_path / 's.db'}"
    harness = [sys.executable, "-m", "harness", "compare", "--name", "r", "--storage", url]
    harness += ["--repeats", "2", "--trials", "2", "--executor", "local", "--space", SMOKE]
    harness += ["--bench-seeds", "0", "--reference-seeds", "0", "--retrain-seeds", "1"]
    # 56 KiB of the 64 taken: plan.json fits in what is left, retrain.json (larger) does not
    script = (
        "mkdir -p runs && mount -t tmpfs -o size=64k tmpfs runs && "
        "head -c 57344 /dev/zero > runs/filler && exec " + subprocess.list2cmdline(harness)
    )
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith("harness: error: cannot write runs/r/"), last
    assert "No space left on device (errno 28)" in last
    for name in optuna.study.get_all_study_names(url):
        trials = optuna.load_study(study_name=name, storage=url).get_trials()
        assert not [t for t in trials if t.state == TrialState.RUNNING], name


# ---------------------------------------------------------------- the writer itself


def test_write_atomically_is_whole_or_nothing(tmp_path, monkeypatch):
    from harness.files import write_atomically

    path = tmp_path / "sub" / "file.json"
    write_atomically(path, "first\n")
    assert path.read_text() == "first\n"
    _fill_disk_for(monkeypatch, ".file.")
    with pytest.raises(HarnessError) as failed:
        write_atomically(path, "second, longer\n" * 100)
    assert str(failed.value).startswith(f"cannot write {path}: No space left on device")
    assert path.read_text() == "first\n", "the old file is whole"
    assert list(path.parent.glob(TEMPORARY)) == []


def test_a_writer_that_fails_leaves_no_temporary_file(tmp_path):
    """replacing() for writers that take a path (matplotlib's savefig): any failure removes
    the temporary file and leaves the destination as it was."""
    from harness.files import replacing

    path = tmp_path / "figure.png"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match="drawing failed"), replacing(path) as temporary:
        assert temporary.suffix == ".png", "savefig picks the format by suffix"
        temporary.write_bytes(b"half")
        raise ValueError("drawing failed")
    assert path.read_bytes() == b"old"
    assert list(tmp_path.glob(TEMPORARY)) == []


def test_a_report_figure_is_written_through_a_temporary_file(tmp_path, monkeypatch):
    """Figures are renamed into place whole: a report regenerated while someone views the old
    one never shows half a PNG."""
    import matplotlib.pyplot as plt

    import harness.files
    from harness.report.plots import save_figure

    renamed = []
    real_replace = harness.files.os.replace

    def spy(source, target):
        renamed.append((Path(source).name, Path(target).name))
        real_replace(source, target)

    monkeypatch.setattr(harness.files.os, "replace", spy)
    fig, _ = plt.subplots()
    save_figure(fig, tmp_path / "curve.png")
    ((source, target),) = renamed
    assert source.startswith(".curve.") and source.endswith(".tmp.png")
    assert target == "curve.png"
    assert (tmp_path / "curve.png").read_bytes().startswith(b"\x89PNG")
