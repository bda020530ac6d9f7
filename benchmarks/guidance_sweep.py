"""The finished text-to-video pipeline at several guidance scales, scored end to end.

    python benchmarks/guidance_sweep.py runs/demo                          # content guidance 1.5 2 3 4
    python benchmarks/guidance_sweep.py runs/demo --content 2 --motion 1 2 3 5
    python benchmarks/guidance_sweep.py runs/demo --prompts held-out --seeds 3 --steps 20 --content 4

Loads the ``CMDPipeline`` that notebook 05 saved in a finished smoke run (``make demo``) and
draws the 12 probe prompts with ``--seeds`` seeds each (48 clips by default, 25 + 25 DDIM
steps, as the notebooks did until 12 + 12 were measured to score the same: ``--steps 12``) for
every pair of content and motion guidance scales. With ``--prompts held-out`` it draws instead the
64 held-out captions of notebook 06's ladder (its rung "3 text-to-video" is this at one seed and
12 + 12 steps). ``--sampler dpm`` walks the same schedules with DPM-Solver++. Each clip is scored by the
kit's probes, with 95 % intervals:

- colour of the middle frame and direction of motion (notebook 05's two probes);
- shape of the middle frame: does the decoded object look like the named shape;
- streak of the generated content frame: is it stretched along the named motion's axis, as
  the content frames of real clips are (notebook 03's probe).

and the direction probe's misses are counted by what it saw instead (``still``: the object
did not travel; ``none``: some frame lost it; or another direction). For held-out captions two
properties of the generated content frames are compared between the clips that moved the named
way and those that did not: a second blob beside the object, and an object placed along its
named axis where no real clip's middle frame puts it. Results are appended to
``benchmarks/guidance-sweep-<date>.jsonl``; each setting's middle frames (first 24 clips) are
written beside it as PNG, and for held-out captions the generated content frames above the
first and last frames of 16 clips, each titled with what the direction probe saw.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from collections import Counter
from pathlib import Path

import torch
from diffusers import DPMSolverMultistepScheduler

from cmdkit import CMDPipeline, viz
from cmdkit.config import PRESETS
from cmdkit.data.toyworld import ToyVideoDataset
from cmdkit.metrics import PROBE_PROMPTS, binomial_interval, probe_videos, shape_accuracy, streak_accuracy
from cmdkit.metrics.probes import _largest_blob, _motion_axis, _saturation, caption_direction, motion_direction

# Notebook 06's ladder draws its 64 real clips from the toy world at seed 0 + 70,000, one object each.
HELD_OUT_SEED, HELD_OUT_CLIPS = 70_000, 64


def held_out_captions() -> list[str]:
    """The captions of notebook 06's held-out clips (smoke geometry, seed 0)."""
    data = PRESETS["smoke"].data
    world = ToyVideoDataset(length=HELD_OUT_CLIPS, num_frames=data.num_frames, height=data.height, width=data.width,
                            num_objects=1, seed=HELD_OUT_SEED)
    return [world[i]["caption"] for i in range(len(world))]


def _object_pixels(images: torch.Tensor) -> list[torch.Tensor]:
    """Boolean masks (H, W) of the saturated (object) pixels of images (N, 3, H, W) in [-1, 1]."""
    _, saturation = _saturation(images.clamp(-1, 1))
    return [s > 0.3 for s in saturation]


def _centre_along(mask: torch.Tensor, axis: str) -> float:
    """The object's centre, in pixels, along ``"horizontal"`` or ``"vertical"`` (nan: no object)."""
    ys, xs = torch.nonzero(mask, as_tuple=True)
    along = xs if axis == "horizontal" else ys
    return along.float().mean().item() if len(along) >= 3 else float("nan")


