"""Diffusion, once for every generator of the kit: the noise schedule, the training loss and
the guided sampling loop.

CMD has two generators (the content-frame UNet and the motion DiT) and notebook 06 adds a
third (the direct video UNet). They differ in what they denoise and in how they take their
condition, not in the diffusion around them, so that lives here:

* :func:`build_noise_scheduler` — the training schedule (1000 cosine steps) as a diffusers
  scheduler; pipelines keep it as their ``scheduler`` component and sample with it, so any
  diffusers scheduler made ``from_config`` of it (DDIM, DPM-Solver++, Euler, …) can replace it.
* :func:`diffusion_loss` — noise a clean sample to a random step and regress the target
  (the noise ε, or the velocity v), with condition dropout drawn in one place.
* :func:`guided_sample` — the reverse process with whatever scheduler it is given and
  classifier-free guidance on one doubled batch, ordered ``[conditional; unconditional]``.

A generator plugs in through a **denoiser**: a function ``(x_t, t, drop) → prediction``,
where ``drop`` (B,) bool marks the samples whose condition is replaced by the null one (the
empty prompt for a UNet, a learned null vector for the motion DiT).

**Why v-prediction.** A model that predicts ε recovers the clean sample as
x̂₀ = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t. At the first sampling steps √ᾱ_t is a few hundredths under
the cosine schedule, so the error of ε̂ is multiplied many times; pixels survive because
samplers clip x̂₀ to [-1, 1], but VAE latents and motion latents cannot be clipped. Measured
on the smoke motion model (64 held-out clips, true content frames, 2,000 steps): direction
probe 23 % with ε (chance 25 %), 97 % with v. Predicting v = √ᾱ_t·ε − √(1−ᾱ_t)·x₀ involves
no such division; the kit's models trained from scratch all predict v.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler

__all__ = ["Denoiser", "build_noise_scheduler", "diffusion_target", "diffusion_loss", "combine_guidance",
           "guided_sample", "unet_denoiser", "motion_denoiser", "text_unet_loss", "motion_loss"]

# (x_t (B, …), t (B,) or scalar, drop (B,) bool) → the model's prediction (B, …)
Denoiser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def build_noise_scheduler(prediction_type: str = "v_prediction", clip_sample: bool = False) -> DDIMScheduler:
    """The kit's noise schedule: 1000 steps, cosine betas, as a DDIM scheduler.

    ``prediction_type``: ``"v_prediction"`` (the kit's default, see the module docstring) or
    ``"epsilon"``. ``clip_sample`` clips each step's predicted clean sample to [-1, 1]: right
    for pixels, wrong for latents (see :attr:`cmdkit.space.FrameSpace.clip_sample`).
    ``timestep_spacing="trailing"`` makes a short sampling run start at the last training step,
    pure noise, rather than ~40 steps before it (Lin et al. 2024, "Common Diffusion Noise
    Schedules and Sample Steps are Flawed"). (Stable Diffusion folders bring their own
    scheduler: scaled-linear betas.)
    """
    if prediction_type not in ("epsilon", "v_prediction"):
        raise ValueError(f"prediction_type must be 'epsilon' or 'v_prediction'; got {prediction_type!r}")
    return DDIMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type=prediction_type,
                         clip_sample=clip_sample, timestep_spacing="trailing", set_alpha_to_one=False)


def _alpha_bar(scheduler, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """ᾱ_t for each sample, shaped to broadcast against ``like`` (B, …)."""
    alpha_bar = scheduler.alphas_cumprod.to(like.device)[t].float()
    return alpha_bar.view(-1, *([1] * (like.ndim - 1)))


def diffusion_target(scheduler, sample: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """What the network learns to predict at step ``t``: ε, or v = √ᾱ·ε − √(1−ᾱ)·x₀."""
    if scheduler.config.prediction_type == "epsilon":
        return noise
    if scheduler.config.prediction_type != "v_prediction":
        raise ValueError(f"unsupported prediction_type {scheduler.config.prediction_type!r}")
    alpha_bar = _alpha_bar(scheduler, t, sample)
    return alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * sample


def diffusion_loss(denoiser: Denoiser, scheduler, sample: torch.Tensor, condition_dropout: float = 0.0,
                   snr_gamma: float | None = None, min_timestep: int = 0) -> torch.Tensor:
    """The denoising objective on clean ``sample`` (B, …): images, clips or motion latents.

    Draws a timestep and Gaussian noise per sample, forms x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε, and
    returns the mean squared error of ``denoiser(x_t, t, drop)`` against the scheduler's target.
    With probability ``condition_dropout`` a sample's condition is dropped (``drop`` True): that
    teaches the unconditional prediction classifier-free guidance needs. Randomness comes from
    torch's global RNG, which the training loop seeds per step.

    ``snr_gamma`` weights each sample by min-SNR-γ (Hang et al. 2023): steps whose signal-to-noise
    ratio exceeds γ — nearly clean inputs, where the prediction is easy — count less, so that
    the learning goes to the noisy steps that decide the layout of a sample.

    ``min_timestep`` > 0 draws the timesteps from [min_timestep, T) only: the noisiest steps, for
    ablations that ask what a model learns where a sample's layout is decided.
    """
    steps = scheduler.config.num_train_timesteps
    if not 0 <= min_timestep < steps:
        raise ValueError(f"min_timestep must be in [0, {steps}); got {min_timestep}")
    b = sample.shape[0]
    noise = torch.randn_like(sample)
    t = torch.randint(min_timestep, steps, (b,), device=sample.device)
    noisy = scheduler.add_noise(sample, noise, t)
    drop = torch.rand(b, device=sample.device) < condition_dropout
    prediction = denoiser(noisy, t, drop)
    error = F.mse_loss(prediction.float(), diffusion_target(scheduler, sample, noise, t).float(), reduction="none")
    if snr_gamma is None:
        return error.mean()
    alpha_bar = _alpha_bar(scheduler, t, t)  # (B,)
    snr = alpha_bar / (1 - alpha_bar)
    # Min-SNR for the ε target is min(SNR, γ)/SNR; the v target's error is (SNR + 1)× the ε-equivalent.
    divisor = snr + 1 if scheduler.config.prediction_type == "v_prediction" else snr
    weight = torch.clamp(snr, max=snr_gamma) / divisor
    return (error.mean(dim=tuple(range(1, error.ndim))) * weight).mean()


def combine_guidance(prediction: torch.Tensor, guidance_scale: float) -> torch.Tensor:
    """Classifier-free guidance on a batched ``[conditional; unconditional]`` prediction (2B, …):
    u + s · (c − u). ``s`` = 1 gives the conditional prediction."""
    conditional, unconditional = prediction.chunk(2)
    return unconditional + guidance_scale * (conditional - unconditional)


@torch.no_grad()
def guided_sample(denoiser: Denoiser, scheduler, noise: torch.Tensor, guidance_scale: float = 1.0,
                  num_inference_steps: int = 25, models: Iterable[torch.nn.Module] = (),
                  progress_bar: Callable[[Iterable], Iterable] = lambda steps: steps) -> torch.Tensor:
    """Run the reverse process from ``noise`` (B, …) with ``scheduler`` — any diffusers scheduler
    with ``set_timesteps``/``scale_model_input``/``step`` (DDIM, DPM-Solver++, Euler, …).

    With ``guidance_scale`` ≠ 1 each step calls the denoiser once on the doubled batch
    ``[x; x]`` with ``drop = [False…; True…]``: the first half conditional, the second
    unconditional, combined by :func:`combine_guidance`. ``models`` are put in eval mode while
    sampling (the video UNet has dropout) and returned to the mode they were in.
    """
    if num_inference_steps < 1:
        raise ValueError(f"num_inference_steps must be >= 1; got {num_inference_steps}")
    b = noise.shape[0]
    guided = guidance_scale != 1.0
    drop = torch.arange(2 * b if guided else b, device=noise.device) >= b
    # The schedule stays on the CPU: the scheduler's arithmetic on timesteps (indexing its ᾱ
    # table, comparing with 0) then never waits for the GPU, and the loop queues kernels without a
    # host sync. The denoiser reads the same timesteps from one copy on the device.
    scheduler.set_timesteps(num_inference_steps, device="cpu")
    timesteps = scheduler.timesteps.to(noise.device)
    x = noise * scheduler.init_noise_sigma
    modes = [(m, m.training) for m in models]
    for m, _ in modes:
        m.eval()
    try:
        for i, t in enumerate(progress_bar(scheduler.timesteps)):
            model_input = scheduler.scale_model_input(torch.cat([x, x]) if guided else x, t)
            prediction = denoiser(model_input, timesteps[i], drop)
            if guided:
                prediction = combine_guidance(prediction, guidance_scale)
            x = scheduler.step(prediction, t, x).prev_sample
    finally:
        for m, mode in modes:
            m.train(mode)
    return x



# --- the kit's generators as denoisers ------------------------------------------------


def _tile(tensor: torch.Tensor | None, batch: int) -> torch.Tensor | None:
    """Repeat a per-sample tensor (B, …) along the batch to ``batch`` rows (the guided batch is
    [x; x], so its conditions are the given ones twice)."""
    if tensor is None or tensor.shape[0] == batch:
        return tensor
    return tensor.repeat(batch // tensor.shape[0], *([1] * (tensor.ndim - 1)))


def unet_denoiser(unet: torch.nn.Module, text: torch.Tensor, null_text: torch.Tensor) -> Denoiser:
    """A text-conditional diffusers UNet (2-D content model or 3-D video baseline) as a denoiser.

    ``text`` (B, T, D) are the prompts' token features; a dropped sample reads ``null_text``
    (1, T, D) instead — the empty prompt, as Stable Diffusion's unconditional branch does.
    """
    if null_text.shape[-2:] != text.shape[-2:]:
        raise ValueError(f"the empty prompt's features {tuple(null_text.shape)} do not match the prompts' "
                         f"{tuple(text.shape)}: encode both with the same tokenizer settings")

    def denoise(x: torch.Tensor, t: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
        context = torch.where(drop[:, None, None], null_text.to(text), _tile(text, x.shape[0]))
        return unet(x, t, encoder_hidden_states=context.to(unet.dtype)).sample

    return denoise


def motion_denoiser(model: torch.nn.Module, content_frame: torch.Tensor, text: torch.Tensor | None = None,
                    class_labels: torch.Tensor | None = None) -> Denoiser:
    """The motion DiT as a denoiser of (scaled) motion latents, for content frames x̄ (B, C, H, W)
    and text features (B, T, D) or class labels (B,). A dropped sample keeps its content frame and
    loses only the text/class (the DiT's learned null condition): guidance steers the motion
    towards the caption, never away from the content frame it must fit."""

    def denoise(x: torch.Tensor, t: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        return model(x, t, _tile(content_frame, b), encoder_hidden_states=_tile(text, b),
                     class_labels=_tile(class_labels, b), drop_condition=drop).sample

    return denoise


def text_unet_loss(unet: torch.nn.Module, scheduler, sample: torch.Tensor, text: torch.Tensor,
                   null_text: torch.Tensor, condition_dropout: float = 0.1, snr_gamma: float | None = 5.0,
                   min_timestep: int = 0) -> torch.Tensor:
    """:func:`diffusion_loss` of a text-conditional UNet on images (B, C, H, W) or clips
    (B, C, L, H, W) with their prompts' features (B, T, D); a dropped caption reads the empty
    prompt's features ``null_text`` (1, T, D). Min-SNR-5 weighting by default: on the smoke image
    prior (400 steps, 54 samples) it took the colour probe from 81 % to 89 % and cleared the
    speckled backgrounds."""
    return diffusion_loss(unet_denoiser(unet, text, null_text), scheduler, sample, condition_dropout, snr_gamma,
                          min_timestep)


def motion_loss(model: torch.nn.Module, scheduler, batch: dict, condition_dropout: float = 0.1) -> torch.Tensor:
    """:func:`diffusion_loss` of the motion DiT on a batch of ``motion`` (B, D, L, H'+W'),
    ``content`` (B, C, H, W) and ``text`` (B, T, D) or ``label`` (B,); the motion latents are
    scaled to unit variance first (:meth:`cmdkit.models.MotionDiT.scale_latents`)."""
    denoiser = motion_denoiser(model, batch["content"], batch.get("text"), batch.get("label"))
    return diffusion_loss(denoiser, scheduler, model.scale_latents(batch["motion"]), condition_dropout)
