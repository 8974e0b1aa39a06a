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


FULL_TREE = """snapshots
└── snapshot_guide
    ├── v0:initial-run
    │   ├── texts
    │   │   └── greeting.txt
    │   └── snapshot_guide.log
    └── v1
"""
STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"  # the guide's annotations: to the minute


@pytest.mark.parametrize(
    "depth, shown", [(None, range(7)), (4, range(7)), (3, [0, 1, 2, 3, 5, 6]), (2, [0, 1, 2, 6]), (0, [0])]
)
def test_show_files_in_dir_prints_a_tree_without_hidden_entries(oc, tmp_path, capsys, depth, shown):
    """The folder's own name first, then folders before files; ``depth`` levels below the top;
    ``.crate`` and temporary files never shown."""
    make_tree(tmp_path / "snapshots")
    oc.io.show_files_in_dir("snapshots/", depth=depth)
    full = FULL_TREE.splitlines()
    assert capsys.readouterr().out.splitlines() == [full[i] for i in shown]


def test_the_tree_of_a_deep_path_starts_with_its_own_name(oc, tmp_path, capsys):
    make_tree(tmp_path / "snapshots")
    oc.io.show_files_in_dir(str(tmp_path / "snapshots" / "snapshot_guide" / "v0:initial-run" / "texts"))
    assert capsys.readouterr().out == "texts\n└── greeting.txt\n"
    os.chdir(tmp_path / "snapshots")
    oc.io.show_files_in_dir(".", depth=1)
    assert capsys.readouterr().out == "snapshots\n└── snapshot_guide\n"


def test_verbose_annotates_files_and_folders_with_time_and_size(oc, tmp_path, capsys, monkeypatch):
    """As the guide prints it: ``name (YYYY-MM-DD HH:MM, SIZE)``, a folder with the total of the files below it."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    make_tree(tmp_path / "snapshots")
    oc.io.show_files_in_dir("snapshots/snapshot_guide/v0:initial-run", verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(rf"v0:initial-run \({STAMP}, 2.0 KB\)", lines[0])  # 2 B + 2048 B; .crate not counted
    assert re.fullmatch(rf"├── texts \({STAMP}, 2 B\)", lines[1])
    assert re.fullmatch(rf"│   └── greeting.txt \({STAMP}, 2 B\)", lines[2])
    assert re.fullmatch(rf"└── snapshot_guide.log \({STAMP}, 2.0 KB\)", lines[3])
    assert "\x1b" not in "".join(lines)  # captured output is not a terminal: plain


def _read_all(master):
    """Everything written to a pseudo-terminal whose other end is closed."""
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the writer's end is closed and everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks).decode()


def test_verbose_annotations_are_dimmed_on_a_terminal_unless_no_color(oc, tmp_path, monkeypatch):
    make_tree(tmp_path / "snapshots")
    master, replica = os.openpty()
    with os.fdopen(replica, "w", encoding="utf-8") as terminal:
        monkeypatch.delenv("NO_COLOR", raising=False)
        oc.io.show_files_in_dir("snapshots/snapshot_guide/v1", verbose=True, file=terminal)
        monkeypatch.setenv("NO_COLOR", "1")
        oc.io.show_files_in_dir("snapshots/snapshot_guide/v1", verbose=True, file=terminal)
    written = _read_all(master).replace("\r\n", "\n").splitlines()
    assert re.fullmatch(rf"v1 \x1b\[2m\({STAMP}, 0 B\)\x1b\[0m", written[0])
    assert re.fullmatch(rf"v1 \({STAMP}, 0 B\)", written[1])


def test_the_tree_as_html_escapes_names_and_keeps_the_text_fallback(oc, tmp_path):
    from opencrate_nb.core.fileio import file_tree

    (tmp_path / "runs" / "<i>x").mkdir(parents=True)
    (tmp_path / "runs" / "a&b.txt").write_text("abc")
    tree = file_tree(tmp_path / "runs", verbose=True)
    bundle = tree._repr_mimebundle_()
    assert bundle["text/plain"] == tree.text() == str(tree)
    assert bundle["text/plain"].splitlines()[1].startswith("├── <i>x (")
    html = bundle["text/html"]
    assert html.startswith("<pre") and "<b>&lt;i&gt;x</b>" in html and "a&amp;b.txt" in html
    assert re.search(rf"\({STAMP}, 3 B\)</span>", html)


def test_show_files_in_dir_of_a_file_and_to_another_stream(oc, tmp_path):
    (tmp_path / "a.txt").write_text("abc")
    out = io.StringIO()
    oc.io.show_files_in_dir(tmp_path / "a.txt", file=out)
    assert out.getvalue() == "a.txt\n"


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


def test_in_a_notebook_the_tree_is_a_rich_display_with_or_without_cell_capture(tmp_path, monkeypatch):
    """A real kernel: HTML with the text as its fallback, also when %load_ext opencrate wraps stdout."""
    from _notebook_fixtures import kernel_env, require

    require("nbclient", "a notebook in a real kernel")
    require("ipykernel", "a notebook in a real kernel")
    import nbformat
    from nbclient import NotebookClient

    kernel_env(monkeypatch)
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "x.txt").write_text("x")
    show = "import opencrate as oc\noc.io.show_files_in_dir('runs')"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (show, "%load_ext opencrate\n%crate setup tree", show)]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in (nb.cells[0], nb.cells[2]):
        [output] = cell.outputs
        assert output["output_type"] == "display_data"
        assert output["data"]["text/plain"] == "runs\n└── a\n    └── x.txt"
        assert output["data"]["text/html"].startswith('<pre class="oc-file-tree"')
