"""Where a finished run's autoencoder fails: its reconstruction error by frame and by what moved.

    python benchmarks/autoencoder_errors.py runs/demo

Loads notebook 01's autoencoder from a pixel-space run on the toy world and reconstructs the
notebook's held-out clips (its ``num_clips`` and ``seed``, read from the run, so the mean PSNR is
the notebook's). Prints

- the PSNR of each frame position (squared error pooled over the clips): with keyframe content
  frames (``keyframe_logit > 0``) the middle frame comes back almost exactly and the error grows
  with the distance from it;
- the share of the squared error on the pixels that *moved* — those that differ from the middle
  frame — against their share of all pixels;
- the mean PSNR of one-object and of two-object clips.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from cmdkit.config import get_preset
from cmdkit.data import DataSource
from cmdkit.experiment import load_metrics
from cmdkit.metrics import error_where_moved, psnr, psnr_per_frame
from cmdkit.models import CMDAutoencoder
from cmdkit.space import FrameSpace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder in which notebook 01 finished")
    args = parser.parse_args()
    stage = args.run / "01_autoencoder"
    if not (stage / "autoencoder").exists():
        raise SystemExit(f"{args.run} has no 01_autoencoder/autoencoder: run notebook 01 there first")
    if FrameSpace.load(stage / "frame_space").latent:
        raise SystemExit(f"{args.run} is a latent-space run; this measures pixel-space autoencoders only")
    params = load_metrics(stage)["params"]
    if params.get("data"):
        raise SystemExit(f"{args.run} was trained on {params['data']}; this measures toy-world runs only")
    model = CMDAutoencoder.from_pretrained(stage / "autoencoder").eval()

    data = get_preset(params["preset"]).data
    source = DataSource.open(None, data.num_frames, data.height, data.width)
    held_out = source.held_out_clips(params["num_clips"], seed=params["seed"] + 10_000)  # notebook 01's
    videos = torch.stack([held_out[i]["video"] for i in range(len(held_out))])  # (N, C, L, H, W)
    pairs = torch.tensor([" and " in held_out[i]["caption"] for i in range(len(held_out))])
    with torch.no_grad():
        sample = torch.cat([model(videos[i:i + 16]).sample for i in range(0, len(videos), 16)])

    middle = videos.shape[2] // 2
    per_clip = psnr(sample, videos)
    print(f"{len(videos)} held-out clips: PSNR {per_clip.mean():.2f} dB")
    print("by frame:  " + "  ".join(f"{l}: {v:.1f}" for l, v in enumerate(psnr_per_frame(sample, videos).tolist()))
          + f"   (middle frame: {middle})")
    split = error_where_moved(sample, videos, reference_frame=middle)
    print(f"pixels that differ from the middle frame: {split['moved_fraction']:.1%} of all, "
          f"{split['error_share']:.0%} of the squared error (MSE {split['mse_moved']:.4f} there, "
          f"{split['mse_still']:.4f} elsewhere)")
    for name, chosen in (("one object", ~pairs), ("two objects", pairs)):
        if chosen.any():
            print(f"{name:11s}: {per_clip[chosen].mean():.2f} dB (n = {int(chosen.sum())})")


if __name__ == "__main__":
    main()
