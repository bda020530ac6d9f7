"""The ``cmdkit`` command: run the notebooks, benchmark, check a borrowed GPU, write the samples.

    cmdkit run-notebooks --preset smoke --out runs/demo
    cmdkit run-notebooks --only 00 --param seed=0,1 --param num_clips=2,4 --out runs/sweep
    cmdkit bench --device cpu                 # paper-scale FLOPs; times at the smoke size
    cmdkit bench --device cuda --compile      # paper-scale FLOPs, time and memory on a GPU
    cmdkit device-check                       # the prepared GPU check (--device cpu --quick: its rehearsal)
    cmdkit figures runs/demo --out docs/figures   # the docs' pictures, from a finished run
    cmdkit make-samples
    cmdkit train-toy-classifier               # FVD-toy's feature network for 8×32×32 clips (the shipped one)
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from .config import PRESETS


def _run_notebooks(args: argparse.Namespace) -> int:
    from .runner import parse_grid, run_series, sweep

    out = Path(args.out or f"runs/{time.strftime('%Y%m%d-%H%M%S')}")
    grid = parse_grid(args.param or [])
    base = {"preset": args.preset, "seed": args.seed}
    single = {k: v[0] for k, v in grid.items() if len(v) == 1}
    varied = {k: v for k, v in grid.items() if len(v) > 1}
    if varied:
        table = sweep(out, varied, {**base, **single}, only=args.only)
        print(f"results table: {table}")
        with open(table, newline="") as handle:
            return 1 if any(row["status"] != "ok" for row in csv.DictReader(handle)) else 0
    results = run_series(out, {**base, **single}, only=args.only, log_output=args.verbose)
    print(f"executed notebooks and outputs: {out}")
    return 0 if all(r.status == "ok" for r in results) else 1


def _make_samples(args: argparse.Namespace) -> int:
    from .data.samples import SAMPLE_SETTINGS, SAMPLES_DIR, make_samples

    out = make_samples(args.out or SAMPLES_DIR, **SAMPLE_SETTINGS)
    print(f"wrote {SAMPLE_SETTINGS['count']} clips and captions.csv to {out}")
    return 0


def _train_toy_classifier(args: argparse.Namespace) -> int:
    import json

    from .metrics.toy_features import shipped_classifier_folder, train_toy_classifier

    out = Path(args.out or shipped_classifier_folder(args.frames, args.height, args.width))
    began = time.time()
    model, accuracy = train_toy_classifier(args.frames, args.height, args.width, steps=args.steps, seed=args.seed)
    model.save_pretrained(out)
    made = {"command": f"cmdkit train-toy-classifier --frames {args.frames} --height {args.height} --width {args.width} "
                       f"--steps {args.steps} --seed {args.seed}", "date": time.strftime("%Y-%m-%d"),
            "train_seconds": round(time.time() - began, 1), "held_out_accuracy": accuracy}
    (out / "provenance.json").write_text(json.dumps(made, indent=1) + "\n")
    print(f"held-out accuracy: shape × direction {accuracy['shape_direction']:.1%}, colour {accuracy['colour']:.1%}; "
          f"saved to {out}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    path = run_bench(args.device, steps_list=args.steps, time_preset=args.time_preset, compile=args.compile,
                     out=args.out, repeats=args.repeats)
    print(f"results: {path}")
    return 0


def _device_check(args: argparse.Namespace) -> int:
    from .device_check import run_device_check

    path = run_device_check(args.device, quick=args.quick, compile=args.compile, notebooks=args.notebooks,
                            out=args.out, budget_s=args.budget, notebooks_dir=args.notebooks_dir)
    print(f"results: {path}")
    return 0


def _figures(args: argparse.Namespace) -> int:
    from .figures import collect_figures

    written = collect_figures(args.run, args.out)
    size = sum(path.stat().st_size for path in written) / 1e6
    print(f"wrote {len(written)} files ({size:.1f} MB) to {args.out}")
    return 0


def _colab_main(argv: list[str]) -> int:
    from .colab import main as colab_main

    return colab_main(argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cmdkit", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run-notebooks", help="execute the notebook series with papermill")
    run.add_argument("--preset", default="smoke", choices=sorted(PRESETS))
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", help="run folder (default: runs/<timestamp>)")
    run.add_argument("--only", nargs="+", help="notebooks by number or name, e.g. 00 01_autoencoder")
    run.add_argument("--param", action="append", metavar="NAME=V1[,V2…]",
                     help="a notebook parameter; several values make a sweep (repeatable)")
    run.add_argument("--verbose", action="store_true", help="echo the notebooks' output")
    run.set_defaults(func=_run_notebooks)

    bench = commands.add_parser("bench", help="FLOPs, time and memory: CMD against direct video diffusion")
    bench.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    bench.add_argument("--steps", type=int, nargs="+", default=[50, 100], help="sampling steps per video")
    bench.add_argument("--time-preset", choices=sorted(PRESETS),
                       help="size to time at (default: paper on a GPU, smoke on a CPU)")
    bench.add_argument("--compile", action="store_true", help="torch.compile the denoisers before timing")
    bench.add_argument("--repeats", type=int, default=3)
    bench.add_argument("--out", default="benchmarks", help="folder for the results files")
    bench.set_defaults(func=_bench)

    check = commands.add_parser("device-check", help="the prepared check for a borrowed GPU (≤ 8 min on one "
                                "H100/H200); --quick rehearses it on a CPU at the smoke size")
    check.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    check.add_argument("--quick", action="store_true", help="smoke size, a few steps: the CPU rehearsal CI runs")
    check.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                       help="also time torch.compile'd denoisers (default: on CUDA, full check)")
    check.add_argument("--notebooks", action=argparse.BooleanOptionalAction, default=None,
                       help="run the notebook series at reduced steps too (default: on CUDA, full check)")
    check.add_argument("--budget", type=float, default=480, metavar="SECONDS",
                       help="the notebook series runs last, only if this budget leaves it time (default 480)")
    check.add_argument("--out", default="benchmarks", help="folder for the results files")
    check.add_argument("--notebooks-dir", default=None, metavar="DIR",
                       help="where the executed notebooks go (default: beside the results, OUT/<name>-notebooks)")
    check.set_defaults(func=_device_check)

    figures = commands.add_parser("figures", help="copy a finished run's key figures into docs/ (README, notebooks)")
    figures.add_argument("run", help="a run folder written by run-notebooks / make demo")
    figures.add_argument("--out", default="docs/figures", help="folder (default: docs/figures)")
    figures.set_defaults(func=_figures)

    samples = commands.add_parser("make-samples", help="regenerate data_samples/ from the toy world")
    samples.add_argument("--out", help="folder (default: the repository's data_samples/)")
    samples.set_defaults(func=_make_samples)

    toy = commands.add_parser("train-toy-classifier", help="train FVD-toy's feature network (default: the shipped "
                              "one for the smoke preset's 8×32×32 clips, into cmdkit/metrics/weights/)")
    toy.add_argument("--frames", type=int, default=8)
    toy.add_argument("--height", type=int, default=32)
    toy.add_argument("--width", type=int, default=32)
    toy.add_argument("--steps", type=int, default=300)
    toy.add_argument("--seed", type=int, default=0)
    toy.add_argument("--out", help="folder (default: cmdkit/metrics/weights/toy-classifier-<L>x<H>x<W>)")
    toy.set_defaults(func=_train_toy_classifier)

    colab = commands.add_parser("colab-cells", help="write the Open-in-Colab badge and the Colab install cell "
                                                    "into every notebook (cmdkit.colab.REPOSITORY)")
    colab.set_defaults(func=lambda args: _colab_main(["apply"]))

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:  # bad parameters or paths: a message, not a traceback
        print(f"cmdkit: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
