"""The Fréchet distance between two Gaussians fitted to feature sets — the core of FID and FVD.

    d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2})

The usual implementation calls ``scipy.linalg.sqrtm(Σ₁ Σ₂)`` on a product that is not
symmetric; in floating point it returns complex parts and, for rank-deficient covariances
(fewer clips than feature dimensions — common in small evaluations), NaN or garbage.
Here every matrix is symmetric positive semi-definite: Σ₁^{1/2} comes from an eigendecomposition
(negative round-off eigenvalues clipped to 0), and the trace term from the eigenvalues of the
symmetric matrix Σ₁^{1/2} Σ₂ Σ₁^{1/2}, also clipped — all in float64, so the result is always a
finite real number ≥ 0.
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_statistics", "frechet_distance", "frechet_distance_from_features"]


def gaussian_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), in float64."""
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be (N, D) with N >= 2; got {tuple(features.shape)}")
    x = features.detach().to(torch.float64).cpu()
    if not torch.isfinite(x).all():
        raise ValueError("features contain NaN or infinite values")
    mean = x.mean(dim=0)
    centred = x - mean
    return mean, centred.T @ centred / (x.shape[0] - 1)


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mean1: torch.Tensor, cov1: torch.Tensor, mean2: torch.Tensor, cov2: torch.Tensor) -> float:
    """d² between N(mean1, cov1) and N(mean2, cov2). Shapes (D,), (D, D)."""
    m1, m2 = (m.to(torch.float64).cpu() for m in (mean1, mean2))
    c1, c2 = (c.to(torch.float64).cpu() for c in (cov1, cov2))
    if m1.shape != m2.shape or c1.shape != c2.shape or c1.shape != (m1.shape[0],) * 2:
        raise ValueError(f"shapes do not match: means {tuple(m1.shape)}, {tuple(m2.shape)}; "
                         f"covariances {tuple(c1.shape)}, {tuple(c2.shape)}")
    root1 = _psd_sqrt(c1)
    middle = root1 @ c2 @ root1
    cross = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    distance = (m1 - m2).square().sum() + torch.trace(c1) + torch.trace(c2) - 2 * cross
    return max(float(distance), 0.0)  # round-off can leave -1e-12 for identical sets


def frechet_distance_from_features(a: torch.Tensor, b: torch.Tensor) -> float:
    """d² between Gaussians fitted to two feature sets (N₁, D) and (N₂, D)."""
    return frechet_distance(*gaussian_statistics(a), *gaussian_statistics(b))
