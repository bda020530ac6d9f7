"""The smoke autoencoder trained one variable at a time, scored by what later stages need from it.

    python benchmarks/autoencoder_ablation.py      # every variant below, about a minute each
    python benchmarks/autoencoder_ablation.py --only shared+refiner --steps 900
    python benchmarks/autoencoder_ablation.py --steps 800 --stop-at 400   # the first half of 800 steps

Each run trains notebook 01's autoencoder on the toy world exactly as the notebook does
(smoothness 0.05, EMA 0.999, cosine schedule, seed 0), changing one thing, then measures:

- held-out PSNR on notebook 01's 64 clips (the better of raw and EMA weights, as the notebook);
- the colour, shape and streak probes on the content frames of 512 one-object clips: a content
  frame the image prior learns from should carry the object's colour, since notebook 03 fine-tunes
  the prior on content frames and its colour probe reads the generated ones; a keyframe shows the
  object's shape, a streak is stretched along the motion;
- the entropy of the importance weights over time (log L = 2.08: the plain mean; 0: one frame);
- the same colour probe on the clips' plain average, for reference.

Results are appended to ``benchmarks/autoencoder-ablation-<date>.jsonl``; each run's content
frames of eight clips are written beside it as PNG.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path

import torch

from cmdkit import viz
from cmdkit.config import get_preset
from cmdkit.data import DataSource, dataset_batches
from cmdkit.metrics import binomial_interval, colour_accuracy, psnr, shape_accuracy, streak_accuracy
from cmdkit.models import CMDAutoencoder
from cmdkit.models.autoencoder import reconstruction_loss, weight_entropy

# One change at a time, each spelled out in full so that it does not depend on the preset's defaults.
VARIANTS = {
    "per-channel": {"importance_per_channel": True, "refiner_width": 0, "keyframe_logit": 0.0, "copy_radius": 0},  # the paper's
    "shared": {"importance_per_channel": False, "refiner_width": 0, "keyframe_logit": 0.0, "copy_radius": 0},
    "shared+refiner": {"importance_per_channel": False, "refiner_width": 32, "keyframe_logit": 0.0, "copy_radius": 0},
    # The weights start at the middle frame instead of uniform: the smoke preset.
    "shared+refiner+keyframe": {"importance_per_channel": False, "refiner_width": 32, "keyframe_logit": 4.0, "copy_radius": 0},
    # The decoder copies each pixel from x̄ within ±10 pixels (a softmax over offsets) before its residual.
    "shared+refiner+keyframe+copy": {"importance_per_channel": False, "refiner_width": 32, "keyframe_logit": 4.0,
                                     "copy_radius": 10},
    # The paper's Table 4b for the smoke preset's autoencoder: x̄ the plain mean, all else the same.
    "plain-average+copy": {"importance_per_channel": False, "refiner_width": 32, "keyframe_logit": 4.0,
                           "copy_radius": 10, "learned_importance": False},
    # The total-variation weight on the importance weights (the recipe's 0.05): large values make
    # the weights the same at every pixel, so x̄ becomes one weighting of whole frames.
    "smoothness1": {"importance_per_channel": False, "refiner_width": 32, "keyframe_logit": 0.0, "copy_radius": 0, "smoothness": 1.0},
    "smoothness5": {"importance_per_channel": False, "refiner_width": 32, "keyframe_logit": 0.0, "copy_radius": 0, "smoothness": 5.0},
}


@torch.no_grad()
def _best_psnr(result, videos: torch.Tensor) -> tuple[float, CMDAutoencoder]:
    scores = []
    for model in (result.model, result.ema_model):
        model.eval()
        sample = torch.cat([model(videos[i:i + 16]).sample for i in range(0, len(videos), 16)])
        scores.append((psnr(sample, videos).mean().item(), model))
    return max(scores, key=lambda s: s[0])


def run(name: str, change: dict, steps: int, seed: int = 0, stop_at: int | None = None) -> dict:
    from cmdkit.train import TrainConfig, train

    preset = get_preset("smoke")
    data = preset.data
    source = DataSource.open(None, data.num_frames, data.height, data.width)
    held_out = source.held_out_clips(64, seed=seed + 10_000)
    test_videos = torch.stack([held_out[i]["video"] for i in range(len(held_out))])
    torch.manual_seed(seed)
    model_change = dict(change)
    smoothness = model_change.pop("smoothness", 0.05)  # a setting of the loss, not of the model
    model = CMDAutoencoder.from_preset(preset, **model_change)
    config = TrainConfig(steps=steps, learning_rate=preset.learning_rates["autoencoder"],
                         warmup_steps=min(20, steps // 10), lr_schedule="cosine", seed=seed, ema_decay=0.999,
                         stop_at=stop_at, description=f"autoencoder: {name}")
    result = train(model, lambda m, v: reconstruction_loss(m, v, smoothness=smoothness),
                   dataset_batches(source.training_clips(seed=seed), preset.batch_size, seed=seed), config)
    score, best = _best_psnr(result, test_videos)

    singles = source.held_out_clips(512, seed=seed + 20_000, num_objects=1)
    videos = torch.stack([singles[i]["video"] for i in range(len(singles))])
    captions = [singles[i]["caption"] for i in range(len(singles))]
    with torch.no_grad():
        encodings = [best.encode(videos[i:i + 64]) for i in range(0, len(videos), 64)]
    frames = torch.cat([e.content_frame for e in encodings]).clamp(-1, 1)
    entropy = torch.cat([weight_entropy(e.weights) for e in encodings]).mean().item()
    row = {"variant": name, "change": change, "steps": result.final_step, "schedule_steps": steps, "train_s": round(result.seconds),
           "psnr": round(score, 2), "clips": len(captions), "weight_entropy": round(entropy, 3)}
    for probe, images, accuracy in (("colour", frames, colour_accuracy), ("shape", frames, shape_accuracy),
                                    ("streak", frames, streak_accuracy),
                                    ("colour_plain_average", videos.mean(dim=2), colour_accuracy)):
        value = accuracy(images, captions)
        row[probe] = round(value, 3)
        row[f"{probe}_interval"] = [round(x, 3) for x in binomial_interval(value, len(captions))]
    row["pictures"] = ([videos[:8, :, 0], frames[:8], videos[:8].mean(dim=2)], captions[:8])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=get_preset("smoke").steps["autoencoder"])
    parser.add_argument("--stop-at", type=int, default=None,
                        help="end each run after this many steps, on the learning-rate schedule of --steps")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / f"autoencoder-ablation-{_dt.date.today().isoformat()}.jsonl"
    for name in args.only:
        row = run(name, VARIANTS[name], args.steps, stop_at=args.stop_at)
        rows, captions = row.pop("pictures")
        fig = viz.plot_image_grid(rows, row_titles=["first frame", "content x̄", "plain mean"],
                                  col_titles=[c[:28] for c in captions])
        viz.figure_to_png(fig, args.out / f"autoencoder-ablation-{name}-{row['steps']}.png")
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{name:12s} {row['steps']:5d} steps {row['train_s']:4d} s   PSNR {row['psnr']:.2f} dB   "
              f"x̄ colour {row['colour']:4.0%} {row['colour_interval']}   x̄ shape {row['shape']:4.0%}   "
              f"x̄ streak {row['streak']:4.0%}   weight entropy {row['weight_entropy']:.2f}   "
              f"plain-average colour {row['colour_plain_average']:4.0%}", flush=True)


if __name__ == "__main__":
    main()
