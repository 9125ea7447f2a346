"""harness.report (and harness.experiment's runs, retrain and compare under it) on small runs.

The main fixture writes a synthetic run straight through Optuna (tests/synthetic_run.py), so
these tests do not depend on the study driver; one test runs a real, tiny ``run_compare``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import optuna
import pytest
from scipy import stats as scipy_stats
from synthetic_run import make_run, write_caches

from harness.cli.app import build_parser
from harness.errors import HarnessError
from harness.experiment.runs import parse_study_name, study_name
from harness.report.markdown import signed_difference
from harness.report.stats import trial_curve, trials_to_reach
from harness.report.write import write_report

optuna.logging.set_verbosity(optuna.logging.WARNING)
RUN, REPEATS, TRIALS = "small", 3, 10


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    url = f"sqlite:///{folder / 'study.db'}"
    studies = make_run(url, RUN, repeats=REPEATS, trials=TRIALS)
    make_run(url, "other", repeats=1, trials=3)  # another run in the same storage
    write_caches(folder / "runs" / RUN, studies)
    result = write_report(RUN, url, folder / "reports" / f"{RUN}.md", folder / "runs")
    out = result.path
    return {
        "url": url,
        "folder": folder,
        "out": out,
        "verdict": result.verdict,
        "text": out.read_text(),
        "studies": {n: optuna.load_study(study_name=n, storage=url) for n in studies},
    }


def _row(text: str, first_cell: str, section: str = "") -> list[str]:
    """The cells of the first table row starting with ``first_cell`` (after ``section``)."""
    if section:
        text = text[text.index(f"## {section}") :]
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row starting with {first_cell!r}")


def _final(study: optuna.Study) -> float:
    return float(trial_curve(study.get_trials(), True)[TRIALS - 1])


def test_per_study_table_matches_the_storage(run_files):
    text = run_files["text"]
    for name, study in run_files["studies"].items():
        cells = _row(text, f"`{name}`")
        states = [
            study.get_trials(states=(s,))
            for s in (
                optuna.trial.TrialState.COMPLETE,
                optuna.trial.TrialState.PRUNED,
                optuna.trial.TrialState.FAIL,
            )
        ]
        assert cells[4:7] == [str(len(s)) for s in states]
        assert cells[7] == f"{study.best_value:.4f}"
        assert cells[8] == str(study.best_trial.number)
        assert cells[9] == f"{_final(study):.4f}"
    assert "`other/" not in text  # only this run's studies


def test_verdict_recomputes_from_the_storage(run_files):
    """The primary outcome: per repeat, the mean retrained test AUROC of TPE's chosen
    configuration minus random's. A run without plan.json took no look: the report says it
    was not pre-declared and gives the fixed-sample 95% numbers, deciding nothing."""
    retrain = json.loads((run_files["folder"] / "runs" / RUN / "retrain.json").read_text())
    mean = {
        (r["sampler"], r["repeat"]): np.mean([x["test_auroc"] for x in r["results"]])
        for r in retrain["records"]
    }
    d = np.array([mean[("tpe", r)] - mean[("random", r)] for r in range(REPEATS)])
    low, high = scipy_stats.t.interval(0.95, REPEATS - 1, loc=d.mean(), scale=scipy_stats.sem(d))
    text = run_files["text"]
    assert "**Not pre-declared**" in text
    assert (
        f"mean TPE - random = {signed_difference(d.mean())} [{signed_difference(low)}, "
        f"{signed_difference(high)}]"
    ) in text
    verdict = text[text.index("## Verdict") :].split("\n")[2]
    assert verdict.startswith("**No verdict: this run has no pre-declared design")
    assert verdict == f"**{run_files['verdict']}**"  # what 'harness run' prints, as data
    assert "| look at pairs |" not in text


def _values(url: str, run: str, sampler: str | None = None) -> list[float]:
    """Completed trial values of the run's studies (of one sampler when given)."""
    names = [s.study_name for s in optuna.get_all_study_summaries(url)]
    picked = [
        n for n in names if n.startswith(f"{run}/") and (sampler is None or f"/{sampler}/" in n)
    ]
    return [
        t.value
        for n in picked
        for t in optuna.load_study(study_name=n, storage=url).get_trials(
            states=(optuna.trial.TrialState.COMPLETE,)
        )
    ]


