"""The sampling loop shared by the kit's text-conditional UNets (content frames and the
direct video baseline): DDIM from the training schedule, classifier-free guidance batched.

The motion DiT has a loop of its own (:func:`cmdkit.models.motion_dit.sample_motion`),
because its unconditional branch keeps the content frame and drops a learned null vector
instead of switching to the empty prompt.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from diffusers import DDIMScheduler

__all__ = ["guided_ddim"]


@torch.no_grad()
def guided_ddim(unet: torch.nn.Module, scheduler_config, noise: torch.Tensor, text: torch.Tensor,
                empty_text: torch.Tensor | None, guidance_scale: float, num_inference_steps: int,
                progress_bar: Callable[[Iterable], Iterable] = lambda steps: steps) -> torch.Tensor:
    """Denoise ``noise`` — (B, C, H, W) images or (B, C, L, H, W) clips — with DDIM.

    ``text`` (B, T, D) conditions every sample; with ``guidance_scale`` ≠ 1 the prediction is
    ``ε(∅) + s · (ε(text) − ε(∅))``, where ∅ is ``empty_text`` (B, T', D), the features of the
    empty prompt that caption dropout trained. Both branches run in one doubled batch.
    The UNet runs in eval mode (the video UNet has dropout) and is left in the mode it was in.
    """
    if num_inference_steps < 1:
        raise ValueError(f"num_inference_steps must be >= 1; got {num_inference_steps}")
    guided = guidance_scale != 1.0
    if guided and empty_text is None:
        raise ValueError("guidance needs the empty prompt's features (empty_text)")
    context = torch.cat([empty_text, text]) if guided else text
    sampler = DDIMScheduler.from_config(scheduler_config)
    sampler.set_timesteps(num_inference_steps, device=noise.device)
    x = noise * sampler.init_noise_sigma
    was_training = unet.training
    unet.eval()
    try:
        for t in progress_bar(sampler.timesteps):
            model_input = torch.cat([x, x]) if guided else x
            eps = unet(sampler.scale_model_input(model_input, t), t, encoder_hidden_states=context).sample
            if guided:
                uncond, cond = eps.chunk(2)
                eps = uncond + guidance_scale * (cond - uncond)
            x = sampler.step(eps, t, x).prev_sample
    finally:
        unet.train(was_training)
    return x
