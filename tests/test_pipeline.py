"""CMDPipeline end to end on tiny random components: shapes and ranges, seeding, save/load,
class-conditional mode, export, and clear errors for what its models cannot take."""

import numpy as np
import pytest
import torch

from cmdkit import CMDPipeline
from cmdkit.pipeline import animate, draw_in_chunks
from cmdkit.models import CMDAutoencoder, MotionDiT
from cmdkit.diffusion import build_noise_scheduler
from cmdkit.models import build_content_unet
from cmdkit.text import load_text_encoder
from model_helpers import randomise

SIZE, FRAMES = 16, 4


@pytest.fixture(scope="module")
def text_model():
    return load_text_encoder()


def make_pipeline(text_model, class_conditional=False):
    torch.manual_seed(0)
    tokenizer, encoder = text_model
    autoencoder = randomise(CMDAutoencoder(width=32, depth=1, heads=2, patch_size=4), scale=0.05)
    unet = build_content_unet("smoke", cross_attention_dim=encoder.config.hidden_size, sample_size=SIZE)
    condition = dict(text_dim=None, num_classes=12) if class_conditional else dict(text_dim=encoder.config.hidden_size)
    motion = randomise(MotionDiT(hidden_size=32, depth=1, num_heads=2, patch_size=2, content_patch_size=8,
                                 **condition), scale=0.05, seed=1)
    return CMDPipeline(autoencoder=autoencoder, unet=unet.eval(), scheduler=build_noise_scheduler(clip_sample=True),
                       motion_transformer=motion, motion_scheduler=build_noise_scheduler(clip_sample=True),
                       text_encoder=encoder, tokenizer=tokenizer, vae=None)


def generate(pipe, prompts, seed=0, **kwargs):
    return pipe(prompts, num_frames=FRAMES, content_steps=2, motion_steps=2, progress=False,
                generator=torch.Generator().manual_seed(seed), **kwargs)


@pytest.fixture(scope="module")
def pipe(text_model):
    return make_pipeline(text_model)


