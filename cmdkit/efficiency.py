"""What CMD saves, measured: token counts, parameters, FLOPs, memory and time.

A transformer's cost grows with its number of tokens (attention quadratically). Direct
video diffusion patchifies every frame: L·H'·W' tokens, where H' = H/p, W' = W/p. CMD
generates one content frame (H'·W' tokens, as an image model does) and a motion latent
with L·(H'+W') entries — one row and one column per frame instead of a whole grid.

**FLOPs** are counted with ``torch.utils.flop_counter.FlopCounterMode`` while the models run
on the ``meta`` device: shapes flow, nothing is allocated or computed, so paper-scale
models (a 1.4 B-parameter video UNet on 16×64×128 latents) are counted on a laptop in
seconds. Costs do not depend on weight values, so random weights are fine.

Conventions, since published numbers differ by them:

* torch counts **2 FLOPs per multiply-add**; fvcore, which the paper's figures come from,
  counts **1** (its "FLOPs" are MACs). :class:`FlopCount` gives both.
* fvcore does not count fused attention kernels (xformers / SDPA): with them, the attention
  core (QKᵀ and its product with V) is missing from its totals. On the meta device SDPA runs
  as batched matmuls, so the kit reports that part separately (``attention``).
* Classifier-free guidance runs the denoiser on two branches per step; every table says
  whether it is included.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

__all__ = ["TokenCounts", "token_counts", "count_parameters", "FlopCount", "count_flops", "StageCost",
           "PaperScaleModels", "build_models", "cmd_costs", "direct_costs", "time_call", "Measured", "measure_once",
           "peak_memory", "PAPER_TABLE9"]

# The paper's efficiency figures (Table 9): 16×512×1024 video, 50 steps, one A100, fp16,
# SD decoder excluded. TFLOPs as fvcore counts them.
PAPER_TABLE9 = {"CMD": {"tflops": 46.8, "seconds": 3.13, "memory_gb": 5.56},
                "ModelScope": {"tflops": 938.9, "seconds": 35.1},
                "LVDM": {"seconds": 24.2}}


@dataclass(frozen=True)
class TokenCounts:
    num_frames: int
    grid: tuple[int, int]  # (H', W')
    direct: int  # L·H'·W': a video model's tokens
    content: int  # H'·W': the content frame
    motion: int  # L·(H'+W'): the motion latent's positions

    @property
    def cmd(self) -> int:
        return self.content + self.motion

    @property
    def ratio(self) -> float:
        """How many times fewer positions CMD generates than direct video diffusion."""
        return self.direct / self.cmd


def token_counts(num_frames: int, height: int, width: int, patch_size: int) -> TokenCounts:
    """Token counts for an L×H×W clip (pixels or latents) cut into p×p patches."""
    if height % patch_size or width % patch_size:
        raise ValueError(f"height and width ({height}×{width}) must be multiples of patch_size {patch_size}")
    h, w = height // patch_size, width // patch_size
    return TokenCounts(num_frames, (h, w), num_frames * h * w, h * w, num_frames * (h + w))


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# Ops that are the attention core when SDPA runs unfused (on meta or CPU): QKᵀ and (softmax)·V.
_ATTENTION_OPS = ("bmm", "scaled_dot_product")


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one call in torch's convention (2 per multiply-add), with a per-op breakdown."""

    total: int
    by_op: dict[str, int] = field(default_factory=dict)

    @property
    def attention(self) -> int:
        """The attention core's share: batched matmuls and fused SDPA kernels."""
        return sum(v for k, v in self.by_op.items() if any(op in k for op in _ATTENTION_OPS))

    @property
    def macs(self) -> float:
        """fvcore's convention: multiply-adds (half of torch's count)."""
        return self.total / 2

    @property
    def macs_without_attention(self) -> float:
        """What fvcore reports when attention runs in a fused kernel it cannot see."""
        return (self.total - self.attention) / 2

    def __mul__(self, calls: int) -> "FlopCount":
        return FlopCount(self.total * calls, {k: v * calls for k, v in self.by_op.items()})

    def __add__(self, other: "FlopCount") -> "FlopCount":
        ops = dict(self.by_op)
        for k, v in other.by_op.items():
            ops[k] = ops.get(k, 0) + v
        return FlopCount(self.total + other.total, ops)


