"""Choosing an artifact kind for a value (opencrate_nb/notebook/infer.py)."""

import numpy as np
import pytest
from _notebook_fixtures import require
from IPython.core.error import UsageError

import opencrate as oc
from opencrate_nb.core.handlers import AudioClip, GifFrames, VideoClip
from opencrate_nb.notebook import infer


class Unknown:
    pass


@pytest.mark.parametrize(
    "value, kind",
    [
        ({"a": 1}, "json"),
        ([1, 2], "json"),
        ((1, 2), "json"),
        (3.5, "json"),
        (True, "json"),
        ("text", "text"),
        (np.zeros((4, 4, 3), dtype=np.uint8), "image"),
        (np.zeros((4, 4, 4), dtype=np.uint8), "image"),
        (np.zeros((4, 4)), "csv"),
        (np.zeros(4), "csv"),
        (np.zeros((2, 3, 4, 5)), "checkpoint"),
        (AudioClip(data=np.zeros(4), sample_rate=4, duration=1.0, channels=1), "audio"),
        (VideoClip(frames=[], fps=1, duration=0, width=1, height=1), "video"),
        (GifFrames(), "gif"),
        (Unknown(), None),
        (b"bytes", None),
    ],
)
def test_kind_for_plain_values(value, kind):
    assert infer.kind_for_value(value) == kind


def test_kind_for_library_values():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    from PIL import Image

    figure = plt.figure()
    try:
        assert infer.kind_for_value(figure) == "image"
    finally:
        plt.close(figure)
    assert infer.kind_for_value(Image.new("RGB", (2, 2))) == "image"
    assert infer.kind_for_value(pd.DataFrame({"a": [1]})) == "csv"
    assert infer.kind_for_value(pd.Series([1, 2])) == "csv"


def test_kind_for_torch_values():
    torch = require("torch", "torch kind inference")
    model = torch.nn.Linear(2, 1)
    assert infer.kind_for_value(model) == "checkpoint"
    assert infer.kind_for_value(model.state_dict()) == "checkpoint"
    assert infer.kind_for_value({"epoch": 1, "model": model.state_dict()}) == "checkpoint"
    assert infer.kind_for_value(torch.zeros(3)) == "checkpoint"
    assert infer.kind_for_value({"epoch": 1}) == "json"


def test_choose_kind_name_first_then_value():
    assert infer.choose_kind("a.yaml", {"x": 1}) == ("yaml", "a.yaml")
    assert infer.choose_kind("a.json", "text") == ("json", "a.json")
    assert infer.choose_kind("metrics", {"x": 1}) == ("json", "metrics.json")
    assert infer.choose_kind("notes", "hi") == ("text", "notes.txt")
    assert infer.choose_kind("picture", np.zeros((2, 2, 3), dtype=np.uint8)) == ("image", "picture.png")
    assert infer.choose_kind("x", [1], kind="yaml") == ("yaml", "x")
    with pytest.raises(UsageError, match="Cannot tell which kind"):
        infer.choose_kind("mystery", Unknown())


def test_save_value_passes_what_each_kind_needs(workdir):
    oc.snapshot.setup(name="infer")
    clip = AudioClip(data=np.zeros(800, dtype=np.float32), sample_rate=8000, duration=0.1, channels=1)
    infer.save_value(oc.snapshot.audio("a.wav"), clip)
    assert oc.snapshot.audio("a.wav").load()["sample_rate"] == 8000
    infer.save_value(oc.snapshot.audio("b.wav"), {"data": np.zeros(80), "sample_rate": 800})
    assert oc.snapshot.audio("b.wav").exists
    with pytest.raises(UsageError, match="sample rate"):
        infer.save_value(oc.snapshot.audio("c.wav"), np.zeros(80))
    frames = GifFrames(np.full((4, 4, 3), i * 100, dtype=np.uint8) for i in range(2))
    frames.duration_ms = 40
    infer.save_value(oc.snapshot.gif("g.gif"), frames)
    assert oc.snapshot.gif("g.gif").load().duration_ms == 40
    infer.save_value(oc.snapshot.json("j.json"), {"a": 1})
    assert oc.snapshot.json("j.json").load() == {"a": 1}


def test_save_value_module_becomes_state_dict(workdir):
    torch = require("torch", "saving torch modules")
    oc.snapshot.setup(name="infer")
    note = infer.save_value(oc.snapshot.checkpoint("m.pt"), torch.nn.Linear(2, 1))
    assert note == "the module's state_dict()"
    assert set(oc.snapshot.checkpoint("m.pt").load()) == {"weight", "bias"}


def test_save_value_video_clip(workdir):
    require("imageio_ffmpeg", "video artifacts")
    oc.snapshot.setup(name="infer")
    clip = VideoClip(frames=np.zeros((4, 16, 16, 3), dtype=np.uint8), fps=4.0, duration=1.0, width=16, height=16)
    infer.save_value(oc.snapshot.video("v.mp4"), clip)
    assert oc.snapshot.video("v.mp4").load()["fps"] == pytest.approx(4.0)
