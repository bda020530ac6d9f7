"""Looking at videos: inline players, frame grids, mp4/gif files.

Clips everywhere in the kit are tensors of shape (C, L, H, W) (or (B, C, L, H, W) for a
batch) with values in [-1, 1]; these helpers convert at the edge, so nothing else needs
to know about uint8 or (L, H, W, C).
"""

from __future__ import annotations

import base64
import html
import io
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

__all__ = [
    "to_uint8",
    "save_video",
    "save_mp4",
    "save_gif",
    "video_html",
    "show_videos",
    "frame_grid",
    "plot_frames",
    "plot_sweep",
]


def to_uint8(video: torch.Tensor) -> np.ndarray:
    """(C, L, H, W) in [-1, 1] → (L, H, W, 3) uint8. One channel is shown as grey."""
    if video.ndim != 4:
        raise ValueError(f"expected a clip of shape (C, L, H, W); got {tuple(video.shape)}")
    video = video.detach().float().cpu()
    if video.shape[0] == 1:
        video = video.expand(3, -1, -1, -1)
    if video.shape[0] != 3:
        raise ValueError(f"can only show 1 or 3 channels; got {video.shape[0]} (decode latents first)")
    frames = ((video.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return frames.permute(1, 2, 3, 0).numpy()


def _even(frames: np.ndarray) -> np.ndarray:
    """H.264 in yuv420p needs even sides: pad the last row/column by repetition."""
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frames


def save_mp4(video: torch.Tensor, path: str | Path, fps: int = 8) -> Path:
    """Write a clip as H.264 mp4 (readable by browsers and decord). Atomic: temp file + rename."""
    import imageio_ffmpeg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = _even(to_uint8(video))
    height, width = frames.shape[1:3]
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    writer = imageio_ffmpeg.write_frames(
        str(tmp), (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p",
        # Lossless-ish quality and no B-frames: tiny clips, exact frame counts for decord.
        output_params=["-crf", "12", "-bf", "0", "-g", "8", "-threads", "1"], macro_block_size=1,
        ffmpeg_log_level="error",
    )
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    os.replace(tmp, path)
    return path


def save_gif(video: torch.Tensor, path: str | Path, fps: int = 8) -> Path:
    """Write a clip as a looping GIF."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(frame) for frame in to_uint8(video)]
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                   duration=round(1000 / fps), loop=0)
    os.replace(tmp, path)
    return path


def save_video(video: torch.Tensor, path: str | Path, fps: int = 8) -> Path:
    """Write a clip as .mp4 or .gif, chosen by the file's extension."""
    suffix = Path(path).suffix.lower()
    if suffix == ".mp4":
        return save_mp4(video, path, fps)
    if suffix == ".gif":
        return save_gif(video, path, fps)
    raise ValueError(f"video path must end in .mp4 or .gif; got {path}")


def video_html(video: torch.Tensor, fps: int = 8, width: int = 160, caption: str | None = None) -> str:
    """An HTML5 ``<video>`` element with the clip embedded as a base64 mp4."""
    with tempfile.TemporaryDirectory() as tmp:
        data = save_mp4(video, Path(tmp) / "clip.mp4", fps).read_bytes()
    source = base64.b64encode(data).decode("ascii")
    # Tiny clips are upscaled by the browser; keep the pixels crisp.
    element = (f'<video width="{width}" autoplay loop muted playsinline style="image-rendering: pixelated">'
               f'<source src="data:video/mp4;base64,{source}" type="video/mp4"></video>')
    if caption:
        element += f'<div style="font-size: 12px; max-width: {width}px">{html.escape(caption)}</div>'
    return f'<div style="display: inline-block; margin: 4px; vertical-align: top">{element}</div>'


def show_videos(videos, captions: Sequence[str] | None = None, fps: int = 8, width: int = 160):
    """Display clips side by side in a notebook, looping. ``videos``: (B, C, L, H, W) or a list."""
    from IPython.display import HTML, display

    videos = list(videos)
    captions = list(captions) if captions is not None else [None] * len(videos)
    if len(captions) != len(videos):
        raise ValueError(f"got {len(videos)} videos but {len(captions)} captions")
    display(HTML("".join(video_html(v, fps, width, c) for v, c in zip(videos, captions))))


def frame_grid(videos, max_frames: int | None = None) -> np.ndarray:
    """Clips as rows, frames as columns: (B, C, L, H, W) → one (B·H, L·W, 3) uint8 image.

    A one-pixel white gutter separates the cells.
    """
    rows = []
    for video in videos:
        frames = to_uint8(video)[:max_frames]
        frames = np.pad(frames, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=255)
        rows.append(np.concatenate(list(frames), axis=1))
    return np.concatenate(rows, axis=0)


def plot_frames(videos, titles: Sequence[str] | None = None, max_frames: int | None = None,
                cell_inches: float = 1.1, suptitle: str | None = None):
    """A matplotlib figure of clips (rows) × frames (columns), titled by row. Returns the figure."""
    import matplotlib.pyplot as plt

    videos = list(videos)
    num_frames = min(v.shape[1] for v in videos) if max_frames is None else max_frames
    fig, axes = plt.subplots(len(videos), num_frames, squeeze=False,
                             figsize=(cell_inches * num_frames, cell_inches * len(videos) + 0.3))
    for row, video in enumerate(videos):
        frames = to_uint8(video)
        for col in range(num_frames):
            ax = axes[row, col]
            ax.imshow(frames[col], interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if row == 0:
                ax.set_title(f"t={col}", fontsize=8)
        if titles is not None:
            axes[row, 0].set_ylabel(titles[row], fontsize=8, rotation=0, ha="right", va="center")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def figure_to_png(fig, path: str | Path) -> Path:
    """Save a matplotlib figure as PNG (atomically), for run folders and galleries."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    tmp = path.with_name(f".{path.stem}.tmp.png")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)
    return path


def plot_time_mean(videos, titles: Sequence[str] | None = None, cell_inches: float = 1.6):
    """For each clip: first, middle and last frame, then the plain mean over time.

    The mean of a clip is already image-like — static parts stay sharp, moving parts blur.
    CMD's content frame improves on it with learned per-pixel weights.
    """
    import matplotlib.pyplot as plt

    videos = list(videos)
    fig, axes = plt.subplots(len(videos), 4, squeeze=False, figsize=(4 * cell_inches, len(videos) * cell_inches + 0.4))
    for row, video in enumerate(videos):
        last = video.shape[1] - 1
        panels = [(video[:, 0], "first frame"), (video[:, last // 2], "middle frame"),
                  (video[:, last], "last frame"), (video.mean(dim=1), "mean over time")]
        for col, (image, name) in enumerate(panels):
            ax = axes[row, col]
            ax.imshow(to_uint8(image.unsqueeze(1))[0], interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if row == 0:
                ax.set_title(name, fontsize=9)
        if titles is not None:
            axes[row, 0].set_ylabel(titles[row], fontsize=7, rotation=0, ha="right", va="center", wrap=True)
    fig.tight_layout()
    return fig


def show_code(obj) -> None:
    """Display the source of a kit function or class in a notebook, highlighted."""
    import inspect

    from IPython.display import Code, display

    display(Code(inspect.getsource(obj), language="python"))


def plot_losses(curves: dict, ylabel: str = "loss", log: bool = True, title: str | None = None):
    """Training curves: ``{"name": history}`` where history is a list of ``{"step", "loss"}``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for name, history in curves.items():
        ax.plot([h["step"] for h in history], [h["loss"] for h in history], label=name)
    ax.set(xlabel="optimizer step", ylabel=ylabel, title=title)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_sweep(results_csv: str | Path, x: str, y: str | Sequence[str], group: str | None = None,
               notebook: str | None = None):
    """A sweep's ``results.csv`` (``cmdkit run-notebooks --param …``) as a picture: each metric in
    ``y`` against the parameter ``x``, one line per value of ``group`` (e.g. ``seed``), every run a
    point. ``notebook`` keeps the rows of one notebook when the sweep ran several."""
    import csv

    import matplotlib.pyplot as plt

    with open(results_csv, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("status") == "ok"
                and (notebook is None or r.get("notebook") == notebook)]
    metrics = [y] if isinstance(y, str) else list(y)
    missing = [name for name in [x, *metrics, *([group] if group else [])] if rows and name not in rows[0]]
    if not rows or missing:
        raise ValueError(f"{results_csv}: no successful rows" if not rows else
                         f"{results_csv} has no column(s) {', '.join(missing)}; it has {', '.join(rows[0])}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for key in sorted({r[group] for r in rows} if group else {None}):
            chosen = sorted((float(r[x]), float(r[metric])) for r in rows if group is None or r[group] == key)
            ax.plot(*zip(*chosen), marker="o", label=f"{group}={key}" if group else None)
        ax.set(xlabel=x, ylabel=metric)
        ax.grid(alpha=0.3)
        if group:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_importance(video: torch.Tensor, weights: torch.Tensor, content: torch.Tensor, cell_inches: float = 1.2):
    """How x̄ is made: frames (top), their importance weights w_l (middle, averaged over channels,
    0 = black, the largest weight = white), and x̄ beside the plain mean (right).

    Args: video (C, L, H, W) in [-1, 1]; weights (C, L, H, W); content (C, H, W).
    """
    import matplotlib.pyplot as plt

    num_frames = video.shape[1]
    fig, axes = plt.subplots(2, num_frames + 2, squeeze=False,
                             figsize=(cell_inches * (num_frames + 2), cell_inches * 2 + 0.4))
    frames = to_uint8(video)
    heat = weights.float().mean(dim=0).cpu()  # (L, H, W)
    for l in range(num_frames):
        axes[0, l].imshow(frames[l], interpolation="nearest")
        axes[0, l].set_title(f"x_{l}", fontsize=8)
        image = axes[1, l].imshow(heat[l], cmap="magma", vmin=0, vmax=float(heat.max()), interpolation="nearest")
        axes[1, l].set_title(f"w_{l}", fontsize=8)
    axes[0, num_frames].imshow(to_uint8(content.unsqueeze(1))[0], interpolation="nearest")
    axes[0, num_frames].set_title("content x̄", fontsize=8)
    axes[0, num_frames + 1].imshow(to_uint8(video.mean(dim=1, keepdim=True))[0], interpolation="nearest")
    axes[0, num_frames + 1].set_title("plain mean", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    for ax in axes[1, num_frames:]:
        ax.axis("off")
    fig.colorbar(image, ax=axes[1, num_frames:].tolist(), fraction=0.4, label="importance")
    return fig


def plot_motion_latent(motion: torch.Tensor, grid_height: int, channels: int = 4, cell_inches: float = 1.6):
    """The motion latent z (D, L, H'+W') as images over time, one column per channel:
    z_rows (L × H': one value per frame row) above z_cols (L × W': one per frame column).
    Time runs downwards; a moving object draws a diagonal streak."""
    import matplotlib.pyplot as plt

    channels = min(channels, motion.shape[0])
    fig, axes = plt.subplots(2, channels, squeeze=False, layout="constrained",
                             figsize=(cell_inches * channels + 0.8, 2 * cell_inches + 0.6))
    z = motion.float().cpu()
    for k in range(channels):
        for row, (part, name) in enumerate([(z[k, :, :grid_height], "rows"), (z[k, :, grid_height:], "cols")]):
            ax = axes[row, k]
            image = ax.imshow(part, cmap="coolwarm", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
            ax.set_title(f"z_{name}[{k}]", fontsize=8)
            ax.set_xlabel("row i" if name == "rows" else "column j", fontsize=7)
            if k == 0:
                ax.set_ylabel("frame l", fontsize=7)
            ax.tick_params(labelsize=6)
    fig.colorbar(image, ax=axes.ravel().tolist(), fraction=0.03)
    return fig


def plot_image_grid(rows: Sequence[torch.Tensor], row_titles: Sequence[str] | None = None,
                    col_titles: Sequence[str] | None = None, wrap: int = 22, cell_inches: float = 1.25):
    """Rows of images, each row a batch (B, 3, H, W) in [-1, 1]; column titles are wrapped to
    ``wrap`` characters so long captions stay readable."""
    import textwrap

    import matplotlib.pyplot as plt

    columns = max(len(r) for r in rows)
    title_lines = max((len(textwrap.wrap(t, wrap)) for t in col_titles), default=0) if col_titles else 0
    fig, axes = plt.subplots(len(rows), columns, squeeze=False,
                             figsize=(cell_inches * columns + 0.6, cell_inches * len(rows) + 0.14 * title_lines))
    for r, images in enumerate(rows):
        pictures = to_uint8(images.permute(1, 0, 2, 3))  # (B, H, W, 3)
        for c in range(columns):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            if c < len(pictures):
                ax.imshow(pictures[c], interpolation="nearest")
            else:
                ax.axis("off")
            if r == 0 and col_titles is not None and c < len(col_titles):
                ax.set_title("\n".join(textwrap.wrap(col_titles[c], wrap)), fontsize=6)
        if row_titles is not None:
            axes[r, 0].set_ylabel(row_titles[r], fontsize=8, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def save_gallery(videos: torch.Tensor, captions: Sequence[str], folder: str | Path, fps: int = 8) -> Path:
    """Write each clip (B, C, L, H, W) in [-1, 1] as ``NN.mp4`` and ``NN.gif``, plus
    ``contact_sheet.png`` (one row of frames per clip) and ``captions.txt``. Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, video in enumerate(videos):
        save_mp4(video, folder / f"{i:02d}.mp4", fps)
        save_gif(video, folder / f"{i:02d}.gif", fps)
    (folder / "captions.txt").write_text("".join(f"{i:02d}\t{c}\n" for i, c in enumerate(captions)))
    fig = plot_frames(list(videos), titles=[c[:34] for c in captions])
    figure_to_png(fig, folder / "contact_sheet.png")
    return folder


def video_player(generate, prompt: str = "a red circle moves left quickly", seed: int = 0,
                 content_guidance: float = 4.0, motion_guidance: float = 3.0, fps: int = 8, width: int = 256):
    """An ipywidgets player: prompt box, seed, two guidance sliders, a generate button, and a
    play button with a frame scrubber. ``generate(prompt, seed, content_guidance, motion_guidance)``
    returns one clip (C, L, H, W) in [-1, 1]. Building the widget generates one clip and returns
    at once, so it never blocks a headless (papermill) run; the button works in JupyterLab."""
    import ipywidgets as widgets
    from PIL import Image

    prompt_box = widgets.Text(value=prompt, description="prompt", layout=widgets.Layout(width="420px"))
    seed_box = widgets.IntText(value=seed, description="seed", layout=widgets.Layout(width="160px"))
    content_slider = widgets.FloatSlider(value=content_guidance, min=1, max=10, step=0.5, description="content s")
    motion_slider = widgets.FloatSlider(value=motion_guidance, min=1, max=10, step=0.5, description="motion s")
    button = widgets.Button(description="generate", button_style="primary")
    image = widgets.Image(format="png", width=width)
    frame = widgets.IntSlider(value=0, min=0, max=0, description="frame")
    play = widgets.Play(value=0, min=0, max=0, interval=round(1000 / fps))
    widgets.jslink((play, "value"), (frame, "value"))
    status = widgets.Label()
    frames: list[bytes] = []

    def show(change=None):
        if frames:
            image.value = frames[min(frame.value, len(frames) - 1)]

    def run(_=None):
        status.value = "generating…"
        clip = generate(prompt_box.value, seed_box.value, content_slider.value, motion_slider.value)
        frames.clear()
        for array in to_uint8(clip):
            buffer = io.BytesIO()
            Image.fromarray(array).resize((width, width * array.shape[0] // array.shape[1]), Image.NEAREST).save(
                buffer, format="PNG")
            frames.append(buffer.getvalue())
        frame.max = play.max = len(frames) - 1
        frame.value = 0
        show()
        status.value = f"{len(frames)} frames · seed {seed_box.value}"

    frame.observe(show, names="value")
    button.on_click(run)
    run()
    return widgets.VBox([widgets.HBox([prompt_box, seed_box]), widgets.HBox([content_slider, motion_slider, button]),
                         image, widgets.HBox([play, frame]), status])
