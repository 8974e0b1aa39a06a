"""core/handlers/_gif.py: animated gifs from a list of frames."""

import numpy as np
import pytest
from PIL import Image


def frames(count=4, size=8):
    out = []
    for i in range(count):
        frame = np.zeros((size, size, 3), dtype=np.uint8)
        frame[:, : i + 1] = (255, 255, 255)
        out.append(frame)
    return out


def test_frames_round_trip_as_arrays(snap):
    artifact = snap.gif("orbit.gif")
    artifact.save(frames(), fps=5)
    loaded = artifact.load()
    assert len(loaded) == 4 and loaded.duration_ms == 200 and loaded.loop == 0
    assert loaded[0].shape == (8, 8, 3) and loaded[0][0, 0].tolist() == [255, 255, 255]
    assert loaded[0][0, 7].tolist() == [0, 0, 0] and loaded[3][0, 3].tolist() == [255, 255, 255]
    assert "4 frames" in repr(loaded)


def test_duration_and_pil_frames(snap):
    colours = [(0, 0, 255), (0, 255, 0)]
    snap.gif("slow.gif").save([Image.new("RGB", (4, 4), c) for c in colours], duration_ms=500, loop=2)
    loaded = snap.gif("slow.gif").load(lib="pil")
    assert loaded.duration_ms == 500 and loaded.loop == 2 and isinstance(loaded[0], Image.Image)
    assert [frame.getpixel((0, 0)) for frame in loaded] == colours


def test_identical_neighbour_frames_merge_keeping_the_total_time(snap):
    """The GIF writer stores a repeated frame once with the summed duration (it displays the same)."""
    blue = Image.new("RGB", (4, 4), (0, 0, 255))
    snap.gif("pause.gif").save([blue, blue, Image.new("RGB", (4, 4), (255, 0, 0))], duration_ms=100)
    with Image.open(snap.gif("pause.gif").path) as image:
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(image.info["duration"])
    assert durations == [200, 100]


def test_default_speed_is_ten_frames_per_second(snap):
    snap.gif("d.gif").save(frames(3))
    assert snap.gif("d.gif").load().duration_ms == 100


def test_empty_and_bad_input(snap):
    with pytest.raises(ValueError, match="at least one frame"):
        snap.gif("e.gif").save([])
    with pytest.raises(ValueError, match="shape"):
        snap.gif("e.gif").save([np.zeros((2, 2, 7))])
    assert not snap.gif("e.gif").exists
    snap.gif("ok.gif").save(frames(1))
    with pytest.raises(ValueError, match="'numpy' or 'pil'"):
        snap.gif("ok.gif").load(lib="cv2")


def test_describe(snap):
    snap.gif("g.gif").save(frames(5, size=10), fps=10)
    info = snap.gif("g.gif").describe()
    assert info["frames"] == 5 and info["width"] == 10 and info["height"] == 10
    assert info["duration_ms"] == 100 and info["duration"] == pytest.approx(0.5)


def test_a_damaged_gif_is_called_corrupt(snap):
    from opencrate_nb.core.errors import CorruptArtifactError

    artifact = snap.gif("anim.gif")
    artifact.save(frames(), fps=4)
    with open(artifact.path, "wb") as f:
        f.write(b"GIF89a" + b"\x00" * 5)
    with pytest.raises(CorruptArtifactError, match="'anim.gif' is corrupt"):
        artifact.load()