def count_flops(fn: Callable[[], object]) -> FlopCount:
    """FLOPs of ``fn()``, counted by torch's FlopCounterMode.

    Count on the ``meta`` device: there SDPA runs as batched matmuls and is counted, while on
    the CPU torch dispatches it to a fused kernel that the counter (like fvcore) does not see."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn()
    by_op = {str(op).removeprefix("aten."): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return FlopCount(int(counter.get_total_flops()), by_op)


@dataclass(frozen=True)
class StageCost:
    """One stage of generating a video: its parameters, FLOPs per call and calls per video."""

    stage: str
    params: int
    per_call: FlopCount
    calls: int

    @property
    def flops(self) -> FlopCount:
        return self.per_call * self.calls


@dataclass
class PaperScaleModels:
    """CMD's three models and the direct baseline, at one preset's size (random weights)."""

    preset: str
    content_unet: torch.nn.Module
    autoencoder: torch.nn.Module
    motion: torch.nn.Module
    baseline: torch.nn.Module
    channels: int  # of what the models see: 3 pixels, 4 SD latents
    text_dim: int
    text_length: int


def build_models(preset: str = "paper", device: str | torch.device = "meta", dtype: torch.dtype | None = None,
                 text_dim: int | None = None) -> PaperScaleModels:
    """CMD (content UNet, autoencoder, MotionDiT) and the ModelScope-architecture baseline at a
    preset's size. ``paper``: SD-2.1-base's UNet on 64×128 latents, the autoencoder of width 384,
    depth 12, patch 2, D 8, MotionDiT-XL/2 with content patch 8, text from a 1024-d CLIP (77 tokens).
    On ``meta`` nothing is allocated."""
    from .config import get_preset
    from .models import CMDAutoencoder, MotionDiT, build_baseline_unet, build_content_unet
    from .space import FrameSpace

    chosen = get_preset(preset)
    space = FrameSpace.for_preset(chosen)  # paper: SD's 4-channel latents, described without the VAE
    text_dim = text_dim or (1024 if space.latent else 384)
    with torch.device(device):
        content = build_content_unet(chosen, space, text_dim)
        autoencoder = CMDAutoencoder.from_preset(chosen, space)
        motion = MotionDiT.from_preset(chosen, space, text_dim=text_dim)
        baseline = build_baseline_unet(chosen, space, text_dim)
    models = PaperScaleModels(preset, content, autoencoder, motion, baseline, space.channels, text_dim,
                              77 if space.latent else 32)
    for m in (models.content_unet, models.autoencoder, models.motion, models.baseline):
        m.eval().requires_grad_(False)
        if dtype is not None:
            m.to(dtype)
    return models


def random_inputs(models: PaperScaleModels, num_frames: int, height: int, width: int, batch: int = 1):
    """Random inputs on the models' device: x̄ (B, C, h, w), z (B, D, L, h'+w'), text, video."""
    ref = next(models.content_unet.parameters())
    opts = dict(device=ref.device, dtype=ref.dtype)
    grid_h, grid_w = models.autoencoder.grid(height, width)
    d = models.autoencoder.config.motion_channels
    return (torch.randn(batch, models.channels, height, width, **opts),
            torch.randn(batch, d, num_frames, grid_h + grid_w, **opts),
            torch.randn(batch, models.text_length, models.text_dim, **opts),
            torch.randn(batch, models.channels, num_frames, height, width, **opts))


def cmd_costs(models: PaperScaleModels, num_frames: int, height: int, width: int, steps: int = 50,
              guidance: bool = True) -> list[StageCost]:
    """Per-video costs of CMD's stages for L×h×w (in the models' space: latents for ``paper``):
    the content UNet and the MotionDiT ``steps`` times each (×2 with guidance), one decode."""
    frame, motion, text, _ = random_inputs(models, num_frames, height, width)
    t = torch.tensor([500], device=frame.device)
    branches = 2 if guidance else 1
    unet = count_flops(lambda: models.content_unet(frame, t, encoder_hidden_states=text))
    dit = count_flops(lambda: models.motion(motion, t, frame, encoder_hidden_states=text))
    decode = count_flops(lambda: models.autoencoder.decode(frame, motion))
    return [StageCost("content UNet", count_parameters(models.content_unet), unet, steps * branches),
            StageCost("motion DiT", count_parameters(models.motion), dit, steps * branches),
            StageCost("autoencoder decode", count_parameters(models.autoencoder), decode, 1)]


def direct_costs(models: PaperScaleModels, num_frames: int, height: int, width: int, steps: int = 50,
                 guidance: bool = True) -> list[StageCost]:
    """Per-video cost of the direct baseline: the video UNet ``steps`` times (×2 with guidance)."""
    _, _, text, video = random_inputs(models, num_frames, height, width)
    t = torch.tensor([500], device=video.device)
    per_call = count_flops(lambda: models.baseline(video, t, encoder_hidden_states=text))
    return [StageCost("video UNet", count_parameters(models.baseline), per_call, steps * (2 if guidance else 1))]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: str | torch.device = "cpu", warmup: int = 1,
              repeats: int = 3) -> dict[str, float]:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs. On CUDA the
    interval is measured with CUDA events around the call (queued work included)."""
    device = torch.device(device)
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize(device)
            times.append(start.elapsed_time(end) / 1000)
        else:
            began = time.perf_counter()
            fn()
            times.append(time.perf_counter() - began)
    return {"median_s": statistics.median(times), "min_s": min(times), "repeats": repeats}


@dataclass
class Measured:
    """One run of a call: what it returned, its wall time and, on CUDA, its peak memory."""

    result: object
    seconds: float
    peak_gb: float | None  # peak CUDA memory allocated during the call; None off CUDA


def measure_once(fn: Callable[[], object], device: str | torch.device = "cpu") -> Measured:
    """Run ``fn()`` once, timing it (synchronised on CUDA) and recording its peak CUDA memory
    above what was allocated before. CPU memory is not measured: torch keeps no CPU allocator
    statistics, so off CUDA ``peak_gb`` is ``None``."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    began = time.perf_counter()
    result = fn()
    _sync(device)
    seconds = time.perf_counter() - began
    peak = (torch.cuda.max_memory_allocated(device) - before) / 1e9 if cuda else None
    return Measured(result, seconds, peak)


def peak_memory(fn: Callable[[], object], device: str | torch.device = "cuda") -> float | None:
    """Run ``fn()`` once; return the peak CUDA memory (GB) it allocated, or ``None`` off CUDA."""
    return measure_once(fn, device).peak_gb
