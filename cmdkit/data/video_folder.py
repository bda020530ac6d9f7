"""Real videos from disk, decoded with decord.

Two layouts, the two that video-diffusion papers train on:

* **class folders** (UCF-101): ``root/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi`` …
  The caption is the folder name in words ("apply eye makeup"), the label its index in
  the sorted folder list.
* **a captions CSV** (WebVid): ``root/captions.csv`` with a caption column and a path (or
  video id) column, beside the videos. An optional ``label`` column gives class labels.

Every item is ``{"video": (3, L, H, W) float in [-1, 1], "caption": str, "label": int}``,
the same dict the toy world returns, so everything downstream reads either.

A file that cannot give a clip — empty, truncated, not a video, too short — raises
:class:`VideoReadError` naming the file and the reason. With ``on_error="skip"`` the
dataset moves on to the next good file and warns once per bad one; ``skipped`` holds the
report and :meth:`VideoFolder.check` scans everything up front.
"""

from __future__ import annotations

import csv
import random
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

__all__ = ["VideoFolder", "VideoReadError", "VIDEO_EXTENSIONS", "read_video", "resize_clip"]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".gif")
CAPTION_COLUMNS = ("caption", "name", "text", "prompt")  # WebVid calls it "name"
PATH_COLUMNS = ("path", "video", "file", "filename", "videoid")  # WebVid: "videoid"


