"""The frame space: what the kit's models see of a video, decided in one place.

CMD can work on a clip's pixels or, as the paper does, on an image VAE's latents of each
frame. Everything that follows from that choice is answered here, and only here:

    ==================  ====================  ==========================================
    question            pixel space           latent space
    ==================  ====================  ==========================================
    channels            3 (RGB)               the VAE's: 32 for TAEF2, 4 for SD's VAE
    scale               1                     8 (a 32×32 frame is a 4×4 latent)
    clip x̂₀ to [-1, 1]  yes                   no: latents reach beyond ±1
    denoisers predict   v                     v
    noise schedule      1000 cosine steps     1000 cosine steps
    encode / decode     identity / clamp      the VAE, frame by frame
    ==================  ====================  ==========================================

Notebook 01 creates the run's :class:`FrameSpace` and saves it; later notebooks load it
(:meth:`cmdkit.experiment.Experiment.frame_space`), and every model builder takes it
(``CMDAutoencoder.from_preset(preset, space)``, ``MotionDiT.from_preset``,
``build_content_unet``, ``build_baseline_unet``), so channels and sizes never disagree.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .diffusion import build_noise_scheduler
from .models.vae import decode_frames, encode_frames, latent_channels, load_image_vae

__all__ = ["SPACES", "LATENT_SCALE", "SD_LATENT_CHANNELS", "FrameSpace", "space_scale"]

SPACES = ("pixel", "latent")
LATENT_SCALE = 8  # every image VAE the kit loads (SD's, TAEF2) downsamples by 8
SD_LATENT_CHANNELS = 4  # Stable Diffusion's VAE: the paper's latent space


def space_scale(name: str) -> int:
    """How much smaller model-space frames are than pixel frames in the space called ``name``."""
    if name not in SPACES:
        raise ValueError(f"space must be one of {', '.join(map(repr, SPACES))}; got {name!r}")
    return LATENT_SCALE if name == "latent" else 1


class FrameSpace:
    """Pixels, or an image VAE's latents of each frame (see the module docstring's table).

    ``encode`` takes pixel images (B, 3, H, W) or clips (B, 3, L, H, W) in [-1, 1] to model
    space; ``decode`` brings model-space tensors back to pixels in [-1, 1]. In pixel space
    both are the identity (``decode`` clamps).

    A latent space can also be *described* without its VAE (``FrameSpace(latent_channels=4)``):
    enough to build models and count their FLOPs at the paper's size, where SD's VAE is not
    on disk; encoding or decoding then says which weights to provide.
    """

    SPACE_FILE = "space.json"
    prediction_type = "v_prediction"  # every model the kit trains predicts v (see cmdkit.diffusion)

    def __init__(self, vae: nn.Module | None = None, *, latent_channels: int | None = None):
        if vae is not None and latent_channels is not None:
            raise ValueError("give a VAE or a latent channel count, not both")
        self.vae = vae
        self._latent_channels = latent_channels

    # --- making, saving, loading ---------------------------------------------------

    @classmethod
    def create(cls, space: str, vae_path: str | Path | None = None) -> "FrameSpace":
        """``"pixel"``, or ``"latent"`` with the VAE of :func:`cmdkit.models.vae.load_image_vae`
        (TAEF2 by default, or the VAE folder at ``vae_path``)."""
        space_scale(space)  # checks the name
        if space == "pixel":
            if vae_path is not None:
                raise ValueError("vae_path is only used in latent space (space='latent')")
            return cls()
        return cls(load_image_vae(vae_path))

    @classmethod
    def for_preset(cls, preset) -> "FrameSpace":
        """The space a preset's data lives in, without loading a VAE: pixels, or the paper's
        Stable Diffusion latents described by their channel count."""
        return cls(latent_channels=SD_LATENT_CHANNELS) if preset.data.space == "latent" else cls()

    def save(self, folder: str | Path) -> Path:
        """``space.json`` naming the space, and in latent space the VAE in ``vae/`` (safetensors)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.latent:
            self._require_vae("be saved").save_pretrained(folder / "vae")
        (folder / self.SPACE_FILE).write_text(json.dumps({"space": self.name}))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "FrameSpace":
        folder = Path(folder)
        marker = folder / cls.SPACE_FILE
        if not marker.is_file():
            raise FileNotFoundError(f"{folder} holds no {cls.SPACE_FILE}: it is not a frame space saved by notebook 01")
        space = json.loads(marker.read_text())["space"]
        return cls(load_image_vae(folder / "vae")) if space == "latent" else cls()

    # --- what follows from the choice ------------------------------------------------

    @property
    def latent(self) -> bool:
        return self.vae is not None or self._latent_channels is not None

    @property
    def name(self) -> str:
        return "latent" if self.latent else "pixel"

    @property
    def channels(self) -> int:
        """Channels of model-space tensors: 3, or the VAE's latent channels (TAEF2 32, SD 4)."""
        if self.vae is not None:
            return latent_channels(self.vae)
        return self._latent_channels if self.latent else 3

    @property
    def scale(self) -> int:
        """How much smaller model-space frames are than pixel frames: 8 for the VAEs, else 1."""
        return space_scale(self.name)

    @property
    def clip_sample(self) -> bool:
        """Whether samplers may clip predicted clean samples to [-1, 1]: true of pixels only."""
        return not self.latent

    def model_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) of a model-space frame for an H×W pixel frame."""
        if height % self.scale or width % self.scale:
            raise ValueError(f"a {height}×{width} frame is not a multiple of {self.scale}, the {self.name} space's "
                             f"scale")
        return height // self.scale, width // self.scale

    def noise_scheduler(self):
        """The training schedule of a generator of frames in this space (content UNet, direct
        video UNet), as the DDIM scheduler their pipelines save and sample with."""
        return build_noise_scheduler(prediction_type=self.prediction_type, clip_sample=self.clip_sample)

    # --- moving between pixels and model space ------------------------------------------

    def _require_vae(self, action: str) -> nn.Module:
        if self.vae is None:
            raise ValueError(f"this latent space is described by its channel count only and cannot {action}: create "
                             f"it with FrameSpace.create('latent', vae_path) from the VAE's weights")
        return self.vae

    @torch.no_grad()
    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """Pixels (B, 3, H, W) or (B, 3, L, H, W) in [-1, 1] → model space (B, C, …, H/s, W/s)."""
        if not self.latent:
            return pixels
        vae = self._require_vae("encode frames")
        return encode_frames(vae, pixels.to(vae.device, vae.dtype))

    @torch.no_grad()
    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """Model space → pixels in [-1, 1]."""
        if not self.latent:
            return x.clamp(-1, 1)
        vae = self._require_vae("decode frames")
        return decode_frames(vae, x.to(vae.device, vae.dtype)).float()

    def encode_dataset(self, dataset, count: int, batch_size: int = 64, progress: bool = True):
        """A training set in model space. Pixels: ``dataset`` itself (it may be endless). Latents:
        its first ``count`` clips encoded once, as a list of ``{"video", "caption", "label"}`` —
        encoding every batch through the VAE would cost more than training the model on it."""
        if not self.latent:
            return dataset
        from tqdm.auto import tqdm

        encoded = []
        for start in tqdm(range(0, count, batch_size), desc="encoding clips with the VAE", disable=not progress):
            items = [dataset[i] for i in range(start, min(start + batch_size, count))]
            latents = self.encode(torch.stack([item["video"] for item in items])).cpu()
            encoded += [{**item, "video": z} for item, z in zip(items, latents)]
        return encoded

    def __repr__(self) -> str:
        if not self.latent:
            return "FrameSpace(pixel)"
        what = type(self.vae).__name__ if self.vae is not None else "described"
        return f"FrameSpace(latent, {what}, {self.channels} channels)"
