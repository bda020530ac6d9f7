import numpy as np
import pytest
import torch
from PIL import Image

from cmdkit import viz
from cmdkit.data import read_video


def test_mp4_round_trip_keeps_frames_and_order(tmp_path, make_clip):
    clip = make_clip(num_frames=12, height=30, width=45)  # odd sides get padded for H.264
    path = viz.save_mp4(clip, tmp_path / "clip.mp4")
    back = read_video(path, num_frames=12, start=0)
    assert back.shape == (3, 12, 30, 46)  # 45 → 46: H.264 in yuv420p needs even sides
    brightness = back.mean(dim=(0, 2, 3))
    assert (brightness[1:] > brightness[:-1]).all()  # frame order survives
    assert (brightness - clip.mean(dim=(0, 2, 3))).abs().max() < 0.03


def test_gif_has_every_frame(tmp_path, make_clip):
    path = viz.save_gif(make_clip(num_frames=7), tmp_path / "clip.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == 7


def test_frame_grid_layout(make_clip):
    grid = viz.frame_grid(torch.stack([make_clip(5, 8, 10), make_clip(5, 8, 10)]))
    assert grid.shape == (2 * 10, 5 * 12, 3) and grid.dtype == np.uint8


def test_helpful_errors(tmp_path, make_clip):
    with pytest.raises(ValueError, match="decode latents first"):
        viz.to_uint8(torch.zeros(4, 2, 8, 8))
    with pytest.raises(ValueError, match="must end in .mp4 or .gif"):
        viz.save_video(make_clip(), tmp_path / "clip.avi")


def test_plot_sweep_draws_one_line_per_group_and_names_missing_columns(tmp_path):
    import csv

    from cmdkit.viz import plot_sweep

    table = tmp_path / "results.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["run", "notebook", "status", "smoothness", "seed", "psnr"])
        writer.writeheader()
        for seed in (0, 1):
            for smoothness, psnr in ((0.0, 24.0), (0.05, 24.5), (0.2, 23.0)):
                writer.writerow({"run": "r", "notebook": "01_autoencoder", "status": "ok", "smoothness": smoothness,
                                 "seed": seed, "psnr": psnr + seed})
        writer.writerow({"run": "r", "notebook": "01_autoencoder", "status": "failed", "smoothness": 1.0,
                         "seed": 0, "psnr": ""})  # failed runs are left out
    fig = plot_sweep(table, x="smoothness", y="psnr", group="seed")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 and list(lines[1].get_ydata()) == [25.0, 25.5, 24.0]
    with pytest.raises(ValueError, match="no column.*ssim"):
        plot_sweep(table, x="smoothness", y=["psnr", "ssim"])
