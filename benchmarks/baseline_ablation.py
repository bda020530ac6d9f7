"""The direct video baseline's recipe at a fixed training time: is notebook 06's comparison fair to it?

    python benchmarks/baseline_ablation.py runs/demo --seconds 233
    python benchmarks/baseline_ablation.py runs/demo --seconds 350 --only from-prior preset

Notebook 06 trains the direct 3-D UNet with the preset's recipe (blocks of 32 and 64 channels,
learning rate 1e-3, batch 8, started from notebook 02's image prior) for as many CPU seconds as
CMD's video stages took, while CMD's stages were each tuned by measurement. ``preset`` here trains
it from scratch, ``from-prior`` as the notebook does. Here the baseline's recipe changes one thing at a time, trains for
the same ``--seconds``, and is scored as notebook 06 scores it: ``--clips`` clips for notebook 06's
single-object captions (DPM-Solver++ 10 steps, guidance 4, 4 clips at a time), FVD-toy against as many held-out real clips,
and the colour and direction probes with 95 % intervals.

The run gives the text encoder (notebook 03's, which the baseline shares with CMD) and the frame
space; the training clips are the toy world's, as notebook 06's. Results are appended to
``benchmarks/baseline-ablation-<date>.jsonl``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import DPMSolverMultistepScheduler, UNet2DConditionModel

from cmdkit.config import Preset, get_preset
from cmdkit.data import DataSource, ToyVideoDataset, captioned_batches
from cmdkit.diffusion import text_unet_loss
from cmdkit.experiment import load_metrics
from cmdkit.metrics import binomial_interval, probe_videos
from cmdkit.metrics.toy_features import toy_fvd, train_toy_classifier
from cmdkit.models import build_baseline_unet, inflate_image_unet
from cmdkit.pipeline import DirectVideoPipeline, draw_in_chunks
from cmdkit.space import FrameSpace
from cmdkit.text import PromptCache, load_text_encoder
from cmdkit.train import TrainConfig, train

# One change at a time against the preset's recipe.
VARIANTS = {
    "preset": {},
    "lr3e-3": {"learning_rate": 3e-3},
    # Half the channels: about a quarter of the compute per step, so four times the steps in the same seconds.
    "half-width": {"unet": {"block_out_channels": (16, 32)}},
    # Spatial layers from notebook 02's image prior, temporal ones zeroed (ModelScope's start from SD).
    "from-prior": {"inflate": True},
}


def _toy_clips(count: int, seed: int, num_frames: int, height: int, width: int):
    world = ToyVideoDataset(length=count, num_frames=num_frames, height=height, width=width, num_objects=1, seed=seed)
    return torch.stack([world[i]["video"] for i in range(count)]), [world[i]["caption"] for i in range(count)]


@dataclass
class Inputs:
    """What every variant shares, loaded once: the run's preset, frame space and text encoder, the
    training clips, and notebook 06's captions and reference clips."""

    preset: Preset
    space: FrameSpace
    tokenizer: object
    text_encoder: object
    texts: PromptCache
    train_clips: torch.Tensor
    train_captions: list[str]
    captions: list[str]
    reference: torch.Tensor
    prior: Path  # notebook 02's image prior UNet

    @classmethod
    def load(cls, run_dir: Path, clips: int, seed: int = 0) -> "Inputs":
        params = load_metrics(run_dir / "06_evaluation").get("params") or {"preset": "smoke"}
        preset = get_preset(params["preset"])
        data = preset.data
        space = FrameSpace.load(run_dir / "01_autoencoder" / "frame_space")
        if space.latent:
            raise SystemExit("this measures pixel-space runs only")
        content_model = run_dir / "03_content_frames" / "content_model"
        tokenizer, text_encoder = load_text_encoder(content_model / "text_encoder", content_model / "tokenizer")
        world = DataSource.open(None, data.num_frames, data.height, data.width).training_clips(seed=seed, length=2048)
        _, captions = _toy_clips(clips, seed + 70_000, data.num_frames, data.height, data.width)  # notebook 06's captions
        reference, _ = _toy_clips(clips, seed + 71_000, data.num_frames, data.height, data.width)  # and its reference clips
        return cls(preset, space, tokenizer, text_encoder, PromptCache(tokenizer, text_encoder),
                   torch.stack([world[i]["video"] for i in range(len(world))]),
                   [world[i]["caption"] for i in range(len(world))], captions, reference,
                   run_dir / "02_image_prior" / "image_prior" / "unet")


