"""The content-frame model: a text-to-image diffusion UNet that learns to draw x̄.

CMD's key observation: the content frame x̄ looks like an image, so a *pretrained* image
diffusion model, fine-tuned on content frames, generates it — the paper fine-tunes all of
Stable Diffusion's weights, adds no parameters, and keeps text in SD's own cross-attention.

This module gives one code path for both worlds:

* **Stable Diffusion from disk.** :func:`load_content_pipeline` reads a local folder in the
  diffusers layout (``model_index.json``, ``unet/``, ``scheduler/``, ``text_encoder/``,
  ``tokenizer/``, optional ``vae/``) — SD 1.5 or SD 2.1-base saved by
  ``StableDiffusionPipeline.save_pretrained``, or a snapshot of the hub repository — never
  touching the network.
* **The kit's own prior.** :func:`build_content_unet` makes a text-conditional
  ``UNet2DConditionModel`` sized by preset; :class:`ContentFramePipeline` saves it in the
  same layout, so everything downstream treats it exactly like SD.

Sampling (:meth:`ContentFramePipeline.__call__`) runs the pipeline's ``scheduler`` component
(DDIM on the training schedule unless replaced, as in any diffusers pipeline) through
:func:`cmdkit.diffusion.guided_sample`, with classifier-free guidance batched in one forward pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler, DiffusionPipeline, UNet2DConditionModel
from diffusers.utils import BaseOutput

from ..text import encode_prompts, load_text_encoder
from ..diffusion import guided_sample, unet_denoiser
from .vae import TinyAutoencoder, decode_frames, load_image_vae

__all__ = ["CONTENT_UNET_SIZES", "build_content_unet", "ContentFramePipeline", "ContentFrameOutput",
           "load_content_pipeline", "REQUIRED_PARTS"]

# UNet sizes per preset. `paper` is Stable Diffusion 2.1-base's UNet (865 M parameters).
CONTENT_UNET_SIZES: dict[str, dict] = {
    "smoke": dict(block_out_channels=(32, 64), layers_per_block=1, attention_head_dim=8, norm_num_groups=8,
                  down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                  up_block_types=("CrossAttnUpBlock2D", "UpBlock2D")),
    "classroom": dict(block_out_channels=(64, 128, 256), layers_per_block=2, attention_head_dim=8,
                      norm_num_groups=32,
                      down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                      up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D")),
    "paper": dict(block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, attention_head_dim=(5, 10, 20, 20),
                  norm_num_groups=32, use_linear_projection=True,
                  down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                    "DownBlock2D"),
                  up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D")),
}

# What a content-model folder must hold, and the file that shows each part is there.
REQUIRED_PARTS = {"unet": "config.json", "scheduler": "scheduler_config.json", "text_encoder": "config.json",
                  "tokenizer": "tokenizer_config.json"}


def build_content_unet(preset: str, in_channels: int, sample_size: int, cross_attention_dim: int) -> UNet2DConditionModel:
    """A text-conditional UNet of the preset's size, for images of ``in_channels`` at ``sample_size``."""
    if preset not in CONTENT_UNET_SIZES:
        raise ValueError(f"preset must be one of {', '.join(map(repr, CONTENT_UNET_SIZES))}; got {preset!r}")
    return UNet2DConditionModel(sample_size=sample_size, in_channels=in_channels, out_channels=in_channels,
                                cross_attention_dim=cross_attention_dim, **CONTENT_UNET_SIZES[preset])


@dataclass
class ContentFrameOutput(BaseOutput):
    """``images``: content frames (B, C, H, W) in [-1, 1] — pixels, or VAE latents when the
    pipeline has no VAE to decode them (or ``decode=False``)."""

    images: torch.Tensor


