"""The motion diffusion transformer: generates the motion latent z for a given content frame x̄.

CMD's second generator (Yu et al. 2024, §3.3) is a DiT whose job is small: z has
D·L·(H'+W') entries, far fewer than a video. Its input tokens are

* patches of the noisy motion latent z_t (B, D, L, H'+W'), read as a D-channel "image" on an
  L × (H'+W') grid and cut into p×p patches — the tokens it denoises; and
* patches of the content frame x̄ (B, C, H, W), cut into larger q×q patches (q = 4 or 8 in
  the paper) — tokens it looks at but does not decode.

Each motion token can look up *what* is where in x̄. Conditioning on the timestep and on the
text (or class) goes through adaLN-Zero, as in DiT. The content frame enters as tokens rather
than through adaLN because a single vector per clip cannot say where things are; the paper's
Table 4c shows that smaller content patches (more tokens, finer "where") give better FVD.

How the content tokens take part (``content_attention``):

* ``"joint"`` (the paper): both sets form one sequence; every block attends over all of it and
  updates every token, so a block costs as much per content token as per motion token;
* ``"context"`` (the smoke preset): only the motion tokens are updated; in each block they attend
  over themselves *and* x̄'s tokens, which enter as extra keys and values (after the block's norm,
  unmodulated). A block's MLP and projections then run over the motion tokens alone — half the
  cost of a smoke training step, where x̄'s 4×4 patches give 64 tokens against 32 motion tokens —
  and what the blocks read of x̄ no longer depends on the noise level. On the smoke world it
  learned direction as well as joint attention (98 % of 64 clips, two seeds; config.py).

Differences from the public reference code, each on purpose:

* the text/class condition is *used* (the reference model ignores it);
* position embeddings are computed per axis for the grid at hand, so non-square frames and
  any number of frames work (DiT's table assumes a square);
* classifier-free guidance (:func:`cmdkit.diffusion.motion_denoiser`) gives the content frame to
  *both* branches and drops only the text/class, which is what condition dropout trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
from einops import rearrange
from torch import nn

from .loading import CheckedLoadingMixin
from ..config import check_choice
from .layers import Attention, Mlp, init_linears, position_table

__all__ = ["MotionDiT", "MotionDiTOutput", "MOTION_DIT_SIZES"]

# DiT's named sizes (Peebles & Xie 2023, Table 1) and a CPU-sized one.
MOTION_DIT_SIZES: dict[str, dict[str, int]] = {
    "smoke": dict(hidden_size=128, depth=4, num_heads=4),
    "S": dict(hidden_size=384, depth=12, num_heads=6),
    "B": dict(hidden_size=768, depth=12, num_heads=12),
    "L": dict(hidden_size=1024, depth=24, num_heads=16),
    "XL": dict(hidden_size=1152, depth=28, num_heads=16),
}


@dataclass
class MotionDiTOutput(BaseOutput):
    """``sample``: the prediction (ε, or v) for the motion latent, (B, D, L, H'+W')."""

    sample: torch.Tensor


class DiTBlock(nn.Module):
    """Pre-norm transformer block whose norms are modulated by the condition (adaLN-Zero).

    The condition c (B, width) sets a shift, a scale and a gate for each branch. The gates
    start at zero, so every block starts as the identity and the network as a whole starts
    by predicting zero — DiT's initialisation, which it found trains best.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm_attn = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm_mlp = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, mlp_ratio)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, N, width), c (B, width) → (B, N, width). ``context`` (B, M, width): read-only
        tokens that x attends to (normalised, not modulated, never updated)."""
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = self.modulation(c)[:, None].chunk(6, dim=-1)
        context = None if context is None else self.norm_attn(context)
        x = x + gate_a * self.attn(self.norm_attn(x) * (1 + scale_a) + shift_a, context)
        return x + gate_m * self.mlp(self.norm_mlp(x) * (1 + scale_m) + shift_m)


class MotionDiT(CheckedLoadingMixin, ModelMixin, ConfigMixin):
    """Denoiser of motion latents z (B, D, L, H'+W'), given x̄ (B, C, H, W), t and a text or class.

    Args:
        motion_channels: D, the motion latent's channels (8 in the paper).
        content_channels: C of the content frame (3 pixels, 4 SD latents, 32 TAEF2 latents).
        patch_size: p, the motion latent's patch on its L × (H'+W') grid (DiT-XL/**2**).
        content_patch_size: q, the content frame's patch (4 or 8 in the paper).
        hidden_size, depth, num_heads, mlp_ratio: the transformer (see ``MOTION_DIT_SIZES``).
        text_dim: width of the text encoder's token features (384 MiniLM, 1024 SD-2's CLIP);
            ``None`` for a class-conditional model.
        num_classes: number of classes for a class-conditional model (``text_dim=None``).
        latent_scale: the motion latents' mean over time is multiplied by this before diffusion,
            so that the data the noise schedule sees has unit variance (as SD's VAE
            ``scaling_factor``); see :meth:`scale_latents`.
        motion_scale: the same for the part of z that changes over time (``None``: ``latent_scale``).
        num_frames: L of the clips it was trained on. Positions are sin-cos, so other lengths
            run, but pipelines generate this many frames unless asked for others.
        content_attention: ``"joint"`` (x̄'s tokens join the sequence, the paper) or ``"context"``
            (x̄'s tokens are read-only keys and values in every block; see the module docstring).
    """

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(self, motion_channels: int = 8, content_channels: int = 3, patch_size: int = 2,
                 content_patch_size: int = 4, hidden_size: int = 128, depth: int = 4, num_heads: int = 4,
                 mlp_ratio: float = 4.0, text_dim: int | None = 384, num_classes: int | None = None,
                 latent_scale: float = 1.0, motion_scale: float | None = None, num_frames: int | None = None,
                 content_attention: str = "joint"):
        super().__init__()
        check_choice("content_attention", content_attention, ("joint", "context"))
        if (text_dim is None) == (num_classes is None):
            raise ValueError("give exactly one of text_dim (text-conditional) or num_classes (class-conditional)")
        if hidden_size % 4:
            raise ValueError(f"hidden_size must be a multiple of 4 (2-D position embeddings); got {hidden_size}")
        d, p, q = hidden_size, patch_size, content_patch_size
        self.motion_embed = nn.Conv2d(motion_channels, d, kernel_size=p, stride=p)
        self.content_embed = nn.Conv2d(content_channels, d, kernel_size=q, stride=q)
        # Both token sets get sin-cos positions of their own grid; a learned type embedding
        # tells a motion token at (i, j) from a content token at (i, j).
        self.token_type = nn.Parameter(torch.zeros(2, d))
        self.time_proj = Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(256, d)
        if text_dim is not None:
            # Token features (B, T, text_dim) are mean-pooled, then projected to one vector.
            self.text_embed = nn.Sequential(nn.Linear(text_dim, d), nn.SiLU(), nn.Linear(d, d))
        else:
            self.class_embed = nn.Embedding(num_classes, d)
        # What the model sees when the condition is dropped: learned, as in DiT.
        self.null_condition = nn.Parameter(torch.zeros(d))
        self.blocks = nn.ModuleList(DiTBlock(d, num_heads, mlp_ratio) for _ in range(depth))
        self.gradient_checkpointing = False  # see ModelMixin.enable_gradient_checkpointing
        self.final_norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.final_modulation = nn.Sequential(nn.SiLU(), nn.Linear(d, 2 * d))
        self.final_linear = nn.Linear(d, p * p * motion_channels)
        self._init_weights()

    def _init_weights(self):
        init_linears(self)
        for embed in (self.motion_embed, self.content_embed):  # like a linear layer on flattened patches
            nn.init.xavier_uniform_(embed.weight.view(embed.weight.shape[0], -1))
            nn.init.zeros_(embed.bias)
        nn.init.normal_(self.token_type, std=0.02)
        nn.init.normal_(self.null_condition, std=0.02)
        if self.config.num_classes is not None:
            nn.init.normal_(self.class_embed.weight, std=0.02)
        # adaLN-Zero: zero modulations (each block starts as the identity) and a zero output layer.
        for block in self.blocks:
            nn.init.zeros_(block.modulation[-1].weight)
            nn.init.zeros_(block.modulation[-1].bias)
        for layer in (self.final_modulation[-1], self.final_linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    @property
    def conditioning(self) -> str:
        """``"text"`` or ``"class"``."""
        return "text" if self.config.text_dim is not None else "class"

    # --- the condition vector -------------------------------------------------------

    def embed_condition(self, batch: int, encoder_hidden_states: torch.Tensor | None = None,
                        class_labels: torch.Tensor | None = None,
                        drop_condition: torch.Tensor | None = None) -> torch.Tensor:
        """The text or class as one vector per sample (B, width); the learned null vector
        where ``drop_condition`` (B,) is True, or everywhere when no condition is given."""
        null = self.null_condition.expand(batch, -1)
        if self.conditioning == "text":
            given = encoder_hidden_states
            if given is not None:
                if given.ndim == 2:  # already pooled: (B, text_dim)
                    given = given[:, None]
                if given.ndim != 3 or given.shape[-1] != self.config.text_dim:
                    raise ValueError(f"encoder_hidden_states must be (B, T, {self.config.text_dim}); "
                                     f"got {tuple(encoder_hidden_states.shape)}")
                given = self.text_embed(given.to(self.dtype).mean(dim=1))  # (B, width)
        else:
            given = class_labels
            if given is not None:
                if given.min() < 0 or given.max() >= self.config.num_classes:
                    raise ValueError(f"class_labels must be in [0, {self.config.num_classes}); "
                                     f"got {given.min().item()}..{given.max().item()}")
                given = self.class_embed(given)
        if given is None:
            return null
        if given.shape[0] != batch:
            raise ValueError(f"the condition has batch size {given.shape[0]}, the motion latent {batch}")
        if drop_condition is None:
            return given
        return torch.where(drop_condition.to(given.device)[:, None], null, given)

    # --- forward --------------------------------------------------------------------

    def _check_inputs(self, sample: torch.Tensor, content_frame: torch.Tensor) -> None:
        cfg = self.config
        if sample.ndim != 4 or sample.shape[1] != cfg.motion_channels:
            raise ValueError(f"sample must be a motion latent (B, {cfg.motion_channels}, L, H'+W'); "
                             f"got {tuple(sample.shape)}")
        if sample.shape[2] % cfg.patch_size or sample.shape[3] % cfg.patch_size:
            raise ValueError(f"the motion latent's L={sample.shape[2]} and H'+W'={sample.shape[3]} must be "
                             f"multiples of patch_size {cfg.patch_size}")
        if content_frame.ndim != 4 or content_frame.shape[1] != cfg.content_channels:
            raise ValueError(f"content_frame must be (B, {cfg.content_channels}, H, W); "
                             f"got {tuple(content_frame.shape)}")
        if content_frame.shape[0] != sample.shape[0]:
            raise ValueError(f"content_frame has batch size {content_frame.shape[0]}, sample {sample.shape[0]}")
        h, w = content_frame.shape[-2:]
        if h % cfg.content_patch_size or w % cfg.content_patch_size:
            raise ValueError(f"content frame size {h}×{w} must be a multiple of content_patch_size "
                             f"{cfg.content_patch_size}")

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor | int, content_frame: torch.Tensor,
                encoder_hidden_states: torch.Tensor | None = None, class_labels: torch.Tensor | None = None,
                drop_condition: torch.Tensor | None = None, return_dict: bool = True):
        """Predict the noise in ``sample``.

        Args:
            sample: noisy motion latent z_t (B, D, L, H'+W').
            timestep: (B,) or a scalar.
            content_frame: x̄ (B, C, H, W) — always given, guided or not.
            encoder_hidden_states: text token features (B, T, text_dim) or pooled (B, text_dim).
            class_labels: (B,) for a class-conditional model.
            drop_condition: (B,) bool; True replaces that sample's condition by the null one.
        Returns:
            :class:`MotionDiTOutput` with ``sample`` (B, D, L, H'+W').
        """
        self._check_inputs(sample, content_frame)
        b, _, length, n = sample.shape
        p, d = self.config.patch_size, self.config.hidden_size
        gl, gn = length // p, n // p  # the motion grid
        gh, gw = (s // self.config.content_patch_size for s in content_frame.shape[-2:])  # the content grid

        motion = rearrange(self.motion_embed(sample.to(self.dtype)), "b d l n -> b (l n) d")  # (B, gl·gn, width)
        motion = motion + position_table((gl, gn), d, motion.device, motion.dtype) + self.token_type[0]
        content = rearrange(self.content_embed(content_frame.to(self.dtype)), "b d h w -> b (h w) d")  # (B, gh·gw, width)
        content = content + position_table((gh, gw), d, content.device, content.dtype) + self.token_type[1]
        joint = self.config.content_attention == "joint"
        x = torch.cat([motion, content], dim=1) if joint else motion  # (B, gl·gn [+ gh·gw], width)

        timestep = torch.as_tensor(timestep, device=sample.device).expand(b)
        c = self.time_embed(self.time_proj(timestep).to(self.dtype))  # (B, width)
        c = c + self.embed_condition(b, encoder_hidden_states, class_labels, drop_condition)
        for block in self.blocks:
            if self.gradient_checkpointing and torch.is_grad_enabled():
                x = self._gradient_checkpointing_func(block, x, c, None if joint else content)
            else:
                x = block(x, c, None if joint else content)

        shift, scale = self.final_modulation(c)[:, None].chunk(2, dim=-1)
        x = self.final_linear(self.final_norm(x[:, : gl * gn]) * (1 + scale) + shift)  # motion tokens only
        out = rearrange(x, "b (l n) (p q c) -> b c (l p) (n q)", l=gl, n=gn, p=p, q=p)  # (B, D, L, H'+W')
        return MotionDiTOutput(sample=out) if return_dict else (out,)

    # --- the space the diffusion runs in ------------------------------------------------

    def scale_latents(self, z: torch.Tensor) -> torch.Tensor:
        """Motion latents z (B, D, L, H'+W') → what the diffusion process sees.

        z is the sum of a part that is the same in every frame (its mean over time, which the
        content frame largely determines) and a part that changes (what moves). On the toy world
        the moving part is only ~12 % of z's variance, so under one scale factor the denoising
        loss is spent mostly on the still part and the motion is learned last. Each part gets
        its own factor, so both reach unit variance and count equally; the map is linear and
        exactly inverted by :meth:`unscale_latents`.
        """
        still = z.mean(dim=2, keepdim=True)  # (B, D, 1, H'+W')
        return self.config.latent_scale * still + self._moving_scale * (z - still)

    def unscale_latents(self, y: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`scale_latents`."""
        still = y.mean(dim=2, keepdim=True)
        return still / self.config.latent_scale + (y - still) / self._moving_scale

    @property
    def _moving_scale(self) -> float:
        """The factor of z's moving part: ``motion_scale``, or ``latent_scale`` if none was set."""
        return self.config.motion_scale or self.config.latent_scale

    @staticmethod
    def latent_statistics(motion_latents: torch.Tensor) -> dict[str, float]:
        """The factors that give each part of a set of motion latents (N, D, L, H'+W') unit
        variance: ``{"latent_scale": …, "motion_scale": …}``, for the constructor."""
        still = motion_latents.mean(dim=2, keepdim=True)
        return {"latent_scale": round(1 / still.std().item(), 4),
                "motion_scale": round(1 / (motion_latents - still).std().item(), 4)}

    # --- sizes ----------------------------------------------------------------------

    def num_tokens(self, num_frames: int, motion_length: int, height: int, width: int) -> dict[str, int]:
        """Tokens per call: motion (L/p)·((H'+W')/p) plus content (H/q)·(W/q)."""
        p, q = self.config.patch_size, self.config.content_patch_size
        motion, content = (num_frames // p) * (motion_length // p), (height // q) * (width // q)
        return {"motion": motion, "content": content, "total": motion + content}

    @classmethod
    def from_size(cls, size: str, **kwargs) -> "MotionDiT":
        """One of DiT's named sizes (``"S"``, ``"B"``, ``"L"``, ``"XL"``) or ``"smoke"``."""
        if size not in MOTION_DIT_SIZES:
            raise ValueError(f"size must be one of {', '.join(MOTION_DIT_SIZES)}; got {size!r}")
        return cls(**{**MOTION_DIT_SIZES[size], **kwargs})

    @classmethod
    def from_preset(cls, preset, space=None, **overrides) -> "MotionDiT":
        """The motion model a :class:`cmdkit.config.Preset` names, for content frames of ``space``
        (:class:`cmdkit.space.FrameSpace`; default: the preset's own) and the preset's clip
        length. ``overrides`` replace config entries (``text_dim``, ``num_classes``, …)."""
        from ..space import FrameSpace

        size = preset.motion
        space = space if space is not None else FrameSpace.for_preset(preset)
        return cls.from_size(size.size, **{
            "motion_channels": preset.autoencoder.motion_channels, "content_channels": space.channels,
            "patch_size": size.patch_size, "content_patch_size": size.content_patch_size,
            "content_attention": size.content_attention,
            "num_frames": preset.data.num_frames, **overrides})
