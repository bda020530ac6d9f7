"""Training FLOPs of every classroom notebook, and the minutes they take at a sustained rate.

    python benchmarks/classroom_flops.py                 # writes benchmarks/classroom-flops-<date>.md
    python benchmarks/classroom_flops.py --tflops 12 40  # the rates to convert at (TFLOP/s sustained)

Each stage's training step is built at its preset size and batch on the ``meta`` device (no
memory, no time) and its forward pass counted by torch's FlopCounterMode; a training step costs
about three forward passes (the backward pass twice the forward). Times follow from a sustained
rate, which only a GPU can measure (``cmdkit device-check`` times the same steps): these are
estimates for planning a class, not measurements.
"""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path

import torch

from cmdkit.config import get_preset
from cmdkit.device_check import _stage_step
from cmdkit.efficiency import count_flops

# Notebook → (the stage whose model it trains, the preset's step key). The direct baseline of
# notebook 06 trains for as long as CMD's video stages did, so its step count is only a cap.
NOTEBOOKS = {
    "01 autoencoder": ("autoencoder", "autoencoder"),
    "02 image prior": ("content", "image_prior"),
    "03 content frames": ("content", "content"),
    "04 motion": ("motion", "motion"),
}


def training_flops(stage: str, preset_name: str = "classroom") -> float:
    """FLOPs of one training step (≈ 3 forward passes) of ``stage`` at the preset's batch."""
    model, loss_fn, batch = _stage_step(stage, get_preset(preset_name), torch.device("meta"))
    model.to("meta")
    return 3.0 * count_flops(lambda: loss_fn(model, batch)).total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tflops", type=float, nargs="+", default=[12.0, 40.0, 150.0],
                        help="sustained TFLOP/s to convert at (default: a T4, an A100, an H100, all assumed)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    preset = get_preset("classroom")
    rates = args.tflops
    date = _dt.date.today().isoformat()
    lines = [f"# Classroom training FLOPs per notebook ({date})", "",
             "Counted on the meta device (forward × 3 per step); minutes at sustained rates that are assumed, "
             "not measured.", "",
             "| notebook | TFLOP per step | batch | steps | PFLOP in all | "
             + " | ".join(f"minutes at {r:g} TFLOP/s" for r in rates) + " |",
             "|:---|---:|---:|---:|---:|" + "---:|" * len(rates)]
    for name, (stage, key) in NOTEBOOKS.items():
        per_step = training_flops(stage)
        steps = preset.steps[key]
        batch = preset.motion.batch_size if stage == "motion" else preset.batch_size
        total = per_step * steps
        minutes = " | ".join(f"{total / (r * 1e12) / 60:,.0f}" for r in rates)
        lines.append(f"| {name} | {per_step / 1e12:.2f} | {batch} | {steps:,} | {total / 1e15:.0f} | {minutes} |")
        print(lines[-1], flush=True)
    per_step = training_flops("baseline")
    lines += ["", "Notebook 01 also trains the plain-average ablation for the first half of its schedule, unless "
              "`ablation=False`: one and a half times its row.", "", f"Notebook 06's direct baseline costs {per_step / 1e12:.1f} TFLOP per step at batch "
              f"{preset.batch_size}: it trains for the seconds CMD's video stages took, whatever that buys."]
    out = args.out / f"classroom-flops-{date}.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
