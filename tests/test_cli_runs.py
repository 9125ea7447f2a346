"""``harness report|compare|run|dashboard`` through the real CLI: bad input is exit code 2 and
one line on stderr, before any work starts."""

from __future__ import annotations

import pytest

from harness.cli.app import run


def one_error_line(capsys, code: int) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("harness: error: "), err
    return lines[0]


def empty_storage(tmp_path) -> str:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    optuna.create_study(study_name="other", storage=url)
    return url


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["report", "--name", "missing"], "no studies named 'missing/"),
        (["report", "--name", "x", "--storage", "sqlite:///{tmp}/absent.db"], "cannot be opened"),
        (
            ["report", "--name", "x", "--storage", "postgresql://u:pw@127.0.0.1:1/x"],
            "cannot open storage",
        ),
        (["report", "--name", "missing", "--out", "{tmp}/file/r.md"], "cannot write"),
        (["report", "--name", "missing", "--out", "{tmp}/r.html"], ".md"),
        (["compare", "--name", "../up"], "--name must be letters"),
        (
            ["compare", "--name", "c", "--storage", "postgresql://u:pw@127.0.0.1:1/x"],
            "cannot open storage",
        ),
        (["run", "--out", "{tmp}/file/r.md", "--storage", "sqlite:///{tmp}/r.db"], "cannot write"),
        (["run", "--out", "{tmp}/r.txt"], ".md"),
        (["dashboard", "--storage", "sqlite:///{tmp}/absent.db"], "cannot be opened"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, words):
    (tmp_path / "file").write_text("a file, not a folder")
    url = empty_storage(tmp_path)
    capsys.readouterr()
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if argv[0] == "report" and "--storage" not in argv:
        argv += ["--storage", url]
    if argv[0] == "report" and "--out" not in argv:
        argv += ["--out", str(tmp_path / "report.md")]
    line = one_error_line(capsys, run(argv))
    assert words in line
    assert not list(tmp_path.glob("*_figures")), "a failed report leaves no folder behind"
    assert ":pw@" not in line, "passwords never appear"


def test_ensure_bench_trains_every_recipe_once_then_reads_the_cache(tmp_path):
    from harness.experiment.cache import ensure_bench

    recipes = tmp_path / "recipes.toml"
    recipes.write_text(
        "[linear_regression]\nmodel = 'linear_regression'\noptimizer = 'sgd'\nlr = 0.1\n"
        "max_epochs = 1000\n"
        "[logistic]\nmodel = 'logistic'\noptimizer = 'sgd'\nlr = 0.1\nmax_epochs = 2\n"
    )
    path = tmp_path / "bench.json"
    records = ensure_bench(path, 1, "cpu", recipes)
    assert [r["recipe"] for r in records] == ["linear_regression", "logistic"]
    assert 0 <= records[1]["auroc"] <= 1 and records[1]["epochs"] == 2
    assert ensure_bench(path, 1, "cpu", recipes) == records, "the cache is read, not retrained"
