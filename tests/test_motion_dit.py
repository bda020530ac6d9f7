"""The motion DiT: shapes on square and non-square grids, conditioning and its null, guidance
with the content frame in both branches, learning, and save/load."""

import pytest
import torch

from cmdkit.config import PRESETS
from cmdkit.models import MotionDiT
from cmdkit.models.content import build_noise_scheduler
from cmdkit.models.motion_dit import MOTION_DIT_SIZES, motion_batches, motion_loss, sample_motion
from cmdkit.train import TrainConfig, train
from model_helpers import randomise

TINY = dict(hidden_size=32, depth=2, num_heads=2, patch_size=2, content_patch_size=4)


def inputs(b=2, length=8, h=16, w=16, content_channels=3, motion_patch=4):
    """A motion latent for an autoencoder grid of (h/patch)×(w/patch), with its content frame."""
    n = h // motion_patch + w // motion_patch
    return torch.randn(b, 8, length, n), torch.randn(b, content_channels, h, w)


@pytest.mark.parametrize("h, w", [(16, 16), (16, 32), (24, 8)])
def test_shapes_square_and_non_square(h, w):
    model = randomise(MotionDiT(**TINY))
    z, x = inputs(h=h, w=w)
    out = model(z, torch.tensor([10, 500]), x, encoder_hidden_states=torch.randn(2, 5, 384)).sample
    assert out.shape == z.shape and torch.isfinite(out).all()


def test_untrained_model_predicts_zero():
    """adaLN-Zero: every block starts as the identity and the output layer at zero."""
    model = MotionDiT(**TINY)
    z, x = inputs()
    assert model(z, 3, x, encoder_hidden_states=torch.randn(2, 5, 384)).sample.abs().max() == 0


def test_text_changes_prediction_and_dropping_uses_null():
    model = randomise(MotionDiT(**TINY))
    z, x = inputs()
    t = torch.tensor([400, 400])
    text_a, text_b = torch.randn(2, 5, 384), torch.randn(2, 5, 384)
    a = model(z, t, x, encoder_hidden_states=text_a).sample
    b = model(z, t, x, encoder_hidden_states=text_b).sample
    assert (a - b).abs().max() > 1e-3, "the text must change the prediction"
    null = model(z, t, x).sample  # no condition at all: the null embedding
    dropped = model(z, t, x, encoder_hidden_states=text_a, drop_condition=torch.tensor([True, False])).sample
    torch.testing.assert_close(dropped[0], null[0])
    torch.testing.assert_close(dropped[1], a[1])
    other_x = model(z, t, torch.randn_like(x), encoder_hidden_states=text_a).sample
    assert (a - other_x).abs().max() > 1e-3, "the content frame must change the prediction"


def test_class_conditional():
    model = randomise(MotionDiT(**TINY, text_dim=None, num_classes=12))
    z, x = inputs()
    a = model(z, 100, x, class_labels=torch.tensor([0, 1])).sample
    b = model(z, 100, x, class_labels=torch.tensor([5, 7])).sample
    assert (a - b).abs().max() > 1e-3
    dropped = model(z, 100, x, class_labels=torch.tensor([0, 1]), drop_condition=torch.tensor([True, True])).sample
    torch.testing.assert_close(dropped, model(z, 100, x).sample)
    with pytest.raises(ValueError, match="class_labels must be in"):
        model(z, 100, x, class_labels=torch.tensor([0, 12]))


def test_guidance_gives_the_content_frame_to_both_branches():
    model = randomise(MotionDiT(**TINY))
    calls = []
    original = model.forward

    def spy(sample, timestep, content_frame, **kwargs):
        calls.append((content_frame.clone(), kwargs["encoder_hidden_states"], kwargs["drop_condition"]))
        return original(sample, timestep, content_frame, **kwargs)

    model.forward = spy
    _, x = inputs(b=3)
    text = torch.randn(3, 5, 384)
    scheduler = build_noise_scheduler()
    sample_motion(model, scheduler, x, 8, 8, encoder_hidden_states=text, num_inference_steps=3, guidance_scale=4.0,
                  generator=torch.Generator().manual_seed(0))
    assert len(calls) == 3
    for content, given_text, drop in calls:
        assert content.shape[0] == 6
        torch.testing.assert_close(content[:3], x)
        torch.testing.assert_close(content[3:], x)  # the unconditional branch sees x̄ too
        assert drop.tolist() == [False] * 3 + [True] * 3  # only the text is dropped
        torch.testing.assert_close(given_text[:3], text)