def test_normalised_regret_recomputes_from_the_storage(run_files):
    """Best known: every trial of the storage's studies with this space (the other run's too)
    and the retrained validation values; random search's expected best of 10 trials from the
    pooled random trials by the order-statistics formula; three repeats: mean and range."""
    url, folder = run_files["url"], run_files["folder"]
    retrain = json.loads((folder / "runs" / RUN / "retrain.json").read_text())
    known = max(
        _values(url, RUN)
        + _values(url, "other")
        + [r["val_auroc"] for rec in retrain["records"] for r in rec["results"]]
    )
    assert f"Best value known: **{known:.4f}**" in run_files["text"]
    pool = np.sort(_values(url, RUN, "random"))
    i = np.arange(1, pool.size + 1)
    expected = float(np.sum(pool * ((i / pool.size) ** TRIALS - ((i - 1) / pool.size) ** TRIALS)))
    studies = run_files["studies"]
    regret = [
        (known - _final(studies[study_name(RUN, "random", r)])) / (known - expected)
        for r in range(REPEATS)
    ]
    cells = _row(run_files["text"], "random", section="Anytime performance")
    assert cells[1] == str(REPEATS)
    gap = np.mean([known - _final(studies[study_name(RUN, "random", r)]) for r in range(REPEATS)])
    assert cells[3] == (
        f"{np.mean(regret):.2f} [{min(regret):.2f}, {max(regret):.2f}]; gap {gap:.1e}"
    )
    assert "range (min-max) of the 3 repeats, not a CI" in run_files["text"]
    tpe = [_final(studies[study_name(RUN, "tpe", r)]) for r in range(REPEATS)]
    rnd = [_final(studies[study_name(RUN, "random", r)]) for r in range(REPEATS)]
    won = sum(a > b for a, b in zip(tpe, rnd, strict=True))
    lost = sum(a < b for a, b in zip(tpe, rnd, strict=True))
    tied = REPEATS - won - lost
    p = scipy_stats.binomtest(won, won + lost).pvalue
    assert _row(run_files["text"], "TPE beats random")[-1] == (
        f"{(won + tied / 2) / REPEATS:.2f} ({won}-{lost}-{tied}, p = {p:.2g})"
    )


def test_trials_to_target_recomputes_from_the_storage(run_files):
    target = float(np.percentile(_values(run_files["url"], RUN, "random"), 90))
    studies = run_files["studies"]
    needed = [
        trials_to_reach(
            trial_curve(studies[study_name(RUN, "tpe", r)].get_trials())[:TRIALS], target
        )
        for r in range(REPEATS)
    ]
    text = run_files["text"][run_files["text"].index("## Trials to reach a target") :]
    row = next(
        line
        for line in text.splitlines()
        if line.startswith(f"| random's 90th percentile: {target:.4f} | TPE |")
    )
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    reached = [n for n in needed if n is not None]
    assert cells[2] == f"{len(reached)} of {REPEATS}"
    assert cells[4] == ", ".join(f"r{r}: {'—' if n is None else n}" for r, n in enumerate(needed))
    if len(reached) * 2 >= REPEATS:  # the median of the ECDF: half the repeats reached it
        assert cells[3] == f"{sorted(reached)[(REPEATS + 1) // 2 - 1]:g}"
    else:
        assert cells[3] == f"> {TRIALS}"


def test_retrained_test_numbers_match_the_cache(run_files):
    retrain = json.loads((run_files["folder"] / "runs" / RUN / "retrain.json").read_text())
    for record in retrain["records"]:
        auroc = [r["test_auroc"] for r in record["results"]]
        cells = _row(run_files["text"], record["study"])
        assert cells[4] == f"{np.mean(auroc):.4f} ± {np.std(auroc, ddof=1):.4f}"
    tpe_means = [
        np.mean([r["test_f1"] for r in rec["results"]])
        for rec in retrain["records"]
        if rec["sampler"] == "tpe"
    ]
    cells = _row(run_files["text"], f"TPE search, best of {TRIALS} trials")
    assert cells[3] == f"{np.mean(tpe_means):.4f} ± {np.std(tpe_means, ddof=1):.4f}"
    assert _row(run_files["text"], "reference: HistGradientBoostingClassifier")[2].startswith(
        "0.9245 ± 0.0005"
    )
    assert _row(run_files["text"], "NormalizingMLP")[3] == "0.9055 ± 0.0007 (0.9080)"


