"""core/_names.py: user-given names are checked before they become folders or files."""

import os
import unicodedata

import pytest

from opencrate_nb.core._names import check_artifact_path, check_kind, check_name, check_tag
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


# -- the Unicode policy --------------------------------------------------------------------------
REFUSED_CHARACTERS = [
    ("\x85", "U+0085 (NEXT LINE)"),
    ("\x9b", "U+009B (CONTROL SEQUENCE INTRODUCER)"),
    ("\x80", "U+0080 (PADDING CHARACTER)"),
    ("\x9f", "U+009F (APPLICATION PROGRAM COMMAND)"),
    ("\x1b", "U+001B (ESCAPE)"),
    ("\u2028", "U+2028 (LINE SEPARATOR)"),
    ("\u2029", "U+2029 (PARAGRAPH SEPARATOR)"),
    ("\u202a", "U+202A (LEFT-TO-RIGHT EMBEDDING)"),
    ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("\u2066", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
    ("\u2069", "U+2069 (POP DIRECTIONAL ISOLATE)"),
    ("\ud800", "U+D800 (SURROGATE)"),
    ("\udfff", "U+DFFF (SURROGATE)"),
]


@pytest.mark.parametrize("char, named", REFUSED_CHARACTERS, ids=[f"U+{ord(c):04X}" for c, _ in REFUSED_CHARACTERS])
def test_invisible_and_direction_changing_characters_are_refused_by_code_point(char, named):
    for what, check in (("artifact name", lambda v: check_name(v, "artifact name")), ("tag", check_tag)):
        with pytest.raises(InvalidNameError) as info:
            check(f"run{char}1")
        message = str(info.value)
        assert named in message, message
        assert what in message
        assert "letters, digits" in message  # says what is allowed


def test_composed_and_decomposed_spellings_are_one_name():
    composed, decomposed = "donn\u00e9es", "donne\u0301es"
    assert composed != decomposed
    assert check_name(decomposed, "artifact name") == composed
    assert check_tag("caf\u0065\u0301") == "caf\u00e9"


def test_the_length_limit_counts_the_normalised_name():
    assert check_name("e\u0301" * 100, "artifact name") == "\u00e9" * 100  # 300 bytes as NFD, 200 as NFC


def test_look_alike_artifact_names_are_one_artifact(snap):
    snap.json("r\u00e9sultats.json").save({"run": 1})
    snap.json("re\u0301sultats.json").save({"run": 2})
    assert os.listdir(os.path.join(snap.dir_path, "jsons")) == ["r\u00e9sultats.json"]
    assert snap.json("r\u00e9sultats.json").load() == {"run": 2}
    assert [a.name for a in snap.list_artifacts()] == ["r\u00e9sultats.json"]


def test_look_alike_snapshot_names_and_tags_are_one_version(oc, tmp_path):
    oc.snapshot.setup(name="caf\u00e9", start="new", tag="\u00e9t\u00e9")
    oc.snapshot.setup(name="cafe\u0301", start=0, tag="e\u0301te\u0301")
    assert oc.snapshot.name == "caf\u00e9" and oc.snapshot.tag == "\u00e9t\u00e9"
    assert os.listdir(tmp_path / "snapshots") == ["caf\u00e9"]
    assert oc.snapshot.list_versions() == ["v0:\u00e9t\u00e9"]


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u202e", "\ud800"])
def test_refused_characters_write_nothing(oc, tmp_path, char):
    with pytest.raises(InvalidNameError, match=f"U\\+{ord(char):04X}"):
        oc.snapshot.setup(name=f"run{char}", start="new")
    assert os.listdir(tmp_path) == []
    oc.snapshot.setup(name="ok", start="new")
    before = sorted(os.listdir(oc.snapshot.dir_path))
    with pytest.raises(InvalidNameError, match=f"U\\+{ord(char):04X}"):
        oc.snapshot.text(f"notes{char}.txt").save("x")
    assert sorted(os.listdir(oc.snapshot.dir_path)) == before


def test_backup_tags_are_normalised(snap):
    artifact = snap.text("notes.txt")
    artifact.save("hello")
    name = artifact.backup(tag="e\u0301t\u00e9")
    assert "\u00e9t\u00e9" in str(name)
    assert any("\u00e9t\u00e9" in n for n in os.listdir(os.path.dirname(artifact.path)))


def test_files_with_names_no_save_could_make_are_skipped_with_a_warning(snap):
    snap.json("ok.json").save({})
    for bad in ("bad\x85.json", "bad\nline.json", "bidi\u202e.json"):
        with open(os.path.join(snap.dir_path, "jsons", bad), "w") as f:
            f.write("{}")
    with pytest.warns(UserWarning, match="Not listed as an artifact") as caught:
        assert [a.name for a in snap.list_artifacts()] == ["ok.json"]
    assert {"U+0085", "U+000A", "U+202E"} <= {part for w in caught for part in str(w.message).split() if "U+" in part}


def test_an_artifact_named_by_its_path_is_checked_part_by_part():
    composed = "jsons/r\u00e9sum\u00e9.json"
    assert check_artifact_path(unicodedata.normalize("NFD", composed)) == composed
    assert check_artifact_path(unicodedata.normalize("NFD", "r\u00e9sum\u00e9.json")) == "r\u00e9sum\u00e9.json"
    with pytest.raises(InvalidNameError, match=r"U\+202E \(RIGHT-TO-LEFT OVERRIDE\)") as info:
        check_artifact_path("jsons/gpj\u202e.exe")
    assert "jsons/metrics.json" in str(info.value)  # says what is allowed
    for bad in ("/etc/passwd", "jsons/../x.json", "jsons//x.json", "jsons/.x.json", "jsons\\x.json"):
        with pytest.raises(InvalidNameError, match="Invalid artifact"):
            check_artifact_path(bad)
