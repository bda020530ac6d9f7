"""One training loop for every stage, built on accelerate.

    for step in range(start, steps):
        batch = batches(step)                       # a pure function of (seed, step)
        loss = loss_fn(model, batch)                # forward, under mixed precision
        backward → clip gradients → optimizer step → LR schedule → EMA update
        log; every `checkpoint_every` steps, save atomically

Design choices, and why:

* **Step-indexed data and noise.** Batch ``s`` and every random draw inside step ``s``
  derive from ``(seed, s)``, so a run resumed from a checkpoint continues exactly as an
  uninterrupted one would — no data-loader or RNG state to save — and with several
  processes each takes its share of the same global batch.
* **Checkpoints are folders written whole, then renamed** (``step-000200``), and a
  ``latest`` pointer is replaced atomically after that: a run killed mid-save leaves the
  previous checkpoint intact and visible, never a half-written one. Weights and EMA are
  safetensors; the optimizer state is loaded back with ``weights_only=True``.
* **A non-finite loss stops the run** with the step and the last good checkpoint named,
  instead of silently training on NaNs.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file, save_file

__all__ = ["TrainConfig", "TrainResult", "train", "split_batch", "latest_checkpoint", "load_checkpoint_weights",
           "step_seed"]

CHECKPOINT_PREFIX = "step-"


@dataclass
class TrainConfig:
    steps: int
    learning_rate: float = 3e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    # "constant" after warm-up, or "cosine": decay to zero by the last step, which short runs
    # need to settle (the steps at a small learning rate are where the loss drops last).
    lr_schedule: str = "constant"
    grad_clip: float | None = 1.0
    ema_decay: float | None = 0.999  # None: no EMA
    # "auto": bf16 on Ampere or later GPUs, fp16 with a gradient scaler on older ones (Colab's T4
    # has no bf16 units), none on a CPU; or "no", "fp16", "bf16".
    mixed_precision: str = "auto"
    # Recompute activations in the backward pass instead of keeping them (models that support it:
    # the kit's transformers and diffusers' UNets): ~30 % more compute for a fraction of the memory.
    gradient_checkpointing: bool = False
    # Split every batch into micro-batches of this many samples and accumulate their gradients:
    # the same global batch (and learning dynamics) in the memory of a smaller one. None: whole.
    micro_batch: int | None = None
    checkpoint_every: int = 0  # 0: only at the end
    # Stop once this much training time is spent (summed over resumed sessions), even before
    # `steps`: how a comparison is matched in compute measured at run time. None: no limit.
    max_seconds: float | None = None
    # End after this many steps, still on the learning-rate schedule of `steps`: the first part of
    # a longer run, which an ablation can be compared with at the same step. None: run to `steps`.
    stop_at: int | None = None
    keep_checkpoints: int = 2
    log_every: int = 10
    seed: int = 0
    progress: bool = True
    description: str = "training"

    def __post_init__(self):
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0; got {self.steps}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0; got {self.learning_rate}")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1) or None; got {self.ema_decay}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError(f"max_seconds must be > 0 or None; got {self.max_seconds}")
        if self.stop_at is not None and not 0 < self.stop_at <= self.steps:
            raise ValueError(f"stop_at must be in [1, steps = {self.steps}] or None; got {self.stop_at}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine'; got {self.lr_schedule!r}")
        if self.micro_batch is not None and self.micro_batch < 1:
            raise ValueError(f"micro_batch must be >= 1 or None; got {self.micro_batch}")
        if self.mixed_precision not in ("auto", "no", "fp16", "bf16"):
            raise ValueError(f"mixed_precision must be 'auto', 'no', 'fp16' or 'bf16'; got {self.mixed_precision!r}")


@dataclass
class TrainResult:
    model: torch.nn.Module  # the trained model (unwrapped, on the training device)
    ema_model: torch.nn.Module | None  # a copy holding the EMA weights, if EMA was on
    history: list[dict[str, float]] = field(default_factory=list)  # one entry per logged step
    resumed_from: int = 0
    seconds: float = 0.0  # training wall time, summed over every session of this run
    final_step: int = 0  # steps done in all (fewer than asked when max_seconds ran out)

    checkpoint: Path | None = None

    @property
    def losses(self) -> list[float]:
        return [entry["loss"] for entry in self.history]

    @property
    def steps(self) -> list[int]:
        return [int(entry["step"]) for entry in self.history]


def split_batch(batch: Any, size: int | None) -> list[tuple[Any, float]]:
    """``[(micro-batch, its share of the batch)]``: ``batch`` (a tensor, or a dict/list/tuple of
    them, all (B, …)) cut along its first axis into pieces of ``size`` samples; ``[(batch, 1.0)]``
    when ``size`` is None or not smaller than B."""
    first = batch
    while isinstance(first, (dict, list, tuple)):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    total = len(first)
    if size is None or size >= total:
        return [(batch, 1.0)]

    def cut(value, start: int):
        if isinstance(value, dict):
            return {key: cut(item, start) for key, item in value.items()}
        if isinstance(value, (list, tuple)) and len(value) == total:
            return type(value)(value[start:start + size])
        if isinstance(value, torch.Tensor) and value.ndim and len(value) == total:
            return value[start:start + size]
        return value  # shared by every sample (a null prompt's features, a scalar)

    return [(cut(batch, start), min(size, total - start) / total) for start in range(0, total, size)]


def step_seed(seed: int, step: int, rank: int = 0) -> int:
    """The seed of all randomness in one step on one process."""
    return (seed * 1_000_003 + step * 7_919 + rank * 104_729) % (2**63 - 1)


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The newest complete checkpoint in ``folder`` (via its ``latest`` pointer), or None."""
    folder = Path(folder)
    pointer = folder / "latest"
    if pointer.exists():
        candidate = folder / pointer.read_text().strip()
        if (candidate / "state.json").exists():
            return candidate
    complete = sorted(p for p in folder.glob(f"{CHECKPOINT_PREFIX}*") if (p / "state.json").exists())
    return complete[-1] if complete else None


