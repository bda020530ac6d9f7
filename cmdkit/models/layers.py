"""Building blocks shared by the kit's transformers.

Position embeddings are fixed sin-cos tables computed *per axis* for the grid at hand, so
any number of frames and any H'×W' — square or not — gets a correct embedding without a
table sized in advance (the public CMD code had none at all, and DiT's assumes a square).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["sincos_1d", "sincos_2d", "position_table", "init_linears", "Attention", "Mlp", "SpaceTimeBlock"]


def sincos_1d(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Sin-cos embedding of positions (N,) → (N, dim), as in "Attention Is All You Need"."""
    if dim % 2:
        raise ValueError(f"embedding dim must be even; got {dim}")
    freqs = torch.exp(-math.log(10_000) * torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
    angles = positions.double()[:, None] * freqs[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1).float()


def sincos_2d(height: int, width: int, dim: int) -> torch.Tensor:
    """Embedding of an H'×W' grid → (H'·W', dim): half the channels encode the row, half the column."""
    if dim % 4:
        raise ValueError(f"2-D embedding dim must be a multiple of 4; got {dim}")
    rows = sincos_1d(torch.arange(height), dim // 2)  # (H', dim/2)
    cols = sincos_1d(torch.arange(width), dim // 2)  # (W', dim/2)
    grid = torch.cat([rows[:, None].expand(-1, width, -1), cols[None].expand(height, -1, -1)], dim=-1)
    return grid.reshape(height * width, dim)


@functools.lru_cache(maxsize=64)
def position_table(grid: tuple[int, ...], dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The sin-cos table of a grid of positions, already on ``device`` in ``dtype``, made once per
    grid and kept: ``(N,)`` → :func:`sincos_1d` of N positions, ``(H', W')`` → :func:`sincos_2d`.
    Built afresh at every call it would be a host-to-device copy per denoising step, and each such
    copy makes the host wait for the GPU (two per step in the motion DiT, measured on an H200).
    Read-only: callers add it, never write into it."""
    with torch.inference_mode(False):  # a table first made while sampling must still serve training
        table = sincos_1d(torch.arange(grid[0]), dim) if len(grid) == 1 else sincos_2d(*grid, dim)
        return table.to(device=device, dtype=dtype)


def init_linears(model: nn.Module) -> None:
    """Xavier-uniform weights and zero biases for every ``nn.Linear`` in ``model`` (ViT/DiT's
    default); models then zero the layers they want to start at zero."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)


class Attention(nn.Module):
    """Multi-head self-attention over the second-to-last axis, with PyTorch's fused SDPA."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} must be divisible by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """(B, N, dim) → (B, N, dim). ``context`` (B, M, dim): tokens that are attended to as well
        but not updated — keys and values only, from the same projection."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if context is not None:
            k_c, v_c = self.context_keys_values(context)
            k, v = torch.cat([k, k_c], dim=2), torch.cat([v, v_c], dim=2)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, N, dim/heads)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))

    def context_keys_values(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of read-only tokens (B, M, dim) → two (B, heads, M, dim/heads)."""
        b, m, d = context.shape
        kv = F.linear(context, self.qkv.weight[d:], self.qkv.bias[d:])  # the query rows are not needed
        k, v = kv.view(b, m, 2, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return k, v


class Mlp(nn.Sequential):
    def __init__(self, dim: int, ratio: float = 4.0):
        hidden = int(dim * ratio)
        super().__init__(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))


class SpaceTimeBlock(nn.Module):
    """Divided space-time attention (TimeSformer): attend over time, then over space, then MLP.

    Each token attends to L + H'·W' others instead of L·H'·W', which is what makes a video
    transformer affordable. Pre-norm residual branches throughout.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm_time, self.attn_time = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm_space, self.attn_space = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm_mlp, self.mlp = nn.LayerNorm(dim), Mlp(dim, mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, N, dim) → (B, L, N, dim), with N = H'·W' tokens per frame."""
        b, l, n, d = x.shape
        # Time: each spatial position's L tokens form one sequence.
        xt = x.transpose(1, 2).reshape(b * n, l, d)
        xt = xt + self.attn_time(self.norm_time(xt))
        x = xt.view(b, n, l, d).transpose(1, 2)
        # Space: each frame's N tokens form one sequence.
        xs = x.reshape(b * l, n, d)
        xs = xs + self.attn_space(self.norm_space(xs))
        xs = xs + self.mlp(self.norm_mlp(xs))
        return xs.view(b, l, n, d)
