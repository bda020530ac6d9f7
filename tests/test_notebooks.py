"""Every notebook, as a learner runs it: papermill executes the series on the smoke preset,
then nbval re-executes the executed copies and compares the cells marked
``# NBVAL_CHECK_OUTPUT`` (shapes, captions, measured figures): same parameters, same numbers.
"""

import json
import subprocess
import sys

import nbformat
import pytest
import torch

from cmdkit.data.samples import SAMPLES_DIR
from cmdkit.models.vae import default_taef2_folder
from cmdkit.runner import declared_parameters, list_notebooks, run_series

NOTEBOOKS = [p.stem for p in list_notebooks()]
SERIES = [name for name in NOTEBOOKS if name[:2] in ("01", "02", "03", "04", "05", "06")]  # what trains or evaluates
# The smallest budgets that still run every cell: for checking a path end to end, not what it learns.
TINY = {"preset": "smoke", "seed": 0, "train_steps": 15, "ablation": False, "num_images": 128, "num_clips": 32,
        "sampling_steps": 3, "content_steps": 3, "motion_steps": 3, "baseline_steps": 2, "compare_clips": 2,
        "compare_steps": 2, "solutions": True}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("smoke_run")
    # Tiny budgets keep CI within its time: here the notebooks are checked for running end to end and
    # reproducing their numbers under nbval, not for what a full smoke run learns (`make demo`; the
    # stage tests in test_*.py guard the learning). The ablation runs too, so that its cells are run.
    results = run_series(run_dir, {**TINY, "ablation": True}, stop_on_failure=False, echo=lambda *_: None)
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
def test_series_on_the_shipped_videos_in_latent_space(tmp_path):
    """The series on data=data_samples — real mp4 files through decord — with space="latent":
    clips through TAEF2, every model on its 32-channel latents, the pipelines saved with TAEF2
    as their vae and every figure on decoded pixels. One run covers both paths (CI's time): the
    folder's branches do not depend on the space, nor the space's on the data. Also checked:
    the run keeps its data, and the training clips are encoded once (by 03) and read again by 04."""
    params = {**TINY, "data": str(SAMPLES_DIR), "space": "latent"}

    def run(only):  # a part of the series takes only the parameters its notebooks declare
        declared = set().union(*(declared_parameters(nb) for nb in list_notebooks(only)))
        return run_series(tmp_path, {k: v for k, v in params.items() if k in declared}, only=only,
                          echo=lambda *_: None)

    first = run(SERIES[:3])
    encodings = sorted((tmp_path / "encodings").glob("*.safetensors"))
    assert len(encodings) == 1, encodings
    written = encodings[0].stat().st_mtime_ns
    results = first + run(SERIES[3:])
    assert [r.status for r in results] == ["ok"] * len(SERIES), [r.error for r in results]
    assert encodings[0].stat().st_mtime_ns == written, "notebook 04 encoded the clips again"

    recorded = json.loads((tmp_path / "data.json").read_text())
    assert recorded["data"] == str(SAMPLES_DIR.resolve()) and recorded["held_out_videos"] == 4
    for name in SERIES:
        assert json.loads((tmp_path / name / "metrics.json").read_text())["metrics"]["data"] == recorded["data"]

    assert json.loads((tmp_path / "01_autoencoder" / "frame_space" / "space.json").read_text()) == {"space": "latent"}
    assert json.loads((tmp_path / "01_autoencoder" / "autoencoder" / "config.json").read_text())["in_channels"] == 32
    for prior in ("02_image_prior/image_prior", "03_content_frames/content_model", "05_pipeline/cmd_pipeline"):
        assert json.loads((tmp_path / prior / "vae" / "config.json").read_text())["_class_name"] == "TinyAutoencoder"
        assert json.loads((tmp_path / prior / "unet" / "config.json").read_text())["in_channels"] == 32
        scheduler = json.loads((tmp_path / prior / "scheduler" / "scheduler_config.json").read_text())
        assert (scheduler["prediction_type"], scheduler["clip_sample"]) == ("v_prediction", False)
    assert json.loads((tmp_path / "04_motion" / "motion_model" / "config.json").read_text())["content_channels"] == 32
    # Every figure is measured on decoded pixels: the ladder's reconstruction is a real PSNR.
    ladder = json.loads((tmp_path / "06_evaluation" / "metrics.json").read_text())["metrics"]["ladder"]
    assert 10 < ladder["1 reconstruction"]["psnr"] < 60 and 0 < ladder["1 reconstruction"]["ssim"] <= 1

    # The run keeps its space and its data: pixels, or the toy world, in the same run are refused.
    for other, message in (({"data": str(SAMPLES_DIR)}, "with space='latent' too"),
                           ({"space": "latent"}, "was started on data=")):
        again = run_series(tmp_path, {"preset": "smoke", **other}, only=["04"], stop_on_failure=False,
                           echo=lambda *_: None)
        assert again[0].status == "failed" and message in again[0].error, again[0].error


def _ucf_tree(root, clips_per_class=10):
    """UCF-101's layout from toy clips: one folder per direction of motion, mp4 files of mixed
    frame sizes and frame rates, as real datasets have."""
    from cmdkit import viz
    from cmdkit.data import ToyVideoDataset
    from cmdkit.metrics.probes import caption_direction

    world = ToyVideoDataset(length=400, num_frames=16, height=64, width=64, num_objects=1, seed=5)
    counts = {}
    for index in range(len(world)):
        item = world[index]
        folder = "Moving" + caption_direction(item["caption"]).capitalize()
        if counts.get(folder, 0) == clips_per_class:
            continue
        k = counts[folder] = counts.get(folder, 0) + 1
        video = item["video"] if k % 2 else torch.nn.functional.interpolate(item["video"], size=(48, 80))
        viz.save_mp4(video, root / folder / f"v_{folder}_g{k:02d}_c01.mp4", fps=8 if k % 3 else 12)
    assert len(counts) == 4 and set(counts.values()) == {clips_per_class}
    return root


def test_ucf_style_folders_train_the_autoencoder_and_a_class_conditional_motion_model(tmp_path):
    tree = _ucf_tree(tmp_path / "ucf")
    run = tmp_path / "run"
    # The paper's decoder (copy_radius 0): this checks reading video folders, and in 150 steps it
    # passes the mean frame by 1 dB here; the smoke preset's copying decoder did not (24.9 against
    # 25.6 dB: it starts from a lightly blurred x̄). Its own learning test is in test_autoencoder.py.
    first = run_series(run, {"preset": "smoke", "seed": 0, "data": str(tree), "train_steps": 150, "ablation": False,
                             "copy_radius": 0, "num_clips": 64, "solutions": True}, only=["01"], echo=lambda *_: None)
    assert first[0].status == "ok", first[0].error
    metrics = first[0].metrics
    assert metrics["loss_last"] < metrics["loss_first"]
    assert metrics["psnr"] > metrics["psnr_mean_frame"] + 1.0, metrics  # beats the mean frame, not by rounding
    motion = run_series(run, {"preset": "smoke", "seed": 0, "data": str(tree), "train_steps": 60, "num_clips": 64,
                              "condition": "class", "sampling_steps": 5, "solutions": True},
                        only=["04"], echo=lambda *_: None)
    assert motion[0].status == "ok", motion[0].error
    assert motion[0].metrics["loss_last"] < motion[0].metrics["loss_first"]
    config = json.loads((run / "04_motion" / "motion_model" / "config.json").read_text())
    assert (config["num_classes"], config["text_dim"]) == (4, None)