def load_checkpoint_weights(checkpoint: str | Path, model: torch.nn.Module, ema: bool = True) -> torch.nn.Module:
    """Put the weights a checkpoint holds into ``model`` (in place) and return it: its EMA weights
    if ``ema`` (what the run's ``ema_model`` would have held at that step), else the raw ones.

    ``checkpoint`` is a ``step-NNNNNN`` folder, or a checkpoint folder (its newest one).
    """
    path = Path(checkpoint)
    if not (path / "state.json").exists():
        found = latest_checkpoint(path) if path.is_dir() else None
        if found is None:
            raise FileNotFoundError(f"no checkpoint at {path}: expected a step-NNNNNN folder or a folder holding them")
        path = found
    _load_model_weights(path, model)
    if ema:
        if not (path / "ema.safetensors").exists():
            raise ValueError(f"checkpoint {path} holds no EMA weights (trained with ema_decay=None); pass ema=False")
        shadows = load_file(path / "ema.safetensors")
        parameters = list(model.parameters())
        if len(shadows) != len(parameters):
            raise ValueError(f"checkpoint {path} holds {len(shadows)} EMA tensors, the model has {len(parameters)} parameters")
        with torch.no_grad():  # EMAModel keeps its shadows in the order of model.parameters()
            for parameter, key in zip(parameters, sorted(shadows)):
                parameter.copy_(shadows[key])
    return model


def _resolve_precision(choice: str) -> str:
    if choice != "auto":
        return choice
    if not torch.cuda.is_available():
        return "no"
    # torch.cuda.is_bf16_supported() is also true where bf16 is only emulated (slowly): ask the
    # hardware. accelerate adds the gradient scaler that fp16 needs.
    major, _ = torch.cuda.get_device_capability()
    return "bf16" if major >= 8 else "fp16"


