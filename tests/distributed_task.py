"""The regression task trained by every process of an ``accelerate launch`` run.

    accelerate launch --cpu --num_processes 2 distributed_task.py OUT.pt STEPS

Each process takes its share of the same global batch (``dataset_batches(rank=…, world_size=…)``);
DDP averages the gradients, so the run should match one process on the whole batch.
"""

import sys

import torch
import torch.nn.functional as F
from accelerate import PartialState

from regression_task import batches, config, make_model
from cmdkit.train import train


def exact_loss(model, batch):
    # No in-step noise: each process would draw its own, unlike a single process.
    return F.mse_loss(model(batch[:, :6]), batch[:, 6:])


if __name__ == "__main__":
    out, steps = sys.argv[1], int(sys.argv[2])
    state = PartialState(cpu=True)  # this test runs on CPUs: gloo
    result = train(make_model(), exact_loss, batches(rank=state.process_index, world_size=state.num_processes),
                   config(steps))
    if state.is_main_process:
        torch.save({"world_size": state.num_processes, "backend": str(state.backend),
                    "weights": result.model.state_dict(), "ema": result.ema_model.state_dict()}, out)
