"""CMD and the direct video baseline of a finished run, sampled with DDIM and with DPM-Solver++.

    python benchmarks/direct_sampler.py runs/demo                       # 48 clips, DDIM 20 and DPM-Solver++ 10
    python benchmarks/direct_sampler.py runs/demo --clips 64 --samplers ddim-20 dpm-10 dpm-15

Notebook 06 compares CMD with the direct video UNet it trained for as many seconds as CMD's video
stages. Sampling the direct model is the expensive part of that comparison (every step denoises all
frames, twice with guidance), so the number of clips it can afford depends on the sampler. This
script reloads both models of a run (the pipeline of notebook 05; the baseline's EMA weights from
notebook 06's last checkpoint; notebook 06's toy classifier), draws ``--clips`` clips for notebook 06's
held-out captions with each sampler, and scores them as notebook 06 does: FVD-toy against held-out
real clips, and the colour and direction probes with 95 % intervals, with the seconds per clip.

Rows are appended to ``benchmarks/direct-sampler-<date>.jsonl``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import time
from pathlib import Path

import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

from cmdkit import CMDPipeline
from cmdkit.config import get_preset
from cmdkit.data import ToyVideoDataset
from cmdkit.metrics import binomial_interval, probe_videos
from cmdkit.metrics.toy_features import toy_fvd, train_toy_classifier
from cmdkit.models import build_baseline_unet
from cmdkit.pipeline import DirectVideoPipeline
from cmdkit.space import FrameSpace
from cmdkit.train import load_checkpoint_weights


def sampler(name: str, config) -> tuple[object, int]:
    """``ddim-20`` → (a DDIM scheduler on ``config``'s noise schedule, 20 steps); ``dpm-10`` likewise."""
    kind, steps = name.split("-")
    family = {"ddim": DDIMScheduler, "dpm": DPMSolverMultistepScheduler}[kind]
    return family.from_config(config), int(steps)


def toy_clips(count: int, seed: int, num_frames: int, size: int) -> tuple[torch.Tensor, list[str]]:
    world = ToyVideoDataset(length=count, num_frames=num_frames, height=size, width=size, num_objects=1, seed=seed)
    return torch.stack([world[i]["video"] for i in range(count)]), [world[i]["caption"] for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder holding 05_pipeline and 06_evaluation (e.g. runs/demo)")
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--samplers", nargs="+", default=["ddim-20", "dpm-10"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()

    preset = get_preset("smoke")
    geometry = preset.data
    frames = FrameSpace.create("pixel")
    pipe = CMDPipeline.from_pretrained(args.run / "05_pipeline" / "cmd_pipeline", local_files_only=True)
    unet = build_baseline_unet(preset, frames, cross_attention_dim=pipe.text_encoder.config.hidden_size)
    load_checkpoint_weights(args.run / "06_evaluation" / "baseline_checkpoints", unet, ema=True).eval()
    schedule = frames.noise_scheduler()
    direct = DirectVideoPipeline(unet=unet, scheduler=schedule, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer)
    classifier, _ = train_toy_classifier(geometry.num_frames, geometry.height, geometry.width, seed=args.seed,
                                         checkpoint_dir=args.run / "06_evaluation" / "classifier_checkpoints",
                                         progress=False)
    # Notebook 06's sets: the captions to draw for (seed + 70,000) and the real clips to compare with (+ 71,000).
    _, captions = toy_clips(args.clips, args.seed + 70_000, geometry.num_frames, geometry.height)
    reference, _ = toy_clips(args.clips, args.seed + 71_000, geometry.num_frames, geometry.height)
    kept = pipe.scheduler, pipe.motion_scheduler
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / f"direct-sampler-{_dt.date.today().isoformat()}.jsonl"
    for name in args.samplers:
        generator = lambda: torch.Generator().manual_seed(args.seed)
        content, steps = sampler(name, kept[0].config)
        motion, _ = sampler(name, kept[1].config)
        pipe.scheduler, pipe.motion_scheduler = content, motion
        direct.scheduler, _ = sampler(name, schedule.config)
        draw = {
            "CMD": lambda: pipe(captions, num_frames=geometry.num_frames, content_steps=steps, motion_steps=steps,
                                generator=generator(), output_type="pt", progress=False).videos,
            "direct video UNet": lambda: direct(captions, num_frames=geometry.num_frames, num_inference_steps=steps,
                                                guidance_scale=4.0, generator=generator(), progress=False).videos,
        }
        for model, make in draw.items():
            began = time.perf_counter()
            clips = make()
            seconds = time.perf_counter() - began
            probes = probe_videos(clips, captions)
            row = {"run": str(args.run), "model": model, "sampler": name, "clips": len(captions),
                   "seconds_per_clip": round(seconds / len(captions), 3),
                   "fvd_toy": round(toy_fvd(reference, clips, classifier).value, 3)}
            for probe, value in probes.items():
                row[probe] = round(value, 3)
                row[f"{probe}_interval"] = [round(x, 3) for x in binomial_interval(value, len(captions))]
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{model:18s} {name:8s} n = {len(captions)}  FVD-toy {row['fvd_toy']:6.2f}  "
                  f"colour {row['colour']:4.0%} {row['colour_interval']}  direction {row['direction']:4.0%} "
                  f"{row['direction_interval']}  {row['seconds_per_clip']:.2f} s/clip", flush=True)
    pipe.scheduler, pipe.motion_scheduler = kept


if __name__ == "__main__":
    main()
