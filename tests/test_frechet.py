"""The Fréchet distance against its closed forms, and its behaviour on awkward inputs."""

import math

import pytest
import torch

from cmdkit.metrics.frechet import frechet_distance, frechet_distance_from_features, gaussian_statistics


def test_matches_the_closed_form_for_diagonal_gaussians():
    # For commuting (here diagonal) covariances: d² = ‖μ₁−μ₂‖² + Σ_i (√a_i − √b_i)².
    m1, m2 = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 1.0, 0.5])
    a, b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.25])
    expected = (m1 - m2).square().sum().item() + (a.sqrt() - b.sqrt()).square().sum().item()
    assert frechet_distance(m1, torch.diag(a), m2, torch.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_matches_the_closed_form_for_a_rotated_gaussian():
    # Σ₂ = R Σ₁ Rᵀ with the same mean: d² = 2 tr Σ₁ − 2 tr((Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}); for a
    # 2-D rotation by 90° of diag(a, b): d² = 2(a + b) − 4√(ab)... = 2(√a − √b)².
    a, b = 4.0, 1.0
    c1 = torch.diag(torch.tensor([a, b]))
    rotation = torch.tensor([[0.0, -1.0], [1.0, 0.0]])
    c2 = rotation @ c1 @ rotation.T
    zero = torch.zeros(2)
    assert frechet_distance(zero, c1, zero, c2) == pytest.approx(2 * (math.sqrt(a) - math.sqrt(b)) ** 2, rel=1e-12)


def test_identical_sets_give_zero_and_shifted_sets_the_shift():
    torch.manual_seed(0)
    x = torch.randn(500, 16)
    assert frechet_distance_from_features(x, x) == pytest.approx(0.0, abs=1e-9)
    shift = torch.zeros(16)
    shift[3] = 2.0
    assert frechet_distance_from_features(x, x + shift) == pytest.approx(4.0, rel=1e-6)


def test_rank_deficient_covariances_give_a_finite_real_number():
    # Fewer samples than dimensions: singular covariances, where sqrtm-based code goes complex or NaN.
    torch.manual_seed(0)
    a, b = torch.randn(10, 64), torch.randn(12, 64) + 0.5
    distance = frechet_distance_from_features(a, b)
    assert math.isfinite(distance) and distance > 0


def test_statistics_and_bad_inputs():
    x = torch.randn(100, 3, dtype=torch.float32)
    mean, cov = gaussian_statistics(x)
    assert mean.dtype == torch.float64 and cov.shape == (3, 3)
    torch.testing.assert_close(cov, torch.cov(x.double().T))
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_statistics(torch.randn(1, 3))
    with pytest.raises(ValueError, match="NaN"):
        gaussian_statistics(torch.tensor([[0.0, float("nan")], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(torch.zeros(2), torch.eye(2), torch.zeros(3), torch.eye(3))
