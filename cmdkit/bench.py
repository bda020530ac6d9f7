"""``cmdkit bench``: CMD against direct video diffusion — FLOPs at paper scale, time and memory.

What it does:

1. **FLOPs at paper scale, always** (meta device, any machine): per video of 16×512×1024 in
   SD latent space (16×64×128 latents), for each requested number of steps, for CMD's
   stages and for the ModelScope-architecture baseline, in three conventions — torch's (2 per
   multiply-add), fvcore's (1), and fvcore's with fused attention unseen — with and without
   classifier-free guidance, next to the paper's Table 9.
2. **Time and memory.** On a GPU: the paper-scale models with random weights in bf16 with
   SDPA (optionally ``torch.compile``), guidance batched (two branches in one call), one
   full video per repeat. On a CPU: the same procedure at a small preset's size (default
   ``smoke``), since paper scale would take hours.

Results go to ``benchmarks/bench-<device>-<date>.md`` (and ``.json``), naming the device,
torch version and every setting.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import re
from pathlib import Path

import torch

from .efficiency import (PAPER_TABLE9, build_models, cmd_costs, direct_costs, peak_memory, time_call)

__all__ = ["flop_table", "time_models", "run_bench"]


def flop_table(steps_list=(50, 100), preset: str = "paper") -> list[dict]:
    """One row per (steps, guidance, model, stage) with TFLOPs in each convention."""
    from .config import get_preset

    models = build_models(preset, device="meta")
    shape = get_preset(preset).data.model_shape
    rows = []
    for steps in steps_list:
        for guidance in (False, True):
            for model, costs in (("CMD", cmd_costs(models, *shape, steps, guidance)),
                                 ("direct", direct_costs(models, *shape, steps, guidance))):
                total = costs[0].flops
                for cost in costs[1:]:
                    total = total + cost.flops
                for stage, flops, params, calls in [*((c.stage, c.flops, c.params, c.calls) for c in costs),
                                                    ("total", total, sum(c.params for c in costs), None)]:
                    rows.append({"steps": steps, "guidance": guidance, "model": model, "stage": stage,
                                 "params": params, "calls": calls,
                                 "tflops_torch": flops.total / 1e12, "tflops_fvcore": flops.macs / 1e12,
                                 "tflops_fvcore_no_attention": flops.macs_without_attention / 1e12})
    return rows


def time_models(preset: str, device: str, steps: int, dtype: torch.dtype | None = None, compile: bool = False,
                repeats: int = 3) -> dict:
    """Time one video (``steps`` steps, guidance batched) of CMD and of the baseline, random
    weights, at a preset's size. Returns seconds (median), peak memory (CUDA) and settings."""
    from .config import get_preset

    models = build_models(preset, device=device, dtype=dtype)
    length, h, w = get_preset(preset).data.model_shape
    opts = dict(device=device, dtype=dtype or torch.float32)
    grid_h, grid_w = models.autoencoder.grid(h, w)
    frame = torch.randn(2, models.channels, h, w, **opts)  # two branches of guidance, batched
    motion = torch.randn(2, models.autoencoder.config.motion_channels, length, grid_h + grid_w, **opts)
    text = torch.randn(2, models.text_length, models.text_dim, **opts)
    video = torch.randn(2, models.channels, length, h, w, **opts)
    t = torch.full((2,), 500, device=device)
    unet, dit, decode, baseline = (models.content_unet, models.motion, models.autoencoder.decode, models.baseline)
    if compile:
        unet, dit, baseline = (torch.compile(m) for m in (unet, dit, baseline))

    @torch.no_grad()
    def cmd_video():
        for _ in range(steps):
            unet(frame, t, encoder_hidden_states=text)
        for _ in range(steps):
            dit(motion, t, frame, encoder_hidden_states=text)
        decode(frame[:1], motion[:1])

    @torch.no_grad()
    def direct_video():
        for _ in range(steps):
            baseline(video, t, encoder_hidden_states=text)

    result = {"preset": preset, "steps": steps, "device": str(device), "dtype": str(opts["dtype"]), "compile": compile,
              "shape": [length, h, w]}
    for name, fn in (("CMD", cmd_video), ("direct", direct_video)):
        memory = peak_memory(fn, device)  # runs fn once: also the warm-up
        timing = time_call(fn, device=device, warmup=0, repeats=repeats)
        result[name] = {"seconds": timing["median_s"], "peak_memory_gb": memory}
    result["speedup"] = result["direct"]["seconds"] / result["CMD"]["seconds"]
    return result


