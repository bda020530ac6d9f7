"""Every notebook, as a learner runs it: papermill executes the series on the smoke preset,
then nbval re-executes the executed copies and compares the cells marked
``# NBVAL_CHECK_OUTPUT`` (shapes, captions, measured figures): same parameters, same numbers.
"""

import json
import subprocess
import sys

import nbformat
import pytest

from cmdkit.models.vae import default_taef2_folder
from cmdkit.runner import list_notebooks, run_series

NOTEBOOKS = [p.stem for p in list_notebooks()]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("smoke_run")
    # Short training budgets and 10-step samplers keep CI within its time: here the notebooks are
    # checked for running end to end and reproducing their numbers, not for what a full smoke run
    # learns (`make demo`; the stage tests in test_*.py guard the learning).
    results = run_series(run_dir, {"preset": "smoke", "seed": 0, "train_steps": 100, "baseline_steps": 4,
                                   "compare_clips": 4, "sampling_steps": 10, "content_steps": 10,
                                   "motion_steps": 10, "solutions": True}, stop_on_failure=False,
                         echo=lambda *_: None)
    return run_dir, {r.notebook: r for r in results}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(smoke_run, name):
    run_dir, results = smoke_run
    result = results[name]
    assert result.status == "ok", f"{name} failed: {result.error}\n(executed copy: {result.executed})"
    executed = nbformat.read(result.executed, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert (run_dir / name / "metrics.json").exists(), "every notebook records what it measured"
    pictures = [o for c in executed.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
                or "text/html" in o.get("data", {})]
    assert pictures, f"{name} shows no pictures or videos"
    exercise = [c for c in executed.cells if c.cell_type == "code" and "exercises.check(" in c.source]
    if exercise:  # with solutions=True the reference answer must pass its own check
        shown = "".join(str(o.get("data", {}).get("text/markdown", "")) for o in exercise[0].outputs)
        assert "matches cmdkit's implementation" in shown, shown


def test_nbval_on_executed_notebooks(smoke_run):
    run_dir, results = smoke_run
    executed = [str(results[n].executed) for n in NOTEBOOKS if results[n].status == "ok"]
    assert executed
    checked = sum("NBVAL_CHECK_OUTPUT" in c.source for p in executed
                  for c in nbformat.read(p, as_version=4).cells)
    assert checked >= len(executed), "each notebook should pin some outputs for nbval to check"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
         "-q", *executed], cwd=run_dir, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


@pytest.mark.skipif(not (default_taef2_folder() / "taef2_encoder.pth").exists(), reason="TAEF2 weights not present")
def test_latent_mode_series(tmp_path):
    """Notebooks 01–03 with space="latent": clips through TAEF2, the autoencoder and the prior on
    its 32-channel latents, the prior saved with TAEF2 as its vae. Small budgets: this checks the
    latent path runs end to end and keeps its promises, not what it learns."""
    results = run_series(tmp_path, {"preset": "smoke", "seed": 0, "space": "latent", "train_steps": 20,
                                    "ablation": False, "num_images": 256, "num_clips": 128},
                         only=["01", "02", "03"], echo=lambda *_: None)
    assert [r.status for r in results] == ["ok"] * 3, [r.error for r in results]
    assert json.loads((tmp_path / "01_autoencoder" / "frame_space" / "space.json").read_text()) == {"space": "latent"}
    assert json.loads((tmp_path / "01_autoencoder" / "autoencoder" / "config.json").read_text())["in_channels"] == 32
    for prior in ("02_image_prior/image_prior", "03_content_frames/content_model"):
        assert json.loads((tmp_path / prior / "vae" / "config.json").read_text())["_class_name"] == "TinyAutoencoder"
        assert json.loads((tmp_path / prior / "unet" / "config.json").read_text())["in_channels"] == 32
        scheduler = json.loads((tmp_path / prior / "scheduler" / "scheduler_config.json").read_text())
        assert (scheduler["prediction_type"], scheduler["clip_sample"]) == ("v_prediction", False)
    # A pixel-space notebook refuses a latent run with a message saying so.
    later = run_series(tmp_path, {"preset": "smoke"}, only=["04"], stop_on_failure=False, echo=lambda *_: None)
    assert later[0].status == "failed" and "works in pixel space only" in later[0].error
