"""Inline previews (opencrate_nb/notebook/preview.py): plain functions, then the registered formatters."""

import base64
import io
import os
import re

import numpy as np
import pytest
from _notebook_fixtures import require, run

import opencrate as oc
from opencrate_nb.core import format
from opencrate_nb.core.handlers import AudioClip, GifFrames, VideoClip
from opencrate_nb.notebook import preview


@pytest.fixture
def snap(workdir):
    oc.snapshot.setup(name="preview")
    yield oc.snapshot


def _images(html):
    """(mime, decoded bytes) of every data-URI image in the HTML."""
    return [(m, base64.b64decode(d)) for m, d in re.findall(r'<img src="data:([^;]+);base64,([^"]+)"', html)]


def _pil(data):
    from PIL import Image

    return Image.open(io.BytesIO(data))


def _assert_card(html, name, kind):
    assert 'class="opencrate-card"' in html
    assert preview.esc(name) in html
    assert f">{kind}</span>" in html
    assert "version v0" in html
    assert "modified " in html


# -- small helpers ------------------------------------------------------------------------------
def test_esc():
    assert preview.esc('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"


def test_sizes_and_cells_read_as_everywhere_else():
    assert preview.human_size is format.format_size
    assert preview.cell_label is format.cell_label
    assert preview.cell_label({"execution_count": 7, "cell_id": "abcdef123456"}) == "In [7]"  # never the raw id


# -- cards by kind ------------------------------------------------------------------------------
def test_image_card_is_a_thumbnail(snap):
    big = np.random.default_rng(0).integers(0, 255, (900, 1200, 3), dtype=np.uint8)
    artifact = snap.image("big.png")
    artifact.save(big)
    html = preview.artifact_card(artifact)
    _assert_card(html, "big.png", "image")
    assert "1200\u00d7900 RGB PNG" in html
    [(mime, data)] = _images(html)
    assert mime == "image/jpeg"
    assert max(_pil(data).size) <= preview.THUMB_PX
    assert len(html) < os.path.getsize(artifact.path) / 4  # never the whole image


def test_image_with_alpha_stays_png(snap):
    artifact = snap.image("alpha.png")
    artifact.save(np.zeros((10, 10, 4), dtype=np.uint8))
    [(mime, data)] = _images(preview.artifact_card(artifact))
    assert mime == "image/png" and _pil(data).mode == "RGBA"


def test_gif_card_small_is_embedded_large_is_shrunk(snap, monkeypatch):
    noise = np.random.default_rng(1)
    frames = [noise.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(10)]  # hard to compress
    artifact = snap.gif("anim.gif")
    artifact.save(frames, fps=5)
    html = preview.artifact_card(artifact)
    _assert_card(html, "anim.gif", "gif")
    [(mime, data)] = _images(html)
    with open(artifact.path, "rb") as f:
        assert mime == "image/gif" and data == f.read()
    # a file over the cap: a smaller animation (sampled frames, shrunk) instead
    monkeypatch.setattr(preview, "MEDIA_EMBED_MAX_BYTES", os.path.getsize(artifact.path) - 1)
    monkeypatch.setattr(preview, "ANIMATION_PX", 16)
    html = preview.artifact_card(artifact)
    assert "smaller preview: the file" in html and "too large to embed" in html
    [(mime, data)] = _images(html)
    assert mime == "image/gif" and _pil(data).n_frames == 10 and max(_pil(data).size) <= 16
    # even the smaller animation over the cap: its first frame only
    monkeypatch.setattr(preview, "MEDIA_EMBED_MAX_BYTES", 100)
    html = preview.artifact_card(artifact)
    assert "first frame only: the animation is too large" in html
    [(mime, data)] = _images(html)
    assert mime in ("image/jpeg", "image/png") and max(_pil(data).size) <= 16


def test_video_card_player_or_first_frame(snap, monkeypatch):
    require("imageio_ffmpeg", "video previews")
    frames = [np.full((32, 48, 3), i * 10, dtype=np.uint8) for i in range(12)]
    artifact = snap.video("clip.mp4")
    artifact.save(frames, fps=12)
    html = preview.artifact_card(artifact)
    _assert_card(html, "clip.mp4", "video")
    assert "<video controls" in html and 'src="data:video/mp4;base64,' in html
    monkeypatch.setattr(preview, "MEDIA_EMBED_MAX_BYTES", 10)
    html = preview.artifact_card(artifact)
    assert "<video" not in html and "first frame only" in html
    [(mime, _)] = _images(html)
    assert mime == "image/jpeg"


def test_audio_card_small_embedded_long_cut(snap, monkeypatch):
    rate = 8000
    samples = (0.2 * np.sin(np.linspace(0, 2000, rate * 2))).astype(np.float32)
    artifact = snap.audio("tone.wav")
    artifact.save(samples, rate)
    html = preview.artifact_card(artifact)
    _assert_card(html, "tone.wav", "audio")
    assert "2.00 s, 8000 Hz, 1 channel<" in html  # the handler's summary: "1 channel", "2 channels"
    assert "<audio controls" in html and "data:audio/wav;base64," in html
    monkeypatch.setattr(preview, "MEDIA_EMBED_MAX_BYTES", 8044)
    html = preview.artifact_card(artifact)
    assert "first 0.5 s of 2.0 s" in html
    data = base64.b64decode(re.search(r"data:audio/wav;base64,([^\"]+)", html).group(1))
    assert len(data) <= 8044


def test_csv_card_shows_the_head(snap):
    import pandas as pd

    frame = pd.DataFrame({"a": range(100), "b<tag>": ["<script>x</script>"] * 100})
    artifact = snap.csv("table.csv")
    artifact.save(frame, index=False)
    html = preview.artifact_card(artifact)
    _assert_card(html, "table.csv", "csv")
    assert "100 rows \u00d7 2 columns" in html
    assert "<table" in html and "b&lt;tag&gt;" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "first " in html and "of 100 rows" in html


def test_json_card_is_a_collapsible_tree(snap):
    value = {"loss": 0.5, "nested": {"deep": [1, 2, {"x": "<b>bold</b>"}]}, "many": list(range(200))}
    artifact = snap.json("metrics.json")
    artifact.save(value)
    html = preview.artifact_card(artifact)
    _assert_card(html, "metrics.json", "json")
    assert "dict with 3 keys" in html
    assert html.count("<details") >= 3 and "<summary>" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    assert "150 more" in html  # lists are cut at TREE_MAX_ITEMS
    assert "{\u2026} 1 key<" in preview.json_tree_html({"only": {"one": 1}}, open_depth=0)  # not "1 keys"


def test_yaml_card_tree_and_large_file_head(snap, monkeypatch):
    artifact = snap.yaml("config.yaml")
    artifact.save({"model": {"layers": [64, 32]}, "lr": 0.01})
    html = preview.artifact_card(artifact)
    _assert_card(html, "config.yaml", "yaml")
    assert "<details" in html and "layers" in html
    monkeypatch.setattr(preview, "TREE_MAX_BYTES", 5)
    html = preview.artifact_card(artifact)
    assert "<pre" in html and "too large for a tree view" in html


def test_text_card_head_only(snap):
    artifact = snap.text("notes.txt")
    artifact.save("".join(f"line {i} <x>\n" for i in range(1000)))
    html = preview.artifact_card(artifact)
    _assert_card(html, "notes.txt", "text")
    assert "1,000 lines" in html
    assert "line 0 &lt;x&gt;" in html and "line 500" not in html


def test_checkpoint_card_summary(snap):
    torch = require("torch", "checkpoint previews")
    model = torch.nn.Sequential(torch.nn.Linear(20, 10), torch.nn.ReLU(), torch.nn.Linear(10, 1))
    artifact = snap.checkpoint("model.pth")
    artifact.save({"epoch": 5, "model_state_dict": model.state_dict(), "loss": 0.015})
    html = preview.artifact_card(artifact)
    _assert_card(html, "model.pth", "checkpoint")
    assert "221 parameters" in html
    assert "model_state_dict.0.weight" in html and "10\u00d720" in html and "float32" in html
    assert "epoch" in html and "0.015" in html


def test_numpy_checkpoint_card(snap):
    artifact = snap.checkpoint("arrays.npz")
    artifact.save({"w": np.zeros((3, 4), dtype=np.float32), "b": np.zeros(4)})
    html = preview.artifact_card(artifact)
    assert "16 parameters" in html and "3\u00d74" in html


class _Folder:
    def save(self, count):
        os.makedirs(self.path, exist_ok=True)
        for i in range(count):
            with open(os.path.join(self.path, f"part_{i}.txt"), "w") as f:
                f.write("x" * i)

    def load(self):
        return sorted(os.listdir(self.path))


def test_custom_kind_lists_files(snap, monkeypatch):
    artifact = snap.labels("boxes", handler=_Folder)
    artifact.save(3)
    html = preview.artifact_card(artifact)
    _assert_card(html, "boxes", "labels")
    assert "part_0.txt" in html and "part_2.txt" in html and "3 files" in html
    monkeypatch.setattr(preview, "LISTING_MAX_FILES", 2)
    assert "first 2 of 3 files" in preview.artifact_card(artifact)


def test_unsaved_artifact(snap):
    html = preview.artifact_card(snap.json("later.json"))
    assert "not saved yet" in html and "later.json" in html
    assert preview.artifact_text(snap.json("later.json")) == "later.json (json): not saved yet"


def test_card_names_the_saving_cell(crate):
    run(crate, "import opencrate as oc\noc.snapshot.json('from_cell.json').save([1])")
    html = preview.artifact_card(oc.snapshot.json("from_cell.json"))
    assert re.search(r"saved by In \[\d+\]", html)
    oc.snapshot.json("outside.json").save([1])
    assert "saved outside a notebook cell" in preview.artifact_card(oc.snapshot.json("outside.json"))


def test_card_shows_the_source_of_the_saving_cell(crate):
    result = run(crate, "import opencrate as oc\nif 1 < 2:\n    oc.snapshot.json('src.json').save([1])")
    html = preview.artifact_card(oc.snapshot.json("src.json"))
    assert f"<summary>source of In [{result.execution_count}]</summary>" in html
    assert "if 1 &lt; 2:\n    oc.snapshot.json(&#x27;src.json&#x27;).save([1])" in html
    run(crate, "%crate capture off")
    run(crate, "oc.snapshot.json('quiet.json').save([1])")  # linked, but the cell is not recorded
    html = preview.artifact_card(oc.snapshot.json("quiet.json"))
    assert "saved by In [" in html and "source of" not in html


def test_names_are_escaped(snap):
    name = "a<b>&\"c'.txt"
    artifact = snap.text(name)
    artifact.save("hi")
    html = preview.artifact_card(artifact)
    assert name not in html
    assert "a&lt;b&gt;&amp;&quot;c&#x27;.txt" in html


# -- failures never raise ------------------------------------------------------------------------
def test_broken_file_falls_back_to_text(snap):
    artifact = snap.image("broken.png")
    os.makedirs(os.path.dirname(artifact.path), exist_ok=True)
    with open(artifact.path, "wb") as f:
        f.write(b"not an image at all")
    html = preview.artifact_card(artifact)
    _assert_card(html, "broken.png", "image")
    assert "preview unavailable" in html


def test_broken_artifact_object_never_raises():
    class Weird:
        name = "weird"
        kind = "json"

        @property
        def path(self):
            raise RuntimeError("no path")

    html = preview.artifact_card(Weird())
    assert html.startswith("<pre>&lt;") and "(preview failed: RuntimeError: no path)</pre>" in html
    assert preview.artifact_text(Weird()).endswith("(summary failed: RuntimeError)")


def test_huge_image_is_not_decoded(snap, monkeypatch):
    artifact = snap.image("wide.png")
    artifact.save(np.zeros((50, 50, 3), dtype=np.uint8))
    monkeypatch.setattr(preview, "MAX_DECODE_PIXELS", 100)
    html = preview.artifact_card(artifact)
    assert "too large to decode" in html and not _images(html)


# -- loaded values -------------------------------------------------------------------------------
def test_audio_clip_player_and_dict_use():
    clip = AudioClip(data=np.zeros(16000), sample_rate=16000, duration=1.0, channels=1)
    html = preview.audio_clip_html(clip)
    assert "<audio controls" in html and "1.00 s, 16000 Hz, 1 channel<" in html
    assert clip["sample_rate"] == 16000 and isinstance(clip, dict)


def test_long_audio_clip_is_cut(monkeypatch):
    monkeypatch.setattr(preview, "MEDIA_EMBED_MAX_BYTES", 2 * 8000 + 44)
    clip = AudioClip(data=np.zeros((80000, 2), dtype=np.int16), sample_rate=8000, duration=10.0, channels=2)
    html = preview.audio_clip_html(clip)
    assert "first 0.5 s of 10.0 s" in html


def test_wav_bytes_formats():
    import wave

    for data in (
        np.zeros(100, dtype=np.float32),
        np.zeros((100, 2), dtype=np.int16),
        np.zeros((2, 100), dtype=np.int32),
        np.zeros(100, dtype=np.uint8),
    ):
        with wave.open(io.BytesIO(preview.wav_bytes(data, 8000))) as w:
            assert w.getnframes() == 100 and w.getsampwidth() == 2


def test_video_clip_and_gif_frames_animate():
    frames = np.zeros((100, 48, 64, 3), dtype=np.uint8)
    html = preview.video_clip_html(VideoClip(frames=frames, fps=25.0, duration=4.0, width=64, height=48))
    [(mime, data)] = _images(html)
    assert mime == "image/gif" and _pil(data).n_frames <= preview.ANIMATION_MAX_FRAMES
    assert "100 frames, 64\u00d748, 25 fps, 4.0 s" in html
    gif = GifFrames(np.zeros((8, 8, 3), dtype=np.uint8) for _ in range(3))
    gif.duration_ms = 50
    html = preview.gif_frames_html(gif)
    assert "3 frames, 50 ms per frame" in html and _images(html)
    assert len(gif) == 3 and isinstance(gif, list)


def test_loaded_value_previews_never_raise():
    assert "unavailable" in preview.audio_clip_html(AudioClip(data="nope", sample_rate=1, duration=1, channels=1))
    assert "unavailable" in preview.video_clip_html(VideoClip(frames=[object()], fps=1, duration=1, width=1, height=1))
    assert "no frames" in preview.gif_frames_html(GifFrames())


# -- the registered formatters ---------------------------------------------------------------------
def test_formatters_render_last_expressions(crate):
    oc.snapshot.json("shown.json").save({"a": 1})
    data, _ = crate.display_formatter.format(oc.snapshot.json("shown.json"))
    assert "opencrate-card" in data["text/html"]
    clip = AudioClip(data=np.zeros(800), sample_rate=8000, duration=0.1, channels=1)
    data, _ = crate.display_formatter.format(clip)
    assert "<audio" in data["text/html"] and data["text/plain"].startswith("AudioClip(")


def test_formatters_removed_on_unload(crate):
    oc.snapshot.json("shown.json").save({"a": 1})
    crate.run_line_magic("unload_ext", "opencrate")
    data, _ = crate.display_formatter.format(oc.snapshot.json("shown.json"))
    assert "text/html" not in data
