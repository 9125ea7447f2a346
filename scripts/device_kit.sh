#!/usr/bin/env bash
# Wheels for running scripts/gpu_check.sh on a lent GPU machine that cannot reach PyPI (the
# project's `device` tool). Its image has Python 3.12 with torch, torchmetrics, scikit-learn,
# scipy, pandas, rich, matplotlib, pytest and Ray's smaller dependencies, but neither Optuna
# nor Ray. This downloads them and what the image lacks into .device_kit/ (ignored by git).
# One transfer carries at most 64 MiB and Ray's wheel alone is about 76 MiB, so the kit is in
# two parts, each under the limit: part1/ holds the first half of Ray's wheel, part2/ the
# second half and every other wheel. Carry part1 in a first call that only stores it:
#   mkdir -p /tmp/kit && cp .device_kit/part1/* /tmp/kit/
# then, while the machine is still warm, part2 in the call that runs the checks:
#   cat /tmp/kit/ray.part1 .device_kit/part2/ray.part2 > /tmp/kit/$(cat .device_kit/part2/ray.name)
#   cp .device_kit/part2/*.whl /tmp/kit/
#   python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /tmp/kit/*.whl
#   PYTHONPATH=/tmp/site:$PWD PYTHON=python3 scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
RAY_VERSION="${RAY_VERSION:-2.60.0}"
rm -rf .device_kit
mkdir -p .device_kit/download .device_kit/part1 .device_kit/part2
"$PY" -m pip download -q --no-deps --only-binary :all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform any -d .device_kit/download \
  "ray==$RAY_VERSION" optuna alembic sqlalchemy colorlog mako jsonschema \
  jsonschema-specifications referencing rpds-py
ray_wheel=$(cd .device_kit/download && ls ray-*.whl)
split -n 2 ".device_kit/download/$ray_wheel" .device_kit/ray.
mv .device_kit/ray.aa .device_kit/part1/ray.part1
mv .device_kit/ray.ab .device_kit/part2/ray.part2
echo "$ray_wheel" >.device_kit/part2/ray.name
find .device_kit/download -name '*.whl' ! -name 'ray-*' -exec mv {} .device_kit/part2/ \;
rm -rf .device_kit/download
du -sh .device_kit/part1 .device_kit/part2
