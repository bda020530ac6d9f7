"""Where a run's clips come from: the toy world, or a folder of real videos.

Every notebook that trains or evaluates takes a ``data`` parameter. ``None`` means the
procedural toy world (:mod:`cmdkit.data.toyworld`); a path means a :class:`VideoFolder` —
UCF-101 class folders or a WebVid-style captions CSV — read at the preset's clip geometry
(L frames of H×W, ``frame_stride`` apart). :meth:`DataSource.open` checks the folder up front,
so a wrong path, an empty folder or videos that are all too short fail at the top of the
notebook with a message naming the input, not twenty cells later inside a training loop.

A folder is split once into training and held-out videos (every ``held_out_every``-th file,
in the folder's sorted order; in UCF-101's naming, ``v_<Class>_g<group>_c<clip>``, every
``held_out_every``-th group), so notebooks 01–06 all train on one part and evaluate on the
other. Each video gives one clip per split, its start frame a function of ``(seed, index)``:
a resumed run sees the same clips, and cached encodings stay valid.

The toy probes (colour, shape, direction) read what a caption names from the pixels, so
they mean something only where captions and pictures come from the toy world:
:attr:`DataSource.probes_apply` says whether they do (the toy world itself, or files such as
``data_samples/`` whose captions all follow its grammar).
"""

from __future__ import annotations

import random
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from .toyworld import COLOURS, DIRECTIONS, SHAPES, ToyImageDataset, ToyVideoDataset
from .video_folder import VideoFolder, VideoReadError, read_video

__all__ = ["DataSource", "FolderSplit"]

TOY = "toy"
_CHECKED_VIDEOS = 64  # files opened up front; the rest are checked as they are read