def test_figures_exist_and_are_linked_relatively(run_files):
    out: Path = run_files["out"]
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", run_files["text"])
    assert len(links) == 6
    for link in links:
        assert not link.startswith("/")
        png = out.parent / link
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_sections_in_order(run_files):
    headings = re.findall(r"^## (.+)$", run_files["text"], flags=re.M)
    assert headings[0] == "Verdict"
    for expected in (
        "Honest test numbers",
        "Which hyperparameters matter most",
        "The lab's fixed models against its printed numbers",
        "Device timings",
        "Environment",
    ):
        assert expected in headings
    assert "storage: `sqlite:///" in run_files["text"]
    assert '"multivariate": true' in run_files["text"]
    assert '- pruner: `none` with settings `{"name": "NopPruner"}`' in run_files["text"]
    # no runs/benchmarks/*.json in this run's folder: the section says how to make one
    assert headings.index("Timing benchmarks") < headings.index("Environment")
    assert "No benchmark JSON in" in run_files["text"]


def test_no_machine_path_in_the_report(run_files):
    """The fixture's storage, runs folder and figures lie outside the current folder: the
    report names them by file name, never by the machine's absolute path."""
    text = run_files["text"]
    assert str(run_files["folder"]) not in text
    assert "storage `sqlite:///…/study.db`" in text.splitlines()[2]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:///runs/harness.db", "sqlite:///runs/harness.db"),
        ("sqlite:///{here}/runs/harness.db", "sqlite:///runs/harness.db"),
        ("sqlite:///{here}/runs/h.db?timeout=5", "sqlite:///runs/h.db?timeout=5"),
        ("sqlite:////elsewhere/runs/harness.db", "sqlite:///…/harness.db"),
        ("journal://{here}/runs/j.log", "journal://runs/j.log"),
        ("journal:///elsewhere/j.log", "journal://…/j.log"),
        ("postgresql://u:secret@host/db", "postgresql://u:***@host/db"),
    ],
)
def test_storage_is_shown_without_a_machine_path(url, shown, tmp_path, monkeypatch):
    from harness.report.load import shown_storage

    monkeypatch.chdir(tmp_path)
    assert shown_storage(url.format(here=tmp_path.resolve())) == shown


def test_report_without_cached_results_falls_back(run_files, tmp_path):
    out = write_report(RUN, run_files["url"], tmp_path / "bare.md", tmp_path / "no-runs").path
    text = out.read_text()
    assert "the lab's printed NormalizingMLP AUROC 0.9080, a fallback" in text
    assert "No retrained results" in text
    assert (tmp_path / "bare_figures" / "regret_by_trial.png").is_file()


