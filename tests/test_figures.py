"""`cmdkit figures`: a run's key figures into docs/, with the data-flow diagram and an index."""

import pytest
import torch
from PIL import Image

from cmdkit.cli import main
from cmdkit.figures import FIGURES, GIF_SCALE, MAX_WIDTH, collect_figures
from cmdkit.viz import save_gallery


@pytest.fixture
def run_dir(tmp_path):
    """A run folder with two notebooks' figures (one wider than the page) and a gallery."""
    run = tmp_path / "run"
    for figure, width in ((FIGURES[0], 300), (FIGURES[5], MAX_WIDTH + 600)):
        (run / figure.source).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (width, 100), (200, 30, 30)).save(run / figure.source)
    (run / "00_tour" / "metrics.json").write_text("{}")
    videos = torch.rand(2, 3, 4, 8, 8) * 2 - 1
    save_gallery(videos, ["a red circle moves left", "a blue square moves up"], run / "gallery")
    return run


def test_figures_are_copied_shrunk_enlarged_and_indexed(run_dir, tmp_path):
    out = tmp_path / "docs"
    written = collect_figures(run_dir, out)
    names = {p.name for p in written}
    assert {"cmd_data_flow.png", FIGURES[0].name, FIGURES[5].name, "README.md"} <= names
    assert Image.open(out / FIGURES[5].name).width == MAX_WIDTH  # shrunk to the page
    assert Image.open(out / FIGURES[0].name).width == 300  # left alone
    gif = Image.open(out / "05_gallery_0.gif")
    assert gif.size == (8 * GIF_SCALE, 8 * GIF_SCALE) and gif.n_frames == 4
    flow = Image.open(out / "cmd_data_flow.png")
    assert flow.width > 600 and len(set(flow.convert("L").getdata())) > 10  # a drawing, not a blank canvas
    index = (out / "README.md").read_text()
    assert "cmdkit figures" in index and f"]({FIGURES[5].name})" in index
    assert "a red circle moves left" in index  # the gallery's captions name the GIFs
    assert f"`{FIGURES[3].source}`" in index.split("Not in this run:")[1]  # missing ones are listed


def test_a_folder_that_is_not_a_run_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["figures", str(tmp_path / "empty"), "--out", str(tmp_path / "docs")]) == 2
    assert "holds no notebook results" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="not found"):
        collect_figures(tmp_path / "nowhere", tmp_path / "docs")
