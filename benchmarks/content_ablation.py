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

**Which words does the model read?** Each run also measures the denoising error on 512 real
one-object content frames (fixed noise and timesteps) with their true captions and with one kind
of word changed: the colour (red → blue …), the shape (circle → square …) or the direction turned
by 90° (left → up …), and with the empty prompt. A model that draws what a word says does worse
when the word is wrong; ``word_effect`` gives each change's error relative to the true caption's
(1.000: the model ignores that kind of word), overall and for t ≥ 900, where the layout is decided.

**What a word is worth to a denoiser.** At the noisiest steps the best prediction of a content frame
is the mean of all frames with the same caption. ``caption_information`` (printed first) measures
how much knowing each part of the caption lowers the squared error of that mean — the pooled
within-group variance of the real one-object content frames, grouped by colour, by colour and
shape, by colour and the motion's axis — against knowing nothing. A word whose groups' means do
not differ gives the loss nothing to learn from where the layout is decided.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path

import torch
from diffusers import UNet2DConditionModel

from cmdkit import viz
from cmdkit.data import captioned_batches
from cmdkit.diffusion import diffusion_target, text_unet_loss, unet_denoiser
from cmdkit.experiment import seed_everything, start
from cmdkit.metrics import (PROBE_PROMPTS, binomial_interval, colour_accuracy, shape_accuracy, streak_accuracy,
                            streak_axis)
from cmdkit.models import CMDAutoencoder
from cmdkit.pipeline import load_content_pipeline
from cmdkit.text import PromptCache
from cmdkit.train import TrainConfig, train

RECIPE = {"steps": 300, "learning_rate": 5e-4, "lr_schedule": "cosine", "batch_size": 8, "guidance": 4.0,
          "one_object_only": False, "snr_gamma": 5.0, "min_timestep": 0,
          "pooled_text": False}  # notebook 03 on the smoke preset
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
    # Ways to make the direction words matter, one at a time:
    "steps1200-lr2e-3": {"steps": 1200, "learning_rate": 2e-3, "lr_schedule": "constant"},  # the prior's budget
    "no-min-snr": {"snr_gamma": None},  # plain v loss: full weight on the noisiest steps
    "t700+": {"min_timestep": 700, "snr_gamma": None},  # train on the noisiest 30 % of steps only
    "t900+": {"min_timestep": 900, "snr_gamma": None},  # ... the noisiest 10 %, where the layout is decided
    # The whole prompt, attention-pooled, added to the timestep embedding (diffusers'
    # addition_embed_type="text"), zero-initialised so fine-tuning starts from the prior exactly.
    "pooled-text": {"pooled_text": True},
}

# One kind of word changed at a time (the articles follow: "a orange" is never produced).
WORD_CHANGES = {
    "colour": {"red": "blue", "blue": "green", "green": "yellow", "yellow": "purple", "purple": "orange",
               "orange": "red"},
    "shape": {"circle": "square", "square": "triangle", "triangle": "circle"},
    "direction": {"left": "up", "up": "left", "right": "down", "down": "right"},
}


def change_words(caption: str, table: dict[str, str]) -> str:
    words = [table.get(w, w) for w in caption.split()]
    for i in range(len(words) - 1):  # a/an before the (possibly new) colour
        if words[i] in ("a", "an"):
            words[i] = "an" if words[i + 1][0] in "aeiou" else "a"
    return " ".join(words)


@torch.no_grad()
def word_effect(pipe, texts: PromptCache, frames: torch.Tensor, captions: list[str], seed: int = 0) -> dict:
    """Denoising error with one kind of word changed, relative to the true captions' (see the module docstring)."""
    unet = pipe.unet.eval()
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(frames.shape, generator=generator)
    t = torch.randint(0, pipe.scheduler.config.num_train_timesteps, (len(frames),), generator=generator)
    noisy, target = pipe.scheduler.add_noise(frames, noise, t), diffusion_target(pipe.scheduler, frames, noise, t)
    keep = torch.zeros(len(frames), dtype=torch.bool)
    null_text = texts([""])
    variants = {"true": captions, "empty": [""] * len(captions),
                **{kind: [change_words(c, table) for c in captions] for kind, table in WORD_CHANGES.items()}}
    errors = {}
    for kind, prompts in variants.items():
        features = texts(prompts)
        errors[kind] = torch.cat([
            (unet_denoiser(unet, features[i:i + 64], null_text)(noisy[i:i + 64], t[i:i + 64], keep[i:i + 64])
             - target[i:i + 64]).pow(2).mean(dim=(1, 2, 3)) for i in range(0, len(frames), 64)])
    late = t >= 900
    return {band: {kind: round((errors[kind][mask].mean() / errors["true"][mask].mean()).item(), 3)
                   for kind in variants if kind != "true"}
            for band, mask in (("all", torch.ones_like(late)), ("t>=900", late))}


def caption_information(frames: torch.Tensor, captions: list[str]) -> dict[str, float]:
    """Squared error (per value) of predicting each one-object content frame (N, C, H, W) by the mean
    of the frames whose captions agree on some of colour, shape and axis; the pooled within-group
    variance, so that many small groups are not flattered (divided by N − groups, not N)."""
    def parts(caption: str) -> dict[str, str]:
        words = caption.split()  # "a red circle moves left quickly"
        return {"colour": words[1], "shape": words[2], "axis": "x" if words[4] in ("left", "right") else "y"}

    errors = {}
    for kinds in ((), ("colour",), ("colour", "shape"), ("colour", "axis"), ("colour", "shape", "axis")):
        groups: dict[tuple, list[int]] = {}
        for i, caption in enumerate(captions):
            groups.setdefault(tuple(parts(caption)[k] for k in kinds), []).append(i)
        squares = sum(((frames[g] - frames[g].mean(dim=0)) ** 2).sum() for g in groups.values())
        errors[" + ".join(kinds) or "nothing"] = (squares / ((len(frames) - len(groups)) * frames[0].numel())).item()
    return {name: round(error, 4) for name, error in errors.items()}


