"""VideoFolder: both layouts, sizes, strides, and clear errors on bad files."""

import csv
import warnings

import pytest
import torch

from cmdkit import viz
from cmdkit.data import ToyVideoDataset, VideoFolder, VideoReadError, read_video
from cmdkit.data.samples import SAMPLE_SETTINGS, SAMPLES_DIR, make_samples


@pytest.fixture
def class_tree(tmp_path, make_clip):
    """A UCF-101-style tree: two class folders, mp4s of 12 frames."""
    root = tmp_path / "ucf"
    for name, count in (("ApplyEyeMakeup", 2), ("jumping_jack", 1)):
        for i in range(count):
            viz.save_mp4(make_clip(12, 40, 60), root / name / f"v_{name}_g0{i}.mp4")
    return root


def test_webvid_layout_reads_the_shipped_samples():
    data = VideoFolder(SAMPLES_DIR, num_frames=8, size=32, seed=0)
    rows = list(csv.DictReader(open(SAMPLES_DIR / "captions.csv")))
    assert data.layout == "csv" and len(data) == len(rows) == SAMPLE_SETTINGS["count"]
    item = data[3]
    assert item["video"].shape == (3, 8, 32, 32)
    assert -1 <= item["video"].min() and item["video"].max() <= 1
    assert item["caption"] == rows[3]["caption"] and item["label"] == int(rows[3]["label"])
    assert torch.equal(data[3]["video"], item["video"])  # seeded: same clip again


def test_shipped_samples_are_what_make_samples_writes(tmp_path):
    fresh = make_samples(tmp_path, **SAMPLE_SETTINGS)
    assert (fresh / "captions.csv").read_text() == (SAMPLES_DIR / "captions.csv").read_text()
    for name in ("clip_00.mp4", "clip_15.mp4"):
        ours = read_video(fresh / "videos" / name, SAMPLE_SETTINGS["num_frames"], start=0)
        shipped = read_video(SAMPLES_DIR / "videos" / name, SAMPLE_SETTINGS["num_frames"], start=0)
        assert torch.equal(ours, shipped)


def test_samples_look_like_the_toy_world_they_came_from():
    world = ToyVideoDataset(SAMPLE_SETTINGS["count"], SAMPLE_SETTINGS["num_frames"], 64, 64,
                            SAMPLE_SETTINGS["num_objects"], SAMPLE_SETTINGS["seed"])
    decoded = read_video(SAMPLES_DIR / "videos" / "clip_05.mp4", SAMPLE_SETTINGS["num_frames"], start=0)
    assert (decoded - world[5]["video"]).abs().mean() < 0.05  # H.264 at crf 12: near-lossless


def test_class_folder_layout(class_tree):
    data = VideoFolder(class_tree, num_frames=4, size=(24, 48))
    assert data.layout == "class_folders" and data.classes == ["ApplyEyeMakeup", "jumping_jack"]
    assert len(data) == 3
    assert [data[i]["caption"] for i in range(3)] == ["apply eye makeup"] * 2 + ["jumping jack"]
    assert [data[i]["label"] for i in range(3)] == [0, 0, 1]
    assert data[2]["video"].shape == (3, 4, 24, 48)  # non-square output from a 40×60 source


def test_frame_stride_and_start(tmp_path, make_clip):
    path = viz.save_mp4(make_clip(num_frames=12), tmp_path / "ramp.mp4")
    clip = read_video(path, num_frames=4, frame_stride=3, start=0)
    brightness = (clip.mean(dim=(0, 2, 3)) + 1) / 2 * 11  # back to frame indices
    assert torch.allclose(brightness, torch.tensor([0.0, 3.0, 6.0, 9.0]), atol=0.2)
    later = read_video(path, num_frames=2, start=10)
    assert torch.allclose((later.mean(dim=(0, 2, 3)) + 1) / 2 * 11, torch.tensor([10.0, 11.0]), atol=0.2)


def test_resize_short_side_then_centre_crop(tmp_path):
    # A 40×80 frame whose left half is dark, right half bright: a square crop keeps the middle.
    frame = torch.full((3, 2, 40, 80), -1.0)
    frame[..., 40:] = 1.0
    path = viz.save_mp4(frame, tmp_path / "halves.mp4")
    clip = read_video(path, 2, size=20, start=0)
    assert clip.shape == (3, 2, 20, 20)
    assert clip[..., :, :8].mean() < -0.9 and clip[..., :, 12:].mean() > 0.9
    stretched = read_video(path, 2, size=(20, 20), start=0, resize_mode="stretch")
    assert stretched.shape == (3, 2, 20, 20)


