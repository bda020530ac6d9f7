"""Seconds per training step of the four smoke models at a given number of CPU threads.

    python benchmarks/thread_scaling.py --threads 2
    python benchmarks/thread_scaling.py --threads 1
    python benchmarks/thread_scaling.py --threads 1 --only autoencoder & python benchmarks/thread_scaling.py --threads 1 --only content

Would the demo finish sooner if independent notebooks (01 and 02) ran side by side, one core each?
Only if a model trains more than half as fast on one thread as on two. Each model takes a training
step (forward, backward, AdamW) at its notebook's batch on random inputs, random weights; the
figure is the mean over ``--seconds`` after two warm-up steps. Run two copies at once with
``--threads 1`` to see what sharing the machine costs each.
"""

from __future__ import annotations

import argparse
import time

import torch

from cmdkit.config import get_preset
from cmdkit.efficiency import build_models, random_inputs


def _tensor(output) -> torch.Tensor:
    """A model's output tensor, whether returned bare, in a tuple or as a diffusers output."""
    return output[0] if isinstance(output, (tuple, list)) else getattr(output, "sample", output)


def _loss(output) -> torch.Tensor:
    return _tensor(output).square().mean()  # a stand-in: the cost of a step does not depend on the loss


def step_inputs(models, batch: int, motion_batch: int) -> dict:
    """A closure per model computing a training loss on random inputs of its notebook's shape."""
    length, h, w = get_preset("smoke").data.model_shape
    steps = lambda n: torch.randint(0, 1000, (n,))  # noqa: E731
    frames, _, words, clips = random_inputs(models, length, h, w, batch)
    keyframes, latents, words_m, _ = random_inputs(models, length, h, w, motion_batch)
    t, t_m = steps(batch), steps(motion_batch)
    return {
        "autoencoder": (models.autoencoder, lambda: (_tensor(models.autoencoder(clips)) - clips).square().mean()),
        "content": (models.content_unet, lambda: _loss(models.content_unet(frames, t, encoder_hidden_states=words))),
        "motion": (models.motion, lambda: _loss(models.motion(latents, t_m, keyframes, encoder_hidden_states=words_m))),
        "baseline": (models.baseline, lambda: _loss(models.baseline(clips, t, encoder_hidden_states=words))),
    }


def seconds_per_step(model: torch.nn.Module, loss_fn, seconds: float) -> float:
    model.train().requires_grad_(True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        loss_fn().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(), step()  # warm-up: allocator, kernels chosen
    start, count = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    return (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--only", nargs="+", choices=["autoencoder", "content", "motion", "baseline"],
                        default=["autoencoder", "content", "motion", "baseline"])
    parser.add_argument("--seconds", type=float, default=15.0, help="time each model for this long")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    preset = get_preset("smoke")
    models = build_models("smoke", device="cpu")
    closures = step_inputs(models, preset.batch_size, preset.motion.batch_size)
    for name in args.only:
        model, loss_fn = closures[name]
        print(f"{name:12s} {args.threads} thread(s): {seconds_per_step(model, loss_fn, args.seconds):.3f} s/step",
              flush=True)


if __name__ == "__main__":
    main()
