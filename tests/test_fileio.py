"""core/fileio.py: ``oc.io`` - folder trees, file lists and the kinds on explicit paths."""

import io
import os
import re

import pytest


def make_tree(root):
    (root / "snapshot_guide" / "v0:initial-run" / "texts").mkdir(parents=True)
    (root / "snapshot_guide" / "v0:initial-run" / ".crate").mkdir()
    (root / "snapshot_guide" / "v0:initial-run" / ".crate" / "record.jsonl").write_text("{}\n")
    (root / "snapshot_guide" / "v0:initial-run" / "snapshot_guide.log").write_text("x" * 2048)
    (root / "snapshot_guide" / "v0:initial-run" / "texts" / "greeting.txt").write_text("hi")
    (root / "snapshot_guide" / "v0:initial-run" / "texts" / ".greeting.txt.0a1b2c3d.tmp.txt").write_text("")
    (root / "snapshot_guide" / "v1").mkdir()


FULL_TREE = """snapshots/
└── snapshot_guide/
    ├── v0:initial-run/
    │   ├── texts/
    │   │   └── greeting.txt
    │   └── snapshot_guide.log
    └── v1/
"""


@pytest.mark.parametrize(
    "depth, shown", [(None, range(7)), (4, range(7)), (3, [0, 1, 2, 3, 5, 6]), (2, [0, 1, 2, 6]), (0, [0])]
)
def test_show_files_in_dir_prints_a_tree_without_hidden_entries(oc, tmp_path, capsys, depth, shown):
    """Folders first, then files; ``depth`` levels below the top; ``.crate`` and temporary files never shown."""
    make_tree(tmp_path / "snapshots")
    oc.io.show_files_in_dir("snapshots", depth=depth)
    full = FULL_TREE.splitlines()
    assert capsys.readouterr().out.splitlines() == [full[i] for i in shown]


def test_verbose_adds_sizes_and_modification_times(oc, tmp_path, capsys):
    make_tree(tmp_path / "snapshots")
    oc.io.show_files_in_dir("snapshots/snapshot_guide/v0:initial-run", verbose=True)
    lines = capsys.readouterr().out.splitlines()
    stamp = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"
    assert lines[0] == "snapshots/snapshot_guide/v0:initial-run/"
    assert lines[1] == "├── texts/"
    assert re.fullmatch(rf"│   └── greeting.txt  \(2 B, {stamp}\)", lines[2])
    assert re.fullmatch(rf"└── snapshot_guide.log  \(2.0 KB, {stamp}\)", lines[3])


def test_show_files_in_dir_of_a_file_and_to_another_stream(oc, tmp_path):
    (tmp_path / "a.txt").write_text("abc")
    out = io.StringIO()
    oc.io.show_files_in_dir(tmp_path / "a.txt", file=out)
    assert out.getvalue() == f"{tmp_path / 'a.txt'}\n"


def test_show_files_in_dir_bad_inputs(oc, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        oc.io.show_files_in_dir("missing")
    with pytest.raises(ValueError, match="depth"):
        oc.io.show_files_in_dir(".", depth=-1)
    with pytest.raises(ValueError, match="depth"):
        oc.io.show_files_in_dir(".", depth="2")


def test_list_files_in_dir_returns_sorted_visible_file_names(oc, tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name in ("bounding_boxes_1.txt", "bounding_boxes_0.txt", ".hidden"):
        (tmp_path / "d" / name).write_text("x")
    assert oc.io.list_files_in_dir(str(tmp_path / "d")) == ["bounding_boxes_0.txt", "bounding_boxes_1.txt"]
    with pytest.raises(FileNotFoundError, match="Not a folder"):
        oc.io.list_files_in_dir(str(tmp_path / "nope"))


def test_kind_namespaces_save_and_load_any_path(oc, tmp_path):
    oc.io.text.save("1 2 3 4", tmp_path / "labels" / "b_0.txt")  # creates the folder
    assert oc.io.text.load(tmp_path / "labels" / "b_0.txt") == "1 2 3 4"
    oc.io.json.save({"a": [1, 2]}, str(tmp_path / "x.json"))
    assert oc.io.json.load(str(tmp_path / "x.json")) == {"a": [1, 2]}
    oc.io.yaml.save({"lr": 0.1}, str(tmp_path / "c.yaml"))
    assert oc.io.yaml.describe(str(tmp_path / "c.yaml"))["keys"] == ["lr"]
    assert sorted(os.listdir(tmp_path)) == ["c.yaml", "labels", "x.json"]  # atomic, nothing left over


def test_io_saves_are_not_recorded_as_artifacts(snap):
    import opencrate as oc
    from opencrate_nb.core import record

    oc.io.text.save("loose", os.path.join(snap.dir_path, "texts", "loose.txt"))
    assert record.read_lines(snap.dir_path) == []


def test_unknown_io_attribute_lists_what_exists(oc):
    with pytest.raises(AttributeError, match="show_files_in_dir, list_files_in_dir.*text, json"):
        oc.io.pickle
    assert {"show_files_in_dir", "list_files_in_dir", "checkpoint"} <= set(dir(oc.io))
    assert "save(obj, path)" in repr(oc.io.csv)


@pytest.mark.parametrize(
    "size, text",
    [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KB"), (5 << 20, "5.0 MB"), (3 << 30, "3.0 GB"), (5 << 40, "5.0 TB")],
)
def test_format_size(oc, size, text):
    assert oc.io.format_size(size) == text
