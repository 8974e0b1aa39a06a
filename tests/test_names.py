"""core/_names.py: user-given names are checked before they become folders or files."""

import os

import pytest

from opencrate_nb.core._names import check_kind, check_name, check_tag
from opencrate_nb.core.errors import InvalidNameError

BAD_NAMES = {
    "": "empty",
    "   ": "empty",
    ".": "refer to folders",
    "..": "refer to folders",
    "a/b": "path separator",
    "a\\b": "path separator",
    "/etc/passwd": "path separator",
    "C:\\models\\x.pt": "path separator",
    "a\x00b": "control character",
    "line\nbreak": "control character",
    "tab\there": "control character",
    "bell\x07": "control character",
    "del\x7f": "control character",
    "a..b": "'..'",
    ".hidden": "starts with '.'",
    " padded": "white space",
    "padded ": "white space",
    "x" * 201: "longer than 200 bytes",
}


@pytest.mark.parametrize("value, problem", BAD_NAMES.items(), ids=[repr(v)[:20] for v in BAD_NAMES])
def test_bad_names_are_rejected_with_the_reason_and_what_is_allowed(value, problem):
    with pytest.raises(InvalidNameError) as info:
        check_name(value, "snapshot name")
    message = str(info.value)
    assert "snapshot name" in message
    assert problem in message
    assert "letters, digits" in message  # says what is allowed


@pytest.mark.parametrize(
    "value",
    ["mnist", "v1:major-update", "model.backup_11:46:37_16-Nov-2025.pth", "with space.txt", "données", "a-b_c.d"],
)
def test_good_names_pass_unchanged(value):
    assert check_name(value, "artifact name") == value


@pytest.mark.parametrize("value", [None, 3, b"bytes", ["a"]])
def test_names_must_be_strings(value):
    with pytest.raises(InvalidNameError, match="must be a string"):
        check_name(value, "tag")


def test_tags_may_not_contain_a_colon():
    assert check_tag(None) is None
    assert check_tag("baseline") == "baseline"
    with pytest.raises(InvalidNameError, match="contains ':'"):
        check_tag("a:b")
    with pytest.raises(InvalidNameError, match="path separator"):
        check_tag("a/b")


@pytest.mark.parametrize("word", ["labels", "image_archive", "Points3D"])
def test_kinds_are_identifiers(word):
    assert check_kind(word) == word


@pytest.mark.parametrize("word", ["1abc", "a-b", "", "a b", "a.b", None, "_private"])
def test_bad_kinds_are_rejected(word):
    with pytest.raises(InvalidNameError, match="Python identifier"):
        check_kind(word)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "../escape"},
        {"name": "/abs/path"},
        {"name": "a/b"},
        {"name": "nul\x00"},
        {"name": "ok", "tag": "../up"},
        {"name": "ok", "tag": "t\n"},
        {"name": "ok", "tag": "a:b"},
    ],
)
def test_setup_rejects_bad_names_before_writing_anything(oc, tmp_path, kwargs):
    with pytest.raises(InvalidNameError):
        oc.snapshot.setup(start="new", **kwargs)
    assert os.listdir(tmp_path) == []
    assert not oc.snapshot.is_set_up


@pytest.mark.parametrize("name", ["../x.json", "/tmp/x.json", "sub/x.json", "x\x00.json", ".x.json", ".."])
def test_artifact_names_are_rejected_before_writing_anything(snap, name):
    before = sorted(os.listdir(snap.dir_path))
    with pytest.raises(InvalidNameError):
        snap.json(name).save({"a": 1})
    assert sorted(os.listdir(snap.dir_path)) == before
    assert not os.path.exists(os.path.join(os.path.dirname(snap.dir_path), "x.json"))


def test_custom_kind_with_a_bad_artifact_name_never_builds_the_handler(snap):
    built = []

    class Handler:
        def __init__(self):
            built.append(self)

        def save(self, data):
            raise AssertionError("never called")

        def load(self):
            raise AssertionError("never called")

    with pytest.raises(InvalidNameError):
        snap.labels("../../boxes", handler=Handler)
    assert built == []


def test_backup_tags_are_checked_before_copying(snap):
    artifact = snap.text("notes.txt")
    artifact.save("hello")
    with pytest.raises(InvalidNameError, match="backup tag"):
        artifact.backup(tag="../../evil")
    assert artifact.list_backups() == []
    assert sorted(os.listdir(os.path.dirname(artifact.path))) == ["notes.txt"]
