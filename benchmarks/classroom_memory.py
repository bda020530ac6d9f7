"""Peak training memory of every classroom stage at its preset batch, estimated on the CPU.

    python benchmarks/classroom_memory.py            # writes benchmarks/classroom-memory-cpu-<date>.md/.json

Each stage is measured through one fp32 training step (AdamW) at two small batches, each in its
own process (peak resident set size), and extrapolated linearly to the preset's batch
(:func:`cmdkit.device_check.estimate_training_memory`), with and without gradient
checkpointing. Classes have 16 GB (Colab's T4) or 24 GB (L4, A10) GPUs: the table says which
stages fit. On a GPU, ``cmdkit device-check`` measures the same stages with the allocator's peak.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path

from cmdkit.device_check import estimate_training_memory

SMALL_BATCHES = {"autoencoder": (1, 2), "content": (2, 4), "motion": (8, 16), "baseline": (1, 2)}
# diffusers' UNet3DConditionModel has no gradient checkpointing; its memory is cut by micro-batches.
CHECKPOINTING = {"autoencoder": (False, True), "content": (False, True), "motion": (False, True), "baseline": (False,)}


def main(out: Path = Path(__file__).parent) -> Path:
    rows = []
    for stage, batches in SMALL_BATCHES.items():
        for checkpointing in CHECKPOINTING[stage]:
            print(f"{stage}, checkpointing {checkpointing}…", flush=True)
            rows.append(estimate_training_memory(stage, "classroom", batches, checkpointing))
    date = _dt.date.today().isoformat()
    stem = out / f"classroom-memory-cpu-{date}"
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    lines = [f"# Classroom training memory, estimated on the CPU ({date})", "",
             "fp32, AdamW, one step; peak resident memory at two small batches, extrapolated linearly to the "
             "preset's batch. An upper bound for bf16/fp16 autocast on a GPU.", "",
             "| stage | checkpointing | measured (batch: GB) | GB per sample | preset batch | projected GB "
             "| micro-batch | projected GB, micro-batched | fits 16 GB as the preset trains it |",
             "|:---|:---:|:---|---:|---:|---:|---:|---:|:---:|"]
    for r in rows:
        measured = ", ".join(f"{b}: {gb:.2f}" for b, gb in r["measured_gb"].items())
        if r["projected_gb"] is None:
            lines.append(f"| {r['stage']} | {'yes' if r['checkpointing'] else 'no'} | {measured} "
                         f"({r['failed']}) | – | {r['batch']} | – | – | – | no |")
            continue
        trained = r["projected_micro_gb"] if r["projected_micro_gb"] is not None else r["projected_gb"]
        micro = "–" if r["micro_batch"] is None else r["micro_batch"]
        micro_gb = "–" if r["projected_micro_gb"] is None else f"{r['projected_micro_gb']:.1f}"
        lines.append(f"| {r['stage']} | {'yes' if r['checkpointing'] else 'no'} | {measured} | "
                     f"{r['per_sample_gb']:.3f} | {r['batch']} | {r['projected_gb']:.1f} | {micro} | {micro_gb} | "
                     f"{'yes' if trained < 16 else 'no'} |")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return stem.with_suffix(".md")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
