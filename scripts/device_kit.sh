#!/usr/bin/env bash
# Wheels for running the GPU checks on a lent GPU machine that cannot reach PyPI (the
# project's `device` tool): its image has Python 3.12 with torch, torchmetrics, scikit-learn,
# scipy, pandas, rich, matplotlib and pytest, but no Optuna. This downloads Optuna and the
# dependencies that image lacks into .device_kit/ (ignored by git; about 6 MB) to carry there.
# Then, on that machine, from the repository root:
#   python3 -m pip install -q --no-index --find-links .device_kit optuna
#   PYTHONPATH=. PYTHON=python3 scripts/gpu_check.sh --quick
# (Ray is not carried: its wheel is larger than one transfer; gpu_check.sh then runs its
# short study with --executor local.)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
rm -rf .device_kit
"$PY" -m pip download -q --no-deps --only-binary :all: --python-version 3.12 \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform any \
  -d .device_kit optuna alembic sqlalchemy colorlog mako
ls -l .device_kit