def test_guidance_scale_one_is_conditional_sampling_and_guidance_matters():
    model = randomise(MotionDiT(**TINY))
    _, x = inputs()
    text = torch.randn(2, 5, 384)
    scheduler = build_noise_scheduler()

    def run(scale, seed=0):
        return sample_motion(model, scheduler, x, 8, 8, encoder_hidden_states=text, num_inference_steps=4,
                             guidance_scale=scale, generator=torch.Generator().manual_seed(seed))

    plain = run(1.0)
    torch.testing.assert_close(run(1.0), plain)  # seeded: deterministic
    assert plain.shape == (2, 8, 8, 8)
    assert (run(3.0) - plain).abs().max() > 1e-3
    assert (run(1.0, seed=1) - plain).abs().max() > 1e-3


def test_save_load_round_trip(tmp_path):
    model = randomise(MotionDiT(**TINY, latent_scale=1.7))
    model.save_pretrained(tmp_path)
    assert (tmp_path / "diffusion_pytorch_model.safetensors").exists()
    loaded = MotionDiT.from_pretrained(tmp_path).eval()
    assert loaded.config.latent_scale == 1.7
    z, x = inputs()
    text = torch.randn(2, 5, 384)
    torch.testing.assert_close(loaded(z, 7, x, encoder_hidden_states=text).sample,
                               model(z, 7, x, encoder_hidden_states=text).sample)


def test_loss_falls():
    """On motion latents that a content frame determines (the object's colour sets the motion),
    the denoising loss measured on fixed held-out noise falls well below where it started."""
    torch.manual_seed(0)
    count = 256
    colour = torch.randint(0, 2, (count,))
    content = torch.zeros(count, 3, 16, 16)
    content[:, 0] = colour[:, None, None].float() * 2 - 1
    ramp = torch.linspace(-1, 1, 8)
    motion = (colour.float() * 2 - 1)[:, None, None, None] * ramp.view(1, 1, 8, 1).expand(count, 8, 8, 8)
    encoded = {"motion_latent": motion, "content_frame": content, "label": colour,
               "caption": ["a"] * count}
    model = MotionDiT(**TINY, text_dim=None, num_classes=2)
    scheduler = build_noise_scheduler()

    def held_out_loss(m):
        torch.manual_seed(123)
        with torch.no_grad():
            return sum(motion_loss(m, scheduler, motion_batches(encoded, 64, seed=9)(i)).item() for i in range(4))

    before = held_out_loss(model)
    result = train(model, lambda m, b: motion_loss(m, scheduler, b), motion_batches(encoded, 32, seed=0),
                   TrainConfig(steps=150, learning_rate=3e-3, ema_decay=None, progress=False))
    after = held_out_loss(result.model)
    assert after < 0.5 * before, (before, after)


def test_bad_inputs_are_named():
    model = MotionDiT(**TINY)
    z, x = inputs()
    with pytest.raises(ValueError, match="sample must be a motion latent"):
        model(z[:, :4], 1, x)
    with pytest.raises(ValueError, match="multiples of patch_size"):
        model(z[:, :, :7], 1, x)
    with pytest.raises(ValueError, match="content_frame must be"):
        model(z, 1, x[:, :1])
    with pytest.raises(ValueError, match="content_patch_size"):
        model(z, 1, x[..., :14])
    with pytest.raises(ValueError, match=r"encoder_hidden_states must be \(B, T, 384\)"):
        model(z, 1, x, encoder_hidden_states=torch.randn(2, 5, 100))
    with pytest.raises(ValueError, match="exactly one"):
        MotionDiT(text_dim=None)
    with pytest.raises(ValueError, match="size must be one of"):
        MotionDiT.from_size("XXL")


def test_named_sizes_and_presets():
    """DiT's sizes (parameter counts as in Peebles & Xie's Table 1 up to the condition and content
    embeddings), built on the meta device so that XL allocates nothing."""
    with torch.device("meta"):
        counts = {name: sum(p.numel() for p in MotionDiT.from_size(name).parameters()) for name in MOTION_DIT_SIZES}
    assert counts["smoke"] < counts["S"] < counts["B"] < counts["L"] < counts["XL"]
    assert 600e6 < counts["XL"] < 700e6  # DiT-XL/2: 675 M
    assert 25e6 < counts["S"] < 40e6  # DiT-S/2: 33 M
    with torch.device("meta"):
        paper = MotionDiT.from_preset(PRESETS["paper"])
    assert paper.config.content_channels == 4 and paper.config.content_patch_size == 8
    assert paper.num_tokens(16, 32 + 64, 64, 128) == {"motion": 8 * 48, "content": 8 * 16, "total": 512}
