"""core/handlers/_text.py: plain text artifacts."""

import pytest


def test_save_and_load_text(snap):
    artifact = snap.text("greeting.txt")
    artifact.save("Hello, OpenCrate Guide!")
    assert artifact.load() == "Hello, OpenCrate Guide!"
    assert open(artifact.path, encoding="utf-8").read() == "Hello, OpenCrate Guide!"


def test_non_strings_are_written_as_their_text_and_bytes_as_they_are(snap):
    snap.text("n.txt").save(42)
    assert snap.text("n.txt").load() == "42"
    snap.text("raw.txt").save(b"caf\xc3\xa9")
    assert snap.text("raw.txt").load() == "café"


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
