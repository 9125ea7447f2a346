#!/usr/bin/env bash
# The GPU checks, for a person with a CUDA card (and a CUDA build of torch in .venv):
#   1. the CUDA tests: the CUDA-graph fast path against eager (same losses within tolerance)
#   2. `harness bench devices`: the device table (CPU and GPU rows, fast path against eager
#      and the lab's DataLoader path, trials per minute for 1, 2, 4, 8 workers per GPU)
#   3. a short study on CUDA (Ray's GPU workers when Ray is installed, else --executor local)
#   4. the lab protocol on the GPU, timed (30 TPE + 30 random trials of the default space,
#      each best retrained once; the speed issue's goal is at most 90 s on one GPU)
# Everything lands in $OUT (default runs/gpu_check/); `harness report` shows devices.json
# when it is copied to runs/devices.json.
# Usage: scripts/gpu_check.sh [--quick]     (--quick: 3 epochs per device-table row)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT="${OUT:-runs/gpu_check}"
mkdir -p "$OUT"
rm -rf "$OUT/gpu_check.db" "$OUT/protocol.db" "$OUT/runs"  # each check measures afresh
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
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/nvidia-smi.csv"
"$PY" - <<'PYEOF'
import sys, torch
if not torch.cuda.is_available():
    sys.exit(f"torch {torch.__version__} sees no CUDA device: install a CUDA build of torch")
print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}")
PYEOF

echo "== 1. CUDA tests"
# Each step runs even when an earlier one failed; the exit status says whether all passed.
failed=()
"$PY" -m pytest -q -p no:cacheprovider -rs tests/test_train.py tests/test_bench_devices.py \
  -k "cuda" 2>&1 | tee "$OUT/pytest_cuda.txt" || failed+=("CUDA tests")

echo "== 2. device table"
BENCH=(--json "$OUT/devices.json")
[ "$QUICK" = 1 ] && BENCH+=(--epochs 3)
"$PY" -m harness bench devices "${BENCH[@]}" 2>&1 | tee "$OUT/devices.txt" \
  || failed+=("bench devices")

echo "== 3. a short study on CUDA"
if "$PY" -c "import ray" 2>/dev/null; then
  EXEC=(--executor ray --gpu-workers 4 --cpu-workers 0)
else
  EXEC=(--executor local)  # this process, on CUDA (device auto)
fi
TRIALS=12
[ "$QUICK" = 1 ] && TRIALS=6
/usr/bin/time -p "$PY" -m harness study --name gpu-check --sampler tpe --trials "$TRIALS" \
  --space search_spaces/smoke.toml --storage "sqlite:///$OUT/gpu_check.db" "${EXEC[@]}" \
  2>&1 | tee "$OUT/study.txt" || failed+=("study")

echo "== 4. the lab protocol on the GPU (goal: at most 90 s)"
/usr/bin/time -p "$PY" -m harness compare --name gpu-protocol --repeats 1 --retrain-seeds 1 \
  --bench-seeds 0 --reference-seeds 0 --runs-dir "$OUT/runs" \
  --storage "sqlite:///$OUT/protocol.db" "${EXEC[@]}" 2>&1 | tee "$OUT/protocol.txt" \
  || failed+=("protocol")
echo "results in $OUT"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
