"""Reconstruction quality."""

from __future__ import annotations

import torch

__all__ = ["psnr"]


def psnr(reconstruction: torch.Tensor, target: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB, one value per item of the batch.

    Both tensors are (B, …) with values in [-1, 1] (so ``data_range`` = 2); the
    reconstruction is clamped to that range first, as a displayed video would be.
    """
    if reconstruction.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(reconstruction.shape)} vs {tuple(target.shape)}")
    half = data_range / 2
    error = (reconstruction.clamp(-half, half) - target).float().pow(2).flatten(1).mean(dim=1)
    return 10 * torch.log10(data_range**2 / error.clamp_min(1e-12))
