"""The kit's pipelines, as diffusers pipelines: prompt → content frame, prompt → video with
CMD, and prompt → video by direct video diffusion (the baseline).

:class:`CMDPipeline` is Algorithm 1 of the paper, with the kit's three trained parts:

    x̄ ~ content UNet(prompt)            classifier-free guidance on the text
    z ~ MotionDiT(x̄, prompt)            guidance on the text only; x̄ in both branches
    x = autoencoder.decode(x̄, z)        (B, C, L, H, W)
    frames = VAE.decode(x) per frame     latent mode only

:class:`ContentFramePipeline` is its first step alone (the content model of notebooks 02–03,
laid out as a Stable Diffusion folder), and :class:`DirectVideoPipeline` the ModelScope-style
baseline of notebook 06. All three share text encoding and input checks
(:class:`PromptPipeline`) and sample with their ``scheduler`` components through
:func:`cmdkit.diffusion.guided_sample`, so ``pipe.scheduler =
DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)`` changes how they sample, as
in any diffusers pipeline. ``save_pretrained`` writes every component in its own subfolder
(safetensors weights, JSON configs, ``model_index.json``); ``from_pretrained`` loads it back,
offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler, DiffusionPipeline, UNet2DConditionModel, UNet3DConditionModel
from diffusers.utils import BaseOutput

from .diffusion import guided_sample, motion_denoiser, unet_denoiser
from .models.autoencoder import CMDAutoencoder
from .models.motion_dit import MotionDiT
from .models.vae import TinyAutoencoder, load_image_vae
from .space import FrameSpace
from .text import encode_prompts, load_text_encoder

__all__ = ["PromptPipeline", "ContentFramePipeline", "ContentFrameOutput", "DirectVideoPipeline",
           "DirectVideoOutput", "CMDPipeline", "CMDPipelineOutput", "sample_motion", "animate", "draw_in_chunks",
           "load_content_pipeline", "REQUIRED_PARTS"]


class PromptPipeline(DiffusionPipeline):
    """What the kit's pipelines share: the prompts' text features and the checks of their inputs.
    Subclasses register ``text_encoder``, ``tokenizer`` and a denoiser whose device and dtype the
    features follow (``_denoiser``)."""

    _denoiser = "unet"

    def encode_prompt(self, prompts: list[str]) -> torch.Tensor:
        """(B, T, D) token features, on the denoiser's device and dtype."""
        model = getattr(self, self._denoiser)
        return encode_prompts(self.tokenizer, self.text_encoder, prompts).to(model.device, model.dtype)

    @staticmethod
    def check_inputs(prompt, height: int, width: int, multiples: dict[str, int]) -> list[str]:
        """The prompts as a non-empty list; ``ValueError`` unless ``height`` and ``width`` are
        multiples of every ``{reason: multiple}`` in ``multiples``."""
        if prompt is None:
            raise ValueError("pass a prompt (or a list of prompts)")
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts:
            raise ValueError("the prompt list is empty")
        for what, multiple in multiples.items():
            if height % multiple or width % multiple:
                raise ValueError(f"height and width must be multiples of {multiple} ({what}); got {height}×{width}")
        return prompts

    def _noise(self, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
        """Initial noise drawn on the CPU, so a seed gives the same sample on any device."""
        model = getattr(self, self._denoiser)
        return torch.randn(shape, generator=generator, device="cpu").to(model.device, model.dtype)

    def _steps_bar(self, progress: bool):
        return self.progress_bar if progress else (lambda steps: steps)


def _unet_downsampling(unet) -> dict[str, int]:
    return {"the UNet's downsampling": 2 ** (len(unet.config.block_out_channels) - 1)}


# --- the content frame ----------------------------------------------------------------------

@dataclass
class ContentFrameOutput(BaseOutput):
    """``images``: content frames (B, C, H, W) in [-1, 1] — pixels, or VAE latents when the
    pipeline has no VAE to decode them (or ``decode=False``)."""

    images: torch.Tensor


class ContentFramePipeline(PromptPipeline):
    """Prompt → content frame. Components: ``unet``, ``scheduler`` (the training schedule),
    ``text_encoder``, ``tokenizer`` and an optional ``vae`` (latent mode). Saved, it is a Stable
    Diffusion-layout folder, so a real SD checkpoint and the kit's own prior load the same way
    (:func:`load_content_pipeline`)."""

    model_cpu_offload_seq = "text_encoder->unet->vae"
    # diffusers saves only components that are constructor arguments without a default;
    # an optional one is declared here and passed explicitly (vae=None in pixel mode).
    _optional_components = ["vae"]

    def __init__(self, unet: UNet2DConditionModel, scheduler, text_encoder, tokenizer,
                 vae: AutoencoderKL | TinyAutoencoder | None):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer, vae=vae)

    @torch.no_grad()
    def __call__(self, prompt: str | list[str], num_inference_steps: int = 25, guidance_scale: float = 3.0,
                 generator: torch.Generator | None = None, height: int | None = None, width: int | None = None,
                 decode: bool = True, progress: bool = True, prompt_embeds: torch.Tensor | None = None,
                 return_dict: bool = True) -> ContentFrameOutput | tuple:
        """Sample content frames with the pipeline's scheduler and classifier-free guidance on the text.

        ``guidance_scale`` = 1 disables guidance; the unconditional branch uses the empty prompt,
        which is what caption dropout trains. ``generator`` seeds the initial noise.
        ``prompt_embeds`` (B, T, D): the prompts' features when the caller has them already.
        """
        size = self.unet.config.sample_size
        height, width = height or size, width or size
        prompts = self.check_inputs(prompt, height, width, _unet_downsampling(self.unet))
        noise = self._noise((len(prompts), self.unet.config.in_channels, height, width), generator)
        text = self.encode_prompt(prompts) if prompt_embeds is None else prompt_embeds.to(noise.device, noise.dtype)
        denoiser = unet_denoiser(self.unet, text, self.encode_prompt([""]))
        x = guided_sample(denoiser, self.scheduler, noise, guidance_scale, num_inference_steps, models=[self.unet],
                          progress_bar=self._steps_bar(progress))
        images = FrameSpace(self.vae).decode(x) if decode else x.float()
        return ContentFrameOutput(images=images) if return_dict else (images,)


