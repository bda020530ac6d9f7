"""The frame space decides channels, scale, clipping and the noise schedule, and every model
builder follows it: the models of one preset and space never disagree."""

import pytest
import torch

from cmdkit.config import PRESETS, in_latent_space
from cmdkit.experiment import start
from cmdkit.models import CMDAutoencoder, MotionDiT, build_baseline_unet, build_content_unet
from cmdkit.space import FrameSpace, space_scale


def test_pixel_space_is_the_identity_and_clips():
    space = FrameSpace()
    assert (space.name, space.channels, space.scale, space.clip_sample) == ("pixel", 3, 1, True)
    scheduler = space.noise_scheduler()
    assert (scheduler.config.prediction_type, scheduler.config.clip_sample) == ("v_prediction", True)
    clips = torch.rand(2, 3, 4, 8, 8) * 4 - 2
    assert torch.equal(space.encode(clips), clips)
    assert space.decode(clips).min() >= -1 and space.decode(clips).max() <= 1


def test_a_described_latent_space_builds_models_but_asks_for_the_vae_to_encode():
    space = FrameSpace(latent_channels=4)
    assert (space.name, space.channels, space.scale, space.clip_sample) == ("latent", 4, 8, False)
    assert space.noise_scheduler().config.clip_sample is False
    assert space.model_size(512, 1024) == (64, 128)
    with pytest.raises(ValueError, match="not a multiple of 8"):
        space.model_size(500, 1024)
    with pytest.raises(ValueError, match=r"cannot encode frames: create it with FrameSpace.create\('latent'"):
        space.encode(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="a VAE or a latent channel count, not both"):
        FrameSpace(torch.nn.Identity(), latent_channels=4)
    with pytest.raises(ValueError, match="space must be one of 'pixel', 'latent'"):
        space_scale("rgb")


@pytest.mark.parametrize("preset", ["smoke", "classroom", "paper"])
def test_every_builder_takes_channels_and_size_from_the_space(preset):
    chosen = PRESETS[preset]
    space = FrameSpace.for_preset(chosen)
    assert space.latent == (preset == "paper")
    with torch.device("meta"):
        autoencoder = CMDAutoencoder.from_preset(chosen, space)
        motion = MotionDiT.from_preset(chosen, space, text_dim=384)
        content = build_content_unet(chosen, space)
        baseline = build_baseline_unet(chosen, space)
    channels = {autoencoder.config.in_channels, motion.config.content_channels, content.config.in_channels,
                content.config.out_channels, baseline.config.in_channels}
    assert channels == {space.channels}
    assert content.config.sample_size == chosen.data.model_shape[1] == chosen.data.height // space.scale
    assert motion.config.num_frames == chosen.data.num_frames
    assert content.config.block_out_channels == tuple(chosen.content_unet["block_out_channels"])


def test_a_space_other_than_the_presets_changes_every_builder():
    """Latent mode on the smoke preset with TAEF2's 32 channels: 32×32 frames become 4×4 latents."""
    chosen, space = in_latent_space(PRESETS["smoke"]), FrameSpace(latent_channels=32)
    with torch.device("meta"):
        assert CMDAutoencoder.from_preset(chosen, space).config.in_channels == 32
        assert MotionDiT.from_preset(chosen, space, text_dim=384).config.content_channels == 32
        unet = build_content_unet(chosen, space)
    assert (unet.config.in_channels, unet.config.sample_size) == (32, 4)
    assert not hasattr(chosen.data, "channels"), "channels are the frame space's to decide"


def test_budgets_come_from_parameters_or_the_preset(tmp_path):
    exp = start("01_autoencoder", preset="smoke", run_dir=str(tmp_path), train_steps=None, learning_rate=None)
    assert exp.budget("autoencoder") == (PRESETS["smoke"].steps["autoencoder"],
                                         PRESETS["smoke"].learning_rates["autoencoder"])
    exp = start("01_autoencoder", preset="smoke", run_dir=str(tmp_path), train_steps=7, learning_rate=0.01)
    steps, lr = exp.budget("autoencoder")
    assert (steps, lr) == (7, 0.01)
    exp = start("06_evaluation", preset="smoke", run_dir=str(tmp_path), baseline_steps=None)
    assert exp.budget("baseline", steps_param="baseline_steps").steps == PRESETS["smoke"].steps["baseline"]
    with pytest.raises(ValueError, match="no budget for 'decoder'"):
        exp.budget("decoder")


def test_the_image_prior_is_the_one_notebook_03_started_from(tmp_path):
    """Notebook 06 inflates its direct baseline from the image model CMD's content model began
    with: the folder notebook 03 was given, else notebook 02's prior."""
    (tmp_path / "02_image_prior" / "image_prior").mkdir(parents=True)
    start("03_content_frames", preset="smoke", run_dir=str(tmp_path), pretrained_model_path=None)
    exp = start("06_evaluation", preset="smoke", run_dir=str(tmp_path))
    assert exp.image_prior() == tmp_path / "02_image_prior" / "image_prior"
    given = tmp_path / "my-sd"
    start("03_content_frames", preset="smoke", run_dir=str(tmp_path), pretrained_model_path=str(given))
    assert exp.image_prior() == given
