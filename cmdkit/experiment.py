"""Experiments: a notebook's validated parameters, its output folder and what it measured.

Every notebook starts with::

    exp = cmdkit.experiment.start("00_tour", preset=preset, seed=seed, run_dir=run_dir, ...)

which checks the parameters (clear ``ValueError`` on a bad one), seeds every RNG, makes
``run_dir/00_tour/`` and writes ``metrics.json`` there. ``exp.record(loss=…, psnr=…)``
adds measured figures to it as the notebook goes, so a papermill sweep can collect one
table from many runs (see :mod:`cmdkit.runner`).
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from .config import Preset, validate_params

__all__ = ["Experiment", "Budget", "start", "load_metrics", "training_budget", "write_json_atomic"]

METRICS_FILE = "metrics.json"
DATA_FILE = "data.json"  # the run's data, shared by its notebooks (Experiment.data_source)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=_jsonable))
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot record {type(value).__name__} in metrics.json")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Budget(NamedTuple):
    """A stage's training budget: optimizer steps and peak learning rate
    (``steps, lr = exp.budget("motion")``)."""

    steps: int
    learning_rate: float | None


@dataclass
class Experiment:
    notebook: str
    preset: Preset
    params: dict[str, Any]
    out: Path  # this notebook's output folder, inside the run folder
    metrics: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    @property
    def run_dir(self) -> Path:
        """The folder shared by every notebook of one run (stages read each other's outputs here)."""
        return self.out.parent

    def budget(self, stage: str, steps_param: str = "train_steps") -> Budget:
        """The budget of a training stage (a key of ``preset.steps``): the notebook's
        ``steps_param`` and ``learning_rate`` parameters where given, else the preset's."""
        if stage not in self.preset.steps:
            raise ValueError(f"the {self.preset.name} preset has no budget for {stage!r}: pass {steps_param} "
                             f"(budgets it has: {', '.join(self.preset.steps)})")
        return Budget(steps=self.params.get(steps_param) or self.preset.steps[stage],
                      learning_rate=self.params.get("learning_rate") or self.preset.learning_rates.get(stage))

    def record(self, **figures: Any) -> None:
        """Add measured figures (numbers, short strings, small lists) to ``metrics.json``."""
        self.metrics.update(figures)
        self.save()

    def save(self) -> Path:
        path = self.out / METRICS_FILE
        write_json_atomic(path, {
            "notebook": self.notebook,
            "preset": self.preset.name,
            "params": self.params,
            "metrics": self.metrics,
            "seconds": round(time.time() - self.started, 2),
        })
        return path

    def path(self, name: str) -> Path:
        """A file in this notebook's output folder."""
        return self.out / name

    def frame_space(self):
        """What this run's models see (:class:`cmdkit.space.FrameSpace`): pixels, or with
        ``space="latent"`` an image VAE's latents. Notebook 01 creates it (from ``vae_path``,
        TAEF2 by default) and saves it; later notebooks load that one, so every stage of a run
        shares one VAE, and a notebook asked for the other space than notebook 01 used stops."""
        from .space import FrameSpace

        wanted = self.params.get("space", "pixel")
        if self.notebook == "01_autoencoder":
            space = FrameSpace.create(wanted, self.params.get("vae_path"))
            space.save(self.path("frame_space"))
            return space
        saved = self.run_dir / "01_autoencoder" / "frame_space"
        if wanted == "latent":
            return FrameSpace.load(self.stage_output("01_autoencoder", "frame_space"))
        if saved.is_dir() and FrameSpace.load(saved).latent:
            raise ValueError(f"notebook 01 of {self.run_dir} trained its autoencoder in latent space: run this "
                             f"notebook with space='latent' too")
        return FrameSpace()

    def data_source(self):
        """The run's clips (:class:`cmdkit.data.DataSource`): the toy world for ``data=None``,
        else the video folder at ``data``, checked. The first notebook of a run to ask checks the
        folder's videos and records the choice in ``run_dir/data.json``; a later notebook given
        other data stops with a message, so no stage is silently trained or evaluated on another
        dataset than the rest. Later notebooks given the same data skip the videos' check (it
        decodes up to 64 of them)."""
        from .data.sources import DataSource

        data = self.preset.data
        record = self.run_dir / DATA_FILE
        started = json.loads(record.read_text()) if record.exists() else None
        source = DataSource.open(self.params.get("data"), data.num_frames, data.height, data.width,
                                 frame_stride=self.params.get("frame_stride", 1), seed=self.params.get("seed", 0),
                                 check=False)
        described = source.describe()
        if started is None:
            source.check_videos()
            write_json_atomic(record, source.describe())
        else:
            for key in ("data", "frame_stride"):
                if started.get(key) != described.get(key):
                    raise ValueError(
                        f"the run in {self.run_dir} was started on {key}={started.get(key)!r}, but this notebook was "
                        f"given {key}={described.get(key)!r}: pass the same {key} to every notebook of a run "
                        f"(`cmdkit run-notebooks --param {key}=...`), or use a new run_dir")
        self.record(data=described["data"])
        return source

    def training_clips(self, source, count: int):
        """The ``count`` clips of ``source`` that the run's video stages train on (seed + 30,000):
        what notebook 03 encodes for 03 and 04 (:meth:`training_encodings`) and what notebook 06's
        direct baseline trains on, so CMD and the baseline learn from the same clips."""
        return source.training_clips(seed=self.params.get("seed", 0) + 30_000, length=count)

    def training_encodings(self, autoencoder, frame_space, source, count: int) -> tuple[dict, Any]:
        """The run's training clips (:meth:`training_clips`) encoded once by its autoencoder, for
        notebooks 03 and 04: ``(encoded, clips)``, where ``encoded`` is
        :func:`cmdkit.data.encode_clips`'s dict and ``clips`` the dataset it came from.

        The first notebook to ask encodes and writes ``run_dir/encodings/``; the others read the
        file. It is keyed by the autoencoder's weights, the clips and the frame space, so a
        retrained autoencoder or other data is encoded afresh, never silently reused."""
        from .data.encodings import encode_clips

        clips = self.training_clips(source, count)
        count = min(count, len(clips))
        cache = self.run_dir / "encodings" / f"training_clips_{count}.safetensors"
        return encode_clips(autoencoder, clips, count, frame_space=frame_space, cache=cache), clips

    def stage_output(self, notebook: str, name: str) -> Path:
        """What an earlier notebook of this run saved (``run_dir/<notebook>/<name>``), or a clear
        error saying which notebook to run first."""
        path = self.run_dir / notebook / name
        if not path.exists():
            raise FileNotFoundError(
                f"{path} not found: notebook {notebook} has not been run in {self.run_dir}. Run it first "
                f"(`cmdkit run-notebooks --only {notebook[:2]} --out {self.run_dir}`) or point run_dir at a "
                f"run that has it.")
        return path

    def image_prior(self) -> Path:
        """The pretrained image model CMD's content model started from in this run: the folder
        notebook 03 was given (``pretrained_model_path``), else notebook 02's prior."""
        given = load_metrics(self.run_dir / "03_content_frames").get("params", {}).get("pretrained_model_path")
        return Path(given) if given else self.stage_output("02_image_prior", "image_prior")


def start(notebook: str, preset: str, run_dir: str, seed: int = 0, **params: Any) -> Experiment:
    """Validate a notebook's parameters, seed all RNGs and create its output folder."""
    chosen, cleaned = validate_params(preset, seed=seed, run_dir=run_dir, **params)
    seed_everything(cleaned["seed"])
    out = Path(cleaned["run_dir"]) / notebook
    out.mkdir(parents=True, exist_ok=True)
    experiment = Experiment(notebook, chosen, {"preset": chosen.name, **cleaned}, out)
    experiment.save()
    return experiment


def load_metrics(folder: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` a notebook wrote in ``folder`` (empty dict if none)."""
    path = Path(folder) / METRICS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def training_budget(run_dir: str | Path, notebook: str, default_batch_size: int) -> dict[str, float]:
    """What one notebook's training cost: ``{"steps", "batch_size", "seconds"}``, read from the
    ``metrics.json`` it wrote in ``run_dir`` (``default_batch_size`` where it used its preset's)."""
    record = load_metrics(Path(run_dir) / notebook)
    figures = record.get("metrics", {})
    if "train_steps" not in figures or "train_seconds" not in figures:
        raise FileNotFoundError(f"{Path(run_dir) / notebook} has no recorded training: run notebook {notebook} "
                                f"in {run_dir} first")
    batch = figures.get("batch_size") or record.get("params", {}).get("batch_size") or default_batch_size
    return {"steps": figures["train_steps"], "batch_size": batch, "seconds": figures["train_seconds"]}