# --- direct video diffusion -----------------------------------------------------------------

@dataclass
class DirectVideoOutput(BaseOutput):
    """``videos``: clips (B, C, L, H, W) in [-1, 1], in the space the UNet was trained in."""

    videos: torch.Tensor


class DirectVideoPipeline(PromptPipeline):
    """Prompt → video by denoising every frame jointly: the baseline CMD is measured against.
    Components: ``unet`` (a ``UNet3DConditionModel``), ``scheduler`` (the training schedule),
    ``text_encoder`` and ``tokenizer``, and an optional ``vae`` for latent mode (``None`` in
    pixel space), which decodes every frame as the last step."""

    model_cpu_offload_seq = "text_encoder->unet->vae"
    _optional_components = ["vae"]

    def __init__(self, unet: UNet3DConditionModel, scheduler, text_encoder, tokenizer, vae=None):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer, vae=vae)

    @torch.no_grad()
    def __call__(self, prompt: str | list[str], num_frames: int, height: int | None = None,
                 width: int | None = None, num_inference_steps: int = 25, guidance_scale: float = 3.0,
                 generator: torch.Generator | None = None, progress: bool = True,
                 return_dict: bool = True) -> DirectVideoOutput | tuple:
        """Sample clips (B, 3, L, H, W) in [-1, 1] with the pipeline's scheduler and classifier-free
        guidance on the text (the empty prompt as the unconditional branch). ``generator`` seeds
        the noise; ``height``/``width`` (the UNet's frames: pixels, or latents in latent mode)
        default to the UNet's sample size."""
        size = self.unet.config.sample_size
        height, width = height or size, width or size
        prompts = self.check_inputs(prompt, height, width, _unet_downsampling(self.unet))
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1; got {num_frames}")
        noise = self._noise((len(prompts), self.unet.config.in_channels, num_frames, height, width), generator)
        denoiser = unet_denoiser(self.unet, self.encode_prompt(prompts), self.encode_prompt([""]))
        videos = guided_sample(denoiser, self.scheduler, noise, guidance_scale, num_inference_steps, models=[self.unet],
                               progress_bar=self._steps_bar(progress))
        videos = FrameSpace(self.vae).decode(videos.float()).clamp(-1, 1)  # in latent mode, each frame decoded
        return DirectVideoOutput(videos=videos) if return_dict else (videos,)


