"""A tiny regression task shared by the training tests and by the subprocess they kill.

Run as a script, it trains with checkpoints: ``python regression_task.py CKPT_DIR STEPS SLEEP``.
"""

import sys
import time

import torch
import torch.nn.functional as F

from cmdkit.data.batches import dataset_batches
from cmdkit.train import TrainConfig, train


class Regression(torch.utils.data.Dataset):
    """y = A x: a problem a small MLP learns in a few dozen steps."""

    def __init__(self, n=256):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 6, generator=g)
        self.y = self.x @ torch.randn(6, 3, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"xy": torch.cat([self.x[i], self.y[i]])}


def make_model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.GELU(), torch.nn.Linear(32, 3))


def loss(model, batch):
    # Randomness inside the step, to check that resume reproduces it too.
    noise = 0.01 * torch.randn_like(batch[:, :6])
    return F.mse_loss(model(batch[:, :6] + noise), batch[:, 6:])


def config(steps, **overrides):
    return TrainConfig(steps=steps, learning_rate=1e-2, log_every=5, progress=False, **overrides)


def batches(rank=0, world_size=1, batch_size=16):
    return dataset_batches(Regression(), batch_size, key="xy", rank=rank, world_size=world_size)


if __name__ == "__main__":
    folder, steps, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])

    def slow_loss(model, batch):
        time.sleep(pause)  # gives the test time to kill us between checkpoints
        return loss(model, batch)

    result = train(make_model(), slow_loss, batches(), config(steps, checkpoint_every=5), checkpoint_dir=folder)
    torch.save({k: v for k, v in result.model.state_dict().items()}, f"{folder}/final.pt")