def real_axis_band(clips: int = 600) -> dict[str, tuple[float, float]]:
    """Where real clips' middle frames put the object along its motion's axis: ``{"horizontal":
    (min, max), "vertical": (min, max)}`` in pixels, over ``clips`` one-object toy clips."""
    data = PRESETS["smoke"].data
    world = ToyVideoDataset(length=clips, num_frames=data.num_frames, height=data.height, width=data.width,
                            num_objects=1, seed=123)
    centres = {"horizontal": [], "vertical": []}
    for i in range(len(world)):
        item = world[i]
        axis = _motion_axis(item["caption"])
        centre = _centre_along(_object_pixels(item["video"][:, data.num_frames // 2][None])[0], axis)
        if centre == centre:
            centres[axis].append(centre)
    return {axis: (min(values), max(values)) for axis, values in centres.items()}


def content_frame_checks(frames: torch.Tensor, captions: list[str], seen: list[str],
                         band: dict[str, tuple[float, float]]) -> dict:
    """For the generated content frames (N, 3, H, W): the share with a second blob (the largest
    holds under 90 % of the object pixels) and the share whose object lies along its named axis
    outside ``band`` (:func:`real_axis_band`), among the clips that moved the named way and among
    the rest."""
    groups = {"hits": [], "misses": []}
    for mask, caption, found in zip(_object_pixels(frames), captions, seen):
        if mask.sum() < 3:
            continue
        axis = _motion_axis(caption)
        low, high = band[axis]
        centre = _centre_along(mask, axis)
        second_blob = _largest_blob(mask).sum().item() < 0.9 * mask.sum().item()
        hit = found == caption_direction(caption)
        groups["hits" if hit else "misses"].append((second_blob, not low <= centre <= high))
    return {"clips": {g: len(r) for g, r in groups.items()},
            "second_blob": {g: round(sum(r[0] for r in rows) / max(1, len(rows)), 3) for g, rows in groups.items()},
            "off_axis_band": {g: round(sum(r[1] for r in rows) / max(1, len(rows)), 3) for g, rows in groups.items()},
            "axis_band": {axis: [round(v, 1) for v in span] for axis, span in band.items()}}


def sweep_point(pipe: CMDPipeline, prompts: list[str], content_guidance: float, motion_guidance: float, seeds: int,
                first_seed: int = 0, steps: int = 25) -> tuple[dict, torch.Tensor, torch.Tensor, list[str]]:
    """Scores of len(prompts) × ``seeds`` clips at one pair of guidance scales; the clips
    (N, 3, L, H, W), their content frames (N, 3, H, W) and what the direction probe saw in each."""
    videos, frames = [], []
    for k in range(seeds):
        out = pipe(prompts, content_guidance=content_guidance, motion_guidance=motion_guidance, output_type="pt",
                   content_steps=steps, motion_steps=steps,
                   generator=torch.Generator().manual_seed(first_seed + k), progress=False)
        videos.append(out.videos)
        frames.append(out.content_frames)
    videos, frames = torch.cat(videos), torch.cat(frames).clamp(-1, 1)
    captions = prompts * seeds
    middle = videos[:, :, videos.shape[2] // 2]
    seen = motion_direction(videos)
    # Which autoencoder made the content frames the pipeline learned: uniform start (0) or keyframes.
    row = {"content_guidance": content_guidance, "motion_guidance": motion_guidance, "clips": len(captions),
           "seeds": [first_seed, first_seed + seeds - 1], "steps": steps,
           "keyframe_logit": getattr(pipe.autoencoder.config, "keyframe_logit", 0.0)}
    scores = {**probe_videos(videos, captions),  # colour of the middle frame and direction, as notebook 05
              "shape": shape_accuracy(middle, captions), "streak": streak_accuracy(frames, captions)}
    for probe, value in scores.items():
        row[probe] = round(value, 3)
        row[f"{probe}_interval"] = [round(x, 3) for x in binomial_interval(value, len(captions))]
    row["direction_misses"] = dict(Counter(s for s, c in zip(seen, captions) if s != caption_direction(c)))
    return row, videos, frames, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished smoke run (notebook 05 saved its pipeline)")
    parser.add_argument("--content", type=float, nargs="+", default=[1.5, 2.0, 3.0, 4.0])
    parser.add_argument("--motion", type=float, nargs="+", default=[3.0])
    parser.add_argument("--prompts", choices=["probe", "held-out"], default="probe",
                        help="the 12 probe prompts (notebook 05) or the 64 held-out captions (notebook 06)")
    parser.add_argument("--seeds", type=int, default=4, help="seeds per prompt")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=25, help="sampler steps of each stage (the notebooks: 12)")
    parser.add_argument("--sampler", choices=["ddim", "dpm"], default="ddim",
                        help="the pipeline's DDIM schedulers (as saved), or DPM-Solver++ on the same noise schedules")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    saved = args.run_dir / "05_pipeline" / "cmd_pipeline"
    if not saved.is_dir():
        raise SystemExit(f"no saved pipeline at {saved}: run notebooks 01–05 first (make demo)")
    pipe = CMDPipeline.from_pretrained(saved, local_files_only=True)
    if args.sampler == "dpm":
        pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
        pipe.motion_scheduler = DPMSolverMultistepScheduler.from_config(pipe.motion_scheduler.config)
    log = args.out / f"guidance-sweep-{_dt.date.today().isoformat()}.jsonl"
    held_out = args.prompts == "held-out"
    prompts = held_out_captions() if held_out else list(PROBE_PROMPTS)
    tag = "-held-out" if held_out else ""
    band = real_axis_band() if held_out else None  # the same real clips for every setting
    for content in args.content:
        for motion in args.motion:
            row, videos, frames, seen = sweep_point(pipe, prompts, content, motion, args.seeds, args.first_seed,
                                                    args.steps)
            row = {"run": args.run_dir.name, "prompts": args.prompts, "sampler": args.sampler, **row}
            if held_out:
                row["content_frames"] = content_frame_checks(frames, prompts * args.seeds, seen, band)
            middle = videos[:24, :, videos.shape[2] // 2]
            fig = viz.plot_image_grid([middle[:12], middle[12:24]], col_titles=[p[:26] for p in prompts[:12]])
            viz.figure_to_png(fig, args.out / f"guidance-sweep{tag}-c{content:g}-m{motion:g}.png")
            if held_out:  # what the motion model was given, and what it made of it
                n = 16
                fig = viz.plot_image_grid([frames[:n], videos[:n, :, 0], videos[:n, :, -1]],
                                          row_titles=["content x̄", "first frame", "last frame"],
                                          col_titles=[f"{p.removeprefix('a ').removeprefix('an ')[:20]} → {s}"
                                                      for p, s in zip(prompts[:n], seen[:n])], cell_inches=1.3)
                viz.figure_to_png(fig, args.out / f"guidance-sweep{tag}-c{content:g}-m{motion:g}-frames.png")
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"content {content:4.1f} motion {motion:4.1f}   " + "   ".join(
                f"{probe} {row[probe]:4.0%} {row[probe + '_interval']}"
                for probe in ("colour", "direction", "shape", "streak"))
                + f"   (n = {row['clips']}; direction misses {row['direction_misses']})", flush=True)
            if held_out:
                print(f"   content frames {row['content_frames']}", flush=True)


if __name__ == "__main__":
    main()
