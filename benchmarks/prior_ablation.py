"""The smoke image prior trained one variable at a time, scored by the colour and shape probes.

    python benchmarks/prior_ablation.py                       # the recipe of notebook 02, then its ablations
    python benchmarks/prior_ablation.py --only constant cosine --steps 1200
    python benchmarks/prior_ablation.py --only constant --guidance 2 3 4 --seeds 6 --first-seed 100

Each run trains notebook 02's UNet on 4,096 toy stills exactly as the notebook does (v target,
min-SNR, captions dropped 10 % of the time, EMA 0.999, seed 0), changing one thing, then draws
54 samples (18 colour × shape prompts × 3 seeds, guidance 2 as in the notebook, 25 DDIM steps;
``--guidance 2 3 4 --seeds 6`` for more) and scores them
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

_THREE_LEVELS = dict(block_out_channels=(32, 64, 64),
                     down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                     up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"))

# One change each against the smoke recipe (one-object stills, constant learning rate).
VARIANTS = {
    "constant": {},
    "cosine": {"lr_schedule": "cosine"},
    "pairs": {"still_objects": (1, 2)},
    "first-moment": {"still_moment": 0.0},
    "mid-moment": {"still_moment": 0.5},
    "batch32": {"batch_size": 32},
    "latent": {"space": "latent"},
    "latent-lr5e-4": {"space": "latent", "learning_rate": 5e-4},
    # A third level at 8×8 with attention: global layout (one object, its outline) at almost no
    # cost, since the FLOPs sit in the full-resolution convolutions.
    "three-levels": {"unet": _THREE_LEVELS},
    "three-levels-128": {"unet": {**_THREE_LEVELS, "block_out_channels": (32, 64, 128)}},
    # How many heads share the 64 channels: the recipe's 4 of 16 (since 2026-12-05), the 8 of 8 it
    # had before, or 2 of 32. The CPU's fused attention is several times slower per FLOP on 8-wide heads.
    "heads8": {"unet": {"attention_head_dim": 8}},
    "heads4": {"unet": {"attention_head_dim": 4}},
    "heads2": {"unet": {"attention_head_dim": 2}},
}


def run(name: str, change: dict, steps: int, seed: int = 0) -> dict:
    from cmdkit.train import TrainConfig, train

    preset = get_preset("smoke")
    space = change.get("space", "pixel")
    frames = FrameSpace.create(space)
    if space == "latent":
        preset = in_latent_space(preset)
    source = DataSource.open(None, preset.data.num_frames, preset.data.height, preset.data.width)
    images, captions = source.still_images(4096, seed=seed, num_objects=change.get("still_objects", preset.still_objects),
                                           moment=change.get("still_moment", preset.still_moment))
    tokenizer, text_encoder = load_text_encoder()
    texts = PromptCache(tokenizer, text_encoder)
    torch.manual_seed(seed)
    unet = build_content_unet(preset, frames, cross_attention_dim=texts.dim, **change.get("unet", {}))
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
    return prior, {"variant": name, "change": change, "steps": result.final_step, "train_s": round(result.seconds)}


def score(prior: ContentFramePipeline, guidance: float, seeds: range) -> tuple[dict, list[torch.Tensor]]:
    """The 18 colour × shape prompts drawn once per seed at ``guidance`` (25 DDIM steps), scored by
    both probes with 95 % intervals; also returns the draws, one (18, 3, H, W) batch per seed."""
    prompts = list(STILL_PROBE_PROMPTS)
    draws = [prior(prompts, num_inference_steps=25, guidance_scale=guidance, progress=False,
                   generator=torch.Generator().manual_seed(k)).images for k in seeds]
    samples, all_prompts = torch.cat(draws), prompts * len(draws)
    row = {"guidance": guidance, "seeds": [seeds.start, seeds.stop], "samples": len(all_prompts)}
    for probe, accuracy in (("colour", colour_accuracy), ("shape", shape_accuracy)):
        value = accuracy(samples, all_prompts)
        row[probe] = round(value, 3)
        row[f"{probe}_interval"] = [round(x, 3) for x in binomial_interval(value, len(all_prompts))]
    return row, draws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=get_preset("smoke").steps["image_prior"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--guidance", type=float, nargs="+", default=[2.0],
                        help="score each prior at these guidance scales (notebook 02: 2)")
    parser.add_argument("--seeds", type=int, default=3, help="draws of the 18 prompts per scale (3: 54 samples)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="save each trained prior under OUT/prior-<variant>")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / f"prior-ablation-{_dt.date.today().isoformat()}.jsonl"
    for name in args.only:
        prior, trained = run(name, VARIANTS[name], args.steps)
        if args.keep:
            prior.save_pretrained(args.out / f"prior-{name}")
        for guidance in args.guidance:
            row, draws = score(prior, guidance, range(args.first_seed, args.first_seed + args.seeds))
            row = {**trained, **row}
            viz.figure_to_png(viz.plot_image_grid(draws[:2], col_titles=[p.split(" ", 1)[1] for p in STILL_PROBE_PROMPTS]),
                              args.out / f"prior-ablation-{name}-{args.steps}-g{guidance:g}.png")
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{name:14s} {row['steps']:5d} steps {row['train_s']:4d} s  guidance {guidance:g}  n = {row['samples']}  "
                  f"colour {row['colour']:4.0%} {row['colour_interval']}   shape {row['shape']:4.0%} {row['shape_interval']}",
                  flush=True)


if __name__ == "__main__":
    main()