def device_name(device: str) -> str:
    """The GPU's name, or the CPU's and its thread count: what a results file is named after."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return f"{platform.processor() or platform.machine()} CPU ({torch.get_num_threads()} threads)"


def results_stem(out: str | Path, kind: str, device: str, date: str) -> Path:
    """``out/<kind>-<device slug>-<YYYY-MM-DD>``, the folder made: add ``.md`` or ``.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", device.lower()).strip("-")
    return out / f"{kind}-{slug}-{date[:10]}"


def _markdown(report: dict) -> str:
    lines = [f"# cmdkit bench — {report['device_name']}", "",
             f"- date: {report['date']}; torch {report['torch']}; device `{report['device']}`",
             f"- FLOPs: paper scale (16×512×1024 video = 16×64×128 SD latents), counted on the meta device; "
             f"TFLOPs per video. torch = 2 FLOPs per multiply-add; fvcore = 1 (the paper's convention); "
             f"'no attn' = fvcore without the attention core (what fvcore reports when attention runs in a fused "
             f"kernel). Guidance = two denoiser branches per step.",
             f"- The paper (Table 9, A100, fp16, 50 steps): CMD {PAPER_TABLE9['CMD']['tflops']} TFLOPs, "
             f"{PAPER_TABLE9['CMD']['seconds']} s, {PAPER_TABLE9['CMD']['memory_gb']} GB; ModelScope "
             f"{PAPER_TABLE9['ModelScope']['tflops']} TFLOPs, {PAPER_TABLE9['ModelScope']['seconds']} s.", "",
             "| steps | guidance | model | stage | params (M) | calls | TFLOPs torch | TFLOPs fvcore | fvcore, no attn |",
             "|---:|:---:|:---|:---|---:|---:|---:|---:|---:|"]
    for r in report["flops"]:
        calls = "" if r["calls"] is None else r["calls"]
        lines.append(f"| {r['steps']} | {'yes' if r['guidance'] else 'no'} | {r['model']} | {r['stage']} | "
                     f"{r['params'] / 1e6:.1f} | {calls} | {r['tflops_torch']:.1f} | {r['tflops_fvcore']:.1f} | "
                     f"{r['tflops_fvcore_no_attention']:.1f} |")
    if report.get("timing"):
        lines += ["", "## Time per video", "",
                  "| preset | frames×h×w | steps | dtype | compile | CMD s | CMD peak GB | direct s | direct peak GB | speed-up |",
                  "|:---|:---|---:|:---|:---:|---:|---:|---:|---:|---:|"]
        for t in report["timing"]:
            def gb(v):
                return "–" if v is None else f"{v:.2f}"
            lines.append(f"| {t['preset']} | {'×'.join(map(str, t['shape']))} | {t['steps']} | {t['dtype']} | "
                         f"{t['compile']} | {t['CMD']['seconds']:.3f} | {gb(t['CMD']['peak_memory_gb'])} | "
                         f"{t['direct']['seconds']:.3f} | {gb(t['direct']['peak_memory_gb'])} | {t['speedup']:.1f}× |")
        lines += ["", "Random weights; guidance batched (both branches in one call); the SD image decoder excluded, "
                      "as in the paper; CMD's time includes its autoencoder decode."]
    return "\n".join(lines) + "\n"


def run_bench(device: str = "cpu", steps_list=(50, 100), time_preset: str | None = None, compile: bool = False,
              out: str | Path = "benchmarks", repeats: int = 3, echo=print) -> Path:
    """Run the benchmark and write its report; returns the markdown file's path."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but torch sees no CUDA device")
    time_preset = time_preset or ("paper" if device.startswith("cuda") else "smoke")
    dtype = torch.bfloat16 if device.startswith("cuda") else None
    echo("counting FLOPs at paper scale (meta device)…")
    report = {"date": _dt.datetime.now().isoformat(timespec="seconds"), "torch": torch.__version__,
              "device": device, "device_name": device_name(device), "flops": flop_table(steps_list)}
    report["timing"] = []
    for steps in steps_list:
        echo(f"timing one video at the {time_preset!r} size, {steps} steps, on {device}…")
        report["timing"].append(time_models(time_preset, device, steps, dtype=dtype, compile=compile, repeats=repeats))
    stem = results_stem(out, "bench", report["device_name"], report["date"])
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1))
    path = stem.with_suffix(".md")
    path.write_text(_markdown(report))
    echo(_markdown(report))
    return path
