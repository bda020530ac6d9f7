"""CMDPipeline: prompt → content frame → motion latent → video, as one diffusers pipeline.

Algorithm 1 of the paper, with the kit's three trained parts:

    x̄ ~ content UNet(prompt)            classifier-free guidance on the text
    z ~ MotionDiT(x̄, prompt)            guidance on the text only; x̄ in both branches
    x = autoencoder.decode(x̄, z)        (B, C, L, H, W)
    frames = VAE.decode(x) per frame     latent mode only

Because it is a ``DiffusionPipeline``, ``save_pretrained`` writes every component in its
own subfolder (safetensors weights and JSON configs) with a ``model_index.json``, and
``CMDPipeline.from_pretrained(folder)`` loads it back, offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from .models.autoencoder import CMDAutoencoder
from .models.content import ContentFramePipeline
from .diffusion import guided_sample, motion_denoiser
from .models.motion_dit import MotionDiT
from .models.vae import decode_frames
from .text import encode_prompts

__all__ = ["CMDPipeline", "CMDPipelineOutput", "sample_motion"]


@torch.no_grad()
def sample_motion(model: MotionDiT, scheduler, content_frame: torch.Tensor, num_frames: int, motion_length: int,
                  encoder_hidden_states: torch.Tensor | None = None, class_labels: torch.Tensor | None = None,
                  num_inference_steps: int = 25, guidance_scale: float = 1.0,
                  generator: torch.Generator | None = None, progress: bool = False) -> torch.Tensor:
    """Motion latents z (B, D, L, H'+W') for content frames x̄ (B, C, H, W), sampled with
    ``scheduler`` (any diffusers scheduler on the motion model's schedule).

    With ``guidance_scale`` ≠ 1 the text/class is guided and **x̄ is given to both branches**
    (:func:`cmdkit.diffusion.motion_denoiser`). ``motion_length`` is H'+W' of the autoencoder's
    grid. The initial noise is drawn on the CPU from ``generator``, so a seed gives the same
    motion on any device. The model samples scaled latents (unit variance,
    :meth:`~cmdkit.models.MotionDiT.scale_latents`); they are scaled back before returning.
    """
    from tqdm.auto import tqdm

    device, dtype = model.device, model.dtype
    shape = (content_frame.shape[0], model.config.motion_channels, num_frames, motion_length)
    noise = torch.randn(shape, generator=generator, device="cpu").to(device, dtype)
    text = encoder_hidden_states.to(device, dtype) if encoder_hidden_states is not None else None
    labels = class_labels.to(device) if class_labels is not None else None
    denoiser = motion_denoiser(model, content_frame.to(device, dtype), text, labels)
    z = guided_sample(denoiser, scheduler, noise, guidance_scale, num_inference_steps, models=[model],
                      progress_bar=lambda steps: tqdm(steps, desc="motion", disable=not progress, leave=False))
    return model.unscale_latents(z).float()


@dataclass
class CMDPipelineOutput(BaseOutput):
    """``videos``: per ``output_type`` — ``"np"``: float array (B, L, H, W, C) in [0, 1], as
    diffusers' video pipelines return; ``"pt"``: tensor (B, C, L, H, W) in [-1, 1], the kit's
    convention; ``"pil"``: a list of lists of PIL images.
    ``content_frames`` x̄ (B, C, H, W) and ``motion_latents`` z (B, D, L, H'+W'), as tensors."""

    videos: object
    content_frames: torch.Tensor
    motion_latents: torch.Tensor


class CMDPipeline(DiffusionPipeline):
    """Text-to-video with CMD. Components: ``autoencoder`` (:class:`CMDAutoencoder`), ``unet`` and
    ``scheduler`` (the content-frame model), ``motion_transformer`` (:class:`MotionDiT`) and
    ``motion_scheduler``, ``text_encoder`` and ``tokenizer`` (shared by both generators), and an
    optional ``vae`` for latent mode (``None`` in pixel space)."""

    model_cpu_offload_seq = "text_encoder->unet->motion_transformer->autoencoder->vae"
    _optional_components = ["vae"]

    def __init__(self, autoencoder: CMDAutoencoder, unet, scheduler, motion_transformer: MotionDiT,
                 motion_scheduler, text_encoder, tokenizer, vae=None):
        super().__init__()
        self.register_modules(autoencoder=autoencoder, unet=unet, scheduler=scheduler,
                              motion_transformer=motion_transformer, motion_scheduler=motion_scheduler,
                              text_encoder=text_encoder, tokenizer=tokenizer, vae=vae)

    # --- checks -----------------------------------------------------------------------

    def _frame_size(self, height: int | None, width: int | None) -> tuple[int, int]:
        """The content frame's size, checked against every model that must take it."""
        size = self.unet.config.sample_size
        height, width = height or size, width or size
        factor = 2 ** (len(self.unet.config.block_out_channels) - 1)
        rules = [("the content UNet's downsampling", factor),
                 ("the autoencoder's patch size", self.autoencoder.config.patch_size),
                 ("the motion model's content patch size", self.motion_transformer.config.content_patch_size)]
        for what, multiple in rules:
            if height % multiple or width % multiple:
                raise ValueError(f"height and width must be multiples of {multiple} ({what}); got {height}×{width}")
        return height, width

    def _check_components(self) -> None:
        channels = {"autoencoder": self.autoencoder.config.in_channels, "unet": self.unet.config.in_channels,
                    "motion_transformer": self.motion_transformer.config.content_channels}
        if len(set(channels.values())) != 1:
            raise ValueError(f"the components disagree on the content frame's channels: {channels}")
        if self.autoencoder.config.motion_channels != self.motion_transformer.config.motion_channels:
            raise ValueError(f"the autoencoder's motion latent has {self.autoencoder.config.motion_channels} channels "
                             f"but the motion model makes {self.motion_transformer.config.motion_channels}")

    # --- sampling ---------------------------------------------------------------------

    @torch.no_grad()
    def __call__(self, prompt: str | list[str] | None = None, num_frames: int | None = None,
                 height: int | None = None, width: int | None = None, content_steps: int = 25,
                 motion_steps: int = 25, content_guidance: float = 4.0, motion_guidance: float = 3.0,
                 class_labels: torch.Tensor | list[int] | None = None, generator: torch.Generator | None = None,
                 output_type: str = "np", progress: bool = True) -> CMDPipelineOutput:
        """Generate one clip per prompt.

        Args:
            prompt: a caption or a list of them (one clip each).
            num_frames: L (default: 16, or whatever the motion model was trained with works best).
            height, width: the content frame's size (default: the content UNet's sample size).
            content_steps, motion_steps: DDIM steps of each generator.
            content_guidance, motion_guidance: classifier-free guidance scales (1 = none).
            class_labels: for a class-conditional motion model, one label per clip; the content
                frame then follows ``prompt`` (the empty prompt if none is given).
            generator: seeds the content noise, then the motion noise: same seed, same video.
            output_type: ``"np"``, ``"pt"`` or ``"pil"`` (see :class:`CMDPipelineOutput`).
        """
        if output_type not in ("np", "pt", "pil"):
            raise ValueError(f"output_type must be 'np', 'pt' or 'pil'; got {output_type!r}")
        self._check_components()
        class_mode = self.motion_transformer.conditioning == "class"
        if class_mode:
            if class_labels is None:
                raise ValueError("this motion model is class-conditional: pass class_labels")
            class_labels = torch.as_tensor(class_labels).view(-1)
            prompts = [prompt] * len(class_labels) if isinstance(prompt, str) else list(prompt or [""] * len(class_labels))
            if len(prompts) != len(class_labels):
                raise ValueError(f"got {len(prompts)} prompts for {len(class_labels)} class labels")
        else:
            if prompt is None:
                raise ValueError("pass a prompt (or a list of prompts)")
            prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts:
            raise ValueError("the prompt list is empty")
        num_frames = num_frames or 16
        if num_frames < 2 or num_frames % self.motion_transformer.config.patch_size:
            raise ValueError(f"num_frames must be >= 2 and a multiple of the motion model's patch size "
                             f"{self.motion_transformer.config.patch_size}; got {num_frames}")
        height, width = self._frame_size(height, width)
        grid_h, grid_w = self.autoencoder.grid(height, width)
        if (grid_h + grid_w) % self.motion_transformer.config.patch_size:
            raise ValueError(f"H'+W' = {grid_h + grid_w} of a {height}×{width} frame must be a multiple of the "
                             f"motion model's patch size {self.motion_transformer.config.patch_size}")

        # The prompts' features, once: the content UNet reads them by cross-attention, the motion
        # model pooled through adaLN (a class-conditional motion model reads only its labels).
        text = encode_prompts(self.tokenizer, self.text_encoder, prompts)

        # 1. The content frame x̄, with guidance on the text.
        content_pipe = ContentFramePipeline(unet=self.unet, scheduler=self.scheduler, text_encoder=self.text_encoder,
                                            tokenizer=self.tokenizer, vae=None)
        content_pipe.set_progress_bar_config(desc="content frame", leave=False, disable=not progress)
        frames = content_pipe(prompts, num_inference_steps=content_steps, guidance_scale=content_guidance,
                              generator=generator, height=height, width=width, decode=False,
                              progress=progress, prompt_embeds=text).images  # (B, C, H, W)
        frames = frames.clamp(-1, 1) if self.vae is None else frames

        # 2. The motion latent z given x̄, with guidance on the text (or class) only.
        motion = sample_motion(self.motion_transformer, self.motion_scheduler, frames, num_frames, grid_h + grid_w,
                               encoder_hidden_states=None if class_mode else text, class_labels=class_labels,
                               num_inference_steps=motion_steps, guidance_scale=motion_guidance,
                               generator=generator, progress=progress)  # (B, D, L, H'+W')

        # 3. Decode; 4. in latent mode, each frame through the image VAE.
        ae = self.autoencoder
        video = ae.decode(frames.to(ae.device, ae.dtype), motion.to(ae.device, ae.dtype)).float()  # (B, C, L, H, W)
        if self.vae is not None:
            video = decode_frames(self.vae, video.to(self.vae.device, self.vae.dtype), chunk=16).float()
        video = video.clamp(-1, 1).cpu()
        return CMDPipelineOutput(videos=self._format(video, output_type), content_frames=frames.cpu(),
                                 motion_latents=motion.cpu())

    @staticmethod
    def _format(video: torch.Tensor, output_type: str):
        if output_type == "pt":
            return video
        array = ((video + 1) / 2).permute(0, 2, 3, 4, 1).numpy()  # (B, L, H, W, C) in [0, 1]
        if output_type == "np":
            return array
        from PIL import Image

        return [[Image.fromarray((frame * 255).round().astype(np.uint8)) for frame in clip] for clip in array]

    @staticmethod
    def export(video, path: str | Path, fps: int = 8) -> Path:
        """Write one clip to ``.mp4`` or ``.gif`` (by the suffix). ``video``: (C, L, H, W) in [-1, 1],
        or (L, H, W, C) in [0, 1] as ``output_type="np"`` returns."""
        from .viz import save_video

        if isinstance(video, np.ndarray):
            video = torch.from_numpy(video).permute(3, 0, 1, 2) * 2 - 1
        return save_video(video, path, fps=fps)