def test_shapes_and_ranges_for_one_and_several_prompts(pipe):
    one = generate(pipe, "a red circle moves left quickly")
    assert one.videos.shape == (1, FRAMES, SIZE, SIZE, 3) and one.videos.dtype == np.float32
    assert 0 <= one.videos.min() and one.videos.max() <= 1
    assert one.content_frames.shape == (1, 3, SIZE, SIZE)
    assert one.motion_latents.shape == (1, 8, FRAMES, SIZE // 4 * 2)
    prompts = ["a red circle moves left quickly", "a blue square moves up slowly", "a green triangle moves down"]
    many = generate(pipe, prompts, output_type="pt")
    assert many.videos.shape == (3, 3, FRAMES, SIZE, SIZE)
    assert many.videos.min() >= -1 and many.videos.max() <= 1
    assert many.videos.std() > 0.01, "a video of one flat colour means a stage did nothing"
    pil = generate(pipe, prompts[:2], output_type="pil")
    assert len(pil.videos) == 2 and len(pil.videos[0]) == FRAMES and pil.videos[0][0].size == (SIZE, SIZE)


def test_same_seed_same_video(pipe):
    a = generate(pipe, ["a red circle moves left"], seed=3, output_type="pt").videos
    b = generate(pipe, ["a red circle moves left"], seed=3, output_type="pt").videos
    c = generate(pipe, ["a red circle moves left"], seed=4, output_type="pt").videos
    torch.testing.assert_close(a, b)
    assert (a - c).abs().max() > 1e-4


def test_save_pretrained_from_pretrained_same_video(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "cmd")
    for part in ("autoencoder", "unet", "scheduler", "motion_transformer", "motion_scheduler", "text_encoder",
                 "tokenizer", "model_index.json"):
        assert (tmp_path / "cmd" / part).exists(), part
    loaded = CMDPipeline.from_pretrained(tmp_path / "cmd", local_files_only=True)
    assert isinstance(loaded.autoencoder, CMDAutoencoder) and isinstance(loaded.motion_transformer, MotionDiT)
    loaded.unet.eval(), loaded.autoencoder.eval(), loaded.motion_transformer.eval()
    torch.testing.assert_close(generate(loaded, ["a red circle"], output_type="pt").videos,
                               generate(pipe, ["a red circle"], output_type="pt").videos)


def test_class_conditional_mode(text_model):
    pipe = make_pipeline(text_model, class_conditional=True)
    out = pipe(class_labels=[0, 5], num_frames=FRAMES, content_steps=2, motion_steps=2, progress=False,
               generator=torch.Generator().manual_seed(0), output_type="pt")
    assert out.videos.shape == (2, 3, FRAMES, SIZE, SIZE)
    with pytest.raises(ValueError, match="class-conditional: pass class_labels"):
        pipe("a red circle", num_frames=FRAMES, progress=False)


def test_export(pipe, tmp_path):
    out = generate(pipe, "a red circle moves left")
    for name in ("clip.mp4", "clip.gif"):
        path = CMDPipeline.export(out.videos[0], tmp_path / name)
        assert path.stat().st_size > 100


def test_sizes_and_arguments_the_models_cannot_take(pipe):
    with pytest.raises(ValueError, match="multiples of 8"):
        generate(pipe, "a red circle", height=20, width=16)
    with pytest.raises(ValueError, match="num_frames must be"):
        pipe("a red circle", num_frames=5, progress=False)
    with pytest.raises(ValueError, match="output_type"):
        generate(pipe, "a red circle", output_type="mp4")
    with pytest.raises(ValueError, match="pass a prompt"):
        pipe(None, progress=False)


def test_clip_length_comes_from_the_motion_models_config(text_model):
    pipe = make_pipeline(text_model)
    with pytest.raises(ValueError, match="does not say how many frames .* pass num_frames"):
        pipe("a red circle", content_steps=1, motion_steps=1, progress=False)
    pipe.motion_transformer.register_to_config(num_frames=6)
    videos, frames, motion = pipe("a red circle", content_steps=1, motion_steps=1, progress=False, output_type="pt",
                                  return_dict=False)
    assert videos.shape == (1, 3, 6, SIZE, SIZE) and motion.shape[2] == 6 and frames.shape == (1, 3, SIZE, SIZE)


def test_animate_decodes_sampled_motion_with_the_content_frames_it_is_given(pipe):
    frames = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0)) * 2 - 1
    text = pipe.encode_prompt(["a red circle moves left", "a blue square moves up"])
    video, motion = animate(pipe.autoencoder, pipe.motion_transformer, pipe.motion_scheduler, frames, FRAMES,
                            encoder_hidden_states=text, num_inference_steps=2, guidance_scale=2.0,
                            generator=torch.Generator().manual_seed(1))
    assert video.shape == (2, 3, FRAMES, SIZE, SIZE) and motion.shape == (2, 8, FRAMES, SIZE // 4 * 2)
    with torch.no_grad():
        torch.testing.assert_close(video, pipe.autoencoder.decode(frames, motion))


def test_mismatched_components_are_named(text_model):
    pipe = make_pipeline(text_model)
    pipe.register_modules(autoencoder=CMDAutoencoder(in_channels=4, width=32, depth=1, heads=2, patch_size=4))
    with pytest.raises(ValueError, match="disagree on the content frame's channels"):
        generate(pipe, "a red circle")


def test_chunks_are_drawn_from_consecutive_seeds_and_cover_every_caption():
    """Chunk k draws with seed + k, so a chunk comes out as it would on its own; a last, shorter
    chunk still covers the remaining captions."""
    calls = []

    def draw(part, generator):
        calls.append((part.start, part.stop))
        return torch.randn(len(range(10)[part]), 3, generator=generator)

    samples = draw_in_chunks(10, 4, 7, draw)
    assert samples.shape == (10, 3)
    assert calls == [(0, 4), (4, 8), (8, 12)]
    assert torch.equal(samples[4:8], torch.randn(4, 3, generator=torch.Generator().manual_seed(8)))
    assert torch.equal(samples[8:], torch.randn(2, 3, generator=torch.Generator().manual_seed(9)))
    with pytest.raises(ValueError, match="size must be >= 1"):
        draw_in_chunks(10, 0, 7, draw)
