"""The words of the anytime sections (regret by trial, win probability, area under the curve,
best so far by compute, trials to target): ``str.format`` templates whose fields the sections
fill with numbers computed in code; ``{primary}`` is the run's primary outcome in words
(``RunData.primary_title``: "test AUROC" for the lab)."""

# ---------------------------------------------------------------- regret by trial
# (harness.report.anytime_sections)

WHAT_IT_MEASURES = (
    "**What these sections measure.** From here to the trials-to-target section every number "
    "is on the search's own objective, the {metric} of each trial's single training run, not "
    "the verdict's primary outcome. A best-so-far value is the best of many noisy values, so "
    "it is optimistically biased by selection.{optimism} {reconcile}"
)
OPTIMISM = (
    " Retrained with fresh seeds, the studies' chosen configurations scored {gap:.1e} "
    "{direction} on average than their search value ({studies} studies): that is the "
    "selection's optimism."
)
RECONCILE = (
    "Read against the verdict: after {target} trials {a} - {b} in best {metric} so far is "
    "{gap}{interval} over {pairs} paired repeats{in_sds}, while the primary outcome, retrained "
    "{primary}, is {value}: a gap on the search's own objective need not survive retraining "
    "with fresh seeds and scoring on test."
)
IN_SDS = ", {sds:.1f} seed-to-seed sds of one configuration's {metric} ({seed_sd:.1e})"
T_INTERVAL = " [{low}, {high}] ({confidence:.0f}% t-interval)"
PRIMARY_AT_LOOK = "{interval} at the last recorded look ({pairs} pairs, {level:.1f}% CI)"
PRIMARY_NO_LOOK = "{mean} over {pairs} pairs (no look recorded)"
PRIMARY_NONE = "not yet measured"

NORMALISED = (
    "Regret after *n* trials: how far a study's best so far is from the best value known, in "
    "units of random search's expected shortfall after the same *n* trials (Bayesmark's "
    "normalisation). **0** is the best value known, **1** is what random search finds on "
    "average in *n* trials, above 1 is worse than that. Random search's expected best of *n* "
    "is exact over the {pool} pooled completed trials of this run's random-sampler studies "
    "(order statistics of their values, drawn with replacement), so the random sampler's own "
    "*mean* regret is about 1; its IQM sits lower when a few very poor trials pull that "
    "expectation down."
)
PLAIN = (
    "This run has no random sampler, so random search's expected best is unknown and nothing "
    "normalises the regret: shown is the plain regret, the best value known minus the best so "
    "far, in {metric} units (0 = best known)."
)
BEST_KNOWN = (
    "Best value known: **{best:.4f}**, {source} (the best over this run's trials and the "
    "storage's other studies with the same search space and objective{retrained}). Line: the "
    "interquartile mean (IQM, `scipy.stats.trim_mean(x, 0.25)`; with fewer than 4 repeats "
    "nothing is trimmed and it is the mean) over repeats; band: the {band_label}{band}. Thin "
    "lines: single repeats.{seed}"
)
RETRAINED = ", and the retrained best configurations' validation values"
BAND_CI = " (percentile bootstrap, {resamples} resamples, seed {seed})"
BAND_RANGE = (
    "; below {repeats} repeats a bootstrap interval would be little more than that range, so "
    "none is claimed"
)
SEED_BAND = (
    " Grey band: within one seed-to-seed sd of a configuration's {metric} ({seed_sd:.1e}, "
    "pooled over the retrained seeds) of the best value known; regret inside it is within one "
    "training run's noise."
)
REGRET_TABLE = "{what} after *n* trials, IQM [band: {band_label}]{gap}; lower is better:"
GAP = (
    "; after it, the gap: the IQM of the plain regret (best known - best so far) in {metric} itself"
)

# ---------------------------------------------------------------- win probability

WINS = (
    "Fraction of paired repeats (same seed) in which the first sampler's best {metric} so far "
    "after *n* trials is better than the second's; a tie counts one half. In brackets: "
    "wins-losses-ties and the two-sided exact sign test of wins against losses "
    "(`scipy.stats.binomtest`, ties dropped): a fraction far from 0.5 with a large p is what a "
    "few pairs give by chance.{shared}"
)
WINS_SHARED = (
    " Paired repeats of {a} and {b} share their first {shared} trials (the random start-up "
    "uses the repeat's seed), so up to n = {shared} such a pair ties (0.5)."
)

# ---------------------------------------------------------------- area under the curve
# (harness.report.anytime_area)

AREA = (
    "Mean regret over trials 1 to {target} of each study (lower is better: good early as well "
    "as late). A secondary outcome on the search's own objective, summarising the curve "
    "above; the primary outcome is the verdict's retrained {primary}."
)
AREA_PAIRS = (
    "Paired difference of the area (secondary; negative: the first sampler had less regret), "
    "mean over paired repeats with a {confidence} Student t interval (`scipy.stats.ttest_rel`):"
)

# ---------------------------------------------------------------- best so far by compute
# (harness.report.anytime_time)

BY_COMPUTE = (
    "The same best-so-far values against each study's own compute, in {metric} itself (not "
    "normalised: random search's expectation is per trial, not per second). The clock is the "
    "running sum of the study's trials' training seconds (each trial's recorded `seconds`, "
    "evaluation included), in trial order: a run's studies share one pool, so the wall clock "
    "would also count the time a study's trials waited behind other studies' trials, and idle "
    "stretches. IQM and band as above; the aggregate starts once every repeat has finished a "
    "trial. The y axis is a window onto the values (its width is in the title); the first "
    "poor trials can fall below it.{seed}"
)
BY_COMPUTE_SEED = " Grey band: within one seed-to-seed sd ({seed_sd:.1e}) of the best value known."
LEVEL = "Dotted line: {label}, {level} ({source})."

# ---------------------------------------------------------------- trials to target
# (harness.report.anytime_reach)

REACH = (
    "On the search's own {metric}, like the anytime curves above (and biased by selection as "
    "they are), not the verdict's outcome. Targets: the 90th, 95th and 99th percentiles of "
    "single-trial {metric} over {source} (`numpy.percentile`, linear; one random trial beats "
    "the 90th percentile with probability 0.1, so random search needs 10 trials on average), "
    "and the best value known {less} {near:g}. A repeat that did not reach a target within the "
    "{target} compared trials is right-censored there (— in the table); the fraction of "
    "repeats that reached it by *n* trials is the Kaplan-Meier estimate (`scipy.stats.ecdf` on "
    "`scipy.stats.CensoredData`; with every repeat censored at the same budget it equals the "
    "plain fraction). Median: trials by which half the repeats reached it.{shared} Targets "
    "that every repeat of every sampler reached at the same trial (or missed alike) are merged "
    "into one, with their values' range: they tell the same story."
)
REACH_SOURCE_RANDOM = "the pooled completed trials of the random sampler's studies"
REACH_SOURCE_ALL = "all completed trials of the run (it has no random sampler)"
REACH_SHARED = (
    " Paired repeats of {a} and {b} share their first {shared} trials; a target reached within "
    "them says nothing about the samplers."
)
