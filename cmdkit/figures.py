"""The pictures a reader sees before running anything: key figures of a run, copied into ``docs/``.

``cmdkit figures runs/<demo> --out docs/figures`` picks each notebook's telling figure from a
finished run (``cmdkit run-notebooks`` / ``make demo``), shrinks what is wider than the page,
enlarges the 32×32 gallery GIFs so they can be seen, draws the CMD data-flow diagram, and
writes an index (``README.md``) saying which run and which commit the pictures come from. The
README and every notebook's opening cell show these files, so they are regenerated from each
new demo run rather than edited by hand.
"""

from __future__ import annotations

import datetime as _dt
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Figure", "FIGURES", "GALLERY_GIFS", "collect_figures", "draw_data_flow"]


@dataclass(frozen=True)
class Figure:
    source: str  # path inside the run folder
    name: str  # file name under docs/figures
    caption: str


# One or two per notebook: the picture that notebook exists to produce.
FIGURES: tuple[Figure, ...] = (
    Figure("00_tour/toy_world.png", "00_toy_world.png", "The toy world: captioned clips of shapes moving on textured backgrounds."),
    Figure("01_autoencoder/content_vs_mean.png", "01_content_vs_mean.png",
           "The content frame (a learned per-pixel weighting of the frames) against the plain mean frame."),
    Figure("01_autoencoder/importance_0.png", "01_importance.png", "Where the content frame takes each pixel from."),
    Figure("01_autoencoder/reconstructions.png", "01_reconstructions.png",
           "Held-out clips and their reconstructions from (content frame, motion latent)."),
    Figure("01_autoencoder/motion_latent_0.png", "01_motion_latent.png", "A motion latent: its x- and y-axis parts over time."),
    Figure("02_image_prior/samples.png", "02_prior_samples.png", "The image prior's samples for colour × shape prompts."),
    Figure("03_content_frames/before_after.png", "03_before_after.png",
           "Content frames from the prior before and after fine-tuning, beside real ones."),
    Figure("04_motion/motion_prediction.png", "04_motion_prediction.png",
           "Motion latents sampled by the motion DiT for a true content frame, decoded to clips."),
    Figure("04_motion/guidance.png", "04_guidance.png", "The direction probe against the motion guidance scale."),
    Figure("05_pipeline/samplers.png", "05_samplers.png", "One prompt through CMDPipeline: DDIM against DPM-Solver++."),
    Figure("gallery/contact_sheet.png", "05_contact_sheet.png", "The gallery: one generated clip per prompt, frames left to right."),
    Figure("06_evaluation/cmd_vs_direct.png", "06_cmd_vs_direct.png",
           "CMD against direct video diffusion trained for the same seconds."),
    Figure("07_efficiency/flops_scaling.png", "07_flops_scaling.png", "How CMD's and direct diffusion's costs grow with frames and size."),
)
GALLERY_GIFS = 4  # the first few generated clips, as animations
GIF_SCALE = 4  # 32×32 clips shown at 128×128, pixels kept sharp
MAX_WIDTH = 1400  # px; wider figures are shrunk


