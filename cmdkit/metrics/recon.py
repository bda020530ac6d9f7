"""Reconstruction quality."""

from __future__ import annotations

import torch

__all__ = ["psnr", "psnr_per_frame", "error_where_moved", "ssim"]


def psnr(reconstruction: torch.Tensor, target: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB, one value per item of the batch.

    Both tensors are (B, …) with values in [-1, 1] (so ``data_range`` = 2); the
    reconstruction is clamped to that range first, as a displayed video would be.
    """
    if reconstruction.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(reconstruction.shape)} vs {tuple(target.shape)}")
    half = data_range / 2
    error = (reconstruction.clamp(-half, half) - target).float().pow(2).flatten(1).mean(dim=1)
    return _decibels(error, data_range)


def _decibels(mean_squared_error: torch.Tensor, data_range: float) -> torch.Tensor:
    """PSNR in dB from a mean squared error; the 1e-12 floor keeps an exact match finite."""
    return 10 * torch.log10(data_range**2 / mean_squared_error.clamp_min(1e-12))


def _check_clips(reconstruction: torch.Tensor, target: torch.Tensor) -> None:
    if reconstruction.shape != target.shape or reconstruction.ndim != 5:
        raise ValueError(f"expected two clips (B, C, L, H, W) of one shape; got {tuple(reconstruction.shape)} "
                         f"and {tuple(target.shape)}")


def psnr_per_frame(reconstruction: torch.Tensor, target: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """PSNR in dB of each frame position, its squared error pooled over the batch: clips
    (B, C, L, H, W) → (L,). Shows where in a clip a reconstruction fails (for CMD's keyframe
    content frames: away from the middle frame)."""
    _check_clips(reconstruction, target)
    half = data_range / 2
    error = (reconstruction.clamp(-half, half) - target).float().pow(2).mean(dim=(0, 1, 3, 4))
    return _decibels(error, data_range)


def error_where_moved(reconstruction: torch.Tensor, target: torch.Tensor, reference_frame: int,
                      threshold: float = 0.05) -> dict[str, float]:
    """How a reconstruction's squared error splits between the pixels that move and the rest.

    A pixel of frame l *moved* if any channel of the target differs there from frame
    ``reference_frame`` by more than ``threshold``. Returns ``moved_fraction`` (of all pixels),
    ``error_share`` (of the total squared error on those pixels), and the mean squared error on
    moved and on still pixels, ``mse_moved`` and ``mse_still``. Clips are (B, C, L, H, W).
    """
    _check_clips(reconstruction, target)
    if not -target.shape[2] <= reference_frame < target.shape[2]:
        raise ValueError(f"reference_frame {reference_frame} is outside the clip's {target.shape[2]} frames")
    reference = target.select(2, reference_frame).unsqueeze(2)  # (B, C, 1, H, W)
    moved = ((target - reference).abs().amax(dim=1, keepdim=True) > threshold).expand_as(target)
    error = (reconstruction.clamp(-1, 1) - target).float().pow(2)
    total = error.sum().clamp_min(1e-12)
    nan = torch.tensor(float("nan"))
    return {"moved_fraction": moved.float().mean().item(),
            "error_share": (error[moved].sum() / total).item(),
            "mse_moved": (error[moved].mean() if moved.any() else nan).item(),
            "mse_still": (error[~moved].mean() if (~moved).any() else nan).item()}


def ssim(reconstruction: torch.Tensor, target: torch.Tensor, data_range: float = 2.0, window: int = 11,
         sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004), one value per item of the batch, in [-1, 1]
    (1: identical).

    Both tensors are images (B, C, H, W) or clips (B, C, L, H, W) in [-1, 1]; a clip's SSIM is
    the mean over its frames. Local means, variances and the covariance are taken under an
    11×11 Gaussian window (σ = 1.5) per channel, with the usual constants
    (0.01·range)² and (0.03·range)²; the window shrinks to fit frames smaller than it.
    """
    if reconstruction.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(reconstruction.shape)} vs {tuple(target.shape)}")
    if target.ndim not in (4, 5):
        raise ValueError(f"expected (B, C, H, W) or (B, C, L, H, W); got {tuple(target.shape)}")
    # SSIM's luminance term assumes intensities from 0 up (it compares means by their ratio), so
    # values in [-1, 1] are moved to [0, 2] first; a shift of both changes nothing else.
    x = reconstruction.float().clamp(-data_range / 2, data_range / 2) + data_range / 2
    y = target.float() + data_range / 2
    if y.ndim == 5:  # frames as images: (B, C, L, H, W) → (B·L, C, H, W)
        b, c, l = y.shape[:3]
        x, y = (t.transpose(1, 2).reshape(b * l, c, *t.shape[-2:]) for t in (x, y))
    size = min(window, *y.shape[-2:])
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-coords**2 / (2 * sigma**2))
    kernel = (g[:, None] * g[None, :] / g.sum() ** 2).expand(y.shape[1], 1, size, size).contiguous()

    def blur(t):  # per-channel local mean, valid positions only
        return torch.nn.functional.conv2d(t, kernel, groups=y.shape[1])

    mu_x, mu_y = blur(x), blur(y)
    var_x, var_y = blur(x * x) - mu_x**2, blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    per_image = index.flatten(1).mean(dim=1)
    return per_image.view(target.shape[0], -1).mean(dim=1) if target.ndim == 5 else per_image
