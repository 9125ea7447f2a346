"""The words of the importance section (harness.report.importance_section): ``str.format``
templates whose fields the section fills with numbers computed in code."""

METHODS = (
    "The lab asks which {top} hyperparameters matter most. Each method runs on the trials "
    "whose spread it assumes:"
)
FANOVA = (
    "- **fANOVA on the random-search trials** ({n_trees} trees, max depth {max_depth}, seed "
    "{seed}): random search samples the whole space, as fANOVA's variance decomposition over "
    "the space assumes."
)
PED_ANOVA = (
    "- **PED-ANOVA per sampler** (Optuna's PedAnovaImportanceEvaluator, the top 10% of trials "
    "against all of them): what matters near the optimum, where that sampler searched."
)
SHARED = (
    "- {label} leaves out {shared} start-up trials in all: the first trials of each repeat, "
    "which had the same configurations as the random-search trials of that repeat (same "
    "seed); they count once, in the random-search set."
)
INTERVALS = (
    "Each importance is a fraction of that method's total (they sum to 1), with its "
    "{confidence} percentile bootstrap interval over repeats: {resamples} resamples of the "
    "{repeats} repeats with replacement (numpy seed {seed}), each method recomputed on "
    "each.{rough}"
)
ROUGH = (
    " With only {repeats} repeats there are {distinct} distinct resamples: the intervals are rough."
)
SKIPPED = (
    "A skipped resample could not be evaluated (too few trials to tell the hyperparameters "
    "apart); the interval uses the others."
)

# ---------------------------------------------------------------- the answer to "which 4"

ALL_IN_TOP = (
    "The space has only {params} hyperparameters, so all of them are among the {top} that "
    "matter most; there is no choice to make."
)
ONLY_ONE = (
    "Only {label} could be computed, so nothing cross-checks it. By it, the {top} that matter "
    "most are **{chosen}**."
)
AGREE = "**All methods agree** on the {top} that matter most: **{chosen}** (least: {rest})."
SAME_ORDER = "They also rank them in the same order."
DISAGREE = (
    "**The methods disagree** on which {top} matter most, so this report names no {top}. {common}"
)
COMMON = "Every method has **{common}** in its top {top}."
NONE_COMMON = "No hyperparameter is in every method's top {top}."
SPLIT_PARAM = "- {param}: in the top {top} of {inside}; not of {outside}."
WHY = (
    "Why methods can disagree: fANOVA measures how much of the objective's variance over the "
    "whole space each hyperparameter explains; PED-ANOVA compares the top 10% of trials with "
    "all of them, so it tells what matters near the optimum; and a sampler's own trials "
    "describe only where it searched (TPE's crowd into good regions, where a hyperparameter "
    "that is already right no longer varies the objective)."
)
READ_WITH_INTERVALS = (
    "Read any such answer with the intervals: these repeats leave the top-{top} line unsettled."
)
UNSETTLED = (
    "- **Unsettled**, {label}: the interval of {out} ({rank}, {cell}) overlaps those of "
    "{inside}; these repeats do not settle which are in the top {top} (share of resamples "
    "with each in the top {top}: {shares})."
)
