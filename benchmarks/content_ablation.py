"""Notebook 03's content fine-tuning, one variable at a time, scored by the colour and streak probes.

    python benchmarks/content_ablation.py runs/demo                  # every variant, about 15 minutes
    python benchmarks/content_ablation.py runs/demo --only recipe steps900

A content frame of a moving object is a streak along its path (notebook 01), so a content model
should draw the object stretched along the axis its caption's motion names. Each run takes
notebook 02's prior and notebook 01's encodings from a finished smoke run (``make demo``),
fine-tunes as notebook 03 does (v target, captions dropped 10 % of the time, EMA 0.999, seed 0),
changing one thing, then draws the 12 probe prompts with 4 seeds (48 samples, 25 DDIM steps) and
scores colour and streak with 95 % intervals. ``before`` scores the prior unchanged. Results are
appended to ``benchmarks/content-ablation-<date>.jsonl``, and each run's samples go beside it as PNG.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path

import torch

from cmdkit import viz
from cmdkit.data import captioned_batches
from cmdkit.diffusion import text_unet_loss
from cmdkit.experiment import start
from cmdkit.metrics import PROBE_PROMPTS, binomial_interval, colour_accuracy, streak_accuracy, streak_axis
from cmdkit.models import CMDAutoencoder
from cmdkit.pipeline import load_content_pipeline
from cmdkit.text import PromptCache
from cmdkit.train import TrainConfig, train

RECIPE = {"steps": 300, "learning_rate": 5e-4, "lr_schedule": "cosine", "batch_size": 8, "guidance": 4.0,
          "one_object_only": False}  # notebook 03 on the smoke preset
VARIANTS = {
    "before": {"steps": 0},
    "recipe": {},
    "lr2e-3": {"learning_rate": 2e-3},
    "constant": {"lr_schedule": "constant"},
    "steps900": {"steps": 900},
    "batch32": {"batch_size": 32},
    "guidance1": {"guidance": 1.0},
    "guidance7": {"guidance": 7.0},
    "one-object": {"one_object_only": True},
}


def run(run_dir: Path, name: str, change: dict, seed: int = 0) -> tuple[dict, torch.Tensor]:
    settings = {**RECIPE, **change}
    exp = start("03_content_frames", preset="smoke", seed=seed, run_dir=str(run_dir))
    autoencoder = CMDAutoencoder.from_pretrained(exp.stage_output("01_autoencoder", "autoencoder")).eval()
    encoded, _ = exp.training_encodings(autoencoder, exp.frame_space(), exp.data_source(), 2048)
    frames, captions = encoded["content_frame"].clamp(-1, 1), encoded["caption"]
    one_object = [i for i, c in enumerate(captions) if " and " not in c]
    row = {"variant": name, "change": change, "real_streak": streak_accuracy(frames[one_object],
                                                                             [captions[i] for i in one_object]),
           "real_clips": len(one_object)}
    if settings["one_object_only"]:
        frames, captions = frames[one_object], [captions[i] for i in one_object]
    pipe = load_content_pipeline(exp.stage_output("02_image_prior", "image_prior"))
    if settings["steps"]:
        texts = PromptCache(pipe.tokenizer, pipe.text_encoder)
        null_text = texts([""])
        config = TrainConfig(steps=settings["steps"], learning_rate=settings["learning_rate"],
                             warmup_steps=min(30, settings["steps"] // 10), lr_schedule=settings["lr_schedule"],
                             ema_decay=0.999, seed=seed, description=f"content: {name}")
        result = train(pipe.unet.train().requires_grad_(True),
                       lambda m, b: text_unet_loss(m, pipe.scheduler, b["image"], b["text"], null_text,
                                                   condition_dropout=0.1),
                       captioned_batches(frames, captions, texts, settings["batch_size"], seed=seed), config)
        pipe.unet = result.ema_model
        row["train_s"] = round(result.seconds)
    prompts = list(PROBE_PROMPTS)
    samples = torch.cat([pipe(prompts, num_inference_steps=25, guidance_scale=settings["guidance"],
                              generator=torch.Generator().manual_seed(seed + k), progress=False).images
                         for k in range(4)])  # (48, 3, H, W)
    probe_captions = prompts * 4
    for probe, accuracy in (("colour", colour_accuracy), ("streak", streak_accuracy)):
        value = accuracy(samples, probe_captions)
        row[probe] = round(value, 3)
        row[f"{probe}_interval"] = [round(x, 3) for x in binomial_interval(value, len(probe_captions))]
    row["round"] = streak_axis(samples).count("round")
    row["samples"] = len(probe_captions)
    return row, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished smoke run (notebooks 01 and 02 at least)")
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    log = args.out / f"content-ablation-{_dt.date.today().isoformat()}.jsonl"
    for name in args.only:
        row, samples = run(args.run_dir, name, VARIANTS[name])
        fig = viz.plot_image_grid([samples[:12], samples[12:24]], col_titles=[p[:26] for p in PROBE_PROMPTS])
        viz.figure_to_png(fig, args.out / f"content-ablation-{name}.png")
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{name:11s} colour {row['colour']:4.0%} {row['colour_interval']}   streak {row['streak']:4.0%} "
              f"{row['streak_interval']}   round {row['round']:2d}/{row['samples']}   "
              f"(real content frames: streak {row['real_streak']:.0%} of {row['real_clips']})", flush=True)


if __name__ == "__main__":
    main()
