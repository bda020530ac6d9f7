"""``cmdkit device-check``: one prepared command for a borrowed GPU, and its CPU rehearsal.

A GPU may be lent for a quarter of an hour, so what runs on it must already be known to run.
This command measures, in this order, and writes what it has after every section (an
interrupted check loses nothing it measured):

1. **the device's matmul peak** (bf16 on CUDA, fp32 on the CPU), the yardstick for the rest;
2. **sampling one video at paper scale** (16×512×1024 = 16×64×128 SD latents, guidance
   batched, random weights): CMD — SD-2.1-base's UNet, MotionDiT-XL/2 and the autoencoder's
   decode — with 50 DDIM steps and with 20 DPM-Solver++ steps, against the ModelScope
   UNet3D with 50 DDIM steps; eager and ``torch.compile``; seconds per video (median after a
   warm-up), peak GB and the fraction of the matmul peak each reaches (FLOPs counted on the
   meta device); Stable Diffusion's image decoder timed apart, as the paper reports it. On CUDA
   the compiled denoisers replay CUDA graphs (``mode="reduce-overhead"``: the loop's shapes are
   static), and the eager loop's host synchronisations are counted (torch's sync debug mode);
3. **a slice of every classroom training stage** (autoencoder, content UNet, motion DiT,
   direct baseline) at the preset's batch: steps per second, peak memory, and the projected
   time of the full stage;
4. **the notebook series** through papermill at reduced steps on the device (``--notebooks``),
   recorded after each notebook.

``--quick`` runs the same code at the smoke size with a few steps: on a CPU in about a minute,
which is how CI keeps the path from rotting between lendings.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

from .bench import device_name, results_stem
from .efficiency import _sync, time_call
from .text import TEXT_ENCODER_ENV

__all__ = ["CheckSettings", "matmul_peak", "time_sampling", "time_training_stage", "estimate_training_memory",
           "run_device_check"]


@dataclass(frozen=True)
class CheckSettings:
    """What one device check runs: full (a GPU, paper and classroom sizes) or quick (smoke size)."""

    device: str
    sampling_preset: str  # the size sampling is timed at
    training_preset: str  # the preset whose training stages are sliced
    steps: int  # DDIM steps per video, CMD and direct
    fast_steps: int  # DPM-Solver++ steps, CMD only
    repeats: int
    train_steps: int  # timed optimizer steps per training stage (after two warm-up steps)
    dtype: torch.dtype
    matmul_size: int
    compile: bool

    @classmethod
    def for_device(cls, device: str, quick: bool, compile: bool | None = None) -> "CheckSettings":
        cuda = device.startswith("cuda")
        if quick:
            return cls(device, "smoke", "smoke", steps=4, fast_steps=2, repeats=2, train_steps=3,
                       dtype=torch.bfloat16 if cuda else torch.float32, matmul_size=512,
                       compile=bool(compile))
        return cls(device, "paper", "classroom", steps=50, fast_steps=20, repeats=3, train_steps=20,
                   dtype=torch.bfloat16 if cuda else torch.float32, matmul_size=8192,
                   compile=cuda if compile is None else compile)

    @property
    def compile_mode(self) -> str:
        """CUDA graphs where a GPU runs them (the sampling loop's shapes are static): one launch
        per denoiser call instead of hundreds of kernels."""
        return "reduce-overhead" if self.device.startswith("cuda") else "default"


def _timed(fn: Callable[[], object], device: torch.device, repeats: int,
           warmup: int = 1) -> tuple[float, float | None]:
    """(median seconds of ``repeats`` calls after ``warmup`` calls, peak GB allocated on CUDA
    during them, the weights included: what must fit on the card)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = time_call(fn, device, warmup=0, repeats=repeats)["median_s"]
    peak = torch.cuda.max_memory_allocated(device) / 1e9 if device.type == "cuda" else None
    return seconds, peak


def count_host_syncs(fn: Callable[[], object]) -> int:
    """How often ``fn`` makes the host wait for the GPU (``.item()``, ``bool()`` of a CUDA tensor,
    a blocking copy to the CPU), counted by torch's CUDA sync debug mode, which warns at each."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
            torch.cuda.synchronize()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def matmul_peak(device: str, dtype: torch.dtype, size: int = 8192, repeats: int = 10) -> float:
    """TFLOP/s of one large square matmul in ``dtype`` on ``device``: the roof the models are
    measured against (2·n³ FLOPs per product)."""
    dev = torch.device(device)
    a = torch.randn(size, size, device=dev, dtype=dtype)
    b = torch.randn(size, size, device=dev, dtype=dtype)
    seconds, _ = _timed(lambda: [a @ b for _ in range(repeats)], dev, repeats=3)
    return 2 * size ** 3 * repeats / seconds / 1e12


# --- sampling ----------------------------------------------------------------------------------


def _sampling_flops(preset: str, steps: int) -> dict[str, float]:
    """FLOPs per guided video (torch's convention, 2 per multiply-add), counted on the meta device."""
    from .config import get_preset
    from .efficiency import build_models, cmd_costs, direct_costs

    models = build_models(preset, device="meta")
    shape = get_preset(preset).data.model_shape

    def total(costs):
        return sum(cost.flops.total for cost in costs)

    return {"CMD": total(cmd_costs(models, *shape, steps, guidance=True)),
            "direct": total(direct_costs(models, *shape, steps, guidance=True))}


def _image_vae(latent: bool):
    """Stable Diffusion's image decoder (its published configuration, random weights), or a small
    one of the same design for the quick check."""
    from diffusers import AutoencoderKL

    blocks = 4 if latent else 2
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4,
        block_out_channels=(128, 256, 512, 512) if latent else (32, 64), layers_per_block=2 if latent else 1,
        norm_num_groups=32, down_block_types=("DownEncoderBlock2D",) * blocks,
        up_block_types=("UpDecoderBlock2D",) * blocks)


@torch.no_grad()
def time_sampling(settings: CheckSettings, compile: bool, echo=print) -> dict:
    """Seconds per guided video for CMD (DDIM and DPM-Solver++) and the direct UNet3D at
    ``settings.sampling_preset``'s size, with the same guided loop the pipelines use."""
    from diffusers import DPMSolverMultistepScheduler

    from .config import get_preset
    from .diffusion import build_noise_scheduler, guided_sample, motion_denoiser, unet_denoiser
    from .efficiency import build_models

    device = torch.device(settings.device)
    preset = get_preset(settings.sampling_preset)
    models = build_models(settings.sampling_preset, device=settings.device,
                          dtype=None if settings.dtype == torch.float32 else settings.dtype)
    length, h, w = preset.data.model_shape
    unet, dit, baseline = models.content_unet, models.motion, models.baseline
    # NHWC for the 2-D UNet's convolutions (tensor cores read it without transposes). Not for the
    # UNet3D: it mixes 2-D and 3-D convolution weights, and no single layout takes both.
    unet = unet.to(memory_format=torch.channels_last)
    if compile:
        unet, dit, baseline = (torch.compile(m, mode=settings.compile_mode) for m in (unet, dit, baseline))
    opts = dict(device=device, dtype=settings.dtype)
    generator = torch.Generator(device="cpu").manual_seed(0)

    def noise(*shape):
        return torch.randn(shape, generator=generator).to(**opts)

    text, null = noise(1, models.text_length, models.text_dim), noise(1, models.text_length, models.text_dim)
    grid_h, grid_w = models.autoencoder.grid(h, w)
    d = models.autoencoder.config.motion_channels

    def cmd(scheduler_class, steps):
        def video():
            frame = guided_sample(unet_denoiser(unet, text, null), scheduler_class.from_config(ddim.config),
                                  noise(1, models.channels, h, w), 4.0, steps)
            motion = guided_sample(motion_denoiser(dit, frame, text), scheduler_class.from_config(ddim.config),
                                   noise(1, d, length, grid_h + grid_w), 3.0, steps)
            return models.autoencoder.decode(frame, motion)
        return video

    def direct():
        return guided_sample(unet_denoiser(baseline, text, null), build_noise_scheduler(),
                             noise(1, models.channels, length, h, w), 4.0, settings.steps)

    ddim = build_noise_scheduler()
    flops = _sampling_flops(settings.sampling_preset, settings.steps)
    fast_flops = _sampling_flops(settings.sampling_preset, settings.fast_steps)["CMD"]
    runs = {f"CMD, DDIM {settings.steps} steps": (cmd(type(ddim), settings.steps), flops["CMD"]),
            f"CMD, DPM-Solver++ {settings.fast_steps} steps": (cmd(DPMSolverMultistepScheduler, settings.fast_steps),
                                                              fast_flops),
            f"direct UNet3D, DDIM {settings.steps} steps": (direct, flops["direct"])}
    result = {"preset": settings.sampling_preset, "shape": [length, h, w], "dtype": str(settings.dtype),
              "compile": compile, "compile_mode": settings.compile_mode if compile else None, "runs": {}}
    for name, (fn, flop_count) in runs.items():
        echo(f"  sampling: {name}{' (compiled)' if compile else ''}…")
        # Compiled: the first call compiles, the second records the CUDA graphs, then replays.
        seconds, peak = _timed(fn, device, settings.repeats, warmup=2 if compile else 1)
        result["runs"][name] = {"seconds": seconds, "peak_gb": peak, "tflop": flop_count / 1e12,
                                "tflop_per_s": flop_count / seconds / 1e12}
        if device.type == "cuda" and not compile:
            result["runs"][name]["host_syncs"] = count_host_syncs(fn)
    cmd_s = result["runs"][f"CMD, DDIM {settings.steps} steps"]["seconds"]
    result["direct_over_cmd"] = result["runs"][f"direct UNet3D, DDIM {settings.steps} steps"]["seconds"] / cmd_s

    latent = preset.data.space == "latent"
    vae = _image_vae(latent).to(device).eval()
    if settings.dtype != torch.float32:
        vae = vae.to(settings.dtype)
    latents = noise(length, 4, h, w) if latent else noise(length, 4, 4, 4)
    echo("  sampling: the image decoder…")
    seconds, peak = _timed(lambda: vae.decode(latents).sample, device, settings.repeats)
    result["image_decoder"] = {"seconds": seconds, "peak_gb": peak, "frames": length,
                               "latent_size": list(latents.shape[-2:])}
    return result


# --- training slices ---------------------------------------------------------------------------


# The preset key of each stage's budget and micro-batch (the content UNet is pretrained as the image prior).
_PRESET_KEY = {"autoencoder": "autoencoder", "content": "image_prior", "motion": "motion", "baseline": "baseline"}


def _stage_step(stage: str, preset, device: torch.device, batch: int | None = None):
    """(model, loss function ``(model, batch) → loss``, batch) for one training stage at its
    preset size (and batch size, unless ``batch`` is given), on random data."""
    import torch.nn.functional as F

    from .diffusion import build_noise_scheduler, motion_loss, text_unet_loss
    from .models import CMDAutoencoder, MotionDiT, build_baseline_unet, build_content_unet
    from .space import FrameSpace

    space = FrameSpace.for_preset(preset)
    length, h, w = preset.data.model_shape
    c, b = space.channels, batch or (preset.motion.batch_size if stage == "motion" else preset.batch_size)
    text_dim, tokens = 384, 32
    scheduler = build_noise_scheduler(clip_sample=space.clip_sample)

    def rand(*shape):
        return torch.randn(shape, device=device)

    text, null = rand(b, tokens, text_dim), rand(1, tokens, text_dim)
    if stage == "autoencoder":
        video = rand(b, c, length, h, w).clamp(-1, 1)
        return (CMDAutoencoder.from_preset(preset, space), lambda m, x: F.mse_loss(m(x).sample, x), video)
    if stage == "content":
        return (build_content_unet(preset, space, text_dim),
                lambda m, x: text_unet_loss(m, scheduler, x["image"], x["text"], null),
                {"image": rand(b, c, h, w), "text": text})
    if stage == "motion":
        p = preset.autoencoder.patch_size
        grid = h // p + w // p  # H' + W' of the autoencoder's token grid
        data = {"motion": rand(b, preset.autoencoder.motion_channels, length, grid), "content": rand(b, c, h, w),
                "text": text}
        return (MotionDiT.from_preset(preset, space, text_dim=text_dim), lambda m, x: motion_loss(m, scheduler, x),
                data)
    if stage == "baseline":
        return (build_baseline_unet(preset, space, text_dim),
                lambda m, x: text_unet_loss(m, scheduler, x["image"], x["text"], null),
                {"image": rand(b, c, length, h, w), "text": text})
    raise ValueError(f"unknown stage {stage!r}")


def _training_step(stage: str, preset, dev: torch.device, dtype: torch.dtype, checkpointing: bool,
                   batch: int | None = None, micro_batch: int | None = None):
    """(one optimizer step as a function, model, batch size) for a stage as the training loop
    runs it: AdamW, autocast in ``dtype`` where it is not fp32, gradient checkpointing if asked,
    gradients accumulated over micro-batches of ``micro_batch``."""
    from .train import split_batch

    model, loss_fn, data = _stage_step(stage, preset, dev, batch)
    model.to(dev).train()
    if checkpointing:
        model.enable_gradient_checkpointing()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    autocast = torch.autocast(dev.type, dtype=dtype, enabled=dtype != torch.float32)
    pieces = split_batch(data, micro_batch)

    def step():
        for piece, share in pieces:
            with autocast:
                loss = loss_fn(model, piece) * share
            loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step, model, len(next(iter(data.values())) if isinstance(data, dict) else data)


def time_training_stage(stage: str, preset_name: str, device: str, steps: int, dtype: torch.dtype,
                        checkpointing: bool = False) -> dict:
    """Optimizer steps per second of one training stage at its preset's batch, peak memory on
    CUDA, and the projected time of the whole stage."""
    from .config import get_preset

    preset = get_preset(preset_name)
    dev = torch.device(device)
    micro = preset.micro_batch.get(_PRESET_KEY[stage])
    step, model, batch = _training_step(stage, preset, dev, dtype, checkpointing, micro_batch=micro)

    for _ in range(2):  # warm-up: kernels chosen, optimizer state allocated
        step()
    _sync(dev)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    began = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(dev)
    per_second = steps / (time.perf_counter() - began)
    full = preset.steps.get(_PRESET_KEY[stage])
    return {"stage": stage, "batch": batch, "micro_batch": micro, "checkpointing": checkpointing,
            "parameters": sum(p.numel() for p in model.parameters()),
            "steps_per_s": per_second,
            "peak_gb": torch.cuda.max_memory_allocated(dev) / 1e9 if dev.type == "cuda" else None,
            "full_steps": full, "projected_minutes": full / per_second / 60 if full else None}


def _peak_rss_gb() -> float:
    """This process's peak resident memory (GB). /proc's VmHWM belongs to the process image;
    getrusage's ru_maxrss would also carry the parent's peak across fork and exec."""
    import resource

    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e6  # kB
    import sys

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1e9 if sys.platform == "darwin" else 1e6)


