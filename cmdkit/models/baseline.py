"""Direct video diffusion: the baseline CMD is measured against.

A direct model denoises all L frames jointly, (B, C, L, H, W) at every step. The kit uses
diffusers' ``UNet3DConditionModel`` — the ModelScope text-to-video architecture (spatial
convolutions and attention with temporal convolutions and attention interleaved) — at the
preset's size; ``paper`` is ModelScope's own configuration (1.4 B parameters), the model of
the paper's efficiency comparison (Table 9).
"""

from __future__ import annotations

from diffusers import UNet3DConditionModel

__all__ = ["BASELINE_SIZES", "build_baseline_unet"]

BASELINE_SIZES: dict[str, dict] = {
    "smoke": dict(block_out_channels=(32, 64), layers_per_block=1, attention_head_dim=8, norm_num_groups=8,
                  down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
                  up_block_types=("UpBlock3D", "CrossAttnUpBlock3D")),
    "classroom": dict(block_out_channels=(64, 128, 256), layers_per_block=2, attention_head_dim=8,
                      norm_num_groups=32,
                      down_block_types=("CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"),
                      up_block_types=("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D")),
    # damo-vilab/text-to-video-ms-1.7b's UNet (diffusers' defaults are this configuration).
    "paper": dict(block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, attention_head_dim=64,
                  norm_num_groups=32,
                  down_block_types=("CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D",
                                    "DownBlock3D"),
                  up_block_types=("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D")),
}


def build_baseline_unet(preset: str, in_channels: int, cross_attention_dim: int,
                        sample_size: int | None = None) -> UNet3DConditionModel:
    """A text-conditional video UNet of the preset's size for clips of ``in_channels``."""
    if preset not in BASELINE_SIZES:
        raise ValueError(f"preset must be one of {', '.join(map(repr, BASELINE_SIZES))}; got {preset!r}")
    return UNet3DConditionModel(sample_size=sample_size, in_channels=in_channels, out_channels=in_channels,
                                cross_attention_dim=cross_attention_dim, **BASELINE_SIZES[preset])
