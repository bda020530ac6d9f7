"""The clips shipped in ``data_samples/``: toy-world videos as real mp4 files + a WebVid-style CSV.

They exist so the kit can show the *real* loading path (mp4 on disk → decord → tensors)
with nothing downloaded. ``cmdkit make-samples`` rewrites them from the seed below.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from ..viz import save_mp4
from .toyworld import ToyVideoDataset

__all__ = ["SAMPLES_DIR", "SAMPLE_SETTINGS", "make_samples"]

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "data_samples"
SAMPLE_SETTINGS = dict(count=16, num_frames=24, height=64, width=64, num_objects=(1, 2), seed=2024, fps=8)


def make_samples(out_dir: str | Path = SAMPLES_DIR, count: int = 16, num_frames: int = 24, height: int = 64,
                 width: int = 64, num_objects=(1, 2), seed: int = 2024, fps: int = 8) -> Path:
    """Write ``count`` toy clips as ``videos/clip_NN.mp4`` and ``captions.csv`` (path, caption, label)."""
    out_dir = Path(out_dir)
    (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    world = ToyVideoDataset(count, num_frames, height, width, num_objects, seed)
    rows = []
    for index in range(count):
        item = world[index]
        name = f"videos/clip_{index:02d}.mp4"
        save_mp4(item["video"], out_dir / name, fps=fps)
        rows.append({"path": name, "caption": item["caption"], "label": item["label"]})
    tmp = out_dir / ".captions.csv.tmp"
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "caption", "label"])
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, out_dir / "captions.csv")
    return out_dir