# --- CMD ------------------------------------------------------------------------------------

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


@torch.no_grad()
def animate(autoencoder: CMDAutoencoder, motion_model: MotionDiT, scheduler, content_frame: torch.Tensor,
            num_frames: int, encoder_hidden_states: torch.Tensor | None = None,
            class_labels: torch.Tensor | None = None, num_inference_steps: int = 25, guidance_scale: float = 1.0,
            generator: torch.Generator | None = None, progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Steps 2 and 3 of CMD: a motion latent for each content frame, then both decoded into a clip.

    ``content_frame`` x̄ (B, C, H, W), generated or encoded from real clips (the "true x̄" of
    notebooks 04 and 06). Returns ``(video (B, C, L, H, W), motion latent (B, D, L, H'+W'))``
    in model space, unclamped: ``FrameSpace.decode`` takes the video to pixels.
    """
    grid_h, grid_w = autoencoder.grid(*content_frame.shape[-2:])
    motion = sample_motion(motion_model, scheduler, content_frame, num_frames, grid_h + grid_w,
                           encoder_hidden_states=encoder_hidden_states, class_labels=class_labels,
                           num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
                           generator=generator, progress=progress)  # (B, D, L, H'+W')
    video = autoencoder.decode(content_frame.to(autoencoder.device, autoencoder.dtype),
                               motion.to(autoencoder.device, autoencoder.dtype))
    return video.float(), motion


def draw_in_chunks(count: int, size: int, seed: int, draw) -> torch.Tensor:
    """``count`` samples drawn ``size`` at a time, concatenated along dim 0.

    ``draw(part, generator)`` returns the samples for ``part`` (a slice of ``range(count)``);
    chunk k gets a generator seeded ``seed + k``, so two generators drawn this way for the same
    captions see the same noise seeds. A few clips at a time keep a 3-D UNet's activations in a
    CPU's caches: the smoke direct model drew a clip in 2.4 s four at a time, 4.2 s sixteen at a time,
    and a guided forward pass cost 0.162 s per clip two at a time against 0.185 four at a time.
    """
    if count < 1 or size < 1:
        raise ValueError(f"count and size must be >= 1; got {count} and {size}")
    return torch.cat([draw(slice(start, start + size), torch.Generator().manual_seed(seed + start // size))
                      for start in range(0, count, size)])


@dataclass
class CMDPipelineOutput(BaseOutput):
    """``videos``: per ``output_type`` — ``"np"``: float array (B, L, H, W, C) in [0, 1], as
    diffusers' video pipelines return; ``"pt"``: tensor (B, C, L, H, W) in [-1, 1], the kit's
    convention; ``"pil"``: a list of lists of PIL images.
    ``content_frames`` x̄ (B, C, H, W) and ``motion_latents`` z (B, D, L, H'+W'), as tensors."""

    videos: object
    content_frames: torch.Tensor
    motion_latents: torch.Tensor


class CMDPipeline(PromptPipeline):
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

    def _frame_multiples(self) -> dict[str, int]:
        """What the content frame's height and width must be multiples of, model by model."""
        return {**_unet_downsampling(self.unet), "the autoencoder's patch size": self.autoencoder.config.patch_size,
                "the motion model's content patch size": self.motion_transformer.config.content_patch_size}

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
                 output_type: str = "np", progress: bool = True, return_dict: bool = True) -> CMDPipelineOutput | tuple:
        """Generate one clip per prompt.

        Args:
            prompt: a caption or a list of them (one clip each).
            num_frames: L (default: the clip length the motion model was trained on, its config's
                ``num_frames``).
            height, width: the content frame's size (default: the content UNet's sample size).
            content_steps, motion_steps: DDIM steps of each generator.
            content_guidance, motion_guidance: classifier-free guidance scales (1 = none).
            class_labels: for a class-conditional motion model, one label per clip; the content
                frame then follows ``prompt`` (the empty prompt if none is given).
            generator: seeds the content noise, then the motion noise: same seed, same video.
            output_type: ``"np"``, ``"pt"`` or ``"pil"`` (see :class:`CMDPipelineOutput`).
            return_dict: ``False`` returns the tuple ``(videos, content_frames, motion_latents)``.
        """
        if output_type not in ("np", "pt", "pil"):
            raise ValueError(f"output_type must be 'np', 'pt' or 'pil'; got {output_type!r}")
        self._check_components()
        size = self.unet.config.sample_size
        height, width = height or size, width or size
        class_mode = self.motion_transformer.conditioning == "class"
        if class_mode:
            if class_labels is None:
                raise ValueError("this motion model is class-conditional: pass class_labels")
            class_labels = torch.as_tensor(class_labels).view(-1)
            if prompt is None or isinstance(prompt, str):
                prompt = [prompt or ""] * len(class_labels)
            if len(prompt) != len(class_labels):
                raise ValueError(f"got {len(prompt)} prompts for {len(class_labels)} class labels")
        prompts = self.check_inputs(prompt, height, width, self._frame_multiples())
        num_frames = num_frames or self.motion_transformer.config.num_frames
        if num_frames is None:
            raise ValueError("this motion model's config does not say how many frames it was trained on: pass num_frames")
        if num_frames < 2 or num_frames % self.motion_transformer.config.patch_size:
            raise ValueError(f"num_frames must be >= 2 and a multiple of the motion model's patch size "
                             f"{self.motion_transformer.config.patch_size}; got {num_frames}")
        grid_h, grid_w = self.autoencoder.grid(height, width)
        if (grid_h + grid_w) % self.motion_transformer.config.patch_size:
            raise ValueError(f"H'+W' = {grid_h + grid_w} of a {height}×{width} frame must be a multiple of the "
                             f"motion model's patch size {self.motion_transformer.config.patch_size}")

        # The prompts' features, once: the content UNet reads them by cross-attention, the motion
        # model pooled through adaLN (a class-conditional motion model reads only its labels).
        text = self.encode_prompt(prompts)

        # 1. The content frame x̄, with guidance on the text.
        content_pipe = ContentFramePipeline(unet=self.unet, scheduler=self.scheduler, text_encoder=self.text_encoder,
                                            tokenizer=self.tokenizer, vae=None)
        content_pipe.set_progress_bar_config(desc="content frame", leave=False, disable=not progress)
        frames = content_pipe(prompts, num_inference_steps=content_steps, guidance_scale=content_guidance,
                              generator=generator, height=height, width=width, decode=False,
                              progress=progress, prompt_embeds=text).images  # (B, C, H, W)
        space = FrameSpace(self.vae)  # the pipeline's frame space: its VAE's latents, or pixels
        frames = frames.clamp(-1, 1) if space.clip_sample else frames

        # 2. The motion latent z given x̄, with guidance on the text (or class) only; 3. decode both.
        video, motion = animate(self.autoencoder, self.motion_transformer, self.motion_scheduler, frames, num_frames,
                                encoder_hidden_states=None if class_mode else text, class_labels=class_labels,
                                num_inference_steps=motion_steps, guidance_scale=motion_guidance,
                                generator=generator, progress=progress)  # (B, C, L, H, W), (B, D, L, H'+W')

        # 4. To pixels: in latent mode, each frame through the image VAE.
        video = space.decode(video).clamp(-1, 1).cpu()
        output = (self._format(video, output_type), frames.cpu(), motion.cpu())
        return CMDPipelineOutput(*output) if return_dict else output

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


# --- loading a content model ---------------------------------------------------------------

# What a content-model folder must hold, and the file that shows each part is there.
REQUIRED_PARTS = {"unet": "config.json", "scheduler": "scheduler_config.json", "text_encoder": "config.json",
                  "tokenizer": "tokenizer_config.json"}


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


def load_content_pipeline(path: str | Path, torch_dtype: torch.dtype | None = None) -> "ContentFramePipeline":
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