class ContentFramePipeline(DiffusionPipeline):
    """Prompt → content frame. Components: ``unet``, ``scheduler`` (the training schedule),
    ``text_encoder``, ``tokenizer`` and an optional ``vae`` (latent mode)."""

    model_cpu_offload_seq = "text_encoder->unet->vae"
    # diffusers saves only components that are constructor arguments without a default;
    # an optional one is declared here and passed explicitly (vae=None in pixel mode).
    _optional_components = ["vae"]

    def __init__(self, unet: UNet2DConditionModel, scheduler, text_encoder, tokenizer,
                 vae: AutoencoderKL | TinyAutoencoder | None):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer, vae=vae)

    def encode_prompt(self, prompts: list[str]) -> torch.Tensor:
        """(B, T, D) token features, on the UNet's device and dtype."""
        features = encode_prompts(self.tokenizer, self.text_encoder, prompts)
        return features.to(self.unet.device, self.unet.dtype)

    @torch.no_grad()
    def __call__(self, prompt: str | list[str], num_inference_steps: int = 25, guidance_scale: float = 3.0,
                 generator: torch.Generator | None = None, height: int | None = None, width: int | None = None,
                 decode: bool = True, progress: bool = True,
                 prompt_embeds: torch.Tensor | None = None) -> ContentFrameOutput:
        """Sample content frames with the pipeline's scheduler and classifier-free guidance on the text.

        ``guidance_scale`` = 1 disables guidance; the unconditional branch uses the empty prompt,
        which is what caption dropout trains. ``generator`` seeds the initial noise.
        ``prompt_embeds`` (B, T, D): the prompts' features when the caller has them already.
        """
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        size = self.unet.config.sample_size
        height, width = height or size, width or size
        factor = 2 ** (len(self.unet.config.block_out_channels) - 1)
        if height % factor or width % factor:
            raise ValueError(f"height and width must be multiples of {factor} for this UNet; got {height}×{width}")
        shape = (len(prompts), self.unet.config.in_channels, height, width)
        noise = torch.randn(shape, generator=generator, device="cpu").to(self.unet.device, self.unet.dtype)
        text = self.encode_prompt(prompts) if prompt_embeds is None else prompt_embeds.to(self.unet.device, self.unet.dtype)
        denoiser = unet_denoiser(self.unet, text, self.encode_prompt([""]))
        x = guided_sample(denoiser, self.scheduler, noise, guidance_scale, num_inference_steps, models=[self.unet],
                          progress_bar=self.progress_bar if progress else (lambda steps: steps))
        if decode and self.vae is not None:
            x = decode_frames(self.vae, x)
        return ContentFrameOutput(images=x.float())


def _check_layout(path: Path) -> None:
    if not path.is_dir():
        raise FileNotFoundError(f"pretrained_model_path {path} does not exist or is not a folder")
    problems = [] if (path / "model_index.json").is_file() else ["model_index.json"]
    problems += [f"{part}/{marker}" for part, marker in REQUIRED_PARTS.items() if not (path / part / marker).is_file()]
    if problems:
        raise FileNotFoundError(
            f"{path} is not a Stable Diffusion-layout folder: missing {', '.join(problems)}. Expected "
            f"model_index.json, unet/, scheduler/, text_encoder/, tokenizer/ and optionally vae/ — e.g. a folder "
            f"written by StableDiffusionPipeline.save_pretrained or a local snapshot of "
            f"stabilityai/stable-diffusion-2-1-base.")
    for part in ("model_index.json", *(f"{p}/{m}" for p, m in REQUIRED_PARTS.items() if m.endswith(".json"))):
        try:
            json.loads((path / part).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path / part} is not valid JSON ({err}); the checkpoint folder is damaged") from None


def load_content_pipeline(path: str | Path, torch_dtype: torch.dtype | None = None) -> ContentFramePipeline:
    """Load a content model from a local SD-layout folder (SD 1.5/2.1, or one the kit saved).

    Each component is loaded from its subfolder with ``local_files_only=True``, whatever the
    folder's pipeline class, so a real SD checkpoint and the kit's own prior load the same way.
    """
    path = Path(path)
    _check_layout(path)
    kwargs = {"local_files_only": True, **({"torch_dtype": torch_dtype} if torch_dtype is not None else {})}
    try:
        unet = UNet2DConditionModel.from_pretrained(path, subfolder="unet", **kwargs)
        # Any scheduler config (SD ships PNDM or DDIM ones; the kit saves DDIM) loads as DDIM on its schedule.
        scheduler = DDIMScheduler.from_pretrained(path, subfolder="scheduler", local_files_only=True)
        vae = load_image_vae(path / "vae") if (path / "vae" / "config.json").is_file() else None
        if vae is not None and torch_dtype is not None:
            vae = vae.to(torch_dtype)
    except (OSError, ValueError, RuntimeError) as err:
        raise ValueError(f"could not load the content model from {path}: {str(err).splitlines()[0]}") from None
    tokenizer, text_encoder = load_text_encoder(path / "text_encoder", path / "tokenizer")
    if text_encoder.config.hidden_size != unet.config.cross_attention_dim:
        raise ValueError(f"{path}: text encoder width {text_encoder.config.hidden_size} does not match the UNet's "
                         f"cross_attention_dim {unet.config.cross_attention_dim}")
    return ContentFramePipeline(unet=unet, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer, vae=vae)
