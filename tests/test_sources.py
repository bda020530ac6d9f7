"""DataSource: the toy world or a video folder behind one `data` parameter — splits, clips,
stills, the run's record of its data, and a clear message for every bad input."""

import csv
import json
import warnings

import pytest
import torch

from cmdkit import viz
from cmdkit.config import get_preset
from cmdkit.data import DataSource, ToyVideoDataset
from cmdkit.data.samples import SAMPLES_DIR
from cmdkit.experiment import start


def _ucf_tree(root, make_clip, classes=("ApplyEyeMakeup", "JumpingJack"), per_class=3, frames=12, sizes=((40, 60),)):
    for name in classes:
        for i in range(per_class):
            height, width = sizes[i % len(sizes)]
            viz.save_mp4(make_clip(frames, height, width), root / name / f"v_{name}_g0{i}_c01.mp4")
    return root


def test_toy_world_by_default():
    source = DataSource.open(None, num_frames=8, height=32, width=32)
    assert source.is_toy and source.probes_apply and source.describe() == {"data": "toy"}
    train, held = source.training_clips(seed=0, length=10), source.held_out_clips(4, seed=10_000)
    assert isinstance(train, ToyVideoDataset) and (len(train), len(held)) == (10, 4)
    assert train[0]["video"].shape == (3, 8, 32, 32)
    images, captions = source.still_images(6, seed=0)
    assert images.shape == (6, 3, 32, 32) and len(captions) == 6
    # The smoke prior's stills hold one object each (config.Preset.still_objects); pairs exist otherwise.
    _, pairs = source.still_images(40, seed=0)
    _, singles = source.still_images(40, seed=0, num_objects=get_preset("smoke").still_objects)
    assert any(" and " in c for c in pairs) and not any(" and " in c for c in singles)


def test_a_folder_is_split_into_training_and_held_out_videos():
    source = DataSource.open(SAMPLES_DIR, num_frames=8, height=32, width=32)
    described = source.describe()
    # 16 videos: a small folder holds out every 4th.
    assert (described["videos"], described["training_videos"], described["held_out_videos"]) == (16, 12, 4)
    train, held = source._split_indices()
    assert not set(train) & set(held) and sorted(train + held) == list(range(16))
    held_out = source.held_out_clips(64, seed=0)
    assert len(held_out) == 4
    assert torch.equal(held_out[2]["video"], held_out[2]["video"])  # one fixed clip per held-out video
    clips = source.training_clips(seed=0, length=40)
    assert len(clips) == 40 and clips[0]["video"].shape == (3, 8, 32, 32)
    # Item 12 is video 0 again (12 training videos), cut at another start frame.
    assert clips[0]["caption"] == clips[12]["caption"]
    assert not torch.equal(clips[0]["video"], clips[12]["video"])
    with pytest.raises(IndexError):
        clips[40]
    # data_samples are toy clips written as mp4: their captions follow the toy grammar.
    assert source.probes_apply


def test_ucf_groups_are_held_out_whole(tmp_path, make_clip):
    """Clips of one UCF group come from one long video: a group is all held out or all trained on."""
    root = tmp_path / "ucf"
    for group in range(1, 9):
        for clip in (1, 2):
            viz.save_mp4(make_clip(12, 32, 32), root / "JumpingJack" / f"v_JumpingJack_g{group:02d}_c{clip:02d}.mp4")
    source = DataSource.open(root, 8, 32, 32)
    train, held = source._split_indices()
    group_of = {i: int(e.path.stem.split("_g")[1][:2]) for i, e in enumerate(source.folder.entries)}
    assert sorted({group_of[i] for i in held}) == [4, 8]  # 16 videos: every 4th group
    assert not {group_of[i] for i in train} & {group_of[i] for i in held}
    assert len(held) == 4 and sorted(train + held) == list(range(16))


def test_stills_are_frames_of_training_clips():
    source = DataSource.open(SAMPLES_DIR, num_frames=8, height=32, width=32)
    images, captions = source.still_images(20, seed=1)
    assert images.shape == (20, 3, 32, 32) and -1 <= images.min() and images.max() <= 1
    training_captions = {source.folder.entries[i].caption for i in source._split_indices()[0]}
    assert set(captions) <= training_captions


