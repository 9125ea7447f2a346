#!/usr/bin/env bash
# The GPU checks, for a machine with a CUDA card (and a CUDA build of torch in .venv), in
# order of importance, each with its own time limit so that one hang cannot eat the rest:
#   1. the CUDA tests: the CUDA-graph fast path against eager, population mode (graph against
#      eager, a member against its solo run), the device bench's CUDA rows
#   2. population mode: model-epochs per second at K = 1, 8, 32, 64 against one trial alone
#   3. `harness bench devices`: the device table (CPU and GPU rows, fast path against eager
#      and the lab's DataLoader path, trials per minute for 1, 2, 4, 8 workers per GPU)
#   4. a short study on CUDA (Ray's GPU workers when Ray is installed, else --executor local)
#   5. the lab protocol on the GPU, timed (30 TPE + 30 random trials of the default space,
#      each best retrained once; the goal is at most 90 s on one GPU), with the default
#      population training and (5b) with --population 1
# Everything lands in $GPU_CHECK_DIR (default runs/gpu_check/); copy devices.json to
# reports/ (or runs/devices.json) for `harness report` to show it.
# Usage: scripts/gpu_check.sh [--quick]     (--quick: fewer epochs and trials)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
DIR="${GPU_CHECK_DIR:-runs/gpu_check}"
mkdir -p "$DIR"
rm -rf "$DIR/gpu_check.db" "$DIR/protocol.db" "$DIR/runs"  # each check measures afresh
QUICK=0
case "${1:-}" in
  "") ;;
  --quick) QUICK=1 ;;
  *) echo "usage: scripts/gpu_check.sh [--quick]" >&2; exit 2 ;;
esac

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu_check: no nvidia-smi here; this script is for a machine with an NVIDIA GPU" >&2
  exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$DIR/nvidia-smi.csv"
"$PY" - <<'PYEOF' | tee "$DIR/versions.txt"
import sys, torch
if not torch.cuda.is_available():
    sys.exit(f"torch {torch.__version__} sees no CUDA device: install a CUDA build of torch")
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}) on {torch.cuda.get_device_name(0)}")
for name in ("optuna", "ray", "numpy", "scipy", "sklearn", "torchmetrics"):
    try:
        print(name, __import__(name).__version__)
    except ImportError:
        print(name, "not installed")
PYEOF

# Each step runs even when an earlier one failed; the exit status says whether all passed.
failed=()
step() {  # step NAME SECONDS LOGFILE COMMAND...: run with a time limit, log, record failure
  local name="$1" limit="$2" log="$3"
  shift 3
  echo "== $name (limit ${limit} s)"
  local started=$SECONDS
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$DIR/$log" || failed+=("$name")
  echo "== $name: $((SECONDS - started)) s" | tee -a "$DIR/$log"
}

step "1. CUDA tests" 240 pytest_cuda.txt "$PY" -m pytest -q -p no:cacheprovider -rs \
  tests/test_population.py tests/test_train.py tests/test_bench_devices.py \
  -k "cuda or population"

EPOCHS=3
[ "$QUICK" = 1 ] && EPOCHS=2
step "2. population mode" 200 population.txt "$PY" scripts/bench_population.py \
  --device cuda --k 1 8 32 64 --shapes 32x32 256x128 --epochs "$EPOCHS" \
  --json "$DIR/population.json"
step "2b. population mode, mixed hidden sizes" 120 population_mixed.txt \
  "$PY" scripts/bench_population.py --device cuda --k 8 32 64 --shapes 0x128 --mixed \
  --epochs "$EPOCHS" --json "$DIR/population_mixed.json"

# three search shapes of the nine (small, middle, large) keep the step to a few minutes
BENCH=(--json "$DIR/devices.json" --shapes 64x32 256x128 1024x512)
[ "$QUICK" = 1 ] && BENCH+=(--epochs 2 --trials-per-worker 2)
step "3. device table" 300 devices.txt "$PY" -m harness bench devices "${BENCH[@]}"

if "$PY" -c "import ray" 2>/dev/null; then
  EXEC=(--executor ray --gpu-workers 4 --cpu-workers 0)
else
  EXEC=(--executor local)  # this process, on CUDA (device auto)
fi
TRIALS=12
[ "$QUICK" = 1 ] && TRIALS=6
step "4. a short study on CUDA (${EXEC[*]})" 180 study.txt /usr/bin/time -p \
  "$PY" -m harness study --name gpu-check --sampler tpe --trials "$TRIALS" \
  --space search_spaces/smoke.toml --storage "sqlite:///$DIR/gpu_check.db" "${EXEC[@]}"

step "5. the lab protocol on the GPU (goal: at most 90 s)" 300 protocol.txt /usr/bin/time -p \
  "$PY" -m harness compare --name gpu-protocol --repeats 1 --retrain-seeds 1 \
  --bench-seeds 0 --reference-seeds 0 --runs-dir "$DIR/runs" \
  --storage "sqlite:///$DIR/protocol.db" "${EXEC[@]}"

# population training inside studies is on by default on a GPU (search/config.py): the same
# protocol with every trial alone gives the ratio (issue 21, item 5)
step "5b. the lab protocol, --population 1 (each trial alone)" 300 protocol_alone.txt \
  /usr/bin/time -p "$PY" -m harness compare --name gpu-protocol-alone --repeats 1 \
  --retrain-seeds 1 --bench-seeds 0 --reference-seeds 0 --runs-dir "$DIR/runs" \
  --storage "sqlite:///$DIR/protocol.db" --population 1 "${EXEC[@]}"

echo "results in $DIR"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