def with_pooled_text(unet: UNet2DConditionModel) -> UNet2DConditionModel:
    """The same UNet plus diffusers' pooled-text embedding (addition_embed_type="text"), whose
    output starts at zero (its last LayerNorm's scale and shift are zero)."""
    widened = UNet2DConditionModel.from_config({**unet.config, "addition_embed_type": "text"})
    missing, unexpected = widened.load_state_dict(unet.state_dict(), strict=False)
    if unexpected or any(not name.startswith("add_embedding.") for name in missing):
        raise RuntimeError(f"unexpected weights: {unexpected or missing}")
    torch.nn.init.zeros_(widened.add_embedding.norm2.weight)
    torch.nn.init.zeros_(widened.add_embedding.norm2.bias)
    return widened


def load_run(run_dir: Path):
    """Notebook 03's view of a finished run: its Experiment and the training clips' encodings
    (notebook 01's autoencoder, cached in the run by notebook 03)."""
    exp = start("03_content_frames", preset="smoke", seed=0, run_dir=str(run_dir))
    autoencoder = CMDAutoencoder.from_pretrained(exp.stage_output("01_autoencoder", "autoencoder")).eval()
    encoded, _ = exp.training_encodings(autoencoder, exp.frame_space(), exp.data_source(), 2048)
    return exp, encoded


def run(exp, encoded: dict, name: str, change: dict, seed: int = 0) -> tuple[dict, torch.Tensor]:
    settings = {**RECIPE, **change}
    seed_everything(seed)  # each variant from the same random state, whatever ran before it
    frames, captions = encoded["content_frame"].clamp(-1, 1), encoded["caption"]
    one_object = [i for i, c in enumerate(captions) if " and " not in c]
    row = {"variant": name, "change": change, "real_streak": streak_accuracy(frames[one_object],
                                                                             [captions[i] for i in one_object]),
           "real_clips": len(one_object)}
    if settings["one_object_only"]:
        frames, captions = frames[one_object], [captions[i] for i in one_object]
    pipe = load_content_pipeline(exp.stage_output("02_image_prior", "image_prior"))
    if settings["pooled_text"]:
        pipe.unet = with_pooled_text(pipe.unet)
    texts = PromptCache(pipe.tokenizer, pipe.text_encoder)
    if settings["steps"]:
        null_text = texts([""])
        loss = lambda m, b: text_unet_loss(m, pipe.scheduler, b["image"], b["text"], null_text, condition_dropout=0.1,
                                           snr_gamma=settings["snr_gamma"], min_timestep=settings["min_timestep"])
        config = TrainConfig(steps=settings["steps"], learning_rate=settings["learning_rate"],
                             warmup_steps=min(30, settings["steps"] // 10), lr_schedule=settings["lr_schedule"],
                             ema_decay=0.999, seed=seed, description=f"content: {name}")
        result = train(pipe.unet.train().requires_grad_(True), loss,
                       captioned_batches(frames, captions, texts, settings["batch_size"], seed=seed), config)
        pipe.unet = result.ema_model
        row["train_s"] = round(result.seconds)
    measured = one_object[:512]
    row["word_effect"] = word_effect(pipe, texts, encoded["content_frame"][measured].clamp(-1, 1),
                                     [encoded["caption"][i] for i in measured], seed)
    prompts = list(PROBE_PROMPTS)
    samples = torch.cat([pipe(prompts, num_inference_steps=25, guidance_scale=settings["guidance"],
                              generator=torch.Generator().manual_seed(seed + k), progress=False).images
                         for k in range(4)])  # (48, 3, H, W)
    probe_captions = prompts * 4
    for probe, accuracy in (("colour", colour_accuracy), ("shape", shape_accuracy), ("streak", streak_accuracy)):
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
    exp, encoded = load_run(args.run_dir)
    single = [i for i, c in enumerate(encoded["caption"]) if " and " not in c]
    information = caption_information(encoded["content_frame"][single].clamp(-1, 1),
                                      [encoded["caption"][i] for i in single])
    print(f"error of the best caption-conditional mean on {len(single)} real content frames, knowing: "
          + "; ".join(f"{name} {error:.4f}" for name, error in information.items()), flush=True)
    for name in args.only:
        row, samples = run(exp, encoded, name, VARIANTS[name])
        fig = viz.plot_image_grid([samples[:12], samples[12:24]], col_titles=[p[:26] for p in PROBE_PROMPTS])
        viz.figure_to_png(fig, args.out / f"content-ablation-{name}.png")
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{name:11s} colour {row['colour']:4.0%} {row['colour_interval']}   shape {row['shape']:4.0%} "
              f"{row['shape_interval']}   streak {row['streak']:4.0%} "
              f"{row['streak_interval']}   round {row['round']:2d}/{row['samples']}   "
              f"(real content frames: streak {row['real_streak']:.0%} of {row['real_clips']})", flush=True)
        print(f"{'':11s} error with a word changed / true caption's: " + "; ".join(
            f"{band}: " + " ".join(f"{kind} {ratio:.3f}" for kind, ratio in effects.items())
            for band, effects in row["word_effect"].items()), flush=True)


if __name__ == "__main__":
    main()
