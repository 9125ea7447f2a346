#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian machine, then run it: the checks
# (ruff, the formatter, mypy, the import layers), the tests, the timing benchmarks.
#  - a virtual environment .venv with the CPU build of PyTorch 2.13.0 and the package [dev]
#  - Debian's postgresql (a throw-away server on loopback for the storage test) and chromium
#    (the dashboard's browser test); installed only when missing, and only as root
# Then the timing benchmarks (tests/benchmarks), briefly and timed, saved as pytest-benchmark
# JSON in runs/benchmarks/ci-<UTC time>.json, which `harness report` shows.
# Extra arguments go to one plain pytest instead (benchmarks untimed), e.g. scripts/test.sh -k study
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# torch==2.13.0 is the CPU build (a plain `torch` would pull a multi-GB CUDA build).
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0 -e ".[dev]"

missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  else
    echo "not root: cannot install ${missing[*]}; the tests that need them will say so" >&2
  fi
fi
if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  eval "$(scripts/start_postgres.sh)"
fi

# The habits CONTRIBUTING.md promises, first: they take seconds (mypy half a minute from a cold
# cache) and fail for reasons no test explains. Lint and formatting over the whole tree, types
# over harness/ (pyproject.toml [tool.mypy]), and the package layers (pyproject.toml
# [tool.importlinter]: a lower package never imports a higher one). .pre-commit-config.yaml
# runs the same four before each commit.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports

if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
# The benchmarks run once, timed, in the second step: not untimed in the first as well. The
# slow tests, which a plain pytest leaves out (pyproject.toml), run here.
.venv/bin/python -m pytest --ignore=tests/benchmarks -m "slow or not slow"

mkdir -p runs/benchmarks
json="runs/benchmarks/ci-$(date -u +%Y%m%dT%H%M%SZ).json"
started=$SECONDS
# Each test sets its own few rounds; the speed ratios are asserted inside the tests. The JSON
# is written even when a ratio fails, so say where it is either way.
status=0
.venv/bin/python -m pytest tests/benchmarks --benchmark-enable --benchmark-json="$json" \
  || status=$?
echo "benchmarks: $((SECONDS - started)) s; JSON saved to $json"
exit "$status"