def _one_step_peak(stage: str, preset_name: str, batch: int, checkpointing: bool) -> float:
    """Peak resident memory (GB) of this process through one fp32 training step on the CPU."""
    from .config import get_preset

    torch.manual_seed(0)
    step, _, _ = _training_step(stage, get_preset(preset_name), torch.device("cpu"), torch.float32, checkpointing,
                                batch)
    step()
    return _peak_rss_gb()


def estimate_training_memory(stage: str, preset_name: str = "classroom", batches: tuple[int, int] = (1, 2),
                             checkpointing: bool = False) -> dict:
    """A stage's peak training memory at its preset's batch (and at its micro-batch, where the
    preset sets one), extrapolated from two small batches measured on the CPU (fp32, one
    process per measurement, peak resident set size).

    Memory grows linearly with the batch (activations) on top of a fixed part (weights,
    gradients, AdamW's two moments, the interpreter): two points give both. fp32 on the CPU is
    an upper bound for bf16/fp16 autocast on a GPU, whose activations are mostly half as wide.
    """
    import subprocess
    import sys

    from .config import get_preset

    preset = get_preset(preset_name)
    full_batch = preset.motion.batch_size if stage == "motion" else preset.batch_size
    micro = preset.micro_batch.get(_PRESET_KEY[stage])
    result = {"stage": stage, "preset": preset_name, "checkpointing": checkpointing, "batch": full_batch,
              "micro_batch": micro, "measured_gb": {}, "per_sample_gb": None, "projected_gb": None,
              "projected_micro_gb": None}
    for batch in batches:
        code = (f"from cmdkit.device_check import _one_step_peak; "
                f"print(_one_step_peak({stage!r}, {preset_name!r}, {batch}, {checkpointing}))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if done.returncode != 0:  # killed for memory, most likely: say so rather than fail the table
            result["failed"] = f"batch {batch}: exit {done.returncode} {done.stderr.strip()[-200:]}"
            return result
        result["measured_gb"][str(batch)] = float(done.stdout.strip().splitlines()[-1])
    peaks = list(result["measured_gb"].values())
    per_sample = (peaks[1] - peaks[0]) / (batches[1] - batches[0])
    result.update(per_sample_gb=per_sample, projected_gb=peaks[0] + per_sample * (full_batch - batches[0]))
    if micro is not None:  # what the preset's micro-batches hold at once
        result["projected_micro_gb"] = peaks[0] + per_sample * (micro - batches[0])
    return result


# --- the report --------------------------------------------------------------------------------


def _fmt(value, spec: str = ".2f", missing: str = "–") -> str:
    return missing if value is None else format(value, spec)


def markdown(report: dict) -> str:
    """The report as the markdown file a reader opens first."""
    s = report["settings"]
    lines = [f"# cmdkit device check — {report['device_name']}", "",
             f"- {report['date']}; torch {report['torch']}; device `{s['device']}`; "
             f"{'quick (smoke size)' if s['quick'] else 'full'}; {report.get('seconds', 0):.0f} s in all",
             f"- matmul peak ({s['dtype']}, {s['matmul_size']}²): **{_fmt(report.get('matmul_tflops'), '.3g')} TFLOP/s**"]
    for sampling in report.get("sampling", []):
        length, h, w = sampling["shape"]
        mode = f"torch.compile ({sampling.get('compile_mode') or 'default'})" if sampling["compile"] else "eager"
        lines += ["", f"## Sampling one video — {sampling['preset']} size, {length}×{h}×{w} in model space, "
                      f"{sampling['dtype']}, {mode}", "",
                  "| sampler | s / video | peak GB | TFLOP / video | TFLOP/s | of matmul peak | host syncs |",
                  "|:---|---:|---:|---:|---:|---:|---:|"]
        for name, r in sampling["runs"].items():
            share = r["tflop_per_s"] / report["matmul_tflops"] if report.get("matmul_tflops") else None
            lines.append(f"| {name} | {r['seconds']:.3g} | {_fmt(r['peak_gb'])} | {r['tflop']:.3g} | "
                         f"{r['tflop_per_s']:.3g} | {_fmt(share, '.0%')} | {_fmt(r.get('host_syncs'), 'd')} |")
        dec = sampling["image_decoder"]
        lines += ["", f"Direct / CMD (DDIM, same steps): **{sampling['direct_over_cmd']:.1f}×**. The image decoder "
                      f"(SD's VAE design, {dec['frames']} frames of {dec['latent_size'][0]}×{dec['latent_size'][1]} "
                      f"latents), apart: {dec['seconds']:.3f} s, peak {_fmt(dec['peak_gb'])} GB."]
        if sampling.get("seconds"):
            lines[-1] += f" The section took {sampling['seconds']:.0f} s{', compiling included' if sampling['compile'] else ''}."
    if report.get("compile_failed"):
        lines += ["", f"Compiled sampling failed: {report['compile_failed']}"]
    if report.get("training"):
        lines += ["", f"## Training slices — {s['training_preset']} preset, {s['train_steps']} timed steps each", "",
                  "| stage | batch | params (M) | checkpointing | steps/s | peak GB | full stage | projected |",
                  "|:---|---:|---:|:---:|---:|---:|---:|---:|"]
        for t in report["training"]:
            lines.append(f"| {t['stage']} | {t['batch']} | {t['parameters'] / 1e6:.1f} | "
                         f"{'yes' if t['checkpointing'] else 'no'} | {t['steps_per_s']:.2f} | "
                         f"{_fmt(t['peak_gb'])} | {_fmt(t['full_steps'], ',')} | "
                         f"{_fmt(t['projected_minutes'], '.1f')} min |")
    if report.get("training_skipped"):
        lines += ["", f"Training slices not run, the budget spent: {', '.join(report['training_skipped'])}."]
    if report.get("notebooks_skipped"):
        lines += ["", f"Notebooks not run: {report['notebooks_skipped']}."]
    if report.get("notebooks"):
        lines += ["", "## Notebooks (papermill, reduced steps)", "",
                  f"Text encoder: {report.get('text_encoder', 'MiniLM')}.", "",
                  "| notebook | ok | seconds |", "|:---|:---:|---:|"]
        for n in report["notebooks"]:
            lines.append(f"| {n['notebook']} | {'yes' if n['ok'] else 'no: ' + n.get('error', '')[:80]} | "
                         f"{n['seconds']:.0f} |")
    lines += ["", "Random weights throughout; guidance batched (both branches in one call). FLOPs in torch's "
                  "convention (2 per multiply-add), counted on the meta device."]
    return "\n".join(lines) + "\n"


# The notebook series at reduced steps needs about this long on a GPU; it runs only if the
# check's time budget still holds that much (the lending is short and its end is hard).
NOTEBOOK_SECONDS = 180


def run_device_check(device: str = "cuda", quick: bool = False, compile: bool | None = None,
                     notebooks: bool | None = None, out: str | Path = "benchmarks", budget_s: float = 480,
                     notebooks_dir: str | Path | None = None, echo=print) -> Path:
    """Run the check and write ``device-check-<device>-<date>.md`` and ``.json`` under ``out``
    after every section; returns the markdown file's path. The notebook series runs last, and
    only while ``budget_s`` leaves it time."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but torch sees no CUDA device")
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()  # casting random-weight models to bf16 is intended here
    settings = CheckSettings.for_device(device, quick, compile)
    notebooks = (device.startswith("cuda") and not quick) if notebooks is None else notebooks
    began = time.time()
    report = {"date": _dt.datetime.now().isoformat(timespec="seconds"), "torch": torch.__version__,
              "device_name": device_name(device),
              "settings": {"device": device, "quick": quick, "dtype": str(settings.dtype),
                           "matmul_size": settings.matmul_size, "sampling_preset": settings.sampling_preset,
                           "training_preset": settings.training_preset, "steps": settings.steps,
                           "fast_steps": settings.fast_steps, "train_steps": settings.train_steps}}
    stem = results_stem(out, "device-check", report["device_name"], report["date"])

    def save():
        report["seconds"] = round(time.time() - began, 1)
        stem.with_suffix(".json").write_text(json.dumps(report, indent=1))
        stem.with_suffix(".md").write_text(markdown(report))

    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    echo(f"device check on {report['device_name']}: matmul peak…")
    report["matmul_tflops"] = matmul_peak(device, settings.dtype, settings.matmul_size)
    save()
    report["sampling"] = []
    for compiled in ([False, True] if settings.compile else [False]):
        section_began = time.time()
        try:
            report["sampling"].append(time_sampling(settings, compiled, echo))
            report["sampling"][-1]["seconds"] = round(time.time() - section_began, 1)  # compiling included
        except Exception as err:  # a compiler failure must not cost the rest of a short lending
            if not compiled:
                raise
            report["compile_failed"] = f"{type(err).__name__}: {str(err)[:300]}"
            echo(f"  compiled sampling failed: {report['compile_failed']}")
        save()
    report["training"] = []
    for stage in ("autoencoder", "content", "motion", "baseline"):
        if time.time() - began > budget_s:  # a lending's end is hard: keep what was measured
            report.setdefault("training_skipped", []).append(stage)
            echo(f"  training slice: {stage} not run, the budget is spent")
            continue
        echo(f"  training slice: {stage} ({settings.training_preset})…")
        stage_began = time.time()
        try:
            result = time_training_stage(stage, settings.training_preset, device, settings.train_steps, settings.dtype)
        except torch.cuda.OutOfMemoryError:  # then with gradient checkpointing, and say so
            torch.cuda.empty_cache()
            result = time_training_stage(stage, settings.training_preset, device, settings.train_steps,
                                         settings.dtype, checkpointing=True)
            result["note"] = "out of memory without gradient checkpointing"
        result["seconds"] = round(time.time() - stage_began, 1)  # building, warm-up and timed steps
        report["training"].append(result)
        save()
    save()
    if notebooks:
        left = budget_s - (time.time() - began)
        if left >= NOTEBOOK_SECONDS:
            run_dir = Path(notebooks_dir) if notebooks_dir else stem.with_name(f"{stem.name}-notebooks")
            report["text_encoder"] = os.environ.get(TEXT_ENCODER_ENV) or "MiniLM (the package's weights)"
            report["notebooks"] = []
            for result in _run_notebooks(run_dir, settings, echo, deadline=began + budget_s):
                report["notebooks"].append(result)
                save()  # a lending that ends mid-series keeps the notebooks that ran
        else:
            report["notebooks_skipped"] = f"{left:.0f} s of the {budget_s:.0f} s budget left, fewer than {NOTEBOOK_SECONDS}"
            echo(f"  notebooks skipped: {report['notebooks_skipped']}")
        save()
    echo(markdown(report))
    return stem.with_suffix(".md")


def _run_notebooks(run_dir: Path, settings: CheckSettings, echo, deadline: float | None = None) -> Iterator[dict]:
    """The series on the training preset at reduced steps, one notebook at a time (a failure does
    not stop the rest); the notebooks pick the device up. No notebook starts after ``deadline``
    (a ``time.time()``): those are reported as not run, so the check ends inside its budget."""
    from .runner import check_parameters, list_notebooks, run_notebook

    params = {"preset": settings.training_preset, "seed": 0, "train_steps": 50, "baseline_steps": 20,
              "compare_clips": 8, "sampling_steps": 10, "content_steps": 10, "motion_steps": 10}
    notebooks = list_notebooks()
    check_parameters(notebooks, params)
    echo(f"  notebooks: the series on {settings.training_preset!r} at reduced steps…")
    for notebook in notebooks:
        if deadline is not None and time.time() > deadline:
            echo(f"  {notebook.stem}: not run, the budget is spent")
            yield {"notebook": notebook.stem, "ok": False, "seconds": 0.0, "error": "not run: the budget is spent"}
            continue
        r = run_notebook(notebook, run_dir, params)
        echo(f"  {r.notebook}: {r.status} in {r.seconds:.0f} s" + (f" ({r.error})" if r.error else ""))
        yield {"notebook": r.notebook, "ok": r.status == "ok", "seconds": r.seconds,
               **({"error": str(r.error)} if r.error else {})}
