"""The smoke image prior trained one variable at a time, scored by the colour and shape probes.

    python benchmarks/prior_ablation.py                       # the recipe of notebook 02, then its ablations
    python benchmarks/prior_ablation.py --only constant cosine --steps 1200

Each run trains notebook 02's UNet on 4,096 toy stills exactly as the notebook does (v target,
min-SNR, captions dropped 10 % of the time, EMA 0.999, seed 0), changing one thing, then draws
54 samples (18 colour × shape prompts × 3 seeds, guidance 4, 25 DDIM steps) and scores them
with the probes, with 95 % intervals. Results are appended to
``benchmarks/prior-ablation-<date>.jsonl`` and each run's first two rows of samples are written
beside it as PNG. What it measured on a 2-core CPU is in ``docs/teaching.md`` (sweep 3).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path

import torch

from cmdkit import viz
from cmdkit.config import get_preset, in_latent_space
from cmdkit.data import DataSource, captioned_batches
from cmdkit.diffusion import text_unet_loss
from cmdkit.metrics import STILL_PROBE_PROMPTS, binomial_interval, colour_accuracy, shape_accuracy
from cmdkit.models import build_content_unet
from cmdkit.pipeline import ContentFramePipeline
from cmdkit.space import FrameSpace
from cmdkit.text import PromptCache, load_text_encoder

# One change each against the smoke recipe (one-object stills, constant learning rate).
VARIANTS = {
    "constant": {},
    "cosine": {"lr_schedule": "cosine"},
    "pairs": {"still_objects": (1, 2)},
    "batch32": {"batch_size": 32},
    "latent": {"space": "latent"},
    "latent-lr5e-4": {"space": "latent", "learning_rate": 5e-4},
}


def run(name: str, change: dict, steps: int, seed: int = 0) -> dict:
    from cmdkit.train import TrainConfig, train

    preset = get_preset("smoke")
    space = change.get("space", "pixel")
    frames = FrameSpace.create(space)
    if space == "latent":
        preset = in_latent_space(preset)
    source = DataSource.open(None, preset.data.num_frames, preset.data.height, preset.data.width)
    images, captions = source.still_images(4096, seed=seed, num_objects=change.get("still_objects", preset.still_objects))
    tokenizer, text_encoder = load_text_encoder()
    texts = PromptCache(tokenizer, text_encoder)
    torch.manual_seed(seed)
    unet = build_content_unet(preset, frames, cross_attention_dim=texts.dim)
    scheduler, null_text = frames.noise_scheduler(), texts([""])
    config = TrainConfig(steps=steps, learning_rate=change.get("learning_rate", preset.learning_rates["image_prior"]),
                         warmup_steps=min(50, steps // 10), lr_schedule=change.get("lr_schedule", "constant"),
                         ema_decay=0.999, seed=seed, description=f"prior: {name}")
    batches = captioned_batches(frames.encode(images), captions, texts, change.get("batch_size", preset.batch_size),
                                seed=seed)
    result = train(unet, lambda m, b: text_unet_loss(m, scheduler, b["image"], b["text"], null_text,
                                                     condition_dropout=0.1), batches, config)
    prior = ContentFramePipeline(unet=result.ema_model, scheduler=scheduler, text_encoder=text_encoder,
                                 tokenizer=tokenizer, vae=frames.vae)
    prompts = list(STILL_PROBE_PROMPTS)
    draws = [prior(prompts, num_inference_steps=25, guidance_scale=4.0, progress=False,
                   generator=torch.Generator().manual_seed(seed + k)).images for k in range(3)]
    samples, all_prompts = torch.cat(draws), prompts * len(draws)
    row = {"variant": name, "change": change, "steps": result.final_step, "train_s": round(result.seconds),
           "samples": len(all_prompts)}
    for probe, accuracy in (("colour", colour_accuracy), ("shape", shape_accuracy)):
        value = accuracy(samples, all_prompts)
        row[probe] = round(value, 3)
        row[f"{probe}_interval"] = [round(x, 3) for x in binomial_interval(value, len(all_prompts))]
    row["pictures"] = draws[:2]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=get_preset("smoke").steps["image_prior"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / f"prior-ablation-{_dt.date.today().isoformat()}.jsonl"
    for name in args.only:
        row = run(name, VARIANTS[name], args.steps)
        pictures = row.pop("pictures")
        viz.figure_to_png(viz.plot_image_grid(pictures, col_titles=[p.split(" ", 1)[1] for p in STILL_PROBE_PROMPTS]),
                          args.out / f"prior-ablation-{name}-{args.steps}.png")
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{name:14s} {row['steps']:5d} steps {row['train_s']:4d} s   colour {row['colour']:4.0%} "
              f"{row['colour_interval']}   shape {row['shape']:4.0%} {row['shape_interval']}", flush=True)


if __name__ == "__main__":
    main()