def _save_checkpoint(folder: Path, step: int, model, optimizer, scheduler, ema, history, config,
                     seconds: float) -> Path:
    """Write ``folder/step-NNNNNN`` whole under a temporary name, rename it, then move ``latest``."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{CHECKPOINT_PREFIX}{step:06d}"
    tmp = folder / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, tmp / "model.safetensors")
    if ema is not None:
        save_file({f"shadow.{i:05d}": p.detach().contiguous().cpu() for i, p in enumerate(ema.shadow_params)},
                  tmp / "ema.safetensors")
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp / "optimizer.pt")
    ema_scalars = {k: v for k, v in ema.state_dict().items() if k != "shadow_params"} if ema is not None else None
    (tmp / "state.json").write_text(json.dumps(
        {"step": step, "seconds": seconds, "history": history, "ema": ema_scalars, "config": asdict(config)},
        indent=1))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    pointer_tmp = folder / ".latest.tmp"
    pointer_tmp.write_text(final.name)
    os.replace(pointer_tmp, folder / "latest")
    # Keep the newest few.
    old = sorted(p for p in folder.glob(f"{CHECKPOINT_PREFIX}*") if p != final)
    for stale in old[: max(0, len(old) - (config.keep_checkpoints - 1))]:
        shutil.rmtree(stale, ignore_errors=True)
    return final


def _load_model_weights(path: Path, model) -> None:
    """The raw weights of checkpoint ``path`` into ``model``; ``ValueError`` if they do not fit it."""
    weights = load_file(path / "model.safetensors")
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if expected != found:
        differ = sorted(k for k in expected.keys() & found.keys() if expected[k] != found[k])
        raise ValueError(
            f"checkpoint {path} does not fit this model: missing {sorted(expected.keys() - found.keys())[:3]}, "
            f"unexpected {sorted(found.keys() - expected.keys())[:3]}, other shapes {differ[:3]}. "
            f"Resume only the run that wrote it, or use a fresh checkpoint folder.")
    model.load_state_dict(weights)


def _load_checkpoint(path: Path, model, optimizer, scheduler, ema) -> tuple[int, list, float]:
    state = json.loads((path / "state.json").read_text())
    _load_model_weights(path, model)
    extra = torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(extra["optimizer"])
    scheduler.load_state_dict(extra["scheduler"])
    if ema is not None:
        if not (path / "ema.safetensors").exists():
            raise ValueError(f"checkpoint {path} has no EMA weights but this run uses EMA")
        shadows = load_file(path / "ema.safetensors")
        ema.load_state_dict({**state["ema"], "shadow_params": [shadows[k] for k in sorted(shadows)]})
    return int(state["step"]), list(state["history"]), float(state.get("seconds", 0.0))


def train(model: torch.nn.Module, loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
          batches: Callable[[int], Any], config: TrainConfig, checkpoint_dir: str | Path | None = None,
          resume: bool = True) -> TrainResult:
    """Train ``model`` for ``config.steps`` optimizer steps; see the module docstring.

    Args:
        model: the module to train (a diffusers ModelMixin or any nn.Module).
        loss_fn: ``(model, batch) → scalar loss``. Called under mixed precision.
        batches: ``step → batch`` for this process (see :mod:`cmdkit.data.batches` for the pattern);
            tensors are moved to the training device here.
        checkpoint_dir: where checkpoints go; with ``resume``, the newest one is loaded first.
    """
    from accelerate import Accelerator
    from accelerate.utils import send_to_device
    from diffusers.optimization import get_scheduler
    from diffusers.training_utils import EMAModel
    from tqdm.auto import tqdm

    accelerator = Accelerator(mixed_precision=_resolve_precision(config.mixed_precision))
    if config.gradient_checkpointing:
        if not getattr(model, "_supports_gradient_checkpointing", False):
            raise ValueError(f"{type(model).__name__} does not support gradient checkpointing; set "
                             f"gradient_checkpointing=False")
        model.enable_gradient_checkpointing()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = get_scheduler("constant_with_warmup" if config.lr_schedule == "constant" else "cosine",
                              optimizer, num_warmup_steps=config.warmup_steps, num_training_steps=config.steps)
    model, optimizer = accelerator.prepare(model, optimizer)
    raw_model = accelerator.unwrap_model(model)
    ema = None
    if config.ema_decay is not None:
        # Warm-up makes the EMA useful in short runs too: its decay grows towards ema_decay.
        ema = EMAModel(raw_model.parameters(), decay=config.ema_decay, use_ema_warmup=True, power=2 / 3)
        ema.to(accelerator.device)

    start, history, earlier_seconds = 0, [], 0.0
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if folder is not None and resume and (found := latest_checkpoint(folder)) is not None:
        start, history, earlier_seconds = _load_checkpoint(found, raw_model, optimizer, scheduler, ema)
        if ema is not None:
            ema.to(accelerator.device)
    resumed_from = start

    began = time.time() - earlier_seconds  # time counts across interruptions
    elapsed = earlier_seconds
    model.train()
    last = config.steps if config.stop_at is None else config.stop_at
    bar = tqdm(total=last, initial=start, desc=config.description,
               disable=not (config.progress and accelerator.is_local_main_process), dynamic_ncols=True)
    last_saved = latest_checkpoint(folder) if folder is not None else None
    spent = config.max_seconds is not None and earlier_seconds >= config.max_seconds  # resumed after the budget ran out
    for step in range(start, start if spent else last):
        torch.manual_seed(step_seed(config.seed, step, accelerator.process_index))
        batch = send_to_device(batches(step), accelerator.device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        loss = 0.0
        for chunk, share in split_batch(batch, config.micro_batch):
            with accelerator.autocast():
                part = loss_fn(model, chunk) * share  # shares sum to 1: the gradient of the batch mean
            if not torch.isfinite(part.detach()):
                bar.close()
                where = f"the last good checkpoint is {last_saved}" if last_saved else "no checkpoint was saved yet"
                raise FloatingPointError(f"{config.description}: loss became {part.item()} at step {step + 1}; "
                                         f"stopping ({where}). Try a lower learning_rate or mixed_precision='no'.")
            accelerator.backward(part)
            loss = loss + part.detach()
        if config.grad_clip is not None:
            accelerator.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        if ema is not None:
            ema.step(raw_model.parameters())

        done = step + 1
        elapsed = time.time() - began
        out_of_time = config.max_seconds is not None and elapsed >= config.max_seconds
        if config.max_seconds is not None and accelerator.num_processes > 1:  # all processes stop at one step
            flag = torch.tensor(float(out_of_time), device=accelerator.device)
            out_of_time = accelerator.reduce(flag, reduction="sum").item() > 0
        if done % config.log_every == 0 or done == last or done == 1 or out_of_time:
            value = accelerator.reduce(loss.detach().float(), reduction="mean").item()
            history.append({"step": done, "loss": value, "lr": scheduler.get_last_lr()[0],
                            "seconds": round(elapsed, 3)})
            bar.set_postfix(loss=f"{value:.4f}")
        bar.update(1)
        at_checkpoint = config.checkpoint_every and done % config.checkpoint_every == 0
        if folder is not None and (at_checkpoint or done == last or out_of_time):
            if accelerator.is_main_process:
                last_saved = _save_checkpoint(folder, done, raw_model, optimizer, scheduler, ema, history, config,
                                              seconds=elapsed)
            accelerator.wait_for_everyone()
        if out_of_time:
            break
    bar.close()
    model.eval()

    ema_model = None
    if ema is not None:
        ema_model = copy.deepcopy(raw_model)
        ema.copy_to(ema_model.parameters())
        ema_model.eval()
    final_step = int(history[-1]["step"]) if history else start
    return TrainResult(model=raw_model, ema_model=ema_model, history=history, resumed_from=resumed_from,
                       final_step=final_step,
                       seconds=round(elapsed, 2), checkpoint=last_saved)
