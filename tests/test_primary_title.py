"""The report names the run's primary outcome by ``RunData.primary_title`` in a ``{primary}``
field of each template that means it, not by replacing the lab's words in the finished text."""

from __future__ import annotations

import inspect

import pytest

from harness.experiment.design import PRIMARY_OUTCOME
from harness.experiment.verdict import Interval, Look
from harness.report import anytime_text, ranks_text, verdict_text, write
from harness.report.verdict_words import verdict_sentence

# the templates whose "test AUROC" means the AUROC itself, whatever the primary outcome
AUROC_ONLY = {("verdict_text", "SPLIT_MODEL")}  # DeLong's standard error is an AUROC's


def _templates():
    for module in (anytime_text, ranks_text, verdict_text):
        name = module.__name__.rsplit(".", 1)[1]
        for key, value in vars(module).items():
            if key.isupper() and isinstance(value, str):
                yield name, key, value


def test_no_template_names_the_labs_outcome_where_it_means_the_primary_one():
    named = {(m, k) for m, k, value in _templates() if "test AUROC" in value}
    assert named == AUROC_ONLY
    assert any("{primary}" in value for _, _, value in _templates())


def test_the_report_text_replaces_no_words():
    assert "test AUROC" not in inspect.getsource(write.report_text)


def test_the_declared_primary_outcome_is_the_designs_own_words_for_the_lab():
    made = verdict_text.PRIMARY_OUTCOME.format(
        pair="A - B", primary="test AUROC", made="retrained with K seeds"
    )
    assert made == PRIMARY_OUTCOME


@pytest.mark.parametrize("outcome", ["a_better", "equivalent", "undecided"])
def test_the_headline_names_the_outcome_it_is_given(outcome):
    mean = Interval(2e-3, 1e-3, 3e-3, 0.95)
    look = Look(
        pairs=6,
        level=0.01,
        mean=mean,
        equivalence=Interval(2e-3, 1.5e-3, 2.5e-3, 0.9),
        tost_p=0.01,
        margin=5e-3,
        outcome=outcome,
    )
    lab = verdict_sentence(look, ("TPE", "random"))
    other = verdict_sentence(look, ("TPE", "random"), outcome="negated test RMSE")
    assert "test AUROC" in lab and "AUROC" not in other
    assert other == lab.replace("test AUROC", "negated test RMSE")
