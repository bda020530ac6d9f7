"""The CMD autoencoder: a clip ↔ (content frame x̄, motion latent z).

Encoding (Yu et al. 2024, §3.1), for a clip x of shape (B, C, L, H, W) cut into p×p patches
on an H'×W' grid (H' = H/p, W' = W/p):

1. A video transformer (divided space-time attention) turns the clip into features
   h of shape (B, L, H', W', width).
2. **Content frame.** A head maps h to logits per frame, per pixel and per channel (the
   paper) or per pixel shared by the channels (``importance_per_channel=False``, the smoke and
   classroom presets: whole colours are mixed, so hues survive); a softmax over time turns
   them into importance weights w, and

       x̄ = Σ_l w_l ⊙ x_l,      w_l ≥ 0,  Σ_l w_l = 1,

   so every value of x̄ is a convex combination of the same pixel over time: x̄ looks like
   an image, and an image diffusion model can learn to draw it.

   ``keyframe_logit > 0`` (the smoke and classroom presets) adds a fixed logit to the middle
   frame's (index L // 2) at every pixel, so training starts from x̄ ≈ that frame instead of
   the plain mean, and the weights learn where to depart from it. Started from the plain mean,
   the weights learn to keep a moving object at every position it passes (a streak), which puts
   the motion into x̄; an image model fine-tuned on such frames must then learn the streak's
   axis from the caption, and the denoising loss gives that almost nothing to learn from (the
   best caption-conditional mean image is no better for knowing the axis; see
   ``benchmarks/content_ablation.py``). Started from the middle frame, x̄ stays a sharp
   keyframe, the kind of picture an image prior already draws, and the motion latent carries
   the motion — at the same held-out PSNR on the smoke world.
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

The decoder's tokens are p×p patches, each written by its own linear head, so nothing joins a
patch's edge to its neighbour's: with p = 4 the reconstructions show a grid of seams.
``refiner_width > 0`` (the smoke and classroom presets) adds a small per-frame convolution at
full resolution after the transformer. It reads a few extra feature channels that the decoder
writes per pixel, and adds a correction (zero-initialised, so an untrained decoder still
returns x̄).

``copy_radius = R > 0`` (the smoke preset's 10; the paper's decoder has 0) gives the skip the motion that
the paper's decoder must draw. Besides its residual, the decoder writes for every output pixel a
softmax over where in x̄ to copy it from: over the offsets −R…R along its row, then along its column
(:func:`copy_from`). A moving object is then copied from its place in x̄ instead of redrawn from 4×4
patches, and the residual only fills in what was uncovered. On the smoke world with R = 10
(``benchmarks/autoencoder_ablation.py``, seed 0, 64 held-out clips): 27.5 dB against 24.1 dB without
copying at 300 steps, 29.7 at 600, 30.8 at 900, for about 10 % more time a step. A flow sampled
bilinearly (tried first) did not learn to move anything: its gradient sees only a pixel's
neighbours, a softmax's sees every offset. What it asks of the motion model: its motion latent says
where, to the pixel, each moving object is fetched from, so the motion model must see x̄ finely. With
the paper's 8×8 content patches the smoke motion model found the named direction in 78 % of 64 clips;
with 4×4 patches in 98 % (notebook 01, "A decoder that copies, and what it asks of the motion model").

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

from .loading import CheckedLoadingMixin
from .layers import SpaceTimeBlock, init_linears, position_table

__all__ = ["CMDAutoencoder", "CMDEncoding", "CMDAutoencoderOutput", "PixelRefiner", "content_frame", "copy_from",
           "weight_smoothness", "weight_entropy", "reconstruction_loss"]


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


def weight_smoothness(weights: torch.Tensor) -> torch.Tensor:
    """Total variation of the importance weights (B, C, L, H, W): the mean absolute difference
    between vertically and horizontally neighbouring pixels' weights. 0 for uniform weights."""
    return ((weights[..., 1:, :] - weights[..., :-1, :]).abs().mean()
            + (weights[..., 1:] - weights[..., :-1]).abs().mean())