class VideoReadError(ValueError):
    """A video file cannot give the clip asked for. The message names the file."""

    def __init__(self, path: Path | str, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class _Entry:
    path: Path
    caption: str
    label: int


def _words(folder_name: str) -> str:
    """'ApplyEyeMakeup' → 'apply eye makeup'; 'jumping_jack' → 'jumping jack'."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", folder_name.replace("_", " "))
    return " ".join(spaced.lower().split())


def _decoder_message(err: Exception) -> str:
    """decord's first message line, without its "[12:00:00] src/video/…cc:151: " prefix."""
    text = str(err).strip()
    line = text.splitlines()[0] if text else type(err).__name__
    return re.sub(r"^\[[\d:]+\]\s+\S+:\d+:\s*", "", line)[:200]


def _open(path: Path):
    """A decord VideoReader, or VideoReadError with a reason a person can act on."""
    import decord  # imported here: decord starts threads, and most of the kit never needs it

    if not path.exists():
        raise VideoReadError(path, "file not found")
    if path.stat().st_size == 0:
        raise VideoReadError(path, "file is empty (0 bytes)")
    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
    except Exception as err:  # decord raises its own DECORDError, RuntimeError, …
        raise VideoReadError(path, f"not a readable video ({_decoder_message(err)})") from None
    if len(reader) == 0:
        raise VideoReadError(path, "video has no frames")
    return reader


def _decode(reader, indices: list[int]) -> np.ndarray:
    """Frames ``indices`` as (L, H, W, 3) uint8.

    decord 0.6 mislabels frames whose RGB rows it pads for alignment (e.g. 48 px wide: 144
    bytes of pixels in a 192-byte row come back as shape (H, 48, 4), and ``get_batch``
    fails on the size mismatch). The bytes are right, so such frames are decoded one by
    one and each row's padding is dropped.
    """
    frame = reader[indices[0]].asnumpy()
    if frame.shape[-1] == 3:
        return reader.get_batch(indices).asnumpy()
    height, width = frame.shape[:2]
    rows = [reader[i].asnumpy().reshape(height, -1)[:, : width * 3] for i in indices]
    return np.stack(rows).reshape(len(indices), height, width, 3)


def resize_clip(frames: torch.Tensor, size: int | tuple[int, int], mode: str = "crop") -> torch.Tensor:
    """Resize (L, C, H, W) frames.

    ``size=int``: short side to ``size``, then a centre crop to ``size×size``.
    ``size=(h, w)`` with ``mode="crop"``: scale to cover h×w keeping the aspect, then centre
    crop; with ``mode="stretch"``: resize to exactly h×w, distorting the aspect.
    """
    height, width = frames.shape[-2:]
    target = (size, size) if isinstance(size, int) else tuple(size)
    if mode == "stretch":
        return F.interpolate(frames, size=target, mode="bilinear", antialias=True, align_corners=False)
    if mode != "crop":
        raise ValueError(f"resize mode must be 'crop' or 'stretch'; got {mode!r}")
    scale = max(target[0] / height, target[1] / width)
    scaled = (max(target[0], round(height * scale)), max(target[1], round(width * scale)))
    if scaled != (height, width):
        frames = F.interpolate(frames, size=scaled, mode="bilinear", antialias=True, align_corners=False)
    top, left = (scaled[0] - target[0]) // 2, (scaled[1] - target[1]) // 2
    return frames[..., top : top + target[0], left : left + target[1]]


def read_video(
    path: str | Path,
    num_frames: int,
    size: int | tuple[int, int] | None = None,
    frame_stride: int = 1,
    start: int | None = None,
    rng: random.Random | None = None,
    resize_mode: str = "crop",
) -> torch.Tensor:
    """Read ``num_frames`` frames, ``frame_stride`` apart, from one file → (3, L, H, W) in [-1, 1].

    ``start`` picks the first frame; ``None`` draws it uniformly from ``rng`` (or ``random``).
    """
    path = Path(path)
    reader = _open(path)
    span = (num_frames - 1) * frame_stride + 1
    total = len(reader)
    if total < span:
        raise VideoReadError(
            path,
            f"has {total} frames; a clip of {num_frames} frames with stride {frame_stride} needs {span}",
        )
    if start is None:
        start = (rng or random).randint(0, total - span)
    elif not 0 <= start <= total - span:
        raise VideoReadError(path, f"start frame {start} leaves fewer than {span} frames (video has {total})")
    indices = list(range(start, start + span, frame_stride))
    try:
        array = _decode(reader, indices)  # (L, H, W, 3) uint8
    except Exception as err:
        # Containers can claim more frames than their (truncated) stream holds.
        raise VideoReadError(path, f"could not decode frames {indices[0]}…{indices[-1]} ({_decoder_message(err)})") from None
    frames = torch.from_numpy(array).permute(0, 3, 1, 2).float() / 255.0  # (L, 3, H, W)
    if size is not None:
        frames = resize_clip(frames, size, resize_mode)
    return (frames * 2 - 1).clamp(-1, 1).permute(1, 0, 2, 3).contiguous()  # (3, L, H, W)


class VideoFolder(Dataset):
    """Clips from a folder of videos: class folders (UCF-101) or a captions CSV (WebVid).

    Args:
        root: the dataset folder.
        num_frames: frames per clip (L).
        size: ``int`` for short-side resize + square centre crop; ``(H, W)`` for an exact,
            possibly non-square size (see ``resize_mode``); ``None`` keeps the original.
        frame_stride: take every ``frame_stride``-th frame.
        csv_file: the captions CSV, relative to ``root``. Default: ``captions.csv`` if it
            exists, else the only ``*.csv`` in ``root``; with none, class folders are read.
        caption_column / path_column: CSV column names; default: the first present of
            ``caption, name, text, prompt`` and ``path, video, file, filename, videoid``.
        on_error: ``"raise"`` (default) or ``"skip"`` bad files, reporting each once.
        seed: makes clip start times a function of ``(seed, index)``; ``None`` uses
            the global ``random`` state (fresh clips every epoch).
    """

    def __init__(
        self,
        root: str | Path,
        num_frames: int,
        size: int | tuple[int, int] | None = None,
        frame_stride: int = 1,
        csv_file: str | None = None,
        caption_column: str | None = None,
        path_column: str | None = None,
        extensions: Sequence[str] = VIDEO_EXTENSIONS,
        on_error: str = "raise",
        seed: int | None = None,
        resize_mode: str = "crop",
    ):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"video folder {self.root} does not exist or is not a folder")
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r}")
        if num_frames < 1 or frame_stride < 1:
            raise ValueError(f"num_frames and frame_stride must be >= 1; got {num_frames}, {frame_stride}")
        self.num_frames, self.size, self.frame_stride = num_frames, size, frame_stride
        self.on_error, self.seed, self.resize_mode = on_error, seed, resize_mode
        self.extensions = tuple(e.lower() for e in extensions)
        self.skipped: dict[Path, str] = {}

        csv_path = self._find_csv(csv_file)
        if csv_path is not None:
            self.layout = "csv"
            self.entries = self._read_csv(csv_path, caption_column, path_column)
            self.classes: list[str] = []
        else:
            self.layout = "class_folders"
            self.classes, self.entries = self._read_class_folders()
        if not self.entries:
            raise ValueError(
                f"no videos found in {self.root} (looked for a captions CSV, or class folders "
                f"holding files ending in {', '.join(self.extensions)})"
            )

    # --- indexing -------------------------------------------------------------------

    def _find_csv(self, csv_file: str | None) -> Path | None:
        if csv_file is not None:
            path = self.root / csv_file
            if not path.is_file():
                raise FileNotFoundError(f"captions CSV {path} does not exist")
            return path
        if (self.root / "captions.csv").is_file():
            return self.root / "captions.csv"
        found = sorted(self.root.glob("*.csv"))
        if len(found) > 1:
            raise ValueError(f"{self.root} holds several CSV files ({', '.join(p.name for p in found)}); pass csv_file=")
        return found[0] if found else None

    def _read_csv(self, csv_path: Path, caption_column: str | None, path_column: str | None) -> list[_Entry]:
        with open(csv_path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            caption_column = self._pick_column(csv_path, columns, caption_column, CAPTION_COLUMNS, "caption")
            path_column = self._pick_column(csv_path, columns, path_column, PATH_COLUMNS, "path")
            rows = list(reader)
        entries = []
        for line, row in enumerate(rows, start=2):  # line 1 is the header
            name, caption = (row.get(path_column) or "").strip(), (row.get(caption_column) or "").strip()
            if not name:
                raise ValueError(f"{csv_path}, line {line}: empty {path_column!r}")
            path = self.root / name
            if not path.suffix:  # WebVid lists ids; files are <id>.mp4
                path = path.with_suffix(".mp4")
            label = row.get("label")
            try:
                label = int(label) if label not in (None, "") else -1
            except ValueError:
                raise ValueError(f"{csv_path}, line {line}: label {label!r} is not an integer") from None
            entries.append(_Entry(path, caption, label))
        missing = [e.path for e in entries if not e.path.exists()]
        if missing:
            message = f"{csv_path} lists {len(missing)} file(s) that do not exist, e.g. {missing[0]}"
            if self.on_error == "raise":
                raise FileNotFoundError(message)
            warnings.warn(message + "; skipping them", stacklevel=3)
            self.skipped.update({p: "file not found" for p in missing})
            entries = [e for e in entries if e.path.exists()]
        return entries

    @staticmethod
    def _pick_column(csv_path, columns, chosen, candidates, what) -> str:
        if chosen is not None:
            if chosen not in columns:
                raise ValueError(f"{csv_path} has no column {chosen!r}; columns: {', '.join(columns)}")
            return chosen
        for name in candidates:
            if name in columns:
                return name
        raise ValueError(
            f"{csv_path} has no {what} column: expected one of {', '.join(candidates)}; "
            f"found {', '.join(columns) or 'no header'} (pass {what}_column= to name it)"
        )

    def _read_class_folders(self) -> tuple[list[str], list[_Entry]]:
        classes = sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        entries = []
        for label, name in enumerate(classes):
            for path in sorted((self.root / name).rglob("*")):
                if path.is_file() and path.suffix.lower() in self.extensions:
                    entries.append(_Entry(path, _words(name), label))
        return classes, entries

    # --- reading --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    def _read(self, index: int, variant: int = 0) -> dict:
        entry = self.entries[index]
        key = f"cmdkit-videofolder/{self.seed}/{index}" + (f"/{variant}" if variant else "")
        rng = random.Random(key) if self.seed is not None else None
        video = read_video(entry.path, self.num_frames, self.size, self.frame_stride, rng=rng,
                           resize_mode=self.resize_mode)
        return {"video": video, "caption": entry.caption, "label": entry.label}

    def __getitem__(self, index: int) -> dict:
        return self.clip(index)

    def clip(self, index: int, variant: int = 0) -> dict:
        """Item ``index`` with its clip's start frame drawn for ``variant``: with a ``seed``, each
        ``(index, variant)`` gives one fixed clip, so a long video yields many different clips and
        a resumed run sees the same ones. ``dataset[index]`` is ``clip(index, 0)``."""
        if self.on_error == "raise":
            return self._read(index, variant)
        # Skip mode: walk forward to the next good file, remembering the bad ones.
        for offset in range(len(self.entries)):
            candidate = (index + offset) % len(self.entries)
            path = self.entries[candidate].path
            if path in self.skipped:
                continue
            try:
                return self._read(candidate, variant)
            except VideoReadError as err:
                self.skipped[path] = err.reason
                warnings.warn(f"skipping {err}", stacklevel=2)
        raise VideoReadError(self.root, f"every video is unreadable ({len(self.skipped)} skipped)")

    def check(self) -> dict[Path, str]:
        """Open every file once and return ``{path: reason}`` for the ones that cannot give a clip."""
        problems = {}
        span = (self.num_frames - 1) * self.frame_stride + 1
        for entry in self.entries:
            try:
                reader = _open(entry.path)
                if len(reader) < span:
                    raise VideoReadError(entry.path, f"has {len(reader)} frames; a clip needs {span}")
            except VideoReadError as err:
                problems[entry.path] = err.reason
        return problems

    def __repr__(self) -> str:
        return (f"VideoFolder({str(self.root)!r}, layout={self.layout}, videos={len(self)}, "
                f"num_frames={self.num_frames}, size={self.size}, frame_stride={self.frame_stride})")
