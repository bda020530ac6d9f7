"""Image autoencoders for CMD's latent mode: frames are encoded one by one before CMD sees them.

The paper works in Stable Diffusion's VAE latent space (4 channels at 1/8 resolution).
Offline, the kit uses a real pretrained *tiny* autoencoder instead: TAEF2, a distilled
version of the FLUX.2 image VAE from madebyollin/taesd (MIT licence) — 32 channels at 1/8
resolution, ~2.7 M parameters. Its checkpoint is two plain state dicts; this module builds
the matching network and loads them by exact key match.

Where to get the files: https://github.com/madebyollin/taesd (``taef2_encoder.pth``,
``taef2_decoder.pth``). Point ``CMDKIT_TAEF2`` at their folder, or pass it explicitly.

``TinyAutoencoder`` is a diffusers model, so a pipeline saves it as its ``vae`` component
like Stable Diffusion's ``AutoencoderKL``. :func:`encode_frames` and :func:`decode_frames`
hide the difference between the two (SD's latents are scaled by ``scaling_factor``; TAEF2's
are used as they come), and :func:`load_image_vae` loads either from a folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from diffusers import AutoencoderKL, ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from einops import rearrange
from torch import nn

from .loading import CheckedLoadingMixin

__all__ = ["TinyAutoencoder", "default_taef2_folder", "WeightsNotFoundError", "encode_frames", "decode_frames",
           "load_image_vae", "latent_channels"]

_REPO_ROOT = Path(__file__).resolve().parents[2]
TAEF2_FILES = ("taef2_encoder.pth", "taef2_decoder.pth")


class WeightsNotFoundError(FileNotFoundError):
    """Pretrained weights the kit cannot download here are missing; the message says what to provide."""


def default_taef2_folder() -> Path:
    """``$CMDKIT_TAEF2`` if set, else ``../shared/weights/taef2`` beside the repository."""
    return Path(os.environ.get("CMDKIT_TAEF2", _REPO_ROOT.parent / "shared" / "weights" / "taef2"))


def _conv(c_in: int, c_out: int, **kwargs) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, **kwargs)


class _Block(nn.Module):
    """conv3×3 → ReLU → conv3×3 → ReLU → conv3×3, plus the input, then ReLU. With ``pool``,
    a channel-mixing branch (1×1 → GroupNorm → ReLU → 1×1) is first added to the input."""

    def __init__(self, channels: int = 64, pool: bool = False):
        super().__init__()
        self.conv = nn.Sequential(_conv(channels, channels), nn.ReLU(), _conv(channels, channels), nn.ReLU(),
                                  _conv(channels, channels))
        self.pool = nn.Sequential(
            nn.Conv2d(channels, 4 * channels, 1, bias=False), nn.GroupNorm(4, 4 * channels), nn.ReLU(),
            nn.Conv2d(4 * channels, channels, 1, bias=False),
        ) if pool else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = x + self.pool(x)
        return torch.relu(self.conv(x) + x)


class _SoftClamp(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3) * 3


class TinyAutoencoder(CheckedLoadingMixin, ModelMixin, ConfigMixin):
    """TAEF2: images (B, 3, H, W) in [-1, 1] ↔ latents (B, 32, H/8, W/8).

    H and W must be multiples of 8. ``encode_video``/``decode_video`` apply it frame by
    frame to clips (B, C, L, H, W), which is how CMD's latent mode uses an image VAE.
    :meth:`from_taef2` reads the published checkpoint; ``save_pretrained``/``from_pretrained``
    are diffusers' (safetensors), as for every model in a saved pipeline.
    """

    scale_factor = 8

    @register_to_config
    def __init__(self, latent_channels: int = 32):
        super().__init__()
        c = 64
        self.encoder = nn.Sequential(
            _conv(3, c), _Block(c),
            _conv(c, c, stride=2, bias=False), _Block(c), _Block(c), _Block(c),
            _conv(c, c, stride=2, bias=False), _Block(c), _Block(c), _Block(c),
            _conv(c, c, stride=2, bias=False), _Block(c, pool=True), _Block(c, pool=True), _Block(c, pool=True),
            _conv(c, latent_channels),
        )
        up = lambda: nn.Upsample(scale_factor=2, mode="nearest")  # noqa: E731
        self.decoder = nn.Sequential(
            _SoftClamp(), _conv(latent_channels, c), nn.ReLU(),
            _Block(c, pool=True), _Block(c, pool=True), _Block(c, pool=True),
            up(), _conv(c, c, bias=False), _Block(c), _Block(c), _Block(c),
            up(), _conv(c, c, bias=False), _Block(c), _Block(c), _Block(c),
            up(), _conv(c, c, bias=False), _Block(c),
            _conv(c, 3),
        )

    @classmethod
    def from_taef2(cls, folder: str | Path | None = None) -> "TinyAutoencoder":
        """Load ``taef2_encoder.pth`` and ``taef2_decoder.pth`` from ``folder`` (default:
        :func:`default_taef2_folder`), by exact key match, with ``weights_only=True``."""
        folder = Path(folder) if folder is not None else default_taef2_folder()
        missing = [name for name in TAEF2_FILES if not (folder / name).is_file()]
        if missing:
            raise WeightsNotFoundError(
                f"TAEF2 weights not found: {folder} lacks {', '.join(missing)}. Download them from "
                f"https://github.com/madebyollin/taesd and pass their folder, or set CMDKIT_TAEF2.")
        model = cls()
        for part, name in zip((model.encoder, model.decoder), TAEF2_FILES):
            state = torch.load(folder / name, map_location="cpu", weights_only=True)
            try:
                part.load_state_dict(state, strict=True)
            except RuntimeError as err:
                raise ValueError(f"{folder / name} is not a TAEF2 checkpoint: {str(err).splitlines()[0]}") from None
        return model.eval().requires_grad_(False)

    def _check(self, images: torch.Tensor) -> None:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape (B, 3, H, W); got {tuple(images.shape)}")
        if images.shape[-2] % 8 or images.shape[-1] % 8:
            raise ValueError(f"image size {images.shape[-2]}×{images.shape[-1]} must be a multiple of 8")

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] → (B, 32, H/8, W/8)."""
        self._check(images)
        return self.encoder((images + 1) / 2)  # TAEF2 works on images in [0, 1]

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, 32, h, w) → (B, 3, 8h, 8w) in [-1, 1]."""
        return (self.decoder(latents) * 2 - 1).clamp(-1, 1)

    def encode_video(self, video: torch.Tensor, chunk: int = 32) -> torch.Tensor:
        """(B, 3, L, H, W) → (B, 32, L, H/8, W/8), frame by frame in chunks."""
        return _per_image(self.encode, video, chunk)

    def decode_video(self, latents: torch.Tensor, chunk: int = 32) -> torch.Tensor:
        """(B, 32, L, h, w) → (B, 3, L, 8h, 8w) in [-1, 1]."""
        return _per_image(self.decode, latents, chunk)


def _per_image(fn, x: torch.Tensor, chunk: int) -> torch.Tensor:
    """Apply an image function to images (B, C, H, W) or to every frame of clips
    (B, C, L, H, W), ``chunk`` images at a time."""
    frames = x if x.ndim == 4 else rearrange(x, "b c l h w -> (b l) c h w")
    out = torch.cat([fn(frames[i:i + chunk]) for i in range(0, len(frames), chunk)])
    return out if x.ndim == 4 else rearrange(out, "(b l) c h w -> b c l h w", b=x.shape[0])


def latent_channels(vae: nn.Module) -> int:
    """Channels of the latents an image VAE makes (4 for SD's, 32 for TAEF2's)."""
    return vae.config.latent_channels


def encode_frames(vae: nn.Module, pixels: torch.Tensor, chunk: int = 32) -> torch.Tensor:
    """Images (B, 3, H, W) or clips (B, 3, L, H, W) in [-1, 1] → latents (B, c, H/8, W/8) or
    (B, c, L, H/8, W/8), frame by frame, as the diffusion models see them: SD's latents are the
    mode of the posterior times ``scaling_factor``; TAEF2's are used as they come."""
    if isinstance(vae, TinyAutoencoder):
        encode = vae.encode
    elif isinstance(vae, AutoencoderKL):
        encode = lambda x: vae.encode(x).latent_dist.mode() * vae.config.scaling_factor  # noqa: E731
    else:
        raise TypeError(f"not an image VAE the kit knows: {type(vae).__name__} (expected TinyAutoencoder or "
                        f"AutoencoderKL)")
    return _per_image(encode, pixels, chunk)