def test_password_is_not_in_the_report(run_files, tmp_path, monkeypatch):
    """A real report of a run whose storage URL holds a password: the URL is shown with the
    password masked, and the password is nowhere in the markdown or the figures' bytes (their
    PNG metadata included). SQLite URLs cannot hold a password, so the report is given a
    PostgreSQL URL and the storage it opens for it is the fixture's SQLite file."""
    import harness.report.load

    secret_url = "postgresql://alice:s3cret@db.example/optuna"
    opened = []

    def open_instead(url: str):
        opened.append(url)
        return open_existing(run_files["url"])

    open_existing = harness.report.load.open_existing_storage
    monkeypatch.setattr(harness.report.load, "open_existing_storage", open_instead)
    out = write_report(RUN, secret_url, tmp_path / "secret.md", run_files["folder"] / "runs").path
    assert opened == [secret_url]
    text = out.read_text()
    assert "`postgresql://alice:***@db.example/optuna`" in text
    figures = sorted((tmp_path / "secret_figures").glob("*.png"))
    assert figures, "the report has figures to check"
    for path in [out, *figures]:
        assert b"s3cret" not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no_studies", "--name 'missing': no studies named 'missing/<sampler>/r<repeat>'"),
        ("missing_file", "cannot be opened: file"),
        ("not_a_database", "cannot open storage"),
        ("bad_scheme", "cannot open storage"),
        ("out_parent_is_a_file", "cannot write the report there"),
        ("out_is_a_directory", "cannot write the report there"),
        ("out_not_markdown", "--out must name a .md file"),
        ("bad_name", "--name must be letters, digits"),
    ],
)
def test_bad_input_is_a_one_line_error(case, message, run_files, tmp_path):
    url, name, out = run_files["url"], RUN, tmp_path / "r.md"
    if case == "no_studies":
        name = "missing"
    elif case == "missing_file":
        url = f"sqlite:///{tmp_path / 'absent.db'}"
    elif case == "not_a_database":
        (tmp_path / "junk.db").write_text("not sqlite at all\n" * 100)
        url = f"sqlite:///{tmp_path / 'junk.db'}"
    elif case == "bad_scheme":
        url = "nosuchdb://user:pw@host/db"
    elif case == "out_parent_is_a_file":
        (tmp_path / "file").write_text("")
        out = tmp_path / "file" / "r.md"
    elif case == "out_is_a_directory":
        out = tmp_path / "dir.md"
        out.mkdir()
    elif case == "out_not_markdown":
        out = tmp_path / "r.html"
    elif case == "bad_name":
        name = "../escape"
    with pytest.raises(HarnessError) as error:
        write_report(name, url, out, tmp_path / "runs")
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert "pw" not in str(error.value)  # never the password


def test_command_line_entry_points(run_files, tmp_path):
    parser = build_parser()
    out = tmp_path / "cli.md"
    args = parser.parse_args(
        [
            "report",
            "--name",
            RUN,
            "--storage",
            run_files["url"],
            "--out",
            str(out),
            "--runs-dir",
            str(run_files["folder"] / "runs"),
        ]
    )
    args.handler(args)
    assert out.read_text().startswith(f"# Run `{RUN}`")
    with pytest.raises(HarnessError, match="no studies named"):
        args = parser.parse_args(
            ["report", "--name", "nope", "--storage", run_files["url"], "--out", str(out)]
        )
        args.handler(args)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"run": "a b"}, "--name must be letters, digits"),
        ({"samplers": ("tpe", "tpe")}, "--samplers must be one or more samplers with distinct"),
        ({"samplers": ("nope",)}, "a sampler must be one of .* but got 'nope'"),
        ({"repeats": 0}, "--repeats >= 1 must hold, but got 0"),
    ],
)
def test_compare_config_rejects_bad_input(changes, message):
    from harness.experiment.config import CompareConfig

    with pytest.raises(HarnessError, match=message):
        CompareConfig(**{"run": "ok", **changes})


@pytest.mark.parametrize(
    ("run", "name", "expected"),
    [
        ("lab", "lab/tpe/r0", ("tpe", 0, None)),
        ("lab", "lab/random/r12", ("random", 12, None)),
        ("a/b", "a/b/tpe/r3", ("tpe", 3, None)),
        ("lab", "lab/wine/tpe/r3", ("tpe", 3, "wine")),  # a run of several tasks
        ("lab", "lab2/tpe/r0", None),
        ("lab", "lab/tpe/rx", None),
        ("lab", "lab/wine/tpe/r1/extra", None),
        ("l.b", "lxb/tpe/r0", None),
    ],
)
def test_parse_study_name(run, name, expected):
    assert parse_study_name(run, name) == expected


TINY_SPACE = """
[params.lr]
type = "float"
low = 1e-3
high = 1e-2
log = true

[params.dropout]
type = "float"
low = 0.0
high = 0.5

[params]
hidden_size = 16
batch_size = 256
weight_decay = 1e-5

[fixed]
max_epochs = 2
patience = 1

[data]
train_rows = 400
"""