def test_ucf_class_folders(tmp_path, make_clip):
    root = _ucf_tree(tmp_path / "ucf", make_clip, sizes=((40, 60), (48, 48), (36, 64)))  # mixed resolutions
    source = DataSource.open(root, num_frames=8, height=32, width=32)
    assert source.classes == ["ApplyEyeMakeup", "JumpingJack"]
    assert not source.probes_apply  # "apply eye makeup" names no toy colour, shape or direction
    item = source.training_clips(seed=0, length=5)[0]
    assert item["video"].shape == (3, 8, 32, 32) and item["caption"] == "apply eye makeup" and item["label"] == 0


def test_bad_inputs_are_named(tmp_path, make_clip):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        DataSource.open(tmp_path / "nowhere", 8, 32, 32)
    (tmp_path / "a_file.mp4").write_bytes(b"x")
    with pytest.raises(ValueError, match="is a file"):
        DataSource.open(tmp_path / "a_file.mp4", 8, 32, 32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no videos found"):
        DataSource.open(tmp_path / "empty", 8, 32, 32)

    captioned = tmp_path / "captioned"
    for i in range(3):
        viz.save_mp4(make_clip(12, 32, 32), captioned / f"c{i}.mp4")
    with open(captioned / "captions.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["path", "caption"], ["c0.mp4", "a clip"], ["c1.mp4", ""], ["c2.mp4", "x"]])
    with pytest.raises(ValueError, match="1 of 3 videos have an empty caption.*c1.mp4"):
        DataSource.open(captioned, 8, 32, 32)

    short = _ucf_tree(tmp_path / "short", make_clip, classes=("A", "B"), frames=6)
    with pytest.raises(ValueError, match="none of the 6 videos checked can give a clip of 8 frames — e.g. v_A_g00_c01.mp4: has 6 frames"):
        DataSource.open(short, 8, 32, 32)


def test_unreadable_files_are_skipped_with_one_warning(tmp_path, make_clip):
    root = _ucf_tree(tmp_path / "ucf", make_clip)
    (root / "JumpingJack" / "v_broken.mp4").write_bytes(b"not a video")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source = DataSource.open(root, 8, 32, 32)
    assert [str(w.message) for w in caught if "cannot give a clip" in str(w.message)]
    assert "v_broken.mp4" in {p.name for p in source.folder.skipped}


def test_a_run_keeps_its_data(tmp_path, monkeypatch):
    run = tmp_path / "run"
    checked = []
    check_videos = DataSource.check_videos
    monkeypatch.setattr(DataSource, "check_videos", lambda self: checked.append(self.name) or check_videos(self))
    first = start("01_autoencoder", preset="smoke", run_dir=str(run), data=str(SAMPLES_DIR))
    assert not first.data_source().is_toy
    assert json.loads((run / "data.json").read_text())["data"] == str(SAMPLES_DIR.resolve())
    assert first.metrics["data"] == str(SAMPLES_DIR.resolve())
    # The same data in a later notebook is fine, and its videos are not decoded again to check
    # them; other data, or the toy world, is stopped.
    assert not start("04_motion", preset="smoke", run_dir=str(run), data=str(SAMPLES_DIR)).data_source().is_toy
    assert checked == [str(SAMPLES_DIR.resolve())]
    with pytest.raises(ValueError, match="was started on data=.*data_samples.*given data='toy'"):
        start("04_motion", preset="smoke", run_dir=str(run), data=None).data_source()


def test_a_run_keeps_its_frame_stride(tmp_path):
    run = str(tmp_path / "run")
    source = start("01_autoencoder", preset="smoke", run_dir=run, data=str(SAMPLES_DIR), frame_stride=2).data_source()
    assert source.describe()["frame_stride"] == 2
    clip = source.training_clips(seed=0, length=1)[0]["video"]
    assert clip.shape == (3, 8, 32, 32)  # 8 frames taken 2 apart: 15 frames of a 24-frame video
    with pytest.raises(ValueError, match="started on frame_stride=2.*given frame_stride=1"):
        start("03_content_frames", preset="smoke", run_dir=run, data=str(SAMPLES_DIR)).data_source()
