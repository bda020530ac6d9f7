import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def make_clip():
    """A clip whose frame l has brightness l / (L - 1): frame order is readable from the pixels."""
    import torch

    def make(num_frames=12, height=32, width=48):
        ramp = torch.linspace(-1, 1, num_frames).view(1, num_frames, 1, 1)
        return ramp.expand(3, num_frames, height, width).clone()

    return make
