"""Direct video diffusion: the baseline CMD is measured against.

A direct model denoises all L frames jointly, (B, C, L, H, W) at every step. The kit uses
diffusers' ``UNet3DConditionModel`` — the ModelScope text-to-video architecture (spatial
convolutions and attention with temporal convolutions and attention interleaved) — at the
preset's size; ``paper`` is ModelScope's own configuration (1.4 B parameters), the model of
the paper's efficiency comparison (Table 9).

It trains with the same objective and training loop as the content model
(:func:`~cmdkit.diffusion.diffusion_loss` on clips, caption dropout for guidance) and samples
with the same guided loop (:func:`~cmdkit.diffusion.guided_sample`), so that a comparison with
CMD differs only in what is being denoised.
"""

from __future__ import annotations

import torch
from diffusers import DiffusionPipeline, UNet3DConditionModel

from ..text import encode_prompts
from ..diffusion import guided_sample, unet_denoiser

__all__ = ["BASELINE_SIZES", "build_baseline_unet", "DirectVideoPipeline"]

BASELINE_SIZES: dict[str, dict] = {
    # As the smoke content UNet: attention only at the coarser level, where it is affordable on a CPU.
    "smoke": dict(block_out_channels=(32, 64), layers_per_block=1, attention_head_dim=8, norm_num_groups=8,
                  down_block_types=("DownBlock3D", "CrossAttnDownBlock3D"),
                  up_block_types=("CrossAttnUpBlock3D", "UpBlock3D")),
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


class DirectVideoPipeline(DiffusionPipeline):
    """Prompt → video (B, C, L, H, W) in [-1, 1] by denoising every frame jointly.
    Components: ``unet`` (a ``UNet3DConditionModel``), ``scheduler`` (the training schedule),
    ``text_encoder`` and ``tokenizer``."""

    model_cpu_offload_seq = "text_encoder->unet"

    def __init__(self, unet: UNet3DConditionModel, scheduler, text_encoder, tokenizer):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer)

    def encode_prompt(self, prompts: list[str]) -> torch.Tensor:
        """(B, T, D) token features, on the UNet's device and dtype."""
        return encode_prompts(self.tokenizer, self.text_encoder, prompts).to(self.unet.device, self.unet.dtype)

    @torch.no_grad()
    def __call__(self, prompt: str | list[str], num_frames: int, height: int, width: int,
                 num_inference_steps: int = 25, guidance_scale: float = 3.0,
                 generator: torch.Generator | None = None, progress: bool = True) -> torch.Tensor:
        """Sample clips (B, C, L, H, W) in [-1, 1] with the pipeline's scheduler and classifier-free guidance on the
        text (the empty prompt as the unconditional branch). ``generator`` seeds the noise."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        factor = 2 ** (len(self.unet.config.block_out_channels) - 1)
        if height % factor or width % factor:
            raise ValueError(f"height and width must be multiples of {factor} for this video UNet; "
                             f"got {height}×{width}")
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1; got {num_frames}")
        shape = (len(prompts), self.unet.config.in_channels, num_frames, height, width)
        noise = torch.randn(shape, generator=generator, device="cpu").to(self.unet.device, self.unet.dtype)
        denoiser = unet_denoiser(self.unet, self.encode_prompt(prompts), self.encode_prompt([""]))
        videos = guided_sample(denoiser, self.scheduler, noise, guidance_scale, num_inference_steps, models=[self.unet],
                               progress_bar=self.progress_bar if progress else (lambda steps: steps))
        return videos.float().clamp(-1, 1)
