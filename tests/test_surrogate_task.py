"""A fitted surrogate as a task (``--task surrogate:NAME``, issue 22): reproducible studies,
the same results on one or two processes, a low-rho surrogate refused unless forced, and a
report that says how far to trust it against the real run it was fitted from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from test_surrogate import SPACE, _trials, _value

from harness.search.config import StudyConfig
from harness.search.study import run_study


def _real_run(tmp_path: Path, noise: bool = False) -> str:
    """A 'real' run 'syn' (tpe and random, repeats 0-2, 40 trials each) and its retraining
    records; with ``noise`` its values are noise, so a surrogate of it ranks nothing."""
    url = f"sqlite:///{tmp_path / 'real.db'}"
    rng = np.random.default_rng(0)
    records = []
    for repeat in range(3):
        for offset, sampler in enumerate(("tpe", "random")):
            study = optuna.create_study(
                study_name=f"syn/{sampler}/r{repeat}", storage=url, direction="maximize"
            )
            study.set_user_attr("objective", "val_auroc")
            study.set_user_attr("space_sha256", "s")
            for params in _trials(40, seed=10 * repeat + offset):
                value = float(rng.random()) if noise else _value(params)
                study.add_trial(
                    optuna.trial.create_trial(
                        params=params, distributions=SPACE, value=value, user_attrs={"seconds": 2.0}
                    )
                )
            best = study.best_trial.params
            results = [
                {"seed": s, "status": "ok", "val_auroc": _value(best) + 1e-3 * s} for s in (0, 1)
            ]
            records.append(
                {
                    "study": study.study_name,
                    "sampler": sampler,
                    "repeat": repeat,
                    "trial": 0,
                    "value": 0.9,
                    "params": best,
                    "results": results,
                }
            )
    (tmp_path / "runs" / "syn").mkdir(parents=True)
    (tmp_path / "runs" / "syn" / "retrain.json").write_text(json.dumps({"records": records}))
    return url


def _harness(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )


def _fit(tmp_path: Path, noise: bool = False) -> None:
    url = _real_run(tmp_path, noise)
    done = _harness(tmp_path, "surrogate", "fit", "--name", "s", "--from", "syn", "--storage", url)
    assert done.returncode == 0, done.stderr


def test_a_surrogate_study_is_reproducible_and_stored_whole(tmp_path, monkeypatch):
    _fit(tmp_path)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'sur.db'}"
    base = {
        "sampler": "tpe",
        "trials": 15,
        "task": "surrogate:s",
        "storage": url,
        "executor": "local",
        "show_progress": False,
    }
    first = run_study(StudyConfig(name="a", **base))
    second = run_study(StudyConfig(name="b", **base))
    assert [(t.params, t.value) for t in first.trials] == [
        (t.params, t.value) for t in second.trials
    ]
    stored = optuna.load_study(study_name="a", storage=url)
    assert len(stored.trials) == 15 and stored.user_attrs["surrogate"]["trials"] == 240
    assert stored.user_attrs["primary_source"] == "true"
    assert stored.user_attrs["proposal_seconds"] > 0
    assert all("simulated_seconds" in t.user_attrs for t in stored.trials)


@pytest.mark.slow
def test_a_surrogate_compare_is_the_same_on_one_or_two_processes_and_reports_trust(tmp_path):
    _fit(tmp_path)
    outcomes = []
    for processes in ("1", "2"):
        run = f"c{processes}"
        done = _harness(
            tmp_path,
            *("compare", "--name", run, "--tasks", "surrogate:s", "--samplers", "tpe", "random"),
            *("--repeats", "3", "--trials", "15", "--cpu-workers", processes),
        )
        assert done.returncode == 0, done.stderr
        assert "journal:runs/surrogate-studies.journal" in done.stdout  # the default storage
        records = json.loads((tmp_path / f"runs/{run}/retrain.json").read_text())["records"]
        outcomes.append(
            sorted(
                (r["sampler"], r["repeat"], r["params"], r["results"][0]["test_value"])
                for r in records
            )
        )
    assert outcomes[0] == outcomes[1]
    report = _harness(
        tmp_path, "report", "--name", "c2", "--storage", "journal:runs/surrogate-studies.journal"
    )
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "reports/c2.md").read_text()
    assert "## How far to trust this surrogate" in text and "Spearman rho" in text
    assert "**Against the real run `syn`**" in text and "| TPE - random |" in text
    assert "Forced" not in text


@pytest.mark.slow
def test_a_surrogate_below_rho_0_8_is_refused_unless_forced(tmp_path):
    _fit(tmp_path, noise=True)
    argv = (
        "compare",
        "--name",
        "c",
        "--task",
        "surrogate:s",
        "--samplers",
        "tpe",
        "random",
        "--repeats",
        "2",
        "--trials",
        "12",
    )
    refused = _harness(tmp_path, *argv)
    assert refused.returncode == 2
    line = refused.stderr.strip()
    assert "\n" not in line and "below 0.8" in line and "--force-surrogate" in line
    assert not (tmp_path / "runs/c").exists()
    forced = _harness(tmp_path, *argv, "--force-surrogate")
    assert forced.returncode == 0, forced.stderr
    report = _harness(
        tmp_path, "report", "--name", "c", "--storage", "journal:runs/surrogate-studies.journal"
    )
    assert report.returncode == 0, report.stderr
    assert "**Forced: this surrogate's held-out rho" in (tmp_path / "reports/c.md").read_text()
