"""The words of the table sections (honest test numbers, per-study results, the lab's models,
timings, devices, benchmarks): ``str.format`` templates whose fields the sections fill with
numbers computed in code."""

# ---------------------------------------------------------------- honest test numbers
# (harness.report.retrained)

NOT_RETRAINED = (
    "No retrained results: `{folder}/retrain.json` is missing (run `harness compare --name "
    "{run}` to make it). The search itself never scores the test split, so without them this "
    "run has no test numbers."
)
RETRAINED = (
    "Each study's best configuration (chosen on validation) retrained with {seeds} training "
    "seeds ({first}…{last}, i.e. {base} + 0…{last_offset}, none used by the search) and "
    "scored on test{threshold}: mean ± std over seeds (std with ddof = 1)."
)
REEVALUATED = (
    "Each study's best configuration (chosen by the search), {how}: mean ± std over seeds (std "
    "with ddof = 1; 0 when every seed gives the same value)."
)
# a binary task's F1, precision and recall need a threshold; other kinds' metrics do not
F1_THRESHOLD = " at the F1-optimal threshold chosen on validation"
STALE = (
    "(stale): the study's best trial changed since it was retrained; run `harness compare` "
    "again to refresh."
)
SIDE_BY_SIDE = (
    "Side by side (search rows: mean ± std over repeats of each repeat's seed mean; reference "
    "rows: mean ± std over their seeds):"
)

# ---------------------------------------------------------------- the lab, timings
# (harness.report.tables)

NO_LAB_MODELS = (
    "Each sampler's retrained bests, averaged over repeats (mean ± sd). The lab's fixed "
    "models and the gradient-boosting reference are the Adult task's: not applicable to "
    "task `{task}`."
)
LAB_NOT_APPLICABLE = (
    "Not applicable: the lab's fixed models are the Adult task's; this is task `{task}`."
)
NO_BENCH = (
    "No `{folder}/bench.json` for this run (`harness compare` or `harness bench models "
    "--json {folder}/bench.json` makes it)."
)
LAB = (
    "Ours: mean ± std over seeds, threshold chosen on validation; the lab's printed number in "
    "brackets (its threshold was re-optimised on test)."
)
SEARCH_TIMINGS = "Search trials (training wall time per trial, evaluation included):"
LAB_TIMINGS = "The lab models' seconds per epoch are in the table above, per device."
POOL = (
    "Pool usage of `harness compare` (trials and retraining; utilization is busy "
    "worker-seconds over workers x wall time; each re-run that had work is a session):"
)

# ---------------------------------------------------------------- devices
# (harness.report.devices)

NO_DEVICES = (
    "No device timings: run `harness bench devices --json {path}` and make the report again."
)
DEVICES_UNREADABLE = "`{path}` cannot be read ({error}): run `harness bench devices` again."
DEVICES = (
    "`harness bench devices` on {environment}. {epochs} epochs per workload (the first is "
    "warm-up and reported apart; s/epoch is the median of the others, validation loss and "
    "AUROC included), {rows}. Floor: 6 x trainable parameters x rows per epoch at the device's "
    "measured fp32 matrix-multiply rate; floor % is floor over s/epoch (above 100 only when the "
    "rate was measured low, on a busy machine). vs CPU: the CPU's (all cores) s/epoch over "
    "this row's. Mode: what trains; on CPU 'eager' is the harness's engine (plain MLPs with the "
    "hand-written backward of `harness/engine/mlp_step.py`, BatchNorm models with autograd), on "
    "CUDA 'graph' is the CUDA-graph step, 'eager' the same step launched op by op, 'lab' the "
    "lab's path."
)
FAST_PATH = (
    "CUDA-graph fast path against eager (same resident data) and against the lab's path "
    "(DataLoader batches moved to the card each step):"
)
LAB_PATH = (
    "{workload} on {device}: CUDA-graph path {graph} s/epoch, the lab's path {lab} s/epoch: "
    "{speed_up:.1f}x faster (same run, same card; goal >= {goal:g}x: {met})"
)
THROUGHPUT = (
    "Study throughput: N worker processes (one torch thread each) sharing a device, each "
    "running {trials} search trials of {epochs} epochs ({params}); start-up excluded:"
)

# ---------------------------------------------------------------- timing benchmarks
# (harness.report.benchmarks)

NO_BENCHMARKS = (
    "No benchmark JSON in `{folder}/`: `scripts/test.sh` (what CI runs) saves one there, or "
    "run `pytest tests/benchmarks --benchmark-enable --benchmark-json {folder}/NAME.json`."
)
BENCHMARKS_UNREADABLE = "`{path}` is not a readable pytest-benchmark JSON ({kind}: {error})."
BENCHMARKS = (
    "From `{path}`{newest}, saved {when} on {machine}{commit}. Wall-clock time per round (a "
    "round is what the test times: one epoch, one fit, one study of a few trials); 'vs "
    "fastest' is the median over the group's fastest median. Timings on a shared machine are "
    "noisy: only the ratios below are asserted, each measured within one test."
)
PROPOSAL_TIMES = (
    "The samplers' own time: seconds each study spent inside the sampler's ask (its proposals, "
    "with the storage reads it makes; in memory for a surrogate task), summed over the study's "
    "trials:"
)
