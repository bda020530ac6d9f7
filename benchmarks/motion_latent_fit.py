"""How well a finished run's motion model generates its autoencoder's motion latents, and which part it misses.

    python benchmarks/motion_latent_fit.py runs/demo

Loads notebooks 01, 03 (its text encoder) and 04 from a pixel-space, text-conditional run on the
toy world, and samples motion latents for notebook 04's 64 held-out one-object clips, given their
true content frames, at the notebook's guidance scale and sampling steps. Prints

- how saturated the true latents are (the share of values with |z| > 0.95, where tanh is flat);
- the sampled latents' error against the true ones, in all, in the still part (z's mean over
  time) and in the moving part (z minus that mean), beside each part's own spread;
- the direction probe on clips decoded from mixes: true still part with sampled moving part and
  the reverse, and the true latent plus Gaussian noise (does the decoder break, or the sampler?).

It explains why a decoder that reconstructs better can make a worse generator: notebook 01,
"A decoder that copies, and what it asks of the motion model".
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from diffusers import DDIMScheduler

from cmdkit.config import get_preset
from cmdkit.data import ToyVideoDataset
from cmdkit.experiment import load_metrics
from cmdkit.metrics import direction_accuracy
from cmdkit.models import CMDAutoencoder, MotionDiT
from cmdkit.pipeline import sample_motion
from cmdkit.text import PromptCache, load_text_encoder


def _rms(x: torch.Tensor) -> float:
    return x.pow(2).mean().sqrt().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder in which notebooks 01, 03 and 04 finished")
    args = parser.parse_args()
    motion_stage = args.run / "04_motion"
    params = load_metrics(motion_stage).get("params")
    if not params or not (motion_stage / "motion_model").exists():
        raise SystemExit(f"{args.run} has no finished 04_motion: run notebooks 01–04 there first")
    if params["space"] != "pixel" or params.get("data") or params["condition"] != "text":
        raise SystemExit("this measures pixel-space, text-conditional runs on the toy world only")

    autoencoder = CMDAutoencoder.from_pretrained(args.run / "01_autoencoder" / "autoencoder").eval()
    motion_model = MotionDiT.from_pretrained(motion_stage / "motion_model").eval()
    scheduler = DDIMScheduler.from_pretrained(motion_stage / "motion_scheduler")  # as notebook 05 loads it
    content_model = args.run / "03_content_frames" / "content_model"
    texts = PromptCache(*load_text_encoder(content_model / "text_encoder", content_model / "tokenizer"))

    data = get_preset(params["preset"]).data
    frames = data.num_frames
    world = ToyVideoDataset(length=64, num_frames=frames, height=data.height, width=data.width, num_objects=1,
                            seed=params["seed"] + 40_000)  # notebook 04's probe clips
    videos = torch.stack([world[i]["video"] for i in range(len(world))])
    captions = [world[i]["caption"] for i in range(len(world))]
    with torch.no_grad():
        encoding = autoencoder.encode(videos)
        z, x_bar = encoding.motion_latent, encoding.content_frame  # (N, D, L, H'+W'), (N, C, H, W)
        sampled = sample_motion(motion_model, scheduler, x_bar, frames, z.shape[-1],
                                encoder_hidden_states=texts(captions), num_inference_steps=params["sampling_steps"],
                                guidance_scale=params["guidance_scale"], generator=torch.Generator().manual_seed(0))

        def still(x):
            return x.mean(dim=2, keepdim=True)

        def direction(latent):
            return direction_accuracy(autoencoder.decode(x_bar, latent), captions)

        print(f"{len(world)} one-object clips, guidance {params['guidance_scale']}, {params['sampling_steps']} steps")
        print(f"true z: {(z.abs() > 0.95).float().mean():.0%} of values at |z| > 0.95; spread (rms) still part "
              f"{_rms(still(z)):.2f}, moving part {_rms(z - still(z)):.2f}")
        print(f"sampled z against true: error (rms) {_rms(sampled - z):.2f} in all, still part "
              f"{_rms(still(sampled) - still(z)):.2f}, moving part {_rms((sampled - still(sampled)) - (z - still(z))):.2f}")
        torch.manual_seed(0)
        rows = {"true z": z, "sampled z": sampled,
                "true still part + sampled moving part": still(z) + sampled - still(sampled),
                "sampled still part + true moving part": still(sampled) + z - still(z),
                "true z + Gaussian noise 0.2": z + 0.2 * torch.randn_like(z)}
        for name, latent in rows.items():
            print(f"direction probe, {name:38s}: {direction(latent):4.0%}")


if __name__ == "__main__":
    main()
