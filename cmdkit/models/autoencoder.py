"""The CMD autoencoder: a clip ↔ (content frame x̄, motion latent z).

Encoding (Yu et al. 2024, §3.1), for a clip x of shape (B, C, L, H, W) cut into p×p patches
on an H'×W' grid (H' = H/p, W' = W/p):

1. A video transformer (divided space-time attention) turns the clip into features
   h of shape (B, L, H', W', width).
2. **Content frame.** A head maps h to logits per frame, per pixel, per channel; a softmax
   over time turns them into importance weights w, and

       x̄ = Σ_l w_l ⊙ x_l,      w_l ≥ 0,  Σ_l w_l = 1,

   so every value of x̄ is a convex combination of the same pixel over time: x̄ looks like
   an image, and an image diffusion model can learn to draw it.
3. **Motion latent.** h is averaged over one spatial axis at a time — over columns, giving
   one vector per frame row (B, L, H', width), and over rows, giving one per column
   (B, L, W', width) — mapped by a 1×1 projection to D channels and bounded by tanh:

       z = [z_rows ; z_cols] of shape (B, D, L, H' + W').

Decoding embeds the patches of x̄ (B, H', W', width), maps z_rows and z_cols back to the
width, and broadcasts and sums the three into the (L, H', W') token grid: token (l, i, j)
= x̄-patch(i, j) + z_rows(l, i) + z_cols(l, j) + position. A second video transformer then
decodes the clip. It predicts the *difference* from x̄ (with a zero-initialised output
layer), so an untrained decoder already returns x̄ in every frame, and learning only has to
add what moves. No gradient flows through that skip to x̄ (see :meth:`CMDAutoencoder.decode`).

Beyond the public reference code: fixed sin-cos position embeddings in time and in each
spatial axis (frame order is visible to the model; any L, any H'×W' including non-square),
and every H×W that the patch size divides works.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
from einops import rearrange
from torch import nn

from .layers import SpaceTimeBlock, sincos_1d, sincos_2d

__all__ = ["CMDAutoencoder", "CMDEncoding", "CMDAutoencoderOutput", "content_frame"]


def content_frame(video: torch.Tensor, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x̄ = Σ_l softmax_l(logits)_l ⊙ x_l.

    Args:
        video: (B, C, L, H, W).
        logits: (B, C, L, H, W), one per frame, pixel and channel.
    Returns:
        ``(x̄, w)``: the content frame (B, C, H, W) and the weights (B, C, L, H, W), which
        are ≥ 0 and sum to 1 over L.
    """
    weights = torch.softmax(logits.float(), dim=2).to(video.dtype)
    return (weights * video).sum(dim=2), weights


@dataclass
class CMDEncoding(BaseOutput):
    """``content_frame`` x̄ (B, C, H, W); ``motion_latent`` z (B, D, L, H'+W');
    ``weights`` w (B, C, L, H, W), the importance of each frame at each pixel."""

    content_frame: torch.Tensor
    motion_latent: torch.Tensor
    weights: torch.Tensor


@dataclass
class CMDAutoencoderOutput(BaseOutput):
    """``sample``: the reconstruction (B, C, L, H, W), plus the encoding it came from."""

    sample: torch.Tensor
    content_frame: torch.Tensor
    motion_latent: torch.Tensor
    weights: torch.Tensor


