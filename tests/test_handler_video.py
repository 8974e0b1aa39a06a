"""core/handlers/_video.py: videos from frames and a frame rate (the [video] extra)."""

import numpy as np
import pytest
from _notebook_fixtures import require

from opencrate_nb.core.errors import MissingDependencyError


def frames(count=10, height=32, width=48):
    out = []
    for i in range(count):
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        frame[:, : (i + 1) * 4] = (200, 200, 200)
        out.append(frame)
    return out


def test_frames_and_fps_round_trip(snap):
    require("imageio_ffmpeg", "video artifacts")
    artifact = snap.video("clip.mp4")
    artifact.save(frames(), fps=5)
    clip = artifact.load()
    assert clip["fps"] == 5 and clip["width"] == 48 and clip["height"] == 32
    assert len(clip["frames"]) == 10 and clip["duration"] == pytest.approx(2.0)
    assert clip["frames"][0].shape == (32, 48, 3)
    assert abs(int(clip["frames"][9][5, 38, 0]) - 200) < 30  # lossy, but the content is there
    assert "10 frames" in repr(clip)


def test_odd_sizes_are_padded_to_even(snap):
    require("imageio_ffmpeg", "video artifacts")
    snap.video("odd.mp4").save(frames(3, height=15, width=21), fps=10)
    clip = snap.video("odd.mp4").load()
    assert (clip["height"], clip["width"]) == (16, 22)


def test_describe(snap):
    require("imageio_ffmpeg", "video artifacts")
    snap.video("d.mp4").save(frames(6), fps=3)
    info = snap.video("d.mp4").describe()
    assert info["fps"] == 3 and (info["width"], info["height"]) == (48, 32) and info["size"] > 0


def test_no_frames_is_an_error(snap):
    require("imageio_ffmpeg", "video artifacts")
    with pytest.raises(ValueError, match="at least one frame"):
        snap.video("empty.mp4").save([], fps=5)
    assert not snap.video("empty.mp4").exists


MISSING = """
import sys
sys.modules["imageio_ffmpeg"] = None  # as if the [video] extra were not installed
import numpy as np
import opencrate as oc
from opencrate_nb.core.errors import MissingDependencyError
oc.snapshot.setup(name="v", start="new")
try:
    oc.snapshot.video("clip.mp4").save([np.zeros((4, 4, 3), dtype=np.uint8)], fps=1)
except MissingDependencyError as exc:
    print(exc)
print("exists:", oc.snapshot.video("clip.mp4").exists)
"""


def test_without_the_extra_the_error_names_it_and_nothing_is_written(tmp_path, run_python):
    out = run_python(MISSING, cwd=tmp_path).stdout
    assert 'pip install "opencrate-nb[video]"' in out
    assert out.splitlines()[-1] == "exists: False"


def test_require_names_the_extra():
    from opencrate_nb.core.handlers import require as need

    with pytest.raises(MissingDependencyError, match=r'pip install "opencrate-nb\[video\]"'):
        need("no_such_video_library_xyz", "video", "Video artifacts")
