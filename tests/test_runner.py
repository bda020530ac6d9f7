"""The papermill runner: parameters, failures shown, and sweeps collected into one table."""

import csv

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from cmdkit.runner import list_notebooks, parse_grid, run_notebook, run_series, sweep


def test_parse_grid_reads_literals():
    assert parse_grid(["steps=50,200", "lr=1e-3", "preset=smoke", "flag=True"]) == {
        "steps": [50, 200], "lr": [0.001], "preset": ["smoke"], "flag": [True]}
    with pytest.raises(ValueError, match="name=value"):
        parse_grid(["steps"])


def test_notebook_selection():
    assert [p.stem for p in list_notebooks(["00"])] == ["00_tour"]
    with pytest.raises(ValueError, match="no notebook matches 99"):
        list_notebooks(["99"])


def test_unknown_parameter_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="no notebook in the series takes parameter.*num_clip"):
        run_series(tmp_path, {"preset": "smoke", "num_clip": 3}, only=["00"])
    with pytest.raises(ValueError, match="preset must be one of"):
        run_series(tmp_path, {"preset": "huge"}, only=["00"])


def _tiny_notebook(path, body):
    nb = new_notebook(cells=[new_code_cell("x = 1\nrun_dir = '.'"), new_code_cell(body)])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_a_failing_cell_is_reported_with_its_error(tmp_path):
    notebook = _tiny_notebook(tmp_path / "broken.ipynb", "assert x == 1\nraise ValueError(f'x was {x}')")
    result = run_notebook(notebook, tmp_path / "run", {"x": 7})
    assert result.status == "failed"
    assert "AssertionError" in result.error  # x=7 was injected, so the first line fails
    assert result.executed.exists()
    injected = nbformat.read(result.executed, as_version=4)
    assert any("x = 7" in cell.source for cell in injected.cells)


def test_sweep_of_the_tour_gives_one_row_per_run(tmp_path):
    table = sweep(tmp_path, {"num_clips": [2, 3]}, base={"preset": "smoke", "seed": 0}, only=["00"],
                  echo=lambda *_: None)
    rows = list(csv.DictReader(open(table)))
    assert [(r["run"], r["notebook"], r["status"]) for r in rows] == [
        ("num_clips=2", "00_tour", "ok"), ("num_clips=3", "00_tour", "ok")]
    assert {"seconds", "blurred_fraction", "paper_token_ratio"} <= set(rows[0])
    assert all(0 < float(r["blurred_fraction"]) < 1 for r in rows)
    assert rows[0]["blurred_fraction"] != rows[1]["blurred_fraction"]  # measured on different clips
    assert (tmp_path / "sweep" / "num_clips=3" / "00_tour" / "toy_2.mp4").exists()
