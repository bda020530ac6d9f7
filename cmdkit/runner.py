"""Run the notebook series with papermill: one run, or a sweep over a parameter grid.

A *run* executes notebooks in order into one run folder::

    runs/20261125-101500/
      00_tour.ipynb          the executed notebook, outputs included
      00_tour/metrics.json   what it measured (see cmdkit.experiment)
      00_tour/…              its figures, clips and checkpoints
      01_autoencoder.ipynb   later stages read earlier stages' folders
      …

A *sweep* repeats that for every combination of a parameter grid, each in its own run
folder under ``sweep/``, and collects one row per (combination, notebook) into
``results.csv``: parameters, status, seconds and every figure in ``metrics.json``.
"""

from __future__ import annotations

import ast
import csv
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from .config import get_preset
from .experiment import load_metrics

__all__ = ["NOTEBOOK_DIR", "list_notebooks", "RunResult", "run_notebook", "run_series", "sweep", "parse_grid"]

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"


def list_notebooks(only: Sequence[str] | None = None, folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The series in order (``NN_name.ipynb``). ``only`` selects by prefix or name: ``["00", "01_autoencoder"]``."""
    notebooks = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks named NN_*.ipynb in {folder}")
    if only:
        def matches(path: Path, name: str) -> bool:
            return path.stem == name or path.stem.startswith(f"{name}_") or path.name == name

        chosen = [p for p in notebooks if any(matches(p, o) for o in only)]
        unknown = [o for o in only if not any(matches(p, o) for p in notebooks)]
        if unknown:
            raise ValueError(f"no notebook matches {', '.join(unknown)}; notebooks: {', '.join(p.stem for p in notebooks)}")
        notebooks = chosen
    return notebooks


@dataclass
class RunResult:
    notebook: str
    executed: Path
    params: dict[str, Any]
    status: str  # "ok" or "failed"
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def declared_parameters(notebook: Path) -> set[str]:
    """Names set in the notebook's cell tagged ``parameters``."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


# Parameters that name files: made absolute against the caller's working directory, because the
# kernel runs in the notebooks' folder (`--param data=data_samples` means the caller's data_samples).
PATH_PARAMS = ("data", "vae_path", "pretrained_model_path")


def _absolute_paths(params: dict[str, Any]) -> dict[str, Any]:
    return {k: str(Path(v).expanduser().resolve()) if k in PATH_PARAMS and isinstance(v, str) else v
            for k, v in params.items()}


def run_notebook(notebook: Path, run_dir: Path, params: dict[str, Any], kernel_name: str = "python3",
                 log_output: bool = False) -> RunResult:
    """Execute one notebook with papermill into ``run_dir``, injecting ``params`` and ``run_dir``.

    Only the parameters the notebook declares are injected. A failing cell does not raise
    here: the result says ``failed`` with the error, and the executed copy shows the cell.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    declared = declared_parameters(notebook)
    injected = {k: v for k, v in {**_absolute_paths(params), "run_dir": str(run_dir)}.items() if k in declared}
    executed = run_dir / notebook.name
    began = time.time()
    status, error = "ok", None
    try:
        papermill.execute_notebook(
            str(notebook), str(executed), parameters=injected, kernel_name=kernel_name,
            cwd=str(notebook.parent), progress_bar=False, log_output=log_output,
        )
    except PapermillExecutionError as err:
        status = "failed"
        error = f"{err.ename}: {err.evalue} (cell {err.cell_index}, execution count {err.exec_count})"
    seconds = round(time.time() - began, 2)
    metrics = load_metrics(run_dir / notebook.stem).get("metrics", {})
    return RunResult(notebook.stem, executed, injected, status, seconds, metrics, error)


def check_parameters(notebooks: Sequence[Path], params: dict[str, Any]) -> None:
    """Fail before any kernel starts: an unknown preset, or a parameter no notebook declares."""
    get_preset(params.get("preset", "smoke"))
    unknown = set(params) - set().union(*(declared_parameters(nb) for nb in notebooks))
    if unknown:
        raise ValueError(f"no notebook in the series takes parameter(s) {', '.join(sorted(unknown))}")


def run_series(run_dir: Path, params: dict[str, Any], only: Sequence[str] | None = None,
               stop_on_failure: bool = True, log_output: bool = False, echo=print) -> list[RunResult]:
    """Execute the notebooks in order into ``run_dir``. Later stages need earlier ones, so the
    series stops at the first failure unless ``stop_on_failure`` is false."""
    notebooks = list_notebooks(only)
    check_parameters(notebooks, params)
    results = []
    for notebook in notebooks:
        echo(f"▶ {notebook.stem} …")
        result = run_notebook(notebook, run_dir, params, log_output=log_output)
        echo(f"  {result.status} in {result.seconds:.1f} s → {result.executed}")
        if result.error:
            echo(f"  {result.error}")
        results.append(result)
        if result.status != "ok" and stop_on_failure:
            break
    return results


def parse_grid(assignments: Iterable[str]) -> dict[str, list[Any]]:
    """``["steps=50,200", "seed=0,1", "preset=smoke"]`` → ``{"steps": [50, 200], …}``.

    Values are Python literals where they parse (``50``, ``0.1``, ``True``), else strings.
    """
    grid: dict[str, list[Any]] = {}
    for assignment in assignments:
        name, sep, values = assignment.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise ValueError(f"parameter must look like name=value[,value…]; got {assignment!r}")
        grid[name.strip()] = [_literal(v.strip()) for v in values.split(",")]
    return grid


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def sweep(run_dir: Path, grid: dict[str, list[Any]], base: dict[str, Any] | None = None,
          only: Sequence[str] | None = None, echo=print) -> Path:
    """Run the series once per combination in ``grid``; write and return ``run_dir/results.csv``."""
    run_dir = Path(run_dir)
    names = list(grid)
    rows = []
    for values in itertools.product(*(grid[n] for n in names)):
        combo = dict(zip(names, values))
        label = ",".join(f"{k}={v}" for k, v in combo.items()) or "base"
        echo(f"■ {label}")
        results = run_series(run_dir / "sweep" / _safe(label), {**(base or {}), **combo}, only=only, echo=echo)
        for result in results:
            rows.append({"run": label, "notebook": result.notebook, "status": result.status,
                         "seconds": result.seconds, **combo, **_flatten(result.metrics),
                         "error": result.error or ""})
    table = run_dir / "results.csv"
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return table


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "=,.-_" else "_" for c in label)


def _flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted columns; lists (e.g. loss curves) are left out of the table."""
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif not isinstance(value, (list, tuple)):
            flat[f"{prefix}{key}"] = value
    return flat
