"""A training run killed with SIGKILL resumes and ends exactly where an uninterrupted run ends."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from regression_task import batches, config, loss, make_model
from cmdkit.train import latest_checkpoint, train

SCRIPT = Path(__file__).with_name("regression_task.py")
CHECKPOINT_FILES = {"model.safetensors", "ema.safetensors", "optimizer.pt", "state.json"}


def _visible_checkpoints_are_complete(folder: Path) -> None:
    for checkpoint in folder.glob("step-*"):
        assert {p.name for p in checkpoint.iterdir()} == CHECKPOINT_FILES, f"partial checkpoint {checkpoint}"


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    steps = 30
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SCRIPT.parent), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.Popen([sys.executable, str(SCRIPT), str(tmp_path), str(steps), "0.05"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while latest_checkpoint(tmp_path) is None:  # wait for the first checkpoint, watching for partial ones
        _visible_checkpoints_are_complete(tmp_path)
        assert run.poll() is None, f"training exited early: {run.stderr.read().decode()[-2000:]}"
        assert time.time() < deadline, "no checkpoint within 2 minutes"
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert run.returncode == -signal.SIGKILL
    killed_at = int(latest_checkpoint(tmp_path).name.split("-")[1])
    assert killed_at < steps, "the run finished before it could be interrupted"
    _visible_checkpoints_are_complete(tmp_path)

    resumed = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), str(steps), "0"], env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _visible_checkpoints_are_complete(tmp_path)
    final = torch.load(tmp_path / "final.pt", weights_only=True)

    uninterrupted = train(make_model(), loss, batches(), config(steps)).model.state_dict()
    for name, value in uninterrupted.items():
        assert torch.allclose(value, final[name], atol=1e-6), name
