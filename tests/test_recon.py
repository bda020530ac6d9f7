"""Reconstruction metrics: PSNR and SSIM behave as their definitions say."""

import pytest
import torch

from cmdkit.metrics import error_where_moved, psnr, psnr_per_frame, ssim


def _clips(seed=0, shape=(3, 3, 4, 32, 32)):
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.avg_pool3d(torch.rand(shape, generator=g) * 2 - 1, 3, 1, 1)
    return smooth.clamp(-1, 1)


def test_ssim_is_one_for_identical_inputs_and_falls_with_noise():
    clips = _clips()
    assert torch.allclose(ssim(clips, clips), torch.ones(3), atol=1e-5)
    g = torch.Generator().manual_seed(1)
    scores = [ssim((clips + s * torch.randn(clips.shape, generator=g)).clamp(-1, 1), clips).mean().item()
              for s in (0.05, 0.2, 0.5)]
    assert scores[0] > scores[1] > scores[2] and -1 <= scores[2] and scores[0] < 1


def test_ssim_is_symmetric_and_per_item():
    a, b = _clips(0), _clips(2)
    assert torch.allclose(ssim(a, b), ssim(b, a), atol=1e-6)
    mixed = torch.cat([a[:1], b[1:]])
    per_item = ssim(mixed, a)
    assert per_item[0] == pytest.approx(1.0, abs=1e-5) and (per_item[1:] < 0.9).all()


def test_ssim_of_a_clip_is_the_mean_over_its_frames():
    a, b = _clips(0), _clips(3)
    frames = torch.stack([ssim(a[:, :, t], b[:, :, t]) for t in range(a.shape[2])], dim=1)
    assert torch.allclose(ssim(a, b), frames.mean(dim=1), atol=1e-6)


def test_ssim_sees_structure_that_psnr_does_not():
    """A brightness shift and a blur with about the same PSNR: SSIM ranks the blur, which
    destroys structure, below the shift, which keeps it."""
    clips = _clips(4, shape=(2, 3, 3, 32, 32))[:, :, 1]
    g = torch.Generator().manual_seed(5)
    sharp = (clips + 0.5 * torch.randn(clips.shape, generator=g)).clamp(-1, 1)  # texture to lose
    blurred = torch.nn.functional.avg_pool2d(sharp, 5, 1, 2)
    shift = (psnr(blurred, sharp).mean() / -20 * torch.log(torch.tensor(10.0))).exp() * 2  # RMS error of the blur
    shifted = (sharp + shift).clamp(-1, 1)
    assert abs(psnr(shifted, sharp).mean() - psnr(blurred, sharp).mean()) < 1.5
    assert ssim(shifted, sharp).mean() > ssim(blurred, sharp).mean() + 0.2


def test_ssim_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(ValueError, match="expected"):
        ssim(torch.zeros(3, 8, 8), torch.zeros(3, 8, 8))


def test_psnr_per_frame_finds_the_frame_that_is_wrong():
    clips = _clips()
    noisy = clips.clone()
    noisy[:, :, 2] += 0.1  # every value of frame 2 off by 0.1: MSE 0.01, PSNR 10·log10(4 / 0.01) = 26.02 dB
    per_frame = psnr_per_frame(noisy, clips)
    assert per_frame.shape == (4,)
    assert per_frame[2].item() == pytest.approx(26.02, abs=0.05)
    assert (per_frame[[0, 1, 3]] > 100).all()  # exact frames: the 1e-12 floor, not infinity
    with pytest.raises(ValueError, match="one shape"):
        psnr_per_frame(noisy[:, :, :3], clips)


def test_error_where_moved_splits_the_error_between_moving_and_still_pixels():
    clips = torch.zeros(2, 3, 5, 8, 8)
    clips[:, :, 4, 0, 0] = 1.0  # one pixel of the last frame changes: the only moved pixel
    reconstruction = clips.clone()
    reconstruction[:, :, 4, 0, 0] = 0.5  # error 0.25 there …
    reconstruction[:, 0, 1, 5, 5] = 0.1  # … and 0.01 on one channel of a still pixel
    split = error_where_moved(reconstruction, clips, reference_frame=2)
    pixels = 2 * 5 * 8 * 8
    assert split["moved_fraction"] == pytest.approx(2 / pixels)
    assert split["error_share"] == pytest.approx(2 * 3 * 0.25 / (2 * 3 * 0.25 + 2 * 0.01))
    assert split["mse_moved"] == pytest.approx(0.25)
    assert split["mse_still"] == pytest.approx(2 * 0.01 / (2 * 3 * (pixels // 2 - 1)))
    # the reference frame decides what moved: against the last frame, frames 0–3 moved at (0, 0)
    assert error_where_moved(reconstruction, clips, reference_frame=-1)["moved_fraction"] == pytest.approx(8 / pixels)
    with pytest.raises(ValueError, match="outside the clip"):
        error_where_moved(reconstruction, clips, reference_frame=5)
