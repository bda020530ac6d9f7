"""The finished text-to-video pipeline at several guidance scales, scored end to end.

    python benchmarks/guidance_sweep.py runs/demo                          # content guidance 1.5 2 3 4
    python benchmarks/guidance_sweep.py runs/demo --content 2 --motion 1 2 3 5

Loads the ``CMDPipeline`` that notebook 05 saved in a finished smoke run (``make demo``) and
draws the 12 probe prompts with ``--seeds`` seeds each (48 clips by default, 25 + 25 DDIM
steps, as the notebook) for every pair of content and motion guidance scales. Each clip is
scored by the kit's probes, with 95 % intervals:

- colour of the middle frame and direction of motion (notebook 05's two probes);
- shape of the middle frame: does the decoded object look like the named shape;
- streak of the generated content frame: is it stretched along the named motion's axis, as
  the content frames of real clips are (notebook 03's probe).

Results are appended to ``benchmarks/guidance-sweep-<date>.jsonl``; each setting's middle
frames (first 24 clips) are written beside it as PNG.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path

import torch

from cmdkit import CMDPipeline, viz
from cmdkit.metrics import PROBE_PROMPTS, binomial_interval, probe_videos, shape_accuracy, streak_accuracy


def sweep_point(pipe: CMDPipeline, content_guidance: float, motion_guidance: float, seeds: int,
                first_seed: int = 0) -> tuple[dict, torch.Tensor]:
    """Scores of 12 × ``seeds`` clips at one pair of guidance scales, and the clips (N, 3, L, H, W)."""
    prompts = list(PROBE_PROMPTS)
    videos, frames = [], []
    for k in range(seeds):
        out = pipe(prompts, content_guidance=content_guidance, motion_guidance=motion_guidance, output_type="pt",
                   generator=torch.Generator().manual_seed(first_seed + k), progress=False)
        videos.append(out.videos)
        frames.append(out.content_frames)
    videos, frames = torch.cat(videos), torch.cat(frames).clamp(-1, 1)
    captions = prompts * seeds
    middle = videos[:, :, videos.shape[2] // 2]
    # Which autoencoder made the content frames the pipeline learned: uniform start (0) or keyframes.
    row = {"content_guidance": content_guidance, "motion_guidance": motion_guidance, "clips": len(captions),
           "seeds": [first_seed, first_seed + seeds - 1],
           "keyframe_logit": getattr(pipe.autoencoder.config, "keyframe_logit", 0.0)}
    scores = {**probe_videos(videos, captions),  # colour of the middle frame and direction, as notebook 05
              "shape": shape_accuracy(middle, captions), "streak": streak_accuracy(frames, captions)}
    for probe, value in scores.items():
        row[probe] = round(value, 3)
        row[f"{probe}_interval"] = [round(x, 3) for x in binomial_interval(value, len(captions))]
    return row, videos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished smoke run (notebook 05 saved its pipeline)")
    parser.add_argument("--content", type=float, nargs="+", default=[1.5, 2.0, 3.0, 4.0])
    parser.add_argument("--motion", type=float, nargs="+", default=[3.0])
    parser.add_argument("--seeds", type=int, default=4, help="seeds per prompt (12 prompts each)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    saved = args.run_dir / "05_pipeline" / "cmd_pipeline"
    if not saved.is_dir():
        raise SystemExit(f"no saved pipeline at {saved}: run notebooks 01–05 first (make demo)")
    pipe = CMDPipeline.from_pretrained(saved, local_files_only=True)
    log = args.out / f"guidance-sweep-{_dt.date.today().isoformat()}.jsonl"
    for content in args.content:
        for motion in args.motion:
            row, videos = sweep_point(pipe, content, motion, args.seeds, args.first_seed)
            middle = videos[:24, :, videos.shape[2] // 2]
            fig = viz.plot_image_grid([middle[:12], middle[12:24]], col_titles=[p[:26] for p in PROBE_PROMPTS])
            viz.figure_to_png(fig, args.out / f"guidance-sweep-c{content:g}-m{motion:g}.png")
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"content {content:4.1f} motion {motion:4.1f}   " + "   ".join(
                f"{probe} {row[probe]:4.0%} {row[probe + '_interval']}"
                for probe in ("colour", "direction", "shape", "streak")) + f"   (n = {row['clips']})", flush=True)


if __name__ == "__main__":
    main()
