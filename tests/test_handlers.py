"""core/handlers/__init__.py: each kind's facts live on its handler class, and are looked up in one place."""

import pytest

from opencrate_nb.core import handlers
from opencrate_nb.core.handlers import Handler, browser_media_type, kind_for_folder, kind_for_suffix, media_type
from opencrate_nb.notebook import preview
from opencrate_nb.server import api


@pytest.mark.parametrize("kind", handlers.builtin_kinds())
def test_every_builtin_class_owns_its_facts(kind):
    cls = handlers.builtin_class(kind)
    assert cls.kind == kind and issubclass(cls, Handler)
    assert cls.folder and kind_for_folder(cls.folder) == kind
    assert cls.suffixes and all(s.startswith(".") and s == s.lower() for s in cls.suffixes)
    assert all(kind_for_suffix(f"file{s.upper()}") == kind for s in cls.suffixes)
    assert all(mime.count("/") == 1 for mime in cls.media_types.values())
    assert handlers.get_handler(kind).folder == cls.folder  # instances read the same attributes


@pytest.mark.parametrize(
    "name, mime",
    [
        ("a.png", "image/png"),
        ("A.JPG", "image/jpeg"),
        ("a.tiff", "image/tiff"),
        ("a.gif", "image/gif"),
        ("a.mp4", "video/mp4"),
        ("clip.mov", "video/quicktime"),
        ("a.mkv", "video/x-matroska"),
        ("a.wav", "audio/wav"),
        ("a.flac", "audio/flac"),
        ("metrics.json", "application/json"),
        ("config.yml", "application/yaml"),
        ("table.tsv", "text/tab-separated-values"),
        ("notes.md", "text/markdown"),
        ("model.pt", None),
        ("page.html", None),
        ("no_suffix", None),
    ],
)
def test_media_type_is_the_one_suffix_lookup(name, mime):
    assert media_type(name) == mime


def test_mov_reads_the_same_everywhere():
    """The preview, the diff and the server used to disagree about .mov; now they all ask media_type()."""
    assert media_type("clip.mov") == "video/quicktime"
    assert api.media_type("/x/clip.mov") == "video/quicktime"
    assert browser_media_type("clip.mov") is None  # not played inline: the preview shows the first frame
    assert browser_media_type("clip.mp4") == "video/mp4" and browser_media_type("a.tiff") is None


def test_kind_for_suffix_falls_back_to_text_for_text_files_only():
    assert kind_for_suffix("run.log") == "text" and kind_for_suffix("README.md") == "text"
    assert kind_for_suffix("weights.npy") == "checkpoint" and kind_for_suffix("x.yaml") == "yaml"
    assert kind_for_suffix("archive.zip") is None
    assert kind_for_folder("labels") == "labels"  # a custom kind's folder is its name


SUMMARIES = [
    ("json", {"type": "dict", "length": 1}, "dict with 1 key"),
    ("json", {"type": "dict", "length": 3}, "dict with 3 keys"),
    ("yaml", {"type": "list", "length": 1}, "list with 1 item"),
    ("json", {"type": "str"}, "str"),
    ("csv", {"rows": 1, "columns": ["a"]}, "1 row \u00d7 1 column"),
    ("csv", {"rows": 12345, "columns": ["a", "b"]}, "12,345 rows \u00d7 2 columns"),
    ("csv", {"rows": None, "columns": []}, "? rows \u00d7 0 columns"),
    ("text", {"lines": 1}, "1 line"),
    ("text", {"lines": 1000}, "1,000 lines"),
    ("image", {"width": 4, "height": 3, "mode": "RGB", "format": "PNG"}, "4\u00d73 RGB PNG"),
    ("gif", {"frames": 1, "width": 2, "height": 2, "duration": 0.1}, "1 frame, 2\u00d72, 0.1 s"),
    ("video", {"width": 64, "height": 48, "fps": 25.0, "duration": 4.0}, "64\u00d748, 25 fps, 4.0 s"),
    ("audio", {"sample_rate": 8000, "channels": 1, "duration": 2.0}, "2.00 s, 8000 Hz, 1 channel"),
    ("audio", {"sample_rate": 8000, "channels": 2, "duration": 2.0}, "2.00 s, 8000 Hz, 2 channels"),
    ("checkpoint", {"format": "pt", "tensor_count": 1, "parameters": 1}, "pt \u00b7 1 tensor, 1 parameter"),
    ("checkpoint", {"format": "pt", "tensor_count": 2, "parameters": 4096}, "pt \u00b7 2 tensors, 4,096 parameters"),
    ("image", {"size": 10}, ""),  # describe() could not read the header: nothing to say
]


@pytest.mark.parametrize("kind, description, line", SUMMARIES, ids=[line or k for k, _, line in SUMMARIES])
def test_each_handler_words_its_one_line_summary(kind, description, line):
    assert handlers.get_handler(kind).summary(description) == line
    assert preview.summary_line(kind, description) == line  # the notebook card shows the handler's line


def test_the_base_summary_counts_a_folders_files_and_custom_kinds_use_it():
    assert Handler().summary({"file_count": 1}) == "1 file"
    assert preview.summary_line("labels", {"file_count": 3}) == "3 files"
    assert Handler().summary({"size": 3}) == ""


def test_the_base_compare_lists_changed_describe_fields(tmp_path):
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"x")
    b.write_bytes(b"xyz")
    detail = Handler().compare(str(a), str(b))
    assert detail.rows == [("size", 1, 3)] and not detail.lines