class _VideoTransformer(nn.Module):
    """A stack of divided space-time blocks over a (B, L, H', W', width) token grid, with
    sin-cos positions in time and in each spatial axis added first."""

    def __init__(self, width: int, depth: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.width = width
        self.blocks = nn.ModuleList(SpaceTimeBlock(width, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        b, l, h, w, d = tokens.shape
        space = sincos_2d(h, w, d).to(tokens).view(1, 1, h * w, d)
        time = sincos_1d(torch.arange(l), d).to(tokens).view(1, l, 1, d)
        x = tokens.reshape(b, l, h * w, d) + space + time  # (B, L, N, width)
        for block in self.blocks:
            x = block(x)
        return self.norm(x).view(b, l, h, w, d)


class CMDAutoencoder(ModelMixin, ConfigMixin):
    """Clip (B, C, L, H, W) ↔ content frame (B, C, H, W) + motion latent (B, D, L, H'+W').

    Args:
        in_channels: C — 3 for pixels, 4 for Stable Diffusion's VAE latents, 32 for TAEF2's.
        width, depth, heads: transformer width, blocks per side (encoder and decoder), heads.
        patch_size: p; H and W must be multiples of it.
        motion_channels: D, channels of the motion latent (8 in the paper).
        mlp_ratio: hidden width of the MLPs relative to ``width``.
        learned_importance: ``False`` replaces the learned weights by the plain mean over
            time (w_l = 1/L) — the ablation of the paper's Table 4b.
    """

    @register_to_config
    def __init__(self, in_channels: int = 3, width: int = 64, depth: int = 2, heads: int = 4,
                 patch_size: int = 4, motion_channels: int = 8, mlp_ratio: float = 4.0,
                 learned_importance: bool = True):
        super().__init__()
        if width % 4:
            raise ValueError(f"width must be a multiple of 4 (2-D position embeddings); got {width}")
        c, p, d = in_channels, patch_size, width
        # Encoder: frames → tokens → features.
        self.patch_embed = nn.Conv3d(c, d, kernel_size=(1, p, p), stride=(1, p, p))
        self.encoder = _VideoTransformer(d, depth, heads, mlp_ratio)
        self.importance_head = nn.Linear(d, p * p * c)  # logits per pixel and channel of each patch
        self.motion_rows = nn.Linear(d, motion_channels)  # the 1×1 projections to D channels
        self.motion_cols = nn.Linear(d, motion_channels)
        # Decoder: (x̄, z) → tokens → frames.
        self.content_embed = nn.Conv2d(c, d, kernel_size=p, stride=p)
        self.unmotion_rows = nn.Linear(motion_channels, d)
        self.unmotion_cols = nn.Linear(motion_channels, d)
        self.decoder = _VideoTransformer(d, depth, heads, mlp_ratio)
        self.output_head = nn.Linear(d, p * p * c)
        self._init_weights()

    def _init_weights(self):
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        # Uniform importance at the start (x̄ = the plain mean), and a decoder that starts by
        # returning x̄ in every frame: training begins from the mean-frame baseline.
        for head in (self.importance_head, self.output_head):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    # --- shapes -------------------------------------------------------------------

    def grid(self, height: int, width: int) -> tuple[int, int]:
        """(H', W') for frames of H×W; ``ValueError`` if the patch size does not divide them."""
        p = self.config.patch_size
        if height % p or width % p:
            raise ValueError(f"frame size {height}×{width} is not divisible by the autoencoder's "
                             f"patch size {p}; use multiples of {p}")
        return height // p, width // p

    def _check_video(self, video: torch.Tensor) -> None:
        if video.ndim != 5:
            raise ValueError(f"video must have shape (B, C, L, H, W); got {tuple(video.shape)}")
        if video.shape[1] != self.config.in_channels:
            raise ValueError(f"video has {video.shape[1]} channels; this autoencoder takes "
                             f"{self.config.in_channels} (in_channels)")

    def _unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, H', W', p·p·C) → (B, C, L, H, W)."""
        p = self.config.patch_size
        return rearrange(x, "b l h w (p q c) -> b c l (h p) (w q)", p=p, q=p)

    # --- the two halves -----------------------------------------------------------

    def encode(self, video: torch.Tensor) -> CMDEncoding:
        """(B, C, L, H, W) → x̄ (B, C, H, W), z (B, D, L, H'+W'), w (B, C, L, H, W)."""
        self._check_video(video)
        self.grid(*video.shape[-2:])
        tokens = rearrange(self.patch_embed(video), "b d l h w -> b l h w d")  # (B, L, H', W', width)
        features = self.encoder(tokens)  # (B, L, H', W', width)

        logits = self._unpatchify(self.importance_head(features))  # (B, C, L, H, W)
        if not self.config.learned_importance:
            logits = torch.zeros_like(logits)  # softmax of zeros: w_l = 1/L, the plain mean
        frame, weights = content_frame(video, logits)  # (B, C, H, W), (B, C, L, H, W)

        z_rows = torch.tanh(self.motion_rows(features.mean(dim=3)))  # average over columns: (B, L, H', D)
        z_cols = torch.tanh(self.motion_cols(features.mean(dim=2)))  # average over rows:    (B, L, W', D)
        motion = rearrange(torch.cat([z_rows, z_cols], dim=2), "b l n d -> b d l n")  # (B, D, L, H'+W')
        return CMDEncoding(content_frame=frame, motion_latent=motion, weights=weights)

    def decode(self, content_frame: torch.Tensor, motion_latent: torch.Tensor) -> torch.Tensor:
        """x̄ (B, C, H, W) and z (B, D, L, H'+W') → the clip (B, C, L, H, W)."""
        if content_frame.ndim != 4 or content_frame.shape[1] != self.config.in_channels:
            raise ValueError(f"content_frame must have shape (B, {self.config.in_channels}, H, W); "
                             f"got {tuple(content_frame.shape)}")
        h, w = self.grid(*content_frame.shape[-2:])
        b, d, l, n = motion_latent.shape
        if (b, d, n) != (content_frame.shape[0], self.config.motion_channels, h + w):
            raise ValueError(f"motion_latent must have shape ({content_frame.shape[0]}, "
                             f"{self.config.motion_channels}, L, {h + w}) for a {tuple(content_frame.shape[-2:])} "
                             f"content frame; got {tuple(motion_latent.shape)}")
        z = rearrange(motion_latent, "b d l n -> b l n d")
        rows = self.unmotion_rows(z[:, :, :h])  # (B, L, H', width)
        cols = self.unmotion_cols(z[:, :, h:])  # (B, L, W', width)
        content = rearrange(self.content_embed(content_frame), "b d h w -> b 1 h w d")  # (B, 1, H', W', width)
        tokens = content + rows[:, :, :, None] + cols[:, :, None, :]  # (B, L, H', W', width)
        residual = self._unpatchify(self.output_head(self.decoder(tokens)))  # (B, C, L, H, W)
        # The skip gives the decoder x̄ as a free baseline, but no gradient flows through it:
        # through the skip alone, the loss would pull x̄ towards the plain mean (the L2-best
        # single image; its gradient Σ_l (x̄ − x_l) vanishes at uniform weights), so the
        # importance weights would stay uniform. Without it, they learn from what the decoder
        # can use (on the smoke budget: weight entropy 1.60 nats instead of 2.08 = log 8).
        return content_frame.detach().unsqueeze(2) + residual

    def forward(self, video: torch.Tensor) -> CMDAutoencoderOutput:
        """Encode and decode: the reconstruction of ``video`` (B, C, L, H, W)."""
        encoding = self.encode(video)
        sample = self.decode(encoding.content_frame, encoding.motion_latent)
        return CMDAutoencoderOutput(sample=sample, content_frame=encoding.content_frame,
                                    motion_latent=encoding.motion_latent, weights=encoding.weights)

    def compression(self, num_frames: int, height: int, width: int) -> dict[str, int | float]:
        """Numbers per clip: the video's C·L·H·W against x̄'s C·H·W plus z's D·L·(H'+W')."""
        h, w = self.grid(height, width)
        c, d = self.config.in_channels, self.config.motion_channels
        video, content, motion = c * num_frames * height * width, c * height * width, d * num_frames * (h + w)
        return {"video": video, "content_frame": content, "motion_latent": motion,
                "ratio": video / (content + motion)}

    @classmethod
    def from_preset(cls, preset, in_channels: int | None = None, **overrides) -> "CMDAutoencoder":
        """The size a :class:`cmdkit.config.Preset` names; channels from its data space unless given."""
        size = preset.autoencoder
        if in_channels is None:
            in_channels = 4 if preset.data.space == "latent" else 3
        return cls(**{"in_channels": in_channels, "width": size.width, "depth": size.depth, "heads": size.heads,
                      "patch_size": size.patch_size, "motion_channels": size.motion_channels, **overrides})
