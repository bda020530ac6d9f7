"""The one diffusion module: targets, the loss and its condition dropout, guided sampling with
any diffusers scheduler, and the adapters that make the kit's generators denoisers."""

import pytest
import torch
from diffusers import DPMSolverMultistepScheduler, EulerDiscreteScheduler

from cmdkit.diffusion import (build_noise_scheduler, combine_guidance, diffusion_loss, diffusion_target,
                              guided_sample, unet_denoiser)


def test_v_target_recovers_the_clean_sample():
    """v = √ᾱ·ε − √(1−ᾱ)·x₀, so x₀ = √ᾱ·x_t − √(1−ᾱ)·v at every step."""
    scheduler = build_noise_scheduler()
    x0, noise = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    t = torch.tensor([0, 10, 500, 900, 999])
    xt = scheduler.add_noise(x0, noise, t)
    v = diffusion_target(scheduler, x0, noise, t)
    alpha_bar = scheduler.alphas_cumprod[t].view(-1, 1, 1, 1)
    torch.testing.assert_close(alpha_bar.sqrt() * xt - (1 - alpha_bar).sqrt() * v, x0, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(diffusion_target(build_noise_scheduler("epsilon"), x0, noise, t), noise)
    with pytest.raises(ValueError, match="prediction_type must be"):
        build_noise_scheduler("sample")


@pytest.mark.parametrize("p, low, high", [(0.0, 0, 0), (1.0, 400, 400), (0.5, 150, 250)])
def test_condition_dropout_is_drawn_in_the_loss(p, low, high):
    seen = {}

    def denoiser(x, t, drop):
        seen["drop"] = drop
        return torch.zeros_like(x)

    torch.manual_seed(0)
    diffusion_loss(denoiser, build_noise_scheduler(), torch.randn(400, 2), condition_dropout=p)
    assert low <= int(seen["drop"].sum()) <= high


def test_min_timestep_draws_only_the_noisiest_steps():
    seen = []

    def denoiser(x, t, drop):
        seen.append(t)
        return torch.zeros_like(x)

    scheduler = build_noise_scheduler()
    torch.manual_seed(0)
    diffusion_loss(denoiser, scheduler, torch.randn(2000, 2))
    diffusion_loss(denoiser, scheduler, torch.randn(2000, 2), min_timestep=900)
    everywhere, noisiest = seen
    assert everywhere.min() < 100 and everywhere.max() >= 990
    assert noisiest.min() >= 900 and noisiest.max() >= 990
    for bad in (-1, 1000):
        with pytest.raises(ValueError, match=r"min_timestep must be in \[0, 1000\)"):
            diffusion_loss(denoiser, scheduler, torch.randn(4, 2), min_timestep=bad)


def test_a_perfect_denoiser_has_zero_loss():
    """With the true target the loss is 0: the loss regresses exactly what the scheduler asks for."""
    scheduler = build_noise_scheduler()
    x0 = torch.randn(8, 3)

    def oracle(xt, t, drop):  # knows x0, hence the noise, from x_t and t
        alpha_bar = scheduler.alphas_cumprod[t].view(-1, 1)
        noise = (xt - alpha_bar.sqrt() * x0) / (1 - alpha_bar).sqrt()
        return diffusion_target(scheduler, x0, noise, t)

    assert diffusion_loss(oracle, scheduler, x0).item() < 1e-8
    assert diffusion_loss(lambda xt, t, drop: torch.zeros_like(xt), scheduler, x0).item() > 0.1


class _Toy(torch.nn.Module):
    """A denoiser whose conditional and unconditional outputs differ, to check the batch order."""

    def forward(self, x, t, drop):
        assert self.training is False, "sampling runs models in eval mode"
        return torch.where(drop.view(-1, *([1] * (x.ndim - 1))), -0.1 * x, 0.1 * x + 0.05)


def test_guidance_order_and_scale_one_equals_unguided():
    model = _Toy()
    scheduler = build_noise_scheduler()
    noise = torch.randn(3, 2, 4, 4)
    calls = []

    def denoiser(x, t, drop):
        calls.append(drop.clone())
        return model(x, t, drop)

    plain = guided_sample(denoiser, scheduler, noise, 1.0, 5, models=[model])
    assert all(d.tolist() == [False] * 3 for d in calls)  # scale 1: one unguided call per step
    calls.clear()
    guided = guided_sample(denoiser, scheduler, noise, 3.0, 5, models=[model])
    assert all(d.tolist() == [False] * 3 + [True] * 3 for d in calls)  # [conditional; unconditional]
    assert (guided - plain).abs().max() > 1e-3
    assert model.training, "the model's mode is restored"
    prediction = torch.cat([torch.ones(2, 3), torch.zeros(2, 3)])  # conditional 1, unconditional 0
    torch.testing.assert_close(combine_guidance(prediction, 4.0), torch.full((2, 3), 4.0))


@pytest.mark.parametrize("other", [DPMSolverMultistepScheduler, EulerDiscreteScheduler])
def test_any_diffusers_scheduler_samples(other):
    model = _Toy().eval()
    noise = torch.randn(2, 3, 8, 8)
    ddim = build_noise_scheduler()
    swapped = other.from_config(ddim.config)
    a = guided_sample(model, ddim, noise, 2.0, 10)
    b = guided_sample(model, swapped, noise, 2.0, 10)
    assert torch.isfinite(b).all() and b.shape == noise.shape
    assert (a - b).abs().max() > 1e-4, "another scheduler takes another path"


@pytest.mark.parametrize("other", [None, DPMSolverMultistepScheduler, EulerDiscreteScheduler])
def test_the_sampling_loop_never_reads_a_device_tensor_on_the_host(other):
    # On the meta device a tensor has no values, so any host read (.item(), bool(), indexing a
    # CPU table with a device tensor) raises: the loop that passes here queues a GPU's kernels
    # without waiting for them. The denoiser sees its timesteps on the samples' device.
    scheduler = build_noise_scheduler()
    if other is not None:
        scheduler = other.from_config(scheduler.config)
    devices = set()

    def denoiser(x, t, drop):
        devices.update({t.device.type, drop.device.type})
        return torch.zeros_like(x)

    out = guided_sample(denoiser, scheduler, torch.empty(2, 3, 8, 8, device="meta"), 3.0, num_inference_steps=5)
    assert out.device.type == "meta" and out.shape == (2, 3, 8, 8)
    assert devices == {"meta"}


def test_unet_denoiser_reads_the_empty_prompt_where_dropped():
    seen = {}

    class Unet(torch.nn.Module):
        dtype = torch.float32

        def forward(self, x, t, encoder_hidden_states):
            seen["context"] = encoder_hidden_states
            return type("Out", (), {"sample": x})()

    text, null = torch.randn(2, 5, 7), torch.zeros(1, 5, 7)
    denoise = unet_denoiser(Unet(), text, null)
    denoise(torch.randn(4, 3), torch.tensor(1), torch.tensor([False, False, True, True]))
    torch.testing.assert_close(seen["context"][:2], text)
    assert seen["context"][2:].abs().max() == 0
    with pytest.raises(ValueError, match="do not match"):
        unet_denoiser(Unet(), text, torch.zeros(1, 6, 7))


def test_min_snr_weights_the_clean_steps_down():
    """With γ the error of a step is weighted by min(SNR, γ)/(SNR + 1) for the v target: at most
    γ/(γ+1) for nearly clean inputs, ≈ SNR for very noisy ones."""
    scheduler = build_noise_scheduler()
    x0 = torch.randn(256, 3)
    zero = lambda xt, t, drop: torch.zeros_like(xt)  # noqa: E731
    torch.manual_seed(3)
    weighted = diffusion_loss(zero, scheduler, x0, snr_gamma=5.0).item()
    torch.manual_seed(3)  # the same noise and steps, by hand
    noise, t = torch.randn_like(x0), torch.randint(0, 1000, (256,))
    v = diffusion_target(scheduler, x0, noise, t)
    snr = scheduler.alphas_cumprod[t] / (1 - scheduler.alphas_cumprod[t])
    expected = ((v ** 2).mean(dim=1) * snr.clamp(max=5.0) / (snr + 1)).mean().item()
    assert abs(weighted - expected) < 1e-5 * max(1.0, expected)
    torch.manual_seed(3)
    assert diffusion_loss(zero, scheduler, x0).item() > weighted  # weights are below 1
