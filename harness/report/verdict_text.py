"""The words of the verdict section (harness.report.verdict and verdict_notes): ``str.format``
templates whose fields the section fills with numbers computed in code; ``{primary}`` is the
run's primary outcome in words (``RunData.primary_title``: "test AUROC" for the lab). The
headline of a recorded look is harness.report.verdict_words', whose wording rules are tested."""

ONE_SAMPLER = "Only one sampler ({sampler}) is in this run: there is nothing to compare."

# ---------------------------------------------------------------- headlines without a look

NO_DESIGN_FEW_PAIRS = (
    "No verdict: {a} and {b} have {pairs} complete pair(s); a verdict needs at least 2, and "
    "this run declared no design (a single pair, --repeats 1, runs without one)."
)
NO_DESIGN = (
    "No verdict: this run has no pre-declared design (no plan.json), so no look has judged "
    "{a} - {b}; the {pairs} pairs below are described, not tested."
)
NOT_YET_JUDGED = (
    "Not yet judged: {pairs} complete pair(s) of {a} and {b}; the design's first look is at "
    "{first} pairs and only 'harness compare' (or 'harness run') takes it."
)

# ---------------------------------------------------------------- pairs no look judged

AFTER_DECISION = (
    "{waiting} pair(s) completed after the verdict was decided at {decided} pairs are **not "
    "judged**: the decision stands as recorded."
)
BEYOND_LAST_LOOK = (
    "{waiting} pair(s) beyond the last look (at {last} pairs) are **not yet judged**: this "
    "report takes no look; the next 'harness compare' (or 'harness run') on this run judges "
    "them at the design's next look and records it."
)

# ---------------------------------------------------------------- the looks table

LOOKS = (
    "Looks as `plan.json` recorded them ({spent} of the run's {alpha} error rate spent; a "
    "direction is claimed when the direction interval excludes 0, equivalence when the "
    "equivalence interval lies inside the margin; the run stops at the first decided look):"
)
RECOMPUTED = (
    "The looks at {looks} pairs were recorded before `plan.json` kept intervals: their "
    "intervals are recomputed from the first pairs at the recorded level; their outcomes are "
    "as recorded."
)

# ---------------------------------------------------------------- the declaration

# harness.experiment.design.PRIMARY_OUTCOME with the run's pair, outcome and how it was made
# (tests/test_verdict.py checks that the lab's words are the design's)
PRIMARY_OUTCOME = (
    "the paired difference {pair} in {primary} of each study's chosen configuration, {made} "
    "(mean over the seeds)"
)
FIGURE_ALT = "paired differences in retrained {primary}"
NEVER_TEST = "; the search itself never scored the test split."
DECLARATION = (
    "Primary outcome: {what}. {origin} The study's chosen configuration is its best by "
    "{metric}" + NEVER_TEST
)
NOT_PRE_DECLARED = (
    "**Not pre-declared**: this run has no `plan.json` (made before designs were recorded, or "
    "by hand), so no look was taken and nothing below is a test of the design."
)
PRE_DECLARED = (
    "Pre-declared in `{folder}/plan.json` at {at}, before the first pair: {design}. Each "
    "look: {test}."
)
CHANGED_BEFORE_LOOKS = (
    " The design was changed at {at}, before any look (no data had been judged, so the change "
    "costs nothing)."
)
CHANGED_AFTER_LOOKS = (
    " **The design was changed at {at}, after {after} pairs had been looked at with "
    "{spent:.4f} of the {alpha} error rate spent.** From then on its looks shared only the "
    "{left:.4f} left, so the recorded levels still add up to at most {alpha}; that bounds the "
    "chance of a false claim only if the change did not depend on the data seen. If it did, "
    "no error rate covers this verdict."
)

# ---------------------------------------------------------------- the shared start-up

SHARED_ALL = (
    "All {target} compared trials of {a} and {b} had identical configurations in every "
    "repeat: {a} had not yet left its random start-up, which draws what {b} draws with the "
    "same seed. This run cannot tell the samplers apart; run more trials than {a}'s start-up "
    "trials."
)
SHARED = (
    "Both samplers of a repeat share its seed, and the first {k} trials{spread} of {a} and {b} "
    "had identical configurations ({a}'s random start-up draws what {b} draws). In {both} of "
    "{pairs} pairs{repeats} both studies chose one of those shared trials (a difference of 0 "
    "by construction). The comparison is effectively {left} trials of {a} after its start-up "
    "against as many of {b}."
)

# ---------------------------------------------------------------- the fixed test split

SPLIT = (
    "**Conditional on the fixed test split.** Every pair is scored on the same test rows, so "
    "the verdict's intervals cover training seeds and searches but not the sampling of those "
    "rows: all conclusions hold for this split."
)
SPLIT_UNMEASURED = (
    " No test predictions are stored for this run (retrained before they were kept), so the "
    "split's sampling error is not measured here; docs/verdict.md gives it for the lab's "
    "models."
)
SPLIT_MODEL = (
    " DeLong's standard error over its {rows} rows is {se:.1e} for one study's mean test AUROC "
    "(median over {studies} studies)"
)
SPLIT_PAIRS = (
    ", and {median:.1e} (from {low:.1e} to {high:.1e}) for a pair's difference over the "
    "{covered} of {pairs} pairs with stored predictions: paired on the same rows, the two "
    "studies' errors largely cancel"
)
SPLIT_PAIR_SD = "; the pairs' differences themselves have sd {sd:.1e}"
SPLIT_MEAN = (
    ". A new sample of test rows would move the mean difference of those pairs by about "
    "{se:.1e} (its DeLong standard error), which the verdict's intervals do not include"
)

# ---------------------------------------------------------------- reference numbers

NOMINAL = (
    "All {pairs} pairs{waiting}, at the fixed-sample {confidence} level (for reference; these "
    "ignore the looks and decide nothing): mean {a} - {b} = {mean}; Hodges-Lehmann {hl}; "
    "Wilcoxon signed-rank test, two-sided, p = {p:.3g} ({method})."
)
NO_HL_INTERVAL = (
    "{estimate} (no {confidence} interval: {pairs} pairs are too few for the exact "
    "signed-rank interval)"
)
DESIGN_BEHAVIOUR = (
    "What this design does at the spread its looks saw (the {pairs} judged pairs' sd of a "
    "difference {sd}; looks at {looks} pairs at their levels; {runs} simulated runs each, "
    "normal noise): if the true difference were the observed {mean}, it would end '{a} "
    "better' in {a_better:.0f}%, '{b} better' in {b_better:.0f}%, 'equivalent' in "
    "{equivalent:.0f}% and undecided in {undecided:.0f}% of runs (mean {mean_pairs:.1f} "
    "pairs); with no true difference it would claim a direction in {direction:.1f}% of runs "
    "(the design's bound: {bound:.0f}%; simulation error about ±{error:.1f}%)."
)
SECONDARY = (
    "Secondary comparisons (fixed-sample {confidence} t-intervals of the retrained {primary} "
    "difference; not covered by the design's error rate, and not corrected for multiplicity):"
)
