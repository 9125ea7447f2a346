"""The words of the across-task analysis (harness.report.across_tasks_section):
``str.format`` templates whose fields the section fills with numbers computed in code."""

HEADING = "## Across tasks"
INTRO = (
    "Each study's {outcome} becomes a **normalised regret** on its task: 0 = the best value "
    "known for the task, 1 = random search's expected value at the same budget (lower is "
    "better, whatever the task's direction; below 0 beats the best known, above 1 does worse "
    "than random search). The task is the unit of replication: {tasks}, {k} samplers "
    "({samplers}), {repeats}."
)
NO_TASK = (
    "No task has outcomes of every sampler that can be normalised, so nothing is aggregated "
    "across tasks; the tasks left out and why are listed below."
)
PER_TASK = (
    "Per task: the value that is 0 (best known) and the value that is 1 (random search's "
    "expected value{random_note}), and each sampler's mean normalised regret over the repeats "
    "in which every sampler has an outcome, with its rank on the task in brackets (1 = lowest)."
)
RANDOM_NOTE = "; where not given, the mean of the {sampler!r} sampler's outcomes on the task"
DROPPED = "Repeats left out because some sampler has no outcome in them: {dropped}."
IQM = (
    "**Interquartile mean** of normalised regret over every (task, repeat) of a sampler, with "
    "{level} stratified-bootstrap intervals ({resamples} resamples of the repeats within each "
    "task, the tasks held fixed; Agarwal et al. 2021), each sampler's on its own: no "
    "comparison is drawn from them. The average rank is over tasks, each task ranking the "
    "samplers by mean regret."
)
IQM_TITLE = "Normalised regret over {tasks}: IQM and {band}"
IQM_NO_BAND = "no interval (under 2 repeats on some task)"
IQM_FIGURE_ALT = "IQM of normalised regret per sampler with its bootstrap interval"
FEW_REPEATS = (
    "With as few as {repeats} repeats on a task these intervals are descriptive: a percentile "
    "bootstrap of n values spreads as (n - 1) / n of their variance, so its intervals are too "
    "narrow when n is small."
)
NO_INTERVAL = "No intervals: {reason}."
IMPROVEMENT = (
    "**Probability of improvement**: P(a's normalised regret < b's) for a repeat of each drawn "
    "at random on a task (ties count 1/2), averaged over tasks, with stratified-bootstrap "
    "intervals simultaneous over the {pairs}: no pair was pre-declared as the one to compare, "
    "so each interval is at {level} (Bonferroni: 1 - {alpha} / {m}) and all {m} hold together "
    "at {family}. 0.5 is no tendency either way; a direction is stated only where the interval "
    "excludes 0.5 and every task has at least {minimum} repeats: with n repeats a percentile "
    "bootstrap interval covers less than its level (it spreads as (n - 1) / n of the variance, "
    "with normal tails; a nominal 95% interval of a mean of n normal values covers about 75% "
    "at n = 3 and 90% at n = 10)."
)
IMPROVEMENT_DESCRIPTIVE = (
    "With as few as {repeats} on a task (under {minimum}) these intervals are descriptive: no "
    "direction is stated from them, whether or not they exclude 0.5."
)
CLAIM = "{better} improves on {worse}"
NO_CLAIM = "no direction: the interval includes 0.5"
NO_CLAIM_DESCRIPTIVE = "descriptive: too few repeats for a direction"
NO_CLAIM_WITHOUT_INTERVAL = "no direction: no interval"
BORDA = (
    "**Ranks per task as kurobako reports them**: on each task every pair of samplers is "
    "compared by a two-sided Mann-Whitney U test over the repeats at the Šidák level "
    "{level:.3g} (the family-wise error over {pairs} at {alpha}); a sampler's rank "
    "on a task is 1 + the samplers that beat it there, its Borda count the samplers it beats "
    "summed over tasks, its firsts the tasks where none beats it."
)
BORDA_FLOOR = (
    "With {repeats} on a task no Mann-Whitney p-value can be below {floor:.3g}, above "
    "the level {level:.3g}: no pair can differ on such a task, so every sampler ranks 1 there "
    "and the Borda counts say nothing; more repeats per task are needed."
)
FRIEDMAN = (
    "**Friedman test** over {n} tasks (blocks) and {k} samplers on each task's mean regret: "
    "χ² = {statistic:.3f}, p = {p:.4g} (SciPy's friedmanchisquare; its chi-square "
    "approximation is rough below about 10 tasks, Demšar 2006). {outcome}"
)
FRIEDMAN_DIFFER = "The ranks differ across tasks by more than chance would make them at {alpha}."
FRIEDMAN_SAME = "At {alpha} the ranks do not differ across tasks by more than chance would."
FRIEDMAN_REFUSED = "**Friedman test**: not run: {reason}."
CD_TITLE = (
    "Average rank over {n} tasks by mean normalised regret (bars join samplers the Nemenyi "
    "test cannot tell apart at {alpha})"
)
CD = (
    "Critical-difference diagram (tasks as blocks): each sampler at its average rank over "
    "tasks (1 = best); a bar joins samplers whose difference Nemenyi's test does not find at "
    "{alpha}; the critical difference of average ranks is {critical:.2f}."
)
CD_ALT = "critical-difference diagram of the samplers' average ranks over tasks"
WILCOXON = (
    "**Pairwise Wilcoxon signed-rank tests over tasks** on each task's mean normalised regret "
    "(a - b; negative: a has less regret), with Holm's correction for {pairs} "
    "(statsmodels `multipletests`; * : differs at {alpha} after the correction). Effects: the "
    "median difference over tasks, the matched-pairs rank-biserial correlation (-1: a has the "
    "lower regret on every task, +1: the higher) and the tasks each sampler wins."
)
WILCOXON_REFUSED = "No p-values: {reason}."
HOLM_FLOOR = (
    "With {n} tasks and {pairs} no Holm-adjusted p-value can be below {floor:.3g}, so no "
    "pair can differ at {alpha} after the correction."
)
LEFT_OUT = (
    "**Tasks left out of every aggregate above** (the samplers are compared on the same "
    "tasks only):"
)
SUPPORT = (
    "**What these tasks can support.** {n} {task_word} ({names}): a conclusion holds for tasks "
    "like these, not for tasks in general. The bootstrap intervals resample repeats within "
    "these tasks and so speak of these tasks only; the tests over tasks treat them as a "
    "sample of such tasks{tests_note}. {claims}"
)
TESTS_TOO_FEW = ", but {n} {task_word} are too few for them to reject anything at {alpha}"
CLAIMS = (
    "No across-task comparison was pre-declared. Directions shown by a probability of "
    "improvement whose simultaneous interval ({level}, over {pairs}) excludes 0.5, with at "
    "least {minimum} repeats on every task: {claims}."
)
NO_CLAIMS = (
    "No across-task comparison was pre-declared. No simultaneous interval of a probability of "
    "improvement excludes 0.5, so no sampler is shown to do better than another on these tasks."
)
NO_CLAIMS_DESCRIPTIVE = (
    "No across-task comparison was pre-declared. With as few as {repeats} on a task (under "
    "{minimum}) the probability-of-improvement intervals are descriptive, so no direction "
    "between samplers is stated from them; {minimum} or more repeats per task are needed."
)
HOLM_CLAIMS = "Over tasks, Holm-corrected Wilcoxon tests at {alpha}: {claims}."
HOLM_CLAIM = "{better} has less regret than {worse}"
NO_CLAIMS_NO_INTERVAL = "Without intervals no direction between samplers is claimed."
