"""The words of the surrogate-trust section (harness.report.surrogate_trust)."""

SCORES = (
    "This run's task is a **surrogate**: a {model} fitted ({created}) on {trials} real trials "
    "of run `{run}` ({objective}), predicting a trial's value from its configuration. Held-out "
    "accuracy (5-fold cross-validation): Spearman rho **{rho:.3f}**, RMSE **{rmse:.2g}**; its "
    "model of training seconds: rho {seconds_rho:.3f}. A trial's value is the prediction plus "
    "normal noise of sd {noise_sd:.2g} (the seed-to-seed spread of the real run's retrained "
    "configurations), drawn with the trial's seed; per-epoch values are not simulated, so no "
    "pruner can run. Its primary outcome, the chosen configuration's prediction without noise, "
    "is exact for the surrogate and only as close to the real task as the surrogate is: its "
    "verdict ranks samplers on the surrogate's landscape, which smooths the real one (a rho of "
    "{rho:.2f} leaves part of the real ranking of configurations unexplained). Surrogates with "
    "a held-out rho below {min_rho} are refused for a comparison unless forced."
)
FORCED = (
    "**Forced: this surrogate's held-out rho {rho:.3f} is below {min_rho}.** The comparison "
    "ran only because `--force-surrogate` was given; its verdict describes the surrogate, not "
    "the task it was fitted to."
)
NO_SOURCE_RUN = (
    "The surrogate does not record the run it was fitted from (fitted from one study, or "
    "before sources were kept), so no real comparison is shown."
)
SOURCE_UNREADABLE = (
    "The real run `{run}` in `{storage}`, which the surrogate was fitted from, cannot be read "
    "here ({error}), so no real comparison is shown."
)
NO_COMMON = (
    "The real run `{run}` does not compare two of this run's samplers, so no real comparison "
    "is shown."
)
AGAINST_REAL = (
    "**Against the real run `{run}`** it was fitted from, on the search's own objective (each "
    "study's best value after its first {n} trials; positive: a found the better value), the "
    "one quantity both runs have (the real verdict compares retrained test scores, which the "
    "surrogate does not model). Per sampler pair: the mean paired difference with its 95% "
    "t-interval in each run, where the real mean falls among the surrogate's pairs (50: their "
    "median), and Welch's t-test of equal means (scipy `ttest_ind`, unequal variances; a "
    "small p says the surrogate's pairs do not behave like the real ones)."
)
RANKS_AGREE = (
    "Samplers ordered by mean best value after the same trials agree: surrogate {surrogate}; "
    "real {real} (by the means alone: the intervals above say whether either order is resolved)."
)
RANKS_DIFFER = (
    "Samplers ordered by mean best value after the same trials **differ**: surrogate "
    "{surrogate}; real {real} (by the means alone: the intervals above say whether either "
    "order is resolved)."
)
