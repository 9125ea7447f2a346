"""The words of the ranks section (harness.report.ranks): ``str.format`` templates whose
fields the section fills with numbers computed in code; ``{primary}`` is the run's primary
outcome in words (``RunData.primary_title``: "test AUROC" for the lab)."""

NO_COMMON_REPEAT = "No repeat has a study of every sampler: nothing to rank."
TOO_FEW_RETRAINED = (
    "Ranks on the primary outcome (retrained {primary}) need at least 2 repeats in which "
    "every sampler's chosen configuration was retrained; this run has {repeats}, so the "
    "Friedman test needs at least 2 and no sampler is ranked by it."
)
PRIMARY = (
    "Per repeat, the samplers are ranked by the primary outcome, the {primary} of their chosen "
    "configuration retrained with fresh seeds (mean over the seeds; rank 1 = best; ties share "
    "their average rank), over the {repeats} repeat(s) in which every sampler's study was "
    "retrained:"
)
SECONDARY = (
    "Secondary view, on the search's own objective (no test): per repeat, the samplers ranked "
    "by their best {metric} after *n* finished trials (rank 1 = best; ties share their average "
    "rank), averaged over the {repeats} repeat(s) in which every sampler has a study; "
    "optimistic by selection, like the anytime section."
)
FRIEDMAN = (
    "**Friedman test** on retrained {primary} over {n} repeats and {k} samplers: χ² = "
    "{statistic:.3f}, p = {p:.4g} (SciPy's friedmanchisquare). {outcome}"
)
FRIEDMAN_TIED = (
    "**Friedman test**: not computed: in each of the {n} repeats every sampler has the same "
    "retrained {primary} (they chose the same configurations), so there are no ranks to test "
    "and no sampler differs from another here."
)
FRIEDMAN_DIFFER = "The ranks differ by more than chance would make them at the {alpha} level."
FRIEDMAN_SAME = "At the {alpha} level the ranks do not differ by more than chance would make them."
CD_TITLE = (
    "Average rank by retrained {primary} over {n} repeats (bars join samplers the Nemenyi "
    "test cannot tell apart at {alpha})"
)
CD = (
    "Critical-difference diagram on retrained {primary}: each sampler at its average rank "
    "(1 = best); a bar joins samplers whose difference the Nemenyi test does not find at "
    "{alpha}; the critical difference of average ranks is {critical:.2f}."
)
NEMENYI_DIFFER = (
    "**Nemenyi post-hoc test** (scikit-posthocs) at {alpha}, with {n} repeats: {pairs}. No "
    "other pair differs at that level."
)
NEMENYI_SAME = (
    "**Nemenyi post-hoc test** (scikit-posthocs): no pair of samplers differs at the {alpha} "
    "level with {n} repeats, so these ranks do not show that any sampler is better than "
    "another; more repeats give the test more power."
)
HOLM = (
    "**Pairwise Wilcoxon signed-rank tests** on retrained {primary} with Holm's correction for "
    "the {pairs} pairs (statsmodels `multipletests`, method 'holm'; * : differs at {alpha} "
    "after the correction). With {n} repeats no exact two-sided p-value can be below "
    "{floor:.3g}."
)
