#!/bin/bash
# Rehearse the Colab setup cell of the notebooks on a machine without Colab.
#
#     bash benchmarks/colab_rehearsal.sh        # about 2 minutes; needs python3.11 and PyPI; writes /content
#
# A fresh Python 3.11 environment stands in for a Colab runtime: it already holds a torch, an
# ipykernel and a JupyterLab of its own, which the cell must keep. The script then clones this
# repository to /content/cmdkit (where the cell expects it; the cell's own `git clone` needs
# GitHub), runs notebook 04's setup cell with `google.colab` present as a module, checks that
# the kit imports from the clone and loads its offline text encoder, that torch, ipykernel and
# jupyterlab are the versions they were, and runs notebook 00 with papermill in that environment.
# It does not show GPU behaviour or Colab's timings: that needs Colab itself.
set -euo pipefail
REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
ENV=${COLAB_ENV:-/tmp/colab-rehearsal/env}
WORK=$(dirname "$ENV")
rm -rf "$ENV" /content/cmdkit "$WORK/run"
mkdir -p "$WORK" /content
python3.11 -m venv "$ENV"
P="$ENV/bin/python"
"$P" -m pip install --quiet torch==2.13.0 ipykernel==7.4.0 jupyterlab ipywidgets papermill
"$P" -m pip freeze | sort > "$WORK/before.txt"
git clone --quiet "$REPO" /content/cmdkit
(cd "$WORK" && "$P" - <<'PY'
import importlib.machinery, json, os, sys, time, types

for name in ("google", "google.colab"):  # as Colab's modules look to importlib: a spec, a package path
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    module.__path__ = []
    sys.modules[name] = module
nb = json.load(open("/content/cmdkit/notebooks/04_motion.ipynb"))
cell = next(c for c in nb["cells"] if "colab-setup" in c.get("metadata", {}).get("tags", []))
start = time.time()
exec("".join(cell["source"]), {})
print(f"setup cell ran in {time.time() - start:.0f} s; working directory {os.getcwd()}")
import cmdkit
from cmdkit.text import load_text_encoder
assert cmdkit.__file__.startswith("/content/cmdkit/"), cmdkit.__file__
tokenizer, encoder = load_text_encoder()
print(f"cmdkit from {cmdkit.__file__}; text encoder {type(encoder).__name__} loaded")
PY
)
"$P" -m pip freeze | sort > "$WORK/after.txt"
for package in torch ipykernel jupyterlab; do
    before=$(grep -i "^$package==" "$WORK/before.txt"); after=$(grep -i "^$package==" "$WORK/after.txt")
    [ "$before" = "$after" ] || { echo "the setup cell replaced $before by $after"; exit 1; }
    echo "kept $before"
done
echo "installed $(comm -13 "$WORK/before.txt" "$WORK/after.txt" | wc -l) packages beside them"
cd /content/cmdkit/notebooks
"$ENV/bin/papermill" --no-progress-bar 00_tour.ipynb "$WORK/00_tour.ipynb" -p run_dir "$WORK/run" > "$WORK/papermill.log" 2>&1
echo "notebook 00 ran in that environment: $WORK/00_tour.ipynb"
