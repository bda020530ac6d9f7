"""Quality against training minutes, CMD and direct video diffusion: the paper's claim in miniature.

    python benchmarks/cmd_vs_direct_curve.py --prior runs/demo                 # budgets ×0.25, ×0.5, ×1
    python benchmarks/cmd_vs_direct_curve.py --prior runs/demo --scales 0.5 1 2 --clips 64
    python benchmarks/cmd_vs_direct_curve.py --prior runs/demo --full-run runs/demo   # ×1 from the demo itself

One point per budget scale s: the notebooks that train CMD's video stages run with s times their
smoke steps (01 autoencoder, 03 content fine-tuning, 04 motion; the image prior of notebook 02 is
the pretrained model CMD starts from, as Stable Diffusion is in the paper, and is copied from the
``--prior`` run), then 05 assembles the pipeline and 06 trains the direct video UNet — started from
the same image prior — for as many seconds as CMD's video stages took *in that run* and scores both on ``--clips`` clips of the 12
probe-style captions: FVD-toy against real clips, and the colour and direction probes with 95 %
intervals. Equal training compute is therefore equal CPU seconds, measured at run time.

Each point's notebooks land in ``<out>/scale-<s>/`` (executed, with their figures); the results
are appended to ``benchmarks/cmd-vs-direct-curve-<date>.jsonl`` and plotted beside it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import shutil
from pathlib import Path

from cmdkit.config import get_preset
from cmdkit.metrics import binomial_interval
from cmdkit.runner import run_series

STAGES = {"01": "autoencoder", "03": "content", "04": "motion"}  # notebook → the preset's step key


def run_point(scale: float, prior_run: Path, out: Path, clips: int, seed: int = 0) -> dict:
    steps = get_preset("smoke").steps
    run_dir = (out / f"scale-{scale:g}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    prior = run_dir / "02_image_prior"
    if not prior.exists():
        shutil.copytree(prior_run / "02_image_prior", prior)
    common = {"preset": "smoke", "seed": seed}
    for notebook, stage in STAGES.items():
        extra = {"ablation": False} if notebook == "01" else {}
        [result] = run_series(run_dir, {**common, **extra, "train_steps": max(1, round(scale * steps[stage]))},
                              only=[notebook])
        if result.status != "ok":
            raise RuntimeError(f"{notebook} failed at scale {scale}: {result.error}")
    results = run_series(run_dir, {**common, "compare_clips": clips, "num_clips": max(64, clips)}, only=["05", "06"])
    if any(r.status != "ok" for r in results):
        raise RuntimeError(f"05/06 failed at scale {scale}: {[r.error for r in results]}")
    return point_of(results[-1].metrics, scale, clips)


def point_of(metrics: dict, scale: float, clips: int) -> dict:
    """A point of the curve from the metrics notebook 06 recorded."""
    steps = get_preset("smoke").steps
    row = {"scale": scale, "clips": clips, "steps": {stage: max(1, round(scale * steps[stage])) for stage in STAGES.values()}}
    for name, scores in metrics["cmd_vs_direct"].items():
        row[name] = dict(scores)
        for probe in ("colour", "direction"):
            if probe in scores:
                row[name][f"{probe}_interval"] = [round(x, 3) for x in binomial_interval(scores[probe], clips)]
    for name, costs in metrics["cmd_vs_direct_costs"].items():
        row[name].update(train_s=round(costs["train_s"], 1), sample_s_per_clip=round(costs["sample_s_per_clip"], 3))
    return row


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained")
    for name, style in (("CMD", "o-"), ("direct video UNet", "s--")):
        minutes = [r[name]["train_s"] / 60 for r in rows]
        axes[0].plot(minutes, [r[name]["fvd_toy"] for r in rows], style, label=name)
        for ax, probe in zip(axes[1:], ("colour", "direction")):
            values = [100 * r[name][probe] for r in rows]
            low = [100 * (r[name][probe] - r[name][f"{probe}_interval"][0]) for r in rows]
            high = [100 * (r[name][f"{probe}_interval"][1] - r[name][probe]) for r in rows]
            ax.errorbar(minutes, values, yerr=[low, high], fmt=style, capsize=3, label=name)
    axes[0].axhline(rows[0]["real (floor)"]["fvd_toy"], color="grey", lw=0.8, ls=":", label="real clips (floor)")
    axes[0].set(xlabel="training minutes (CPU)", ylabel="FVD-toy (lower is better)", yscale="log")
    plain = plt.FuncFormatter(lambda value, _: f"{value:g}")  # 20, 30 rather than 2×10¹, 3×10¹
    axes[0].yaxis.set_major_formatter(plain)
    axes[0].yaxis.set_minor_formatter(plain)
    for ax, probe, chance in zip(axes[1:], ("colour", "direction"), (100 / 6, 25)):
        ax.axhline(chance, color="grey", lw=0.8, ls=":", label="chance")
        ax.set(xlabel="training minutes (CPU)", ylabel=f"{probe} probe, % (95 % interval)", ylim=(0, 100))
    axes[0].legend(fontsize=8)
    fig.suptitle(f"CMD against direct video diffusion at equal training seconds ({rows[0]['clips']} clips per point)",
                 fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prior", type=Path, required=True, help="a run folder with notebook 02's image prior")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--clips", type=int, default=48, help="clips per model and point (≥ 48 for intervals "
                                                                "narrower than ±15 points)")
    parser.add_argument("--out", type=Path, default=Path("runs/cmd-vs-direct-curve"))
    parser.add_argument("--results", type=Path, default=Path(__file__).parent)
    parser.add_argument("--full-run", type=Path, default=None,
                        help="take the point at scale 1 from this finished run of the whole series (e.g. a fresh "
                             "demo, whose 06 compared --clips clips) instead of training it again")
    args = parser.parse_args()
    if not (args.prior / "02_image_prior" / "image_prior").exists():
        raise SystemExit(f"{args.prior} has no 02_image_prior/image_prior: run notebook 02 there first")
    stem = args.results / f"cmd-vs-direct-curve-{_dt.date.today().isoformat()}"
    rows = []
    for scale in args.scales:
        if scale == 1 and args.full_run is not None:
            metrics = json.loads((args.full_run / "06_evaluation" / "metrics.json").read_text())["metrics"]
            row = point_of(metrics, scale, args.clips)
            row["run"] = str(args.full_run)
        else:
            row = run_point(scale, args.prior, args.out, args.clips)
        rows.append(row)
        with stem.with_suffix(".jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")
        for name in ("CMD", "direct video UNet"):
            r = row[name]
            print(f"×{scale:<5g} {name:18s} {r['train_s']:6.0f} s  FVD-toy {r['fvd_toy']:7.2f}  colour "
                  f"{r['colour']:4.0%} {r['colour_interval']}  direction {r['direction']:4.0%} "
                  f"{r['direction_interval']}  sampling {r['sample_s_per_clip']:.2f} s/clip", flush=True)
        plot(rows, stem.with_suffix(".png"))


if __name__ == "__main__":
    main()
