"""The sampler registry (harness.search.samplers) and the report's ranks section
(harness.report.ranks): built-ins, a user's own sampler, bad specs, ranks by hand."""

from __future__ import annotations

import inspect
import itertools
import json
import re

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from study_spaces import TINY, write_space
from synthetic_run import make_run, write_caches

from harness.choices import SAMPLERS
from harness.cli.app import run
from harness.errors import HarnessError
from harness.report.stats import trial_curve
from harness.search.samplers import (
    BUILTINS,
    build_sampler,
    make_sampler,
    sampler_label,
    sampler_settings,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
DISTRIBUTIONS = {
    "hidden_size": IntDistribution(8, 256, log=True),
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "batch_size": CategoricalDistribution([64, 128, 256]),
}
USER_MODULE = '''
from optuna.samplers import RandomSampler


class MySampler(RandomSampler):
    """Random search that remembers a note (a keyword the harness passes through)."""

    def __init__(self, seed=None, note="none"):
        super().__init__(seed=seed)
        self.note = note


class Seedless(RandomSampler):
    def __init__(self):
        super().__init__(seed=0)


NOT_A_SAMPLER = 3
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_samplers.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_samplers"


def first_proposals(sampler: optuna.samplers.BaseSampler, n: int = 4) -> list[dict]:
    study = optuna.create_study(sampler=sampler)
    out = []
    for _ in range(n):
        trial = study.ask(DISTRIBUTIONS)
        out.append(trial.params)
        study.tell(trial, float(np.log(trial.params["lr"])))
    return out


# ---------------------------------------------------------------- built-ins


def test_the_light_list_is_the_registry():
    assert tuple(BUILTINS) == SAMPLERS == ("tpe", "random", "qmc", "gp", "cmaes")


@pytest.mark.parametrize("name", SAMPLERS)
def test_every_builtin_builds_with_a_seed_and_records_every_setting(name):
    sampler, settings = make_sampler(name, 7)
    cls = getattr(optuna.samplers, settings["name"])
    assert type(sampler) is cls
    assert settings["seed"] == 7
    stored = json.loads(json.dumps(settings))  # as the storage keeps it
    assert stored == settings
    parameters = inspect.signature(cls).parameters
    assert set(settings) - {"name"} <= set(parameters), "every recorded setting is an argument"
    rebuilt = build_sampler(stored)
    assert first_proposals(rebuilt) == first_proposals(make_sampler(name, 7)[0])


def test_tpe_keeps_its_exact_settings():
    assert make_sampler("tpe", 3)[1] == {
        "name": "TPESampler",
        "n_startup_trials": 10,
        "multivariate": True,
        "constant_liar": True,
        "seed": 3,
    }


@pytest.mark.parametrize("name", ["qmc", "random"])
def test_same_seed_same_first_proposals(name):
    a = first_proposals(make_sampler(name, 5)[0])
    assert a == first_proposals(make_sampler(name, 5)[0])
    assert a != first_proposals(make_sampler(name, 6)[0])


# ---------------------------------------------------------------- a user's sampler


@pytest.mark.parametrize(
    ("spec", "kwargs"),
    [
        ('{m}:MySampler:{{"seed": 3}}', {"seed": 3}),  # the user's seed wins
        ('{m}:MySampler:{{"note": "hi"}}', {"note": "hi", "seed": 11}),  # the study's seed added
        ("{m}:MySampler", {"seed": 11}),
        ("{m}:Seedless", {}),  # no seed argument: none passed
    ],
)
def test_user_sampler_settings(user_module, spec, kwargs):
    spec = spec.format(m=user_module)
    settings = sampler_settings(spec, 11)
    cls = spec.split(":")[1]
    assert settings == {
        "name": cls,
        "spec": f"{user_module}:{cls}",
        "label": cls.lower(),
        "kwargs": kwargs,
    }
    sampler = build_sampler(settings)
    assert type(sampler).__name__ == cls
    assert getattr(sampler, "note", "none") == kwargs.get("note", "none")


def test_user_sampler_runs_a_study(user_module, tmp_path):
    from harness.search.study import StudyConfig, run_study

    spec = f'{user_module}:MySampler:{{"seed": 3}}'
    config = StudyConfig(
        name="u",
        sampler=spec,
        trials=2,
        space_path=write_space(tmp_path, TINY),
        storage=f"sqlite:///{tmp_path / 'u.db'}",
        executor="local",
        device="cpu",
        show_progress=False,
    )
    study = run_study(config)
    assert len(study.trials) == 2
    assert study.user_attrs["sampler"] == {
        "name": "MySampler",
        "spec": f"{user_module}:MySampler",
        "label": "mysampler",
        "kwargs": {"seed": 3},
    }
    from harness.search.spaces import load_space

    plain = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    expected = plain.ask(load_space(config.space_path).distributions).params
    assert study.trials[0].params == expected, "the user's class proposed, with its seed"
    # resuming with other keyword arguments is refused: the study keeps its settings
    with pytest.raises(HarnessError, match="exists with sampler"):
        run_study(
            StudyConfig(**{**config.__dict__, "sampler": f"{user_module}:MySampler", "trials": 3})
        )


def test_compare_labels_user_samplers_by_class(user_module):
    from harness.experiment.config import CompareConfig

    config = CompareConfig(run="x", samplers=("tpe", f"{user_module}:MySampler"))
    names = [config.study_for(s, 1).name for s in config.samplers]
    assert names == ["x/tpe/r1", "x/mysampler/r1"]
    assert sampler_label(f'{user_module}:MySampler:{{"a": 1}}') == "mysampler"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("nope", "must be one of ['tpe', 'random', 'qmc', 'gp', 'cmaes'] or module:Class"),
        ("no_such_module_xyz:Foo", "module must be importable, but 'no_such_module_xyz'"),
        ("{m}:Missing", "has no 'Missing'"),
        ("{m}:NOT_A_SAMPLER", "subclass of optuna.samplers.BaseSampler"),
        ("json:JSONDecoder", "subclass of optuna.samplers.BaseSampler, but 'json:JSONDecoder'"),
        ("{m}:MySampler:[1, 2]", "must be a JSON object, but got '[1, 2]'"),
        ("{m}:MySampler:{{seed", "must be a JSON object, but got '{seed'"),
        ("1bad:Class", "or module:Class"),
        ("{m}:Random", "no built-in name"),  # its label would be 'random'
    ],
)
def test_bad_specs_name_the_rule_and_the_value(user_module, spec, words):
    from harness.search.config import StudyConfig

    spec = spec.format(m=user_module)
    with pytest.raises(HarnessError, match=re.escape(words)):
        StudyConfig(name="s", sampler=spec)


@pytest.mark.parametrize(
    "samplers",
    [(), ("tpe", "tpe"), ("{m}:MySampler", '{m}:MySampler:{{"note": "b"}}')],
)
def test_compare_refuses_duplicate_labels(user_module, samplers):
    from harness.experiment.config import CompareConfig

    samplers = tuple(s.format(m=user_module) for s in samplers)
    with pytest.raises(HarnessError, match=r"distinct labels.*but got"):
        CompareConfig(run="x", samplers=samplers)


def test_cli_bad_sampler_is_one_line_and_exit_2(tmp_path, capsys):
    code = run(
        [
            "study",
            "--name",
            "s",
            "--sampler",
            "nope:Nope",
            "--executor",
            "local",
            "--storage",
            f"sqlite:///{tmp_path / 's.db'}",
        ]
    )
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1 and "'nope'" in err[0], err


def test_resumed_qmc_keeps_its_seed_and_tpe_reseeds(tmp_path):
    from harness.search.config import StudyConfig
    from harness.search.driver import open_study

    space = write_space(tmp_path, TINY)
    for name, reseeded in (("qmc", False), ("tpe", True)):
        config = StudyConfig(
            name=name,
            sampler=name,
            seed=4,
            space_path=space,
            storage=f"sqlite:///{tmp_path / 'r.db'}",
        )
        driver = open_study(config)
        driver.study.enqueue_trial({"lr": 0.005})
        driver.study.ask()  # one trial exists now
        driver.lease.release()  # the first session ends
        again = open_study(config)
        seeds = [s["sampler_seed"] for s in again.study.user_attrs["sessions"]]
        assert (seeds[1] != seeds[0]) is reseeded, (name, seeds)
        assert again.study.user_attrs["sampler"] == sampler_settings(name, 4)


# ---------------------------------------------------------------- the ranks section


@pytest.fixture(scope="module")
def three_samplers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ranks")
    url = f"sqlite:///{folder / 'ranks.db'}"
    studies = make_run(url, "three", repeats=4, trials=10, samplers=("tpe", "random", "qmc"))
    write_caches(folder / "runs" / "three", studies)
    return folder, url, studies


def hand_ranks(studies: dict, repeats: int, budget: int) -> dict[str, float]:
    """Average rank by hand: sort each repeat's best values (higher AUROC first)."""
    totals = {"tpe": 0.0, "random": 0.0, "qmc": 0.0}
    for r in range(repeats):
        best = {
            s: float(trial_curve(studies[f"three/{s}/r{r}"].get_trials(), True)[budget - 1])
            for s in totals
        }
        for position, sampler in enumerate(sorted(best, key=lambda s: -best[s]), start=1):
            assert list(best.values()).count(best[sampler]) == 1, "no ties in this data"
            totals[sampler] += position
    return {s: total / repeats for s, total in totals.items()}


def test_ranks_section_matches_a_hand_computation(three_samplers):
    from harness.report.context import ReportContext
    from harness.report.load import load_run
    from harness.report.markdown import Figures
    from harness.report.ranks import section_ranks

    folder, url, studies = three_samplers
    data = load_run("three", url, folder / "runs")
    figures = Figures(folder / "figs", "figs")
    figures.folder.mkdir()
    text = "\n".join(section_ranks(ReportContext(data, figures)))
    secondary = text[text.index("Secondary view") :]
    assert "| sampler | after 5 trials | after 10 trials |" in secondary
    for budget, column in ((5, 1), (10, 2)):
        expected = hand_ranks(studies, 4, budget)
        for sampler, title in (("tpe", "TPE"), ("random", "random"), ("qmc", "QMC (Sobol)")):
            row = next(x for x in secondary.splitlines() if x.startswith(f"| {title} |"))
            assert row.split("|")[column + 1].strip() == f"{expected[sampler]:.2f}"
    # the tests are on the primary outcome: each study's retrained test AUROC (seed mean)
    retrain = json.loads((folder / "runs" / "three" / "retrain.json").read_text())
    test = {
        (r["sampler"], r["repeat"]): np.mean([x["test_auroc"] for x in r["results"]])
        for r in retrain["records"]
    }
    primary = [[test[(s, r)] for r in range(4)] for s in ("tpe", "random", "qmc")]
    p = scipy_stats.friedmanchisquare(*primary).pvalue
    assert "**Friedman test** on retrained test AUROC over 4 repeats and 3 samplers" in text
    assert f"p = {p:.4g}" in text
    for (i, a), (j, b) in itertools.combinations(enumerate(("TPE", "random", "QMC (Sobol)")), 2):
        wilcoxon = scipy_stats.wilcoxon(primary[i], primary[j]).pvalue
        row = next(line for line in text.splitlines() if line.startswith(f"| {a} - {b} |"))
        assert f"{wilcoxon:.3g} (exact)" in row
    raw = [
        scipy_stats.wilcoxon(primary[i], primary[j]).pvalue
        for i, j in itertools.combinations(range(3), 2)
    ]
    holm = multipletests(raw, method="holm")[1]
    assert all(f"| {h:.3g}" in text for h in holm)
    assert "Secondary view, on the search's own objective" in text
    assert (figures.folder / "critical_difference.png").stat().st_size > 1000
    assert "](figs/critical_difference.png)" in text


def test_ranks_say_no_friedman_when_every_repeat_ties_every_sampler(three_samplers, tmp_path):
    """On an easy task every sampler may retrain the same configuration (a shared start-up
    trial): no ranks to test, and the section says so instead of 'chi2 = nan, p = nan'."""
    import shutil

    from harness.report.context import ReportContext
    from harness.report.load import load_run
    from harness.report.markdown import Figures
    from harness.report.ranks import section_ranks

    folder, url, _ = three_samplers
    runs = tmp_path / "runs"
    shutil.copytree(folder / "runs", runs)
    path = runs / "three" / "retrain.json"
    retrain = json.loads(path.read_text())
    for record in retrain["records"]:  # every sampler of a repeat: the same test AUROCs
        for seed, result in enumerate(record["results"]):
            result["test_auroc"] = 0.9 + 0.001 * record["repeat"] + 1e-4 * seed
    path.write_text(json.dumps(retrain))
    text = "\n".join(
        section_ranks(ReportContext(load_run("three", url, runs), Figures(tmp_path, ".")))
    )
    assert "**Friedman test**: not computed: in each of the 4 repeats every sampler" in text
    assert "nan" not in text


def test_ranks_say_nothing_for_two_samplers_and_little_for_one_repeat(tmp_path):
    from harness.report.context import ReportContext
    from harness.report.load import load_run
    from harness.report.markdown import Figures
    from harness.report.ranks import section_ranks

    url = f"sqlite:///{tmp_path / 'few.db'}"
    make_run(url, "two", repeats=2, trials=6)
    make_run(url, "one", repeats=1, trials=6, samplers=("tpe", "random", "gp"))
    figures = Figures(tmp_path, ".")
    assert section_ranks(ReportContext(load_run("two", url, tmp_path), figures)) == []
    text = "\n".join(section_ranks(ReportContext(load_run("one", url, tmp_path), figures)))
    assert "the Friedman test needs at least 2" in text
    assert "Friedman test**" not in text


@pytest.mark.slow
def test_compare_four_samplers_then_report_ranks(tmp_path, capsys):
    """The whole path from the CLI: four samplers on the smoke space, then the report."""
    url = f"sqlite:///{tmp_path / 'four.db'}"
    code = run(
        [
            "compare",
            "--name",
            "four",
            "--samplers",
            "tpe",
            "random",
            "qmc",
            "gp",
            "--repeats",
            "3",
            "--trials",
            "4",
            "--space",
            "search_spaces/smoke.toml",
            "--executor",
            "local",
            "--device",
            "cpu",
            "--retrain-seeds",
            "1",
            "--bench-seeds",
            "0",
            "--reference-seeds",
            "0",
            "--storage",
            url,
            "--runs-dir",
            str(tmp_path / "runs"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    names = {s.study_name for s in optuna.get_all_study_summaries(url)}
    assert names == {f"four/{s}/r{r}" for s in ("tpe", "random", "qmc", "gp") for r in range(3)}
    out = tmp_path / "four.md"
    assert (
        run(
            [
                "report",
                "--name",
                "four",
                "--storage",
                url,
                "--out",
                str(out),
                "--runs-dir",
                str(tmp_path / "runs"),
            ]
        )
        == 0
    )
    text = out.read_text()
    assert "## Ranks of the samplers" in text
    assert "Friedman test** on retrained test AUROC over 3 repeats" in text
    assert (tmp_path / "four_figures" / "critical_difference.png").is_file()