def draw_data_flow(path: str | Path) -> Path:
    """The CMD data-flow diagram. Top, training: the autoencoder turns each clip into a content
    frame x̄ and a motion latent z, the targets of the two generators. Bottom, sampling: an image
    model draws x̄ from the prompt, a motion model draws z given x̄ and the prompt, and the
    decoder turns (x̄, z) back into a clip."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    green, red, sand, blue, grey = "#dff0dc", "#f5dcdc", "#f3e3c7", "#dfe7f5", "#eeeeee"
    boxes = {  # name: (x, y, text, colour)
        "clip": (0.07, 0.78, "video clip\n(C, L, H, W)", blue),
        "encoder": (0.25, 0.78, "autoencoder\nencoder", sand),
        "x": (0.45, 0.90, "content frame x̄\n(C, H, W)", green),
        "z": (0.45, 0.66, "motion latent z\n(D, L, H'+W')", red),
        "prompt": (0.07, 0.22, "text prompt", grey),
        "image": (0.31, 0.22, "image diffusion\n(fine-tuned UNet)", green),
        "motion": (0.55, 0.22, "motion diffusion\n(DiT, given x̄)", red),
        "decoder": (0.77, 0.22, "autoencoder\ndecoder", sand),
        "out": (0.95, 0.22, "generated clip\n(C, L, H, W)", blue),
    }
    w, h = 0.135, 0.15
    fig, ax = plt.subplots(figsize=(11, 4.4))
    ax.set_xlim(-0.01, 1.03)
    ax.set_ylim(0.0, 1.02)
    ax.axis("off")
    for x, y, text, colour in boxes.values():
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.008",
                                    facecolor=colour, edgecolor="#555555", linewidth=1))
        ax.text(x, y, text, ha="center", va="center", fontsize=8.5)

    def arrow(a, b, label=None, colour="#333333", style="-", rad=0.0, label_at=0.5, dy=0.03):
        (xa, ya), (xb, yb) = boxes[a][:2], boxes[b][:2]
        ax.annotate("", xy=(xb, yb), xytext=(xa, ya),
                    arrowprops=dict(arrowstyle="-|>", color=colour, linestyle=style, shrinkA=34, shrinkB=34,
                                    connectionstyle=f"arc3,rad={rad}", linewidth=1.2))
        if label:
            ax.text(xa + (xb - xa) * label_at, ya + (yb - ya) * label_at + dy, label, ha="center", fontsize=8,
                    color=colour)

    arrow("clip", "encoder")
    arrow("encoder", "x", colour="#2a7a2a")
    arrow("encoder", "z", colour="#a03030")
    arrow("prompt", "image")
    arrow("image", "motion", "x̄", colour="#2a7a2a")
    arrow("motion", "decoder", "z", colour="#a03030")
    arrow("decoder", "out")
    arrow("prompt", "motion", "prompt", rad=-0.28, label_at=0.62, dy=0.12)
    arrow("image", "decoder", "x̄", colour="#2a7a2a", rad=0.3, label_at=0.5, dy=-0.16)
    # What each generator learns from: dashed, from the training targets down to the models.
    arrow("x", "image", colour="#2a7a2a", style="--", rad=0.15)
    arrow("z", "motion", colour="#a03030", style="--", rad=-0.05)
    ax.text(0.66, 0.85, "training: encode every clip once;\nx̄ teaches the image model (fine-tuning a\n"
                        "pretrained text-to-image UNet), z the motion model", fontsize=8, color="#555555", va="center")
    ax.text(0.0, 0.99, "TRAINING", fontsize=8.5, color="#777777", weight="bold")
    ax.text(0.0, 0.45, "SAMPLING", fontsize=8.5, color="#777777", weight="bold")
    ax.axhline(0.5, xmin=0.03, xmax=0.98, color="#cccccc", linewidth=0.8)
    ax.set_title("CMD: a clip = one content frame x̄ + a small motion latent z", fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


def _shrink_png(source: Path, target: Path) -> None:
    from PIL import Image

    image = Image.open(source)
    if image.width > MAX_WIDTH:
        image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)), Image.LANCZOS)
    image.save(target, optimize=True)


def _enlarge_gif(source: Path, target: Path, scale: int = GIF_SCALE) -> None:
    from PIL import Image, ImageSequence

    gif = Image.open(source)
    frames = [frame.convert("RGB").resize((gif.width * scale, gif.height * scale), Image.NEAREST)
              for frame in ImageSequence.Iterator(gif)]
    frames[0].save(target, format="GIF", save_all=True, append_images=frames[1:],
                   duration=gif.info.get("duration", 125), loop=0)


def _commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10)
        return done.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def collect_figures(run_dir: str | Path, out: str | Path = "docs/figures") -> list[Path]:
    """Copy the run's key figures into ``out`` (see :data:`FIGURES`), write the data-flow diagram
    and an index; returns the files written. A figure the run lacks (a notebook not run) is
    listed as missing in the index rather than failing the rest."""
    run_dir, out = Path(run_dir), Path(out)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} not found: pass the --out folder of `cmdkit run-notebooks`")
    if not any(run_dir.glob("0*_*/metrics.json")):
        raise FileNotFoundError(f"{run_dir} holds no notebook results (no 0*_*/metrics.json): is it a run folder?")
    out.mkdir(parents=True, exist_ok=True)
    written, missing = [draw_data_flow(out / "cmd_data_flow.png")], []
    for figure in FIGURES:
        source = run_dir / figure.source
        if source.is_file():
            _shrink_png(source, out / figure.name)
            written.append(out / figure.name)
        else:
            missing.append(figure)
    gifs = sorted((run_dir / "gallery").glob("*.gif"))[:GALLERY_GIFS]
    for i, gif in enumerate(gifs):
        _enlarge_gif(gif, out / f"05_gallery_{i}.gif")
        written.append(out / f"05_gallery_{i}.gif")
    captions = _gallery_captions(run_dir, len(gifs))
    index = [f"# Figures of a smoke run", "",
             # The run's own name, not its path on the machine that collected it.
             f"Regenerate with `cmdkit figures runs/{run_dir.name} --out docs/figures` after `make demo`. "
             f"Source: `{run_dir.name}`, commit {_commit() or 'unknown'}, collected "
             f"{_dt.date.today().isoformat()}.", "",
             "![CMD data flow](cmd_data_flow.png)", ""]
    for figure in FIGURES:
        if figure not in missing:
            index += [f"**{figure.name}** — {figure.caption}", "", f"![{figure.caption}]({figure.name})", ""]
    if gifs:
        index += ["**Generated clips** — " + "; ".join(f"`05_gallery_{i}.gif`: {c}" for i, c in enumerate(captions)), "",
                  " ".join(f"![{c}](05_gallery_{i}.gif)" for i, c in enumerate(captions)), ""]
    if missing:
        index += ["Not in this run: " + ", ".join(f"`{f.source}`" for f in missing) + "."]
    (out / "README.md").write_text("\n".join(index) + "\n")
    return written + [out / "README.md"]


def _gallery_captions(run_dir: Path, count: int) -> list[str]:
    """The prompts of the first gallery clips, from the ``captions.txt`` that ``save_gallery`` writes."""
    path = run_dir / "gallery" / "captions.txt"
    lines = path.read_text().splitlines() if path.is_file() else []
    captions = [line.partition("\t")[2] for line in lines[:count]]
    return captions + [f"clip {i}" for i in range(len(captions), count)]