def test_compare_then_report_on_a_tiny_real_run(tmp_path, monkeypatch):
    """The whole path: studies through harness.search.study, retraining, the reference, the report;
    then numbers in the report are recomputed from the storage and the run folder."""
    from harness.experiment.compare import CompareConfig, run_compare
    from harness.search.config import StudyConfig

    space = tmp_path / "tiny.toml"
    space.write_text(TINY_SPACE)
    url = f"sqlite:///{tmp_path / 'tiny.db'}"
    study = StudyConfig(
        name="template",
        sampler="tpe",
        trials=2,
        space_path=space,
        storage=url,
        executor="local",
        device="cpu",
        show_progress=False,
    )
    config = CompareConfig(
        run="tiny",
        study=study,
        repeats=1,
        retrain_seeds=2,
        bench_seeds=0,
        reference_seeds=1,
        runs_root=tmp_path / "runs",
    )
    folder = run_compare(config, log=lambda text: None)
    retrain = json.loads((folder / "retrain.json").read_text())
    assert {r["study"] for r in retrain["records"]} == {"tiny/tpe/r0", "tiny/random/r0"}
    assert all(len(r["results"]) == 2 for r in retrain["records"])
    assert json.loads((folder / "reference.json").read_text())["data"]["train_rows"] == 400

    # a second run resumes nothing and retrains nothing: everything is cached
    import harness.search.runner

    def refuse(*args, **kwargs):
        raise AssertionError("nothing should train on a finished run")

    monkeypatch.setattr(harness.search.runner.TrialRunner, "run", refuse)
    run_compare(config, log=lambda text: None)

    out = write_report("tiny", url, tmp_path / "tiny.md", tmp_path / "runs").path
    text = out.read_text()
    for name in ("tiny/tpe/r0", "tiny/random/r0"):
        study = optuna.load_study(study_name=name, storage=url)
        assert _row(text, f"`{name}`")[7] == f"{study.best_value:.4f}"
        record = next(r for r in retrain["records"] if r["study"] == name)
        assert record["trial"] == study.best_trial.number
        f1 = [r["test_f1"] for r in record["results"]]
        assert _row(text, name, section="Honest")[5] == (
            f"{np.mean(f1):.4f} ± {np.std(f1, ddof=1):.4f}"
        )
    # Both trials fall in TPE's random start-up, drawn with the repeat's seed like the random
    # sampler's: the pair is identical, and the report says so instead of testing anything.
    assert "**No verdict: TPE and random have 1 complete pair(s); a verdict needs" in text
    assert "All 2 compared trials of TPE and random had identical configurations" in text
    _check_predictions(folder, retrain)


def _check_predictions(folder: Path, retrain: dict) -> None:
    """Each study's retrained models keep their test-row probabilities beside the cache: one
    row per seed, whose AUROC is the seed's recorded test AUROC; nothing half-written."""
    from sklearn.metrics import roc_auc_score

    from harness.experiment.predictions import read_predictions

    for record in retrain["records"]:
        kept = read_predictions(folder / record["predictions"])
        assert kept.probabilities.shape == (2, kept.labels.size) and kept.labels.size == 6513
        assert list(kept.seeds) == [r["seed"] for r in record["results"]]
        for row, result in zip(kept.probabilities, record["results"], strict=True):
            assert roc_auc_score(kept.labels, row) == pytest.approx(result["test_auroc"])
    assert not list(folder.rglob("*.tmp")), "written atomically: no temporary file left"


def test_studies_with_different_trial_counts_compare_at_the_fewest(tmp_path):
    url = f"sqlite:///{tmp_path / 'uneven.db'}"
    studies = make_run(url, "uneven", repeats=2, trials=6)
    studies["uneven/tpe/r1"].set_user_attr("target_trials", 9)  # resumed with more trials...
    out = write_report("uneven", url, tmp_path / "uneven.md", tmp_path / "runs").path
    text = out.read_text()  # ...but the others have 6, so all are compared after 6
    assert "Studies were asked for 6 or 9 trials; every comparison uses the first 6" in text
    assert "## Verdict" in text


def test_pruned_trials_count_towards_the_compared_trials(tmp_path):
    """As the driver counts its target: a run whose studies hold 6 COMPLETE and 1 PRUNED trial
    each is compared after 7 trials, the pruned one counted (and adding no value)."""
    from harness.report.load import load_run

    url = f"sqlite:///{tmp_path / 'pruned.db'}"
    studies = make_run(url, "pruned", repeats=2, trials=6)  # random/r1 already has a PRUNED
    for name, study in studies.items():
        if name != "pruned/random/r1":
            study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED))
    assert load_run("pruned", url, tmp_path / "runs").target == 7
