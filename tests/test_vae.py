"""TAEF2, the real pretrained tiny image autoencoder, and CMD on its latent space."""

import pytest
import torch
import torch.nn.functional as F

from cmdkit.data import ToyVideoDataset
from cmdkit.metrics import psnr
from cmdkit.models import CMDAutoencoder
from cmdkit.models.vae import TinyAutoencoder, WeightsNotFoundError, default_taef2_folder

needs_taef2 = pytest.mark.skipif(not (default_taef2_folder() / "taef2_encoder.pth").exists(),
                                 reason=f"TAEF2 weights not at {default_taef2_folder()} (set CMDKIT_TAEF2)")


@pytest.fixture(scope="module")
def vae():
    return TinyAutoencoder.from_pretrained()


@pytest.fixture(scope="module")
def clips():
    world = ToyVideoDataset(4, 4, 32, 64, num_objects=(1, 2), seed=0)
    return torch.stack([world[i]["video"] for i in range(4)])  # (4, 3, 4, 32, 64): non-square


@needs_taef2
def test_pretrained_round_trip_is_faithful(vae, clips):
    with torch.no_grad():
        latents = vae.encode_video(clips)
        back = vae.decode_video(latents)
    assert latents.shape == (4, 32, 4, 4, 8)
    assert back.shape == clips.shape
    assert psnr(back, clips).min() > 28  # a wrong architecture or key mapping gives noise (< 12 dB)


@needs_taef2
def test_cmd_autoencoder_on_real_latents(vae, clips):
    with torch.no_grad():
        latents = vae.encode_video(clips)
    model = CMDAutoencoder(in_channels=32, width=32, depth=1, heads=2, patch_size=2)
    enc = model.encode(latents)
    assert enc.content_frame.shape == (4, 32, 4, 8) and enc.motion_latent.shape == (4, 8, 4, 2 + 4)
    low, high = latents.amin(dim=2), latents.amax(dim=2)
    assert ((enc.content_frame >= low - 1e-5) & (enc.content_frame <= high + 1e-5)).all()
    # A few steps on these latents lower the reconstruction error.
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(30):
        loss = F.mse_loss(model(latents).sample, latents)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    # The content frame decodes to an image through the same VAE.
    with torch.no_grad():
        image = vae.decode(model.encode(latents).content_frame)
    assert image.shape == (4, 3, 32, 64)


def test_missing_weights_say_what_to_provide(tmp_path):
    with pytest.raises(WeightsNotFoundError, match=r"lacks taef2_encoder.pth, taef2_decoder.pth.*madebyollin/taesd.*CMDKIT_TAEF2"):
        TinyAutoencoder.from_pretrained(tmp_path)


def test_a_foreign_checkpoint_is_refused(tmp_path):
    torch.save({"weight": torch.zeros(2)}, tmp_path / "taef2_encoder.pth")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "taef2_decoder.pth")
    with pytest.raises(ValueError, match="is not a TAEF2 checkpoint"):
        TinyAutoencoder.from_pretrained(tmp_path)


def test_image_sizes_must_be_multiples_of_8():
    with pytest.raises(ValueError, match="multiple of 8"):
        TinyAutoencoder().encode(torch.zeros(1, 3, 30, 32))
