"""TAEF2, the real pretrained tiny image autoencoder, and CMD on its latent space."""

import pytest
import torch
import torch.nn.functional as F

from cmdkit.data import ToyVideoDataset
from cmdkit.metrics import psnr
from cmdkit.models import CMDAutoencoder
from cmdkit.space import FrameSpace
from cmdkit.models.vae import (TinyAutoencoder, WeightsNotFoundError, decode_frames,
                               default_taef2_folder, encode_frames, load_image_vae)

needs_taef2 = pytest.mark.skipif(not (default_taef2_folder() / "taef2_encoder.pth").exists(),
                                 reason=f"TAEF2 weights not at {default_taef2_folder()} (set CMDKIT_TAEF2)")


@pytest.fixture(scope="module")
def vae():
    return TinyAutoencoder.from_taef2()


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
        TinyAutoencoder.from_taef2(tmp_path)


def test_a_foreign_checkpoint_is_refused(tmp_path):
    torch.save({"weight": torch.zeros(2)}, tmp_path / "taef2_encoder.pth")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "taef2_decoder.pth")
    with pytest.raises(ValueError, match="is not a TAEF2 checkpoint"):
        TinyAutoencoder.from_taef2(tmp_path)


def test_image_sizes_must_be_multiples_of_8():
    with pytest.raises(ValueError, match="multiple of 8"):
        TinyAutoencoder().encode(torch.zeros(1, 3, 30, 32))


def test_saved_tiny_autoencoder_round_trips(tmp_path):
    torch.manual_seed(0)
    vae = TinyAutoencoder()
    vae.save_pretrained(tmp_path / "vae")
    again = load_image_vae(tmp_path / "vae")
    images = torch.rand(2, 3, 16, 24) * 2 - 1
    with torch.no_grad():
        assert torch.equal(again.encode(images), vae.encode(images))
    with pytest.raises(ValueError, match="not an image VAE"):
        CMDAutoencoder(in_channels=3, width=32, depth=1, heads=2, patch_size=2).save_pretrained(tmp_path / "ae")
        load_image_vae(tmp_path / "ae")


def test_sd_vae_goes_through_the_same_frame_helpers():
    """AutoencoderKL latents are scaled by scaling_factor on the way in and unscaled on the way out."""
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=(8, 16), down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=8).eval()
    clips = torch.rand(2, 3, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        latents = encode_frames(vae, clips)
        frame = clips[:, :, 1]
        expected = vae.encode(frame).latent_dist.mode() * vae.config.scaling_factor
        assert latents.shape == (2, 4, 3, 8, 8)
        assert torch.allclose(latents[:, :, 1], expected, atol=1e-5)
        pixels = decode_frames(vae, latents)
        assert pixels.shape == clips.shape and pixels.abs().max() <= 1
        assert torch.allclose(pixels[:, :, 1], vae.decode(expected / vae.config.scaling_factor).sample.clamp(-1, 1),
                              atol=1e-5)
    with pytest.raises(TypeError, match="not an image VAE the kit knows"):
        encode_frames(torch.nn.Identity(), clips)


@needs_taef2
def test_latent_mode_prior_fine_tunes_on_taef2_content_frames(vae, tmp_path):
    """Latent mode end to end on a real latent space: clips → TAEF2 latents → content frames of a
    CMD autoencoder on those latents → a prior on 32-channel latents, saved in the SD layout with
    TAEF2 as its vae, loaded back, fine-tuned (its held-out loss falls), sampled and decoded to pixels."""
    from cmdkit.data import captioned_batches
    from cmdkit.config import PRESETS, in_latent_space
    from cmdkit.diffusion import text_unet_loss
    from cmdkit.models import build_content_unet
    from cmdkit.pipeline import ContentFramePipeline, load_content_pipeline
    from cmdkit.text import PromptCache, load_text_encoder
    from cmdkit.train import TrainConfig, train

    world = ToyVideoDataset(48, 4, 32, 32, num_objects=1, seed=5)
    clips = torch.stack([world[i]["video"] for i in range(len(world))])
    captions = [world[i]["caption"] for i in range(len(world))]
    torch.manual_seed(0)
    autoencoder = CMDAutoencoder(in_channels=32, width=32, depth=1, heads=2, patch_size=2).eval()
    with torch.no_grad():
        frames = autoencoder.encode(encode_frames(vae, clips)).content_frame  # (48, 32, 4, 4)
    assert frames.shape == (48, 32, 4, 4)

    tokenizer, encoder = load_text_encoder()
    texts = PromptCache(tokenizer, encoder)
    space = FrameSpace(vae)
    assert space.clip_sample is False
    scheduler = space.noise_scheduler()
    assert (scheduler.config.prediction_type, scheduler.config.clip_sample) == ("v_prediction", False)
    unet = build_content_unet(in_latent_space(PRESETS["smoke"]), space, cross_attention_dim=texts.dim)
    assert (unet.config.in_channels, unet.config.sample_size) == (32, 4)  # TAEF2's channels, 32×32 / 8
    ContentFramePipeline(unet=unet, scheduler=scheduler, text_encoder=encoder, tokenizer=tokenizer,
                         vae=vae).save_pretrained(tmp_path / "prior")
    pipe = load_content_pipeline(tmp_path / "prior")
    assert isinstance(pipe.vae, TinyAutoencoder)

    train_frames, held_out = frames[:40], frames[40:]
    probe_text, null_text = texts(captions[40:]), texts([""])

    def held_out_loss(model):  # averaged over four fixed draws of noise and timesteps
        torch.manual_seed(7)
        with torch.no_grad():
            return sum(text_unet_loss(model, pipe.scheduler, held_out, probe_text, null_text, 0.0).item()
                       for _ in range(4)) / 4

    before = held_out_loss(pipe.unet)
    result = train(pipe.unet.train().requires_grad_(True),
                   lambda m, b: text_unet_loss(m, pipe.scheduler, b["image"], b["text"], null_text),
                   captioned_batches(train_frames, captions[:40], texts, 8, seed=0),
                   TrainConfig(steps=80, learning_rate=2e-3, ema_decay=None, progress=False))
    assert held_out_loss(result.model) < 0.8 * before  # measured (v-prediction): 0.80 → 0.59

    pipe.unet = result.model.eval()
    pixels = pipe(captions[:2], num_inference_steps=3, guidance_scale=2.0, generator=torch.Generator().manual_seed(0),
                  progress=False).images
    assert pixels.shape == (2, 3, 32, 32) and pixels.abs().max() <= 1
    latents = pipe(captions[:2], num_inference_steps=3, guidance_scale=2.0, generator=torch.Generator().manual_seed(0),
                   decode=False, progress=False).images
    assert latents.shape == (2, 32, 4, 4)
    # Unclipped samples stay near the latents' scale: measured std 1.00 against the data's 0.71
    # (the same run with ε-prediction draws std 5.2).
    drawn = pipe(captions[:8], num_inference_steps=10, guidance_scale=2.0, generator=torch.Generator().manual_seed(0),
                 decode=False, progress=False).images
    assert drawn.std() < 2 * frames.std()
    assert torch.allclose(decode_frames(vae, latents), pixels, atol=1e-5)