def run(name: str, change: dict, inputs: Inputs, seconds: float, classifier, seed: int = 0, chunk: int = 2) -> dict:
    preset, space, texts, data = inputs.preset, inputs.space, inputs.texts, inputs.preset.data
    torch.manual_seed(seed)
    unet = build_baseline_unet(preset, space, cross_attention_dim=texts.dim, **change.get("unet", {}))
    if change.get("inflate"):
        inflate_image_unet(UNet2DConditionModel.from_pretrained(inputs.prior), unet)
    schedule = space.noise_scheduler()
    null_text = texts([""])
    config = TrainConfig(steps=100_000, max_seconds=seconds,
                         learning_rate=change.get("learning_rate", preset.learning_rates["baseline"]),
                         warmup_steps=5, ema_decay=0.999, seed=seed, description=f"direct video UNet: {name}")
    result = train(unet, lambda m, b: text_unet_loss(m, schedule, b["image"], b["text"], null_text),
                   captioned_batches(inputs.train_clips, inputs.train_captions, texts, preset.batch_size, seed=seed),
                   config)
    direct = DirectVideoPipeline(unet=result.ema_model, scheduler=schedule, text_encoder=inputs.text_encoder,
                                 tokenizer=inputs.tokenizer)
    captions, clips = inputs.captions, len(inputs.captions)
    direct.scheduler = DPMSolverMultistepScheduler.from_config(schedule.config)  # notebook 06's sampler
    start = time.perf_counter()
    with torch.no_grad():  # as notebook 06 draws them
        videos = draw_in_chunks(clips, chunk, seed, lambda part, g: direct(
            captions[part], num_frames=data.num_frames, height=data.height, width=data.width, num_inference_steps=10,
            guidance_scale=4.0, generator=g, progress=False).videos)
    sample_s = (time.perf_counter() - start) / clips
    row = {"variant": name, "change": {k: (list(v["block_out_channels"]) if k == "unet" else v) for k, v in change.items()},
           "sampler": f"DPM-Solver++ 10, guidance 4, chunks of {chunk}",
           "seconds": round(result.seconds, 1), "steps": result.final_step, "clips": clips,
           "loss_last": round(sum(result.losses[-5:]) / len(result.losses[-5:]), 4),
           "fvd_toy": round(toy_fvd(inputs.reference, videos, classifier).value, 2), "sample_s_per_clip": round(sample_s, 2)}
    for probe, value in probe_videos(videos, captions).items():
        row[probe] = round(value, 3)
        row[f"{probe}_interval"] = [round(x, 3) for x in binomial_interval(value, clips)]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a pixel-space run in which notebooks 01 and 03 finished")
    parser.add_argument("--seconds", type=float, required=True, help="training time of each variant (CPU seconds)")
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--chunk", type=int, default=2, help="clips drawn at a time (notebook 06: 2)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    data = get_preset("smoke").data
    classifier, _ = train_toy_classifier(data.num_frames, data.height, data.width, steps=300, seed=0, progress=False)
    log = args.out / f"baseline-ablation-{_dt.date.today().isoformat()}.jsonl"
    inputs = Inputs.load(args.run, args.clips)
    for name in args.only:
        row = run(name, VARIANTS[name], inputs, args.seconds, classifier, chunk=args.chunk)
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{name:10s} {row['steps']:5d} steps in {row['seconds']:.0f} s   FVD-toy {row['fvd_toy']:7.2f}   "
              f"colour {row['colour']:4.0%} {row['colour_interval']}   direction {row['direction']:4.0%} "
              f"{row['direction_interval']}   loss {row['loss_last']:.4f}", flush=True)


if __name__ == "__main__":
    main()
