"""The training loop under ``accelerate launch`` with two CPU processes (gloo) ends with the same
weights as one process on the same global batch."""

import os
import subprocess
import sys
from pathlib import Path

import torch

from distributed_task import exact_loss
from regression_task import batches, config, make_model
from cmdkit.train import train

SCRIPT = Path(__file__).with_name("distributed_task.py")


def test_two_processes_match_one(tmp_path):
    steps, out = 20, tmp_path / "two.pt"
    # accelerate launches CPU processes through its multi-process launcher when told to use the CPU.
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(SCRIPT.parent), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", "29531", str(SCRIPT), str(out), str(steps)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=SCRIPT.parent)
    assert run.returncode == 0, run.stderr[-3000:]
    two = torch.load(out, weights_only=True)
    assert two["world_size"] == 2 and two["backend"] == "gloo"

    one = train(make_model(), exact_loss, batches(), config(steps))
    start = make_model().state_dict()
    for name, value in one.model.state_dict().items():
        assert (value - start[name]).abs().max() > 1e-3, "training must have moved the weights"
        torch.testing.assert_close(two["weights"][name], value, atol=1e-6, rtol=1e-5)
    for name, value in one.ema_model.state_dict().items():
        torch.testing.assert_close(two["ema"][name], value, atol=1e-6, rtol=1e-5)