class FolderSplit(Dataset):
    """Some of a :class:`VideoFolder`'s videos, by index: one split of a real dataset.

    Item ``i`` is a clip of video ``indices[i % n]``; the ``i // n``-th pass over the videos
    draws other start frames (:meth:`VideoFolder.clip`), so a training split of ``length``
    items sees every video many times, in different clips, while a held-out split
    (``length=n``) has one fixed clip per video.

    Its ``repr`` names the folder, the split and its length, so encodings cached from it
    (:func:`cmdkit.data.encode_clips` keys its cache by the dataset's ``repr``) are never
    reused for another split or another folder."""

    def __init__(self, folder: VideoFolder, indices: list[int], name: str, length: int | None = None):
        if not indices:
            raise ValueError(f"the {name} split of {folder.root} holds no videos")
        self.folder, self.indices, self.name = folder, list(indices), name
        self.length = len(self.indices) if length is None else length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} clips")
        count = len(self.indices)
        return self.folder.clip(self.indices[index % count], variant=index // count)

    def __repr__(self) -> str:
        return f"FolderSplit({self.folder!r}, split={self.name}, videos={len(self.indices)}, clips={self.length})"


def _is_toy_caption(caption: str) -> bool:
    """Whether a caption names a toy colour, shape and direction (e.g. "a red circle moves left slowly")."""
    words = caption.lower().split()
    return (any(c in words for c in COLOURS) and any(s in words for s in SHAPES)
            and any(d in words for d in DIRECTIONS))


_UCF_NAME = re.compile(r"^v_.+_g(\d+)_c\d+$")


def _ucf_groups(paths: list[Path]) -> list[int] | None:
    """The group number of every file when all are named as in UCF-101 (``v_ApplyEyeMakeup_g08_c01.avi``
    → 8), else ``None``."""
    matches = [_UCF_NAME.match(path.stem) for path in paths]
    return [int(m.group(1)) for m in matches] if matches and all(matches) else None


@dataclass
class DataSource:
    """The clips of one run: ``root=None`` for the toy world, else a video folder.

    Build it with :meth:`open`, which checks the folder; notebooks get it from
    :meth:`cmdkit.experiment.Experiment.data_source`, which also keeps every notebook of a
    run on the same data.
    """

    root: Path | None
    num_frames: int
    height: int
    width: int
    frame_stride: int = 1
    held_out_every: int = 10
    seed: int = 0
    folder: VideoFolder | None = None

    # --- opening and checking -----------------------------------------------------

    @classmethod
    def open(cls, data: str | Path | None, num_frames: int, height: int, width: int, frame_stride: int = 1,
             seed: int = 0, held_out_every: int = 10, check: bool = True) -> "DataSource":
        """The toy world (``data=None``) or the video folder at ``data``, checked.

        Raises ``FileNotFoundError`` / ``ValueError`` naming the input for: a path that does not
        exist or is a file, a folder with no videos, a CSV with empty captions, and (with
        ``check``) a folder in which none of the videos checked can give an L-frame clip, which
        means decoding up to 64 of them. Files that cannot be read are skipped later with one
        warning each (``VideoFolder(on_error="skip")``).
        """
        if data is None or str(data) == TOY:
            return cls(None, num_frames, height, width, frame_stride, held_out_every, seed)
        root = Path(data).expanduser()
        if not root.exists():
            raise FileNotFoundError(f"data={str(data)!r} does not exist: pass a folder of videos (UCF-101 class "
                                    f"folders, or videos with a captions CSV), or data=None for the toy world")
        if not root.is_dir():
            raise ValueError(f"data={str(data)!r} is a file: pass the folder that holds the videos (and the "
                             f"captions CSV, if there is one)")
        folder = VideoFolder(root.resolve(), num_frames=num_frames, size=(height, width), frame_stride=frame_stride,
                             on_error="skip", seed=seed)
        source = cls(root.resolve(), num_frames, height, width, frame_stride, held_out_every, seed, folder)
        source._check_captions()
        if check:
            source.check_videos()
        return source

    def _check_captions(self) -> None:
        empty = [e.path.name for e in self.folder.entries if not e.caption]
        if empty:
            raise ValueError(f"{self.root}: {len(empty)} of {len(self.folder)} videos have an empty caption "
                             f"(e.g. {empty[0]}); the generators are text-conditional, so every video needs one: "
                             f"fill in the captions CSV or drop those rows")

    def check_videos(self) -> None:
        """Decode up to 64 videos spread over the folder; stop if none can give a clip, warn
        once about those that cannot (they are skipped). The toy world needs no check."""
        if self.is_toy:
            return
        entries = self.folder.entries
        step = max(1, len(entries) // _CHECKED_VIDEOS)
        span = (self.num_frames - 1) * self.frame_stride + 1
        problems, good = {}, 0
        for entry in entries[::step][:_CHECKED_VIDEOS]:
            try:
                read_video(entry.path, self.num_frames, (self.height, self.width), self.frame_stride, start=0)
                good += 1
            except VideoReadError as err:
                problems[entry.path] = err.reason
        if not good:
            path, reason = next(iter(problems.items()))
            clip = f"{self.num_frames} frames" + (f", {self.frame_stride} apart ({span} frames of video)"
                                                  if self.frame_stride > 1 else "")
            raise ValueError(f"{self.root}: none of the {len(problems)} videos checked can give a clip of {clip} — "
                             f"e.g. {path.name}: {reason}. Use longer videos, fewer frames (the preset's "
                             f"num_frames) or a smaller stride")
        if problems:
            self.folder.skipped.update(problems)
            warnings.warn(f"{self.root}: {len(problems)} of {good + len(problems)} videos checked cannot give a "
                          f"clip and will be skipped, e.g. {next(iter(problems)).name}: "
                          f"{next(iter(problems.values()))}", stacklevel=3)
        if len(self.folder) < 2:
            raise ValueError(f"{self.root} holds one video: a run needs at least two, one to train on and one "
                             f"held out")

    # --- what it is ---------------------------------------------------------------

    @property
    def is_toy(self) -> bool:
        return self.root is None

    @property
    def name(self) -> str:
        """``"toy"`` or the folder's absolute path: what ``metrics.json`` and the run record."""
        return TOY if self.is_toy else str(self.root)

    @property
    def probes_apply(self) -> bool:
        """Whether the toy probes mean anything here: the toy world, or a folder whose captions
        all name a toy colour, shape and direction (``data_samples/``)."""
        return self.is_toy or all(_is_toy_caption(e.caption) for e in self.folder.entries)

    @property
    def classes(self) -> list[str]:
        """Class names, for a class-conditional motion model: UCF-style folders' names, the toy
        world's shape × direction classes, none for a captions CSV without labels."""
        from .toyworld import CLASS_NAMES

        if self.is_toy:
            return list(CLASS_NAMES)
        if self.folder.layout == "class_folders":
            return list(self.folder.classes)
        labels = {e.label for e in self.folder.entries}
        return [str(i) for i in range(max(labels) + 1)] if labels and min(labels) >= 0 else []

    def label_of(self, caption: str) -> int:
        """The class label a class-conditional model should get for ``caption``: in the toy
        world, its first object's shape × direction; in a folder, the label of the videos with
        that caption (for UCF-101, the class name in words: "apply eye makeup")."""
        from .toyworld import CLASS_NAMES

        if self.is_toy or self.probes_apply:
            words = caption.lower().split()
            shape = next((w for w in words if w in SHAPES), None)
            direction = next((w for w in words if w in DIRECTIONS), None)
            if shape and direction:
                return CLASS_NAMES.index(f"{shape} moving {direction}")
        if not self.is_toy:
            for entry in self.folder.entries:
                if entry.caption == caption and entry.label >= 0:
                    return entry.label
        raise ValueError(f"no class for the caption {caption!r}: a class-conditional motion model takes captions "
                         f"that name a class of {self.name} ({', '.join(self.classes[:5])}, …)")

    def describe(self) -> dict:
        """What a run records about its data (``run_dir/data.json`` and each notebook's metrics)."""
        if self.is_toy:
            return {"data": TOY}
        train, held = self._split_indices()
        return {"data": self.name, "layout": self.folder.layout, "videos": len(self.folder),
                "training_videos": len(train), "held_out_videos": len(held), "classes": len(self.classes),
                "frame_stride": self.frame_stride, "clip": [self.num_frames, self.height, self.width]}

    def __repr__(self) -> str:
        return "DataSource(the toy world)" if self.is_toy else f"DataSource({self.folder!r})"

    # --- the two splits -----------------------------------------------------------

    def _split_indices(self) -> tuple[list[int], list[int]]:
        n = len(self.folder)
        # A small folder (data_samples/ has 16 videos) holds out every 4th, so the held-out
        # figures rest on more than one clip.
        k = self.held_out_every if n >= 4 * self.held_out_every else 4
        # UCF-101's clips of one group are cut from one long video (same actor, same room): a
        # held-out clip whose group-mates were trained on would flatter every figure. So whole
        # groups are held out, every k-th, as UCF's own splits hold out groups.
        groups = _ucf_groups([entry.path for entry in self.folder.entries]) or []
        held = [i for i, group in enumerate(groups) if group % k == 0]
        if not 0 < len(held) < n:  # not UCF-named, or no split by groups: every k-th file
            held = [i for i in range(n) if i % k == k - 1] or [n - 1]
        kept = set(held)
        return [i for i in range(n) if i not in kept], held

    def training_clips(self, seed: int, length: int = 1_000_000, num_objects=(1, 2)) -> Dataset:
        """``length`` clips to train on: toy clips drawn with ``seed``, or clips cut from a
        folder's training videos (many per video, see :class:`FolderSplit`)."""
        if self.is_toy:
            return ToyVideoDataset(length=length, num_frames=self.num_frames, height=self.height, width=self.width,
                                   num_objects=num_objects, seed=seed)
        return FolderSplit(self.folder, self._split_indices()[0], "train", length=length)

    def held_out_clips(self, count: int, seed: int, num_objects=(1, 2)) -> Dataset:
        """Clips never trained on: ``count`` toy clips drawn with another ``seed``, or up to
        ``count`` of a folder's held-out videos."""
        if self.is_toy:
            return ToyVideoDataset(length=count, num_frames=self.num_frames, height=self.height, width=self.width,
                                   num_objects=num_objects, seed=seed)
        held = self._split_indices()[1][:count]
        return FolderSplit(self.folder, held, "held_out")

    def still_images(self, count: int, seed: int, num_objects=(1, 2),
                     moment: float = 0.0) -> tuple[torch.Tensor, list[str]]:
        """``count`` captioned images for the image prior: (N, 3, H, W) in [-1, 1] and captions.
        Toy world: still scenes at ``moment`` of their clip (0 first, 1 last); a folder: one random
        frame of a random training clip each."""
        if self.is_toy:
            stills = ToyImageDataset(length=count, height=self.height, width=self.width, num_objects=num_objects,
                                     seed=seed, moment=moment)
            items = [stills[i] for i in range(count)]
            return torch.stack([item["image"] for item in items]), [item["caption"] for item in items]
        clips = self.training_clips(seed, length=count)
        rng = random.Random(f"cmdkit-stills/{seed}")
        decoded: dict[int, dict] = {}  # each video decoded once, however often it is drawn
        images, captions = [], []
        for _ in range(count):
            index = rng.randrange(len(clips))
            item = decoded.setdefault(index, clips[index])
            images.append(item["video"][:, rng.randrange(self.num_frames)])
            captions.append(item["caption"])
        return torch.stack(images), captions
