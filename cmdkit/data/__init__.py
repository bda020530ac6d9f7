"""Data: the procedural toy video world, real video folders (decord), training batches and the
autoencoder's encodings of a training set."""

from .toyworld import (
    BACKGROUNDS,
    CLASS_NAMES,
    COLOURS,
    DIRECTIONS,
    SHAPES,
    SPEEDS,
    STILL_CLASS_NAMES,
    Scene,
    ToyImageDataset,
    ToyObject,
    ToyVideoDataset,
    render_image,
    render_video,
    sample_scene,
)
from .batches import captioned_batches, dataset_batches, motion_batches
from .encodings import encode_clips
from .sources import DataSource, FolderSplit
from .video_folder import VideoFolder, VideoReadError, read_video, resize_clip

__all__ = [
    "BACKGROUNDS", "CLASS_NAMES", "COLOURS", "DIRECTIONS", "SHAPES", "SPEEDS", "STILL_CLASS_NAMES",
    "Scene", "ToyObject", "ToyVideoDataset", "ToyImageDataset", "render_video", "render_image",
    "sample_scene", "VideoFolder", "VideoReadError", "read_video", "resize_clip", "captioned_batches",
    "dataset_batches", "motion_batches", "encode_clips", "DataSource", "FolderSplit",
]
