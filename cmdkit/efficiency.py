"""What CMD saves: token counts now; FLOPs, memory and timing helpers build on this.

A transformer's cost grows with its number of tokens (attention quadratically). Direct
video diffusion patchifies every frame: L·H'·W' tokens, where H' = H/p, W' = W/p. CMD
generates one content frame (H'·W' tokens, as an image model does) and a motion latent
with L·(H'+W') entries — one row and one column per frame instead of a whole grid.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TokenCounts", "token_counts"]


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