def decode_frames(vae: nn.Module, latents: torch.Tensor, chunk: int = 32) -> torch.Tensor:
    """Latents (B, c, H, W) or (B, c, L, H, W) → pixels in [-1, 1]; inverse of :func:`encode_frames`."""
    if isinstance(vae, TinyAutoencoder):
        decode = vae.decode
    elif isinstance(vae, AutoencoderKL):
        decode = lambda z: vae.decode(z / vae.config.scaling_factor).sample.clamp(-1, 1)  # noqa: E731
    else:
        raise TypeError(f"not an image VAE the kit knows: {type(vae).__name__} (expected TinyAutoencoder or "
                        f"AutoencoderKL)")
    return _per_image(decode, latents, chunk)


def load_image_vae(path: str | Path | None = None) -> nn.Module:
    """The image VAE of latent mode, frozen and in eval mode, from:

    * ``None`` — TAEF2's published files in :func:`default_taef2_folder`;
    * a folder holding ``taef2_encoder.pth`` and ``taef2_decoder.pth``;
    * a saved diffusers VAE folder (``config.json``): a ``TinyAutoencoder`` the kit saved, or an
      ``AutoencoderKL`` such as Stable Diffusion's ``vae/`` subfolder.
    """
    folder = Path(path) if path is not None else default_taef2_folder()
    config = folder / "config.json"
    if config.is_file():
        import json

        name = json.loads(config.read_text()).get("_class_name")
        if name == "TinyAutoencoder":
            vae = TinyAutoencoder.from_pretrained(folder)
        elif name == "AutoencoderKL":
            vae = AutoencoderKL.from_pretrained(folder, local_files_only=True)
        else:
            raise ValueError(f"{folder} holds a {name}, not an image VAE (TinyAutoencoder or AutoencoderKL)")
    else:
        vae = TinyAutoencoder.from_taef2(folder)
    return vae.eval().requires_grad_(False)
