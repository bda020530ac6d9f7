#!/usr/bin/env bash
# The device check on a lent GPU machine, prepared here.
#
#   benchmarks/device.sh fetch     here (pip works): the wheels the GPU machine lacks, into .whl/ (ignored)
#   benchmarks/device.sh run OUT   there: install them beside its torch, run `cmdkit device-check`, results in OUT
#                                  (DEVICE=cpu QUICK=1 PYTHON=.venv/bin/python rehearses it here)
#
# The GPU machine's image has torch, accelerate, transformers, safetensors, einops and numpy but
# not diffusers, and it cannot download; diffusers is pure Python, so its wheel travels in .whl/
# (carry it: the device tool's `carry: [".whl"]`). The notebook series needs papermill, a
# Jupyter kernel and the MiniLM weights (over the tool's 64 MiB), so `run` skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  fetch)
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d .whl diffusers==0.42.1
    ls -l .whl ;;
  run)
    out="${2:?usage: benchmarks/device.sh run OUT}"
    "${PYTHON:-python3}" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
    "${PYTHON:-python3}" -m cmdkit device-check --device "${DEVICE:-cuda}" --no-notebooks --budget 480 --out "$out" ${QUICK:+--quick} ;;
  *)
    sed -n '2,10p' "$0"; exit 2 ;;
esac
