"""The content-frame model: SD-layout loading offline, the kit's own prior, seeded CFG sampling."""

import json
import shutil

import pytest
import torch

from cmdkit.data import captioned_batches
from cmdkit.diffusion import build_noise_scheduler, text_unet_loss
from cmdkit.models import build_content_unet
from cmdkit.pipeline import ContentFramePipeline, load_content_pipeline
from cmdkit.text import PromptCache, load_text_encoder


@pytest.fixture(scope="module")
def minilm():
    return load_text_encoder()


def _tiny_sd_folder(folder, minilm):
    """A randomly initialised checkpoint in Stable Diffusion's exact folder layout: CLIP text
    encoder, scaled-linear scheduler, a VAE, model_index.json naming StableDiffusionPipeline."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer, _ = minilm  # any fast tokenizer whose vocabulary fits the text model
    text = CLIPTextModel(CLIPTextConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=37,
                                        num_hidden_layers=1, num_attention_heads=4, max_position_embeddings=77))
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(16, 32),
                                layers_per_block=1, cross_attention_dim=32, attention_head_dim=4, norm_num_groups=8,
                                down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
    vae = AutoencoderKL(block_out_channels=(8, 16), down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=8)
    scheduler = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
    for name, part in (("unet", unet), ("vae", vae), ("text_encoder", text), ("tokenizer", tokenizer),
                       ("scheduler", scheduler)):
        part.save_pretrained(folder / name)
    (folder / "model_index.json").write_text(json.dumps({
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.42.1",
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
        "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "BertTokenizerFast"],
        "scheduler": ["diffusers", "DDPMScheduler"]}))
    return folder


def _sample(pipe, seed, **kw):
    return pipe(["a red circle", "a blue square"], num_inference_steps=3, guidance_scale=2.0,
                generator=torch.Generator().manual_seed(seed), progress=False, **kw).images


def test_stable_diffusion_layout_loads_offline_and_round_trips(tmp_path, minilm, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pipe = load_content_pipeline(_tiny_sd_folder(tmp_path / "sd", minilm))
    assert type(pipe.text_encoder).__name__ == "CLIPTextModel" and pipe.vae is not None
    images = _sample(pipe, 0)
    assert images.shape == (2, 3, 16, 16) and images.min() >= -1 and images.max() <= 1  # decoded by the VAE
    latents = _sample(pipe, 0, decode=False)
    assert latents.shape == (2, 4, 8, 8)
    pipe.save_pretrained(tmp_path / "again")
    again = load_content_pipeline(tmp_path / "again")
    assert torch.equal(_sample(again, 0), images)


def test_the_kits_prior_saves_in_the_same_layout(tmp_path, minilm):
    tokenizer, encoder = minilm
    unet = build_content_unet("smoke", cross_attention_dim=encoder.config.hidden_size, sample_size=16)
    pipe = ContentFramePipeline(unet=unet, scheduler=build_noise_scheduler(), text_encoder=encoder, tokenizer=tokenizer,
                                vae=None)
    pipe.save_pretrained(tmp_path / "prior")
    for part in ("model_index.json", "unet/config.json", "scheduler/scheduler_config.json",
                 "text_encoder/config.json", "tokenizer/tokenizer_config.json"):
        assert (tmp_path / "prior" / part).is_file(), part
    loaded = load_content_pipeline(tmp_path / "prior")
    assert loaded.vae is None
    first = _sample(loaded, 3)
    assert first.shape == (2, 3, 16, 16)
    assert torch.equal(first, _sample(loaded, 3))  # same seed, same frames
    assert not torch.equal(first, _sample(loaded, 4))
    assert torch.equal(first, _sample(pipe, 3))


def test_missing_or_malformed_folders_say_what_is_wrong(tmp_path, minilm):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_content_pipeline(tmp_path / "nowhere")
    folder = _tiny_sd_folder(tmp_path / "sd", minilm)
    shutil.rmtree(folder / "unet")
    with pytest.raises(FileNotFoundError, match=r"missing unet/config.json. Expected model_index.json, unet/"):
        load_content_pipeline(folder)
    folder = _tiny_sd_folder(tmp_path / "sd2", minilm)
    (folder / "scheduler" / "scheduler_config.json").write_text("{ not json")
    with pytest.raises(ValueError, match=r"scheduler_config.json is not valid JSON"):
        load_content_pipeline(folder)


def test_prior_learns_still_scenes(minilm):
    """A few dozen steps of denoising training on toy stills lower the v-prediction loss."""
    from cmdkit.data import ToyImageDataset
    from cmdkit.train import TrainConfig, train

    tokenizer, encoder = minilm
    texts = PromptCache(tokenizer, encoder)
    stills = ToyImageDataset(256, 16, 16, seed=0)
    images = torch.stack([stills[i]["image"] for i in range(len(stills))])
    scheduler = build_noise_scheduler()
    unet = build_content_unet("smoke", cross_attention_dim=texts.dim, sample_size=16)
    batches = captioned_batches(images, [stills[i]["caption"] for i in range(len(stills))], texts, 8)
    null_text = texts([""])
    result = train(unet, lambda model, b: text_unet_loss(model, scheduler, b["image"], b["text"], null_text), batches,
                   TrainConfig(steps=60, learning_rate=1e-3, log_every=5, ema_decay=None, progress=False))
    assert sum(result.losses[-4:]) / 4 < 0.6 * result.losses[0]


def test_captioned_batches_pair_images_with_their_captions(minilm):
    texts = PromptCache(*minilm)
    images = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 3, 8, 8)
    captions = ["a red circle", "a blue square", "a green circle", "a yellow triangle"]
    batch = captioned_batches(images, captions, texts, 16, seed=2)(5)
    for image, text in zip(batch["image"], batch["text"]):
        assert torch.equal(text, texts([captions[int(image[0, 0, 0])]])[0])
    assert torch.equal(batch["image"], captioned_batches(images, captions, texts, 16, seed=2)(5)["image"])
    with pytest.raises(ValueError, match="4 images but 3 captions"):
        captioned_batches(images, captions[:3], texts, 2)


def test_guidance_and_sizes_are_checked(minilm):
    tokenizer, encoder = minilm
    unet = build_content_unet("smoke", cross_attention_dim=encoder.config.hidden_size, sample_size=16)
    pipe = ContentFramePipeline(unet=unet, scheduler=build_noise_scheduler(), text_encoder=encoder, tokenizer=tokenizer,
                                vae=None)
    with pytest.raises(ValueError, match="multiples of 2"):
        pipe("a red circle", num_inference_steps=2, height=15, progress=False)
    with pytest.raises(ValueError, match="num_inference_steps must be >= 1"):
        pipe("a red circle", num_inference_steps=0, progress=False)
    with pytest.raises(ValueError, match="preset must be one of"):
        build_content_unet("huge")


def test_sentence_embeddings_know_a_synonym(minilm):
    from cmdkit.text import sentence_embeddings

    e = sentence_embeddings(*minilm, ["a crimson ball", "a red circle", "a blue square", "a yellow triangle"])
    similarity = e[0] @ e[1:].T
    assert similarity.argmax() == 0  # crimson ball is nearest the red circle
    assert torch.allclose(e.norm(dim=1), torch.ones(4))