def test_too_short_names_the_file_and_the_numbers(tmp_path, make_clip):
    path = viz.save_mp4(make_clip(num_frames=6), tmp_path / "short.mp4")
    with pytest.raises(VideoReadError, match=r"short\.mp4: has 6 frames; a clip of 4 frames with stride 2 needs 7"):
        read_video(path, num_frames=4, frame_stride=2)


@pytest.mark.parametrize("kind, reason", [
    ("empty", "file is empty"),
    ("text", "not a readable video"),
    ("truncated", "not a readable video"),
])
def test_broken_files_name_the_file_and_the_reason(tmp_path, kind, reason):
    path = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is a shopping list, not a video")
    else:
        whole = (SAMPLES_DIR / "videos" / "clip_00.mp4").read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(VideoReadError, match=rf"{kind}\.mp4: {reason}") as info:
        read_video(path, num_frames=4)
    assert info.value.path == path


def test_skip_mode_reports_each_bad_file_once(class_tree):
    (class_tree / "jumping_jack" / "broken.mp4").write_bytes(b"")
    strict = VideoFolder(class_tree, num_frames=4)
    bad = [i for i in range(len(strict)) if strict.entries[i].path.name == "broken.mp4"][0]
    with pytest.raises(VideoReadError, match="broken.mp4: file is empty"):
        strict[bad]
    lenient = VideoFolder(class_tree, num_frames=4, on_error="skip")
    with pytest.warns(UserWarning, match="skipping .*broken.mp4"):
        item = lenient[bad]
    assert item["video"].shape[1] == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second time: no new warning
        lenient[bad]
    assert list(lenient.skipped) == [class_tree / "jumping_jack" / "broken.mp4"]
    assert lenient.check() == {class_tree / "jumping_jack" / "broken.mp4": "file is empty (0 bytes)"}


def test_csv_problems_are_named(tmp_path):
    (tmp_path / "captions.csv").write_text("file_name,description\nclip.mp4,a dog\n")
    with pytest.raises(ValueError, match=r"captions.csv has no caption column: expected one of caption, name"):
        VideoFolder(tmp_path, num_frames=4)
    (tmp_path / "captions.csv").write_text("videoid,name\n123,a dog\n")
    with pytest.raises(FileNotFoundError, match=r"lists 1 file\(s\) that do not exist, e.g. .*123\.mp4"):
        VideoFolder(tmp_path, num_frames=4)


def test_empty_or_missing_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        VideoFolder(tmp_path / "nowhere", num_frames=4)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="no videos found"):
        VideoFolder(tmp_path, num_frames=4)


@pytest.mark.parametrize("width", [16, 24, 46, 48, 64, 72])
def test_widths_that_decord_pads_are_read_correctly(tmp_path, width):
    """decord pads some RGB rows (48 px → 192-byte rows) and mislabels the frame; we undo it."""
    clip = torch.linspace(-1, 1, 6).view(1, 6, 1, 1).expand(3, 6, 32, width).clone()
    clip[0, :, :, : width // 4] = 1.0  # a red band on the left, to catch a scrambled row
    back = read_video(viz.save_mp4(clip, tmp_path / f"w{width}.mp4"), 6, start=0)
    assert back.shape == (3, 6, 32, width)
    assert (back - clip).abs().mean() < 0.03


def test_decord2_decodes_the_same_frames_as_decord(tmp_path):
    """decord2 (a maintained build, installed on ARM machines) imports as `decord` too: installed
    beside this environment, it must decode the shipped clips to the very same pixels."""
    import json
    import subprocess
    import sys

    target = tmp_path / "decord2"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                              "decord2==3.4.0"], capture_output=True, text=True, timeout=300)
    if install.returncode:
        pytest.skip(f"decord2 does not install here: {install.stderr.strip().splitlines()[-1:]}")
    script = ("import json, sys, decord, numpy as np\n"
              "r = decord.VideoReader(sys.argv[1], ctx=decord.cpu(0), num_threads=1)\n"
              "a = r.get_batch(list(range(len(r)))).asnumpy()\n"
              "np.save(sys.argv[2], a); print(json.dumps(decord.__version__))\n")
    for name in ("clip_00.mp4", "clip_09.mp4"):
        path = SAMPLES_DIR / "videos" / name
        out = tmp_path / f"{name}.npy"
        run = subprocess.run([sys.executable, "-c", script, str(path), str(out)], capture_output=True, text=True,
                             env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        assert json.loads(run.stdout) == "3.4.0"  # the module that ran is decord2's
        import decord
        import numpy as np

        ours = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
        assert np.array_equal(np.load(out), ours.get_batch(list(range(len(ours)))).asnumpy())
