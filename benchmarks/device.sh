#!/usr/bin/env bash
# The device check on a lent GPU machine, prepared here.
#
#   benchmarks/device.sh fetch     here (pip works): what the GPU machine lacks, into .whl/ (ignored)
#   benchmarks/device.sh run OUT   there: install it beside its torch, run `cmdkit device-check`
#                                  with the notebook series, results in OUT
#
# The GPU machine's image (Python 3.12) has torch, transformers, accelerate and the scientific
# stack, but not diffusers, papermill or a Jupyter kernel, and it cannot download: their wheels
# (benchmarks/device-wheels.txt, about 40 MB) travel in .whl/ — carry it: the device tool's
# `carry: [".whl"]`. MiniLM's 91 MB of weights do not fit the 64 MiB that travels, so its
# config and tokenizer go along and `run` builds a random-weight stand-in of the same shape for
# the notebooks (CMDKIT_TEXT_ENCODER): every code path runs, the text features mean nothing.
#
# Rehearsal on this CPU, in a virtual environment holding only what the GPU machine's image has:
#   PYVER=3.11 benchmarks/device.sh fetch && DEVICE=cpu QUICK=1 PYTHON=/tmp/device-env/bin/python \
#     benchmarks/device.sh run /tmp/out
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  fetch)
    rm -rf .whl && mkdir -p .whl/text-encoder
    platforms=(manylinux1_x86_64 manylinux2010_x86_64 manylinux2014_x86_64)
    for n in 5 17 24 26 27 28 31 34 35; do platforms+=("manylinux_2_${n}_x86_64"); done
    sed 's/#.*//; /^ *$/d' benchmarks/device-wheels.txt | xargs python3 -m pip download --quiet --no-deps \
      --only-binary=:all: --python-version "${PYVER:-3.12}" --implementation cp \
      "${platforms[@]/#/--platform=}" -d .whl
    "${PYTHON:-.venv/bin/python}" - <<'PY'
import shutil
from cmdkit.text import TOKENIZER_FILES, minilm_folder
for name in TOKENIZER_FILES:
    shutil.copyfile(minilm_folder() / name, f".whl/text-encoder/{name}")
PY
    du -sh .whl ;;
  run)
    out="${2:?usage: benchmarks/device.sh run OUT}"
    py="${PYTHON:-python3}"
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 PATH="/tmp/site/bin:$PATH"
    export CMDKIT_TEXT_ENCODER=/tmp/text-encoder
    "$py" -c "from cmdkit.text import save_stand_in_encoder as s; s('.whl/text-encoder', '$CMDKIT_TEXT_ENCODER')"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
    "$py" -m cmdkit device-check --device "${DEVICE:-cuda}" --notebooks --budget "${BUDGET:-480}" \
      --out "$out" --notebooks-dir /tmp/device-notebooks ${QUICK:+--quick}
    # The executed notebooks and their metrics in one file: the device tool brings back 8 files at most.
    (cd /tmp/device-notebooks 2>/dev/null && find . -name '*.ipynb' -o -name metrics.json | tar -czf "$out/notebooks.tar.gz" -T -) || true ;;
  *)
    sed -n '2,18p' "$0"; exit 2 ;;
esac