def weight_entropy(weights: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of each pixel's importance weights over time: (B, C, L, H, W) → (B, C, H, W).
    log L for uniform weights (x̄ the plain mean), 0 where one frame takes all the weight."""
    return -(weights * weights.clamp_min(1e-12).log()).sum(dim=2)


def reconstruction_loss(model: "CMDAutoencoder", video: torch.Tensor, smoothness: float = 0.05) -> torch.Tensor:
    """The autoencoder's objective: ‖x̂ − x‖² plus ``smoothness`` × TV(w).

    Without the penalty, a briefly trained encoder *dithers*: neighbouring pixels take
    different frames, interleaving an object's positions in a checkerboard that helps the
    decoder but is nothing like an image — and x̄ must be generated by an image model later.
    A small total-variation penalty on the weights keeps x̄ image-like. On the smoke budget it
    also reconstructs better (held-out PSNR 24.9 dB against 24.4 dB without; x̄'s own total
    variation 0.068 against 0.156 dithered and 0.053 for the plain mean).
    """
    out = model(video)
    loss = torch.nn.functional.mse_loss(out.sample, video)
    return loss + smoothness * weight_smoothness(out.weights) if smoothness else loss


# The copy logits are the output head's values times this scale: a one-hot choice among 2R+1 offsets
# needs logits some ten apart, which a zero-initialised linear head reaches slowly. Measured on the smoke
# world at 300 steps (benchmarks/autoencoder_ablation.py, seed 0): scale 1, 4, 10 → 26.5, 27.5, 26.8 dB.
COPY_LOGIT_SCALE = 4.0
# The logit of offset 0 at the start, in each pass: 73 % of the weight for R = 10, so an untrained
# decoder returns x̄ lightly blurred. Start 2, 4, 6 (scale 1): 24.7, 26.5, 25.8 dB.
COPY_START_LOGIT = 4.0


def copy_from(frame: torch.Tensor, row_logits: torch.Tensor, col_logits: torch.Tensor) -> torch.Tensor:
    """Every pixel of every frame fetched from ``frame`` up to R pixels away, in two 1-D passes.

    Args:
        frame: (B, C, H, W), the image to copy from (x̄).
        row_logits, col_logits: (B, 2R+1, L, H, W): for every pixel of every output frame, logits
            over the offsets −R…R to copy from, along the columns and then along the rows.
    Returns:
        (B, C, L, H, W):

            t[l, y, x]   = Σ_j softmax(col_logits)_j[l, y, x] · frame[y, x + j]
            out[l, y, x] = Σ_i softmax(row_logits)_i[l, y, x] · t[l, y + i, x]

        with edge pixels repeated beyond the border. A one-hot pair of logits moves the frame by
        any (i, j) in the window; two 1-D passes cost 2(2R+1) products a pixel, not (2R+1)².

    Unlike a flow sampled bilinearly, whose gradient sees only a pixel's neighbours, a softmax over
    offsets receives a gradient from every offset in the window, so the decoder can learn to fetch
    an object from ten pixels away.
    """
    r = row_logits.shape[1] // 2
    rows = row_logits.float().softmax(dim=1).permute(0, 2, 3, 4, 1).unsqueeze(1)  # (B, 1, L, H, W, K)
    cols = col_logits.float().softmax(dim=1).permute(0, 2, 3, 4, 1).unsqueeze(1)
    dtype, frame = frame.dtype, frame.float()
    along_row = torch.nn.functional.pad(frame, (r, r, 0, 0), mode="replicate").unfold(3, 2 * r + 1, 1)  # (B, C, H, W, K)
    t = (along_row.unsqueeze(2) * cols).sum(dim=-1)  # (B, C, L, H, W)
    along_col = torch.nn.functional.pad(t, (0, 0, r, r, 0, 0), mode="replicate").unfold(3, 2 * r + 1, 1)
    return (along_col * rows).sum(dim=-1).to(dtype)  # (B, C, L, H, W)


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
        # Set by ModelMixin.enable_gradient_checkpointing(): keep only each block's input for the
        # backward pass and recompute the rest, trading ~30 % more compute for memory.
        self.gradient_checkpointing = False

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        b, l, h, w, d = tokens.shape
        space = position_table((h, w), d, tokens.device, tokens.dtype).view(1, 1, h * w, d)
        time = position_table((l,), d, tokens.device, tokens.dtype).view(1, l, 1, d)
        x = tokens.reshape(b, l, h * w, d) + space + time  # (B, L, N, width)
        for block in self.blocks:
            if self.gradient_checkpointing and torch.is_grad_enabled():
                x = self._gradient_checkpointing_func(block, x)
            else:
                x = block(x)
        return self.norm(x).view(b, l, h, w, d)


class PixelRefiner(nn.Module):
    """Two 3×3 convolutions over each full-resolution frame that join the decoder's patches.

    The decoder writes F extra feature channels per pixel beside its residual; the refiner turns
    them, (B, F, L, H, W), into a correction (B, C, L, H, W) that is added to the sample. Its
    3×3 windows straddle the patch edges, which the per-patch linear head cannot. The last
    convolution starts at zero.

    It reads the features only, never x̄ or the residual. A refiner that sees x̄ can sharpen it
    by itself, so the decoder stops needing a sharp x̄ and the importance weights stay uniform:
    x̄ becomes the plain mean (weight entropy log L where things move; colour probe 66 %), and
    the image prior would learn from that, all for a held-out PSNR of 26.1 dB. Reading the features
    alone, on 300 smoke steps (``benchmarks/autoencoder_ablation.py``, 512 one-object clips):
    PSNR 24.2–24.9 dB (two inits) against 24.5 without a refiner, and x̄ crisp streaks of the
    object's colour: colour probe 100 % and shape probe 77 %, against 95 % and 65 %.
    """

    features = 8  # F: extra channels per pixel that the decoder writes for the refiner

    def __init__(self, channels: int, width: int):
        super().__init__()
        self.layers = nn.Sequential(nn.Conv2d(self.features, width, 3, padding=1), nn.GELU(),
                                    nn.Conv2d(width, channels, 3, padding=1))

    def zero_output(self) -> None:
        nn.init.zeros_(self.layers[-1].weight)
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        frames = features.shape[2]
        x = rearrange(features, "b f l h w -> (b l) f h w")
        return rearrange(self.layers(x), "(b l) c h w -> b c l h w", l=frames)


class CMDAutoencoder(CheckedLoadingMixin, ModelMixin, ConfigMixin):
    """Clip (B, C, L, H, W) ↔ content frame (B, C, H, W) + motion latent (B, D, L, H'+W').

    Args:
        in_channels: C — 3 for pixels, 4 for Stable Diffusion's VAE latents, 32 for TAEF2's.
        width, depth, heads: transformer width, blocks per side (encoder and decoder), heads.
        patch_size: p; H and W must be multiples of it.
        motion_channels: D, channels of the motion latent (8 in the paper).
        mlp_ratio: hidden width of the MLPs relative to ``width``.
        learned_importance: ``False`` replaces the learned weights by the plain mean over
            time (w_l = 1/L) — the ablation of the paper's Table 4b.
        importance_per_channel: ``True`` (the paper): one weight per frame, pixel and channel.
            ``False``: one weight per frame and pixel, shared by the channels, so each pixel of
            x̄ mixes whole colours of the same pixel over time and keeps their hue.
        refiner_width: 0 (the paper): the decoder's patches are the output. Otherwise the hidden
            channels of a two-layer 3×3 convolution over each full-resolution frame that joins
            the patches (:class:`PixelRefiner`).
        keyframe_logit: 0 (the paper): the importance weights start uniform. Otherwise a fixed
            logit added to the middle frame's at every pixel: the weights start at that frame
            (4.0: 89 % of the weight for L = 8, 78 % for L = 16) and x̄ stays a keyframe.
        copy_radius: 0 (the paper): the decoder adds its output to x̄. Otherwise R: it adds it to
            x̄ with every pixel of every frame copied from up to R pixels away, where the decoder
            chooses (:func:`copy_from`). R should cover how far things move from x̄'s frame.
    """

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(self, in_channels: int = 3, width: int = 64, depth: int = 2, heads: int = 4,
                 patch_size: int = 4, motion_channels: int = 8, mlp_ratio: float = 4.0,
                 learned_importance: bool = True, importance_per_channel: bool = True,
                 refiner_width: int = 0, keyframe_logit: float = 0.0, copy_radius: int = 0):
        super().__init__()
        if copy_radius < 0:
            raise ValueError(f"copy_radius must be >= 0; got {copy_radius}")
        if keyframe_logit < 0:
            raise ValueError(f"keyframe_logit must be >= 0; got {keyframe_logit}")
        if width % 4:
            raise ValueError(f"width must be a multiple of 4 (2-D position embeddings); got {width}")
        c, p, d = in_channels, patch_size, width
        # Encoder: frames → tokens → features.
        self.patch_embed = nn.Conv3d(c, d, kernel_size=(1, p, p), stride=(1, p, p))
        self.encoder = _VideoTransformer(d, depth, heads, mlp_ratio)
        # Logits per pixel (and channel, unless shared) of each patch.
        self.importance_head = nn.Linear(d, p * p * (c if importance_per_channel else 1))
        self.motion_rows = nn.Linear(d, motion_channels)  # the 1×1 projections to D channels
        self.motion_cols = nn.Linear(d, motion_channels)
        # Decoder: (x̄, z) → tokens → frames.
        self.content_embed = nn.Conv2d(c, d, kernel_size=p, stride=p)
        self.unmotion_rows = nn.Linear(motion_channels, d)
        self.unmotion_cols = nn.Linear(motion_channels, d)
        self.decoder = _VideoTransformer(d, depth, heads, mlp_ratio)
        # With a refiner, each pixel also carries a few feature channels for it to read.
        features = PixelRefiner.features if refiner_width else 0
        # With copying, each pixel also carries 2(2R+1) logits: where to copy from, in rows and in columns.
        offsets = 2 * (2 * copy_radius + 1) if copy_radius else 0
        self.output_head = nn.Linear(d, p * p * (c + features + offsets))
        self.refiner = PixelRefiner(c, refiner_width) if refiner_width else None
        self._init_weights()

    def _init_weights(self):
        init_linears(self)
        # Uniform importance at the start (x̄ = the plain mean), and a decoder that starts by
        # returning x̄ in every frame: training begins from the mean-frame baseline.
        for head in (self.importance_head, self.output_head):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)
        if self.refiner is not None:
            self.refiner.zero_output()
        if self.config.copy_radius:
            # Start by copying each pixel from itself (offset 0 in rows and in columns).
            r, c = self.config.copy_radius, self.config.in_channels
            features = PixelRefiner.features if self.refiner is not None else 0
            bias = self.output_head.bias.view(self.config.patch_size ** 2, -1)
            with torch.no_grad():
                bias[:, c + features + r] = COPY_START_LOGIT / COPY_LOGIT_SCALE
                bias[:, c + features + 3 * r + 1] = COPY_START_LOGIT / COPY_LOGIT_SCALE

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
        """(B, L, H', W', p·p·C) → (B, C, L, H, W), for any number of channels C."""
        p = self.config.patch_size
        return rearrange(x, "b l h w (p q c) -> b c l (h p) (w q)", p=p, q=p)

    # --- the two halves -----------------------------------------------------------

    def encode(self, video: torch.Tensor) -> CMDEncoding:
        """(B, C, L, H, W) → x̄ (B, C, H, W), z (B, D, L, H'+W'), w (B, C, L, H, W)."""
        self._check_video(video)
        self.grid(*video.shape[-2:])
        tokens = rearrange(self.patch_embed(video), "b d l h w -> b l h w d")  # (B, L, H', W', width)
        features = self.encoder(tokens)  # (B, L, H', W', width)

        logits = self._unpatchify(self.importance_head(features))  # (B, C or 1, L, H, W)
        logits = logits.expand(-1, video.shape[1], -1, -1, -1)  # shared weights: one per pixel for all C
        if not self.config.learned_importance:
            logits = torch.zeros_like(logits)  # softmax of zeros: w_l = 1/L, the plain mean
        elif self.config.keyframe_logit:
            frames = video.shape[2]
            prior = torch.zeros(frames, dtype=logits.dtype, device=logits.device)
            prior[frames // 2] = self.config.keyframe_logit
            logits = logits + prior.view(1, 1, frames, 1, 1)  # the middle frame starts ahead
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
        out = self._unpatchify(self.output_head(self.decoder(tokens)))  # (B, C + features [+ 2(2R+1)], L, H, W)
        c, r = self.config.in_channels, self.config.copy_radius
        refine = PixelRefiner.features if self.refiner is not None else 0
        residual, features = out[:, :c], out[:, c:c + refine]
        # The skip gives the decoder x̄ as a free baseline, but no gradient flows through it:
        # through the skip alone, the loss would pull x̄ towards the plain mean (the L2-best
        # single image; its gradient Σ_l (x̄ − x_l) vanishes at uniform weights), so the
        # importance weights would stay uniform. Without it, they learn from what the decoder
        # can use (on the smoke budget: weight entropy 1.60 nats instead of 2.08 = log 8).
        frame = content_frame.detach()
        if r:  # the skip fetches every pixel from up to R pixels away in x̄ (see copy_from)
            logits = out[:, c + refine:] * COPY_LOGIT_SCALE  # (B, 2(2R+1), L, H, W): rows, then columns
            base = copy_from(frame, logits[:, :2 * r + 1], logits[:, 2 * r + 1:])
        else:
            base = frame.unsqueeze(2)
        sample = base + residual
        if self.refiner is not None:
            sample = sample + self.refiner(features)
        return sample

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
    def from_preset(cls, preset, space=None, **overrides) -> "CMDAutoencoder":
        """The size a :class:`cmdkit.config.Preset` names, for frames of ``space``
        (:class:`cmdkit.space.FrameSpace`; default: the preset's own). ``overrides`` replace
        config entries."""
        from ..space import FrameSpace

        size = preset.autoencoder
        space = space if space is not None else FrameSpace.for_preset(preset)
        return cls(**{"in_channels": space.channels, "width": size.width, "depth": size.depth, "heads": size.heads,
                      "patch_size": size.patch_size, "motion_channels": size.motion_channels,
                      "importance_per_channel": size.importance_per_channel,
                      "refiner_width": size.refiner_width, "keyframe_logit": size.keyframe_logit,
                      "copy_radius": size.copy_radius, **overrides})
