"""core/handlers/_text.py: plain text artifacts."""

import os
import re

import pytest


def test_save_and_load_text(snap):
    artifact = snap.text("greeting.txt")
    artifact.save("Hello, OpenCrate Guide!")
    assert artifact.load() == "Hello, OpenCrate Guide!"
    assert open(artifact.path, encoding="utf-8").read() == "Hello, OpenCrate Guide!"


@pytest.mark.parametrize("value, hint", [(b"caf\xc3\xa9", "decode"), (bytearray(b"x"), "decode"), (42, "str(value)")])
def test_only_strings_are_text_and_nothing_is_written_otherwise(snap, value, hint):
    with pytest.raises(TypeError, match=f"holds a str, got {type(value).__name__}.*{re.escape(hint)}"):
        snap.text("n.txt").save(value)
    assert not snap.text("n.txt").exists
    assert (
        not os.path.exists(os.path.join(snap.dir_path, "texts"))
        or os.listdir(os.path.join(snap.dir_path, "texts")) == []
    )


@pytest.mark.parametrize("text", ["a\r\nb\r\n", "old mac\rline", "mixed\n\r\n\r", "\ufeffbom", "tab\tand \x00 nul"])
def test_every_string_loads_back_as_saved(snap, text):
    snap.text("exact.txt").save(text)
    assert snap.text("exact.txt").load() == text


def test_encoding_argument(snap):
    artifact = snap.text("latin.txt")
    artifact.save("café", encoding="latin-1")
    assert open(artifact.path, "rb").read() == b"caf\xe9"
    assert artifact.load(encoding="latin-1") == "café"
    with pytest.raises(UnicodeDecodeError):
        artifact.load()


def test_bare_name_gets_txt_and_other_suffixes_are_kept(snap):
    assert snap.text("notes").name == "notes.txt"
    assert snap.text("README.md").name == "README.md"


def test_describe_counts_lines_and_shows_the_head(snap):
    artifact = snap.text("lines.txt")
    artifact.save("one\ntwo\nthree")
    assert artifact.describe() == {"size": 13, "lines": 3, "head": "one\ntwo\nthree", "truncated": False}
    long_text = "x" * 5000 + "\n"
    snap.text("long.txt").save(long_text)
    info = snap.text("long.txt").describe()
    assert info["truncated"] is True and len(info["head"]) == 2000 and info["lines"] == 1


def test_empty_text(snap):
    snap.text("empty.txt").save("")
    assert snap.text("empty.txt").load() == ""
    assert snap.text("empty.txt").describe()["lines"] == 0


def test_bytes_that_are_not_valid_in_the_encoding_are_called_corrupt_saying_where(snap):
    """A damaged text file (or one written in another encoding) names the bytes, their place in the file
    and the way to load it with another encoding; it is still a UnicodeDecodeError."""
    from opencrate_nb.core.errors import CorruptArtifactError

    artifact = snap.text("notes.txt")
    artifact.save("é" * 600_000)  # the bad byte lies beyond the first chunk a decoder is given
    with open(artifact.path, "ab") as f:
        f.write(b"ok \xff\xfe")
    with pytest.raises(CorruptArtifactError) as info:
        artifact.load()
    message = str(info.value)
    assert "'notes.txt' is not valid utf-8 text: 0xff at byte 1200003 cannot be decoded (invalid start byte)" in message
    assert "corrupt" in message and "load(version=" in message and "load(encoding='latin-1')" in message
    assert isinstance(info.value, UnicodeDecodeError) and info.value.encoding == "utf-8"
    assert artifact.load(encoding="latin-1").endswith("ok \xff\xfe")
    with open(artifact.path, "wb") as f:
        f.write("cut é".encode()[:-1])  # a character cut in the middle
    with pytest.raises(CorruptArtifactError, match=r"0xc3 at byte 4 cannot be decoded \(unexpected end of data\)"):
        artifact.load()
