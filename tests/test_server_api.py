"""The REST API's rules as plain functions (opencrate_nb/server/api.py), on snapshots made by the library."""

import json
import os

import numpy as np
import pytest
from _lab_fixtures import save_artifacts
from _notebook_fixtures import run

from opencrate_nb.core import run_notebook
from opencrate_nb.server import api


@pytest.fixture
def server_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "served"
    root.mkdir()
    return root


@pytest.fixture
def store(server_root):
    """A version with a json, a csv, a text, an image and an audio artifact, and its snapshot root."""
    rate = 8000
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32)
    rows = "step,loss\n" + "".join(f"{i},{1 / (i + 1):.4f}\n" for i in range(50))
    version = save_artifacts(
        server_root / "snapshots",
        "mnist",
        [
            ("json", "metrics.json", {"loss": 0.25, "epochs": [1, 2, 3]}),
            ("text", "notes.txt", "first line\nsecond line\n"),
            ("csv", "history.csv", _frame(rows), {"index": False}),
            ("image", "grid.png", np.zeros((12, 20, 3), dtype=np.uint8)),
            ("audio", "tone.wav", tone, {"sample_rate": rate}),
        ],
        tag="base",
    )
    return api.snapshot_root(str(server_root)), version


def _frame(csv_text):
    import io

    import pandas as pd

    return pd.read_csv(io.StringIO(csv_text))


def test_snapshot_root_stays_inside_the_server_root(server_root):
    assert api.snapshot_root(str(server_root)) == os.path.realpath(server_root / "snapshots")
    assert api.snapshot_root(str(server_root), "runs/a") == os.path.realpath(server_root / "runs" / "a")
    with pytest.raises(api.ApiError) as error:
        api.snapshot_root(str(server_root), "../elsewhere")
    assert error.value.status == 500 and "OpenCrate.snapshot_root" in error.value.message


def test_tree_is_the_catalog_with_base_and_fingerprint(server_root, store):
    root, version = store
    tree = api.tree(root, str(server_root))
    assert tree["base"] == "snapshots" and tree["root"] == "snapshots"
    assert tree["fingerprint"] == api.fingerprint(root)
    (snapshot,) = tree["snapshots"]
    assert snapshot["name"] == "mnist"
    (listed,) = snapshot["versions"]
    assert listed["path"] == version == "mnist/v0:base"
    names = {a["name"]: a["kind"] for kind in listed["kinds"] for a in kind["artifacts"]}
    assert names == {
        "metrics.json": "json",
        "notes.txt": "text",
        "history.csv": "csv",
        "grid.png": "image",
        "tone.wav": "audio",
    }


def test_fingerprint_changes_when_a_save_lands(server_root, store):
    root, _ = store
    before = api.fingerprint(root)
    assert api.fingerprint(root) == before
    save_artifacts(server_root / "snapshots", "mnist", [("json", "extra.json", {"a": 1})])
    assert api.fingerprint(root) != before


@pytest.mark.parametrize(
    "bad, status, words",
    [
        ("../secret.txt", 403, "'..'"),
        ("mnist/../../secret.txt", 403, "'..'"),
        ("/etc/passwd", 403, "relative"),
        ("%2e%2e/secret.txt", 403, "'..'"),  # arrives encoded twice: decoded once by the server
        ("%252e%252e%252fsecret.txt", 403, "'..'"),
        ("mnist\x00.txt", 403, "NUL"),
        ("mnist/v0:base/.crate/record.jsonl", 403, "hidden"),
        ("", 400, "?path="),
        ("mnist/v9/jsons/none.json", 404, "No file"),
    ],
)
def test_resolve_refuses_paths_outside_or_hidden(server_root, store, bad, status, words):
    root, _ = store
    (server_root / "secret.txt").write_text("outside")
    with pytest.raises(api.ApiError) as error:
        api.resolve(root, bad)
    assert error.value.status == status
    assert words in error.value.message


def test_resolve_refuses_a_symlink_pointing_out(server_root, store):
    root, version = store
    outside = server_root.parent / "outside.txt"
    outside.write_text("not yours")
    link = os.path.join(root, version, "texts", "link.txt")
    os.symlink(outside, link)
    with pytest.raises(api.ApiError) as error:
        api.file_summary(root, f"{version}/texts/link.txt")
    assert error.value.status == 403 and "outside the snapshot root" in error.value.message


def test_file_summary_of_each_kind(store):
    root, version = store
    table = api.file_summary(root, f"{version}/csvs/history.csv", max_rows=3)
    assert table["kind"] == "csv"
    assert table["preview"]["columns"] == ["step", "loss"]
    assert table["preview"]["rows"] == [["0", "1.0"], ["1", "0.5"], ["2", "0.3333"]]
    assert table["preview"]["truncated"] is True and table["preview"]["total_rows"] == 50

    metrics = api.file_summary(root, f"{version}/jsons/metrics.json")
    assert metrics["preview"]["type"] == "json"
    assert json.loads(metrics["preview"]["text"]) == {"loss": 0.25, "epochs": [1, 2, 3]}
    assert metrics["describe"]["keys"] == ["loss", "epochs"]

    image = api.file_summary(root, f"{version}/images/grid.png")
    assert image["preview"] == {"type": "image", "mime": "image/png"}
    assert (image["describe"]["width"], image["describe"]["height"]) == (20, 12)

    audio = api.file_summary(root, f"{version}/audios/tone.wav")
    assert audio["preview"]["type"] == "audio"
    assert audio["describe"]["sample_rate"] == 8000 and audio["describe"]["duration"] == pytest.approx(1.0)

    notes = api.file_summary(root, f"{version}/texts/notes.txt", max_text_bytes=5)
    assert notes["preview"] == {"type": "text", "text": "first", "truncated": True}


def test_the_caps_come_from_the_settings_schema():
    path = os.path.join(os.path.dirname(__file__), "..", "labextension", "schema", "plugin.json")
    with open(path) as f:
        properties = json.load(f)["properties"]
    caps = api.preview_caps()
    assert caps["max_bytes"] == (properties["previewTextBytes"]["default"], properties["previewTextBytes"]["maximum"])
    assert caps["rows"] == (properties["previewTableRows"]["default"], properties["previewTableRows"]["maximum"])
    assert caps["lines"] == (properties["logTailLines"]["default"], properties["logTailLines"]["maximum"])


def test_caps_are_bounded_and_checked(store):
    root, version = store
    big = api.file_summary(root, f"{version}/csvs/history.csv", max_rows=10**9)
    assert len(big["preview"]["rows"]) == 50
    default = api.file_summary(root, f"{version}/csvs/history.csv")
    assert len(default["preview"]["rows"]) == api.preview_caps()["rows"][0]
    with pytest.raises(api.ApiError) as error:
        api.file_summary(root, f"{version}/csvs/history.csv", max_rows="many")
    assert error.value.status == 400 and "rows must be a whole number" in error.value.message


def test_a_run_log_previews_as_its_tail(store):
    root, version = store
    log_path = os.path.join(root, version, "mnist.log")
    with open(log_path, "a", encoding="utf-8") as f:
        f.writelines(f"line {i}\n" for i in range(500))
    summary = api.file_summary(root, f"{version}/mnist.log", max_lines=2)
    assert summary["kind"] == "log" and summary["preview"]["text"].splitlines() == ["line 498", "line 499"]
    assert summary["size_text"].endswith(("B", "KB"))


def test_snippet_is_relative_to_the_notebook_folder(server_root, store):
    root, version = store
    (server_root / "experiments").mkdir()
    at_root = api.snippet(root, str(server_root), f"{version}/jsons/metrics.json", "")
    assert "oc.io.json.load('snapshots/mnist/v0:base/jsons/metrics.json')" in at_root["code"]
    nested = api.snippet(root, str(server_root), f"{version}/jsons/metrics.json", "experiments")
    assert "'../snapshots/mnist/v0:base/jsons/metrics.json'" in nested["code"]
    with pytest.raises(api.ApiError) as error:
        api.snippet(root, str(server_root), f"{version}/jsons/metrics.json", "../..")
    assert error.value.status == 403


@pytest.mark.parametrize(
    "name, mime, inline",
    [
        ("a.png", "image/png", True),
        ("a.wav", "audio/", True),
        ("a.mp4", "video/mp4", True),
        ("a.csv", "text/plain; charset=utf-8", True),
        ("page.html", "application/octet-stream", False),
        ("drawing.svg", "application/octet-stream", False),
        ("model.pt", "application/octet-stream", False),
    ],
)
def test_raw_headers_serve_only_media_and_text_inline(name, mime, inline):
    content_type, disposition = api.raw_headers(f"/x/{name}")
    assert content_type.startswith(mime)
    assert disposition.startswith("inline" if inline else "attachment")


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=90-", (90, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=95-200", (95, 99)),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=" + "0" * 5000 + "1-", (1, 99)),  # leading zeros are no digits: int() of 5000 would raise
        ("bytes=0-" + "0" * 5000 + "5", (0, 5)),
        ("bytes=-" + "0" * 5000 + "5", (95, 99)),
    ],
)
def test_byte_range(header, expected):
    assert api.byte_range(header, 100) == expected


@pytest.mark.parametrize(
    "header",
    [
        "bytes=100-",
        "bytes=50-10",
        "bytes=" + "9" * 5000 + "-",
        "bytes=" + "7" * 19 + "-5",
        "bytes=" + "0" * 5000 + "7" * 19 + "-",
        "bytes=-0",
    ],
)
def test_byte_range_past_the_end_is_416(header):
    with pytest.raises(api.ApiError) as error:
        api.byte_range(header, 100)
    assert error.value.status == 416 and "100 bytes" in error.value.message


def test_an_end_of_a_thousand_digits_means_the_end_of_the_file():
    assert api.byte_range("bytes=10-" + "9" * 1000, 100) == (10, 99)
    assert api.byte_range("bytes=-" + "9" * 1000, 100) == (0, 99)
    assert api.byte_range("bytes=0000000000000000000000000-5", 100) == (0, 5)


def test_a_cap_of_five_thousand_digits_is_the_cap(store):
    root, version = store
    table = api.file_summary(root, f"{version}/csvs/history.csv", max_rows="9" * 5000)
    assert len(table["preview"]["rows"]) == 50


def test_a_symlink_to_a_hidden_file_is_refused_like_the_file(store):
    root, version = store
    os.symlink(os.path.join(root, version, ".crate", "record.jsonl"), os.path.join(root, version, "texts", "r.txt"))
    os.symlink(os.path.join(root, version, ".crate"), os.path.join(root, version, "texts", "crate"))
    for path in (f"{version}/texts/r.txt", f"{version}/texts/crate/record.jsonl"):
        with pytest.raises(api.ApiError) as error:
            api.file_summary(root, path)
        assert error.value.status == 403 and "hidden" in error.value.message
    assert api.resolve(root, f"{version}/texts/r.txt", allow_hidden=True).endswith("record.jsonl")


def test_a_fifo_is_refused_instead_of_read_forever(store):
    root, version = store
    os.mkfifo(os.path.join(root, version, "texts", "pipe.txt"))
    with pytest.raises(api.ApiError) as error:
        api.file_summary(root, f"{version}/texts/pipe.txt")
    assert error.value.status == 400 and "not a regular file" in error.value.message


def test_a_json_nested_thirty_thousand_deep_previews_as_text(store):
    root, version = store
    deep = os.path.join(root, version, "jsons", "deep.json")
    with open(deep, "w") as f:
        f.write("[" * 30_000 + "]" * 30_000)
    summary = api.file_summary(root, f"{version}/jsons/deep.json")
    assert summary["preview"]["text"].startswith("[[[[") and "nested deeper" in summary["preview"]["note"]
    assert summary["describe"]["size"] == 60_000  # whatever the handler made of it, nothing was raised
    medium = os.path.join(root, version, "jsons", "medium.json")
    with open(medium, "w") as f:
        f.write("[" * 150 + "]" * 150)
    assert api.file_summary(root, f"{version}/jsons/medium.json")["preview"]["text"] == "[" * 150 + "]" * 150
    assert api.json_depth([[1], {"a": [[2]]}], 10) == 4 and api.json_depth(3, 10) == 0


def test_a_table_preview_reads_a_bounded_prefix(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(200_000)))  # one line of 1.3 MB
    preview = api.table_preview(str(wide), 20)
    assert len(preview["columns"]) == api.MAX_TABLE_COLUMNS and preview["columns"][:2] == ["c0", "c1"]
    assert preview["rows"] == [] and preview["truncated"] is True
    long_cells = tmp_path / "long.csv"
    long_cells.write_text("a,b\n" + "x" * 1000 + ",1\n" + "2,3\n")
    preview = api.table_preview(str(long_cells), 20, total_rows=2)
    assert preview["rows"] == [["x" * api.MAX_CELL_CHARS, "1"], ["2", "3"]] and preview["truncated"] is True
    tall = tmp_path / "tall.csv"
    tall.write_text("n\n" + "".join(f"{i}\n" for i in range(200_000)))
    preview = api.table_preview(str(tall), 5)
    assert preview["rows"] == [["0"], ["1"], ["2"], ["3"], ["4"]] and preview["truncated"] is True
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('a,b\n1,"' + "y" * (api.MAX_TABLE_BYTES + 10) + '"\n')
    preview = api.table_preview(str(quoted), 5)
    assert preview["columns"] == ["a", "b"] and preview["truncated"] is True


def test_the_preview_of_a_huge_one_line_csv_stays_small(store):
    """Measured with tracemalloc: what the preview allocates, not the file's size."""
    import tracemalloc

    root, version = store
    huge = os.path.join(root, version, "csvs", "huge.csv")
    with open(huge, "w") as f:
        f.write("1," * (4 << 20))  # 8 MiB on one line
    tracemalloc.start()
    try:
        summary = api.file_summary(root, f"{version}/csvs/huge.csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"the preview allocated {peak / 2**20:.1f} MiB"
    assert len(summary["preview"]["columns"]) == api.MAX_TABLE_COLUMNS and "larger than" in summary["describe"]["note"]


def test_the_tree_carries_rendered_facts(server_root, store):
    from opencrate_nb.core.format import format_size, format_time

    root, _ = store
    (version,) = api.tree(root, str(server_root))["snapshots"][0]["versions"]
    assert version["size_text"] == format_size(version["size"])
    assert version["modified_text"] == format_time(version["modified"])
    artifacts = {a["name"]: a for kind in version["kinds"] for a in kind["artifacts"]}
    metrics = artifacts["metrics.json"]
    assert metrics["size_text"] == format_size(metrics["size"]) and metrics["modified_text"] == format_time(
        metrics["modified"]
    )
    assert metrics["cell_label"] is None and "summary" in metrics  # saved outside a notebook: no cell
    assert version["logs"][0]["size_text"] == format_size(version["logs"][0]["size"])


def test_a_file_name_that_is_not_utf8_is_sent_escaped(server_root, store):
    root, version = store
    name = os.fsdecode(b"bad\xff.txt")
    with open(os.path.join(root, version, "texts", name), "w") as f:
        f.write("x")
    body = api.tree_json(root, str(server_root), api.fingerprint(root))
    names = [a["name"] for k in json.loads(body)["snapshots"][0]["versions"][0]["kinds"] for a in k["artifacts"]]
    assert "bad\\xff.txt" in names
    with pytest.raises(api.ApiError) as error:
        api.file_summary(root, f"{version}/texts/bad\\xff.txt")
    assert error.value.status == 404
    assert json.loads(api._dumps({"cell": "\ud800 lone"})) == {"cell": "\\ud800 lone"}


def test_tree_json_is_the_tree_and_follows_saves(server_root, store):
    root, _ = store
    stamp = api.fingerprint(root)
    first = api.tree_json(root, str(server_root), stamp)
    assert json.loads(first) == api.tree(root, str(server_root))
    assert api.tree_json(root, str(server_root), stamp) is first  # unchanged root: the same bytes
    save_artifacts(server_root / "snapshots", "mnist", [("json", "next.json", {"b": 2})])
    save_artifacts(server_root / "snapshots", "cifar", [("text", "a.txt", "x")])
    stamp = api.fingerprint(root)
    second = json.loads(api.tree_json(root, str(server_root), stamp))
    assert second == api.tree(root, str(server_root))
    assert [s["name"] for s in second["snapshots"]] == ["cifar", "mnist"]
    assert [v["folder"] for v in second["snapshots"][1]["versions"]] == ["v0:base", "v1"]


@pytest.mark.parametrize(
    "header, matches",
    [
        ('"abc"', True),
        ('"x", "abc"', True),
        ('W/"abc"', True),
        ("*", True),
        ('"abd"', False),
        ("", False),
        (None, False),
    ],
)
def test_if_none_match_names_the_tree_it_holds(header, matches):
    assert api.etag_matches(header, "abc") is matches


# ------------------------------------------------------------------------------------------------
# the run's notebook
# ------------------------------------------------------------------------------------------------
def test_the_tree_names_the_run_notebook_of_versions_that_captured_cells(tmp_path, crate, store):
    root = api.snapshot_root(str(tmp_path))
    run(crate, "print('captured')")
    versions = {v["path"]: v for s in api.tree(root, str(tmp_path))["snapshots"] for v in s["versions"]}
    assert versions["nbtest/v0"]["notebook"] == "nbtest/v0/run.ipynb"
    saved_only, _ = store  # saved by the library, no cell captured: nothing to open
    assert api.tree(saved_only, str(tmp_path))["snapshots"][0]["versions"][0]["notebook"] is None


def test_the_notebook_route_brings_run_ipynb_up_to_date(tmp_path, crate):
    import nbformat

    root = api.snapshot_root(str(tmp_path))
    run(crate, "print('first')")
    assert api.notebook(root, "nbtest/v0") == {"path": "nbtest/v0/run.ipynb"}
    run(crate, "print('second')")  # captured after the last build: the route builds again
    assert api.notebook(root, "nbtest/v0/") == {"path": "nbtest/v0/run.ipynb"}
    notebook = nbformat.read(os.path.join(root, "nbtest", "v0", "run.ipynb"), as_version=4)
    nbformat.validate(notebook)
    assert [c.source for c in notebook.cells if c.cell_type == "code"][-2:] == ["print('first')", "print('second')"]


@pytest.mark.parametrize(
    "bad, status, words",
    [
        ("", 400, "?path="),
        ("nbtest", 400, "not a version folder"),
        ("nbtest/v0/notes.txt", 400, "not a version folder"),
        ("nbtest/v7", 404, "No file or folder"),
        ("../nbtest/v0", 403, ""),
        ("nbtest/v0/.crate", 403, "hidden"),
        ("saved/v0", 404, "no cell was captured"),
    ],
)
def test_the_notebook_route_refuses_what_is_not_a_captured_version(tmp_path, crate, bad, status, words):
    root = api.snapshot_root(str(tmp_path))
    with open(os.path.join(root, "nbtest", "v0", "notes.txt"), "w") as f:
        f.write("a file, not a version")
    save_artifacts(root, "saved", [("json", "m.json", {"a": 1})])  # saved by the library, no cell captured
    with pytest.raises(api.ApiError) as caught:
        api.notebook(root, bad)
    assert caught.value.status == status and words in caught.value.message


def test_a_run_notebook_that_cannot_be_built_is_409_or_the_last_one_built(tmp_path, crate):
    root = api.snapshot_root(str(tmp_path))
    folder = os.path.join(root, "nbtest", "v0")
    run(crate, "print('built')")
    api.notebook(root, "nbtest/v0")
    stamp = run_notebook._stamp_path(folder)
    os.remove(stamp)
    os.mkdir(stamp)  # the build cannot be recorded: the run.ipynb built last is what opens
    assert api.notebook(root, "nbtest/v0") == {"path": "nbtest/v0/run.ipynb"}
    os.remove(run_notebook.notebook_path(folder))
    os.mkdir(run_notebook.notebook_path(folder))  # nor written: there is nothing to open
    with pytest.raises(api.ApiError) as caught:
        api.notebook(root, "nbtest/v0")
    assert caught.value.status == 409 and "cannot be built" in caught.value.message


# ------------------------------------------------------------------------------------------------
# links that lead nowhere, out or into hidden folders, FIFOs, folders named like logs, wide tables
# ------------------------------------------------------------------------------------------------
def _release(fifo):
    """Let go of whatever reads ``fifo`` (opening it for writing pairs with each blocked reader)."""
    for _ in range(32):
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            return


def _odd_entries(version_dir):
    """By hand, in texts/ of ``version_dir``: links in a loop, to nothing, out to /etc/passwd, to the
    hidden record, a folder holding a link to nothing, a FIFO; a folder named like a run log."""
    texts = os.path.join(version_dir, "texts")
    os.symlink("loopB.txt", os.path.join(texts, "loopA.txt"))
    os.symlink("loopA.txt", os.path.join(texts, "loopB.txt"))
    os.symlink("does-not-exist", os.path.join(texts, "dangling.txt"))
    os.symlink("/etc/passwd", os.path.join(texts, "passwd.txt"))
    os.symlink("../.crate/record.jsonl", os.path.join(texts, "rec.txt"))
    os.makedirs(os.path.join(texts, "folderart"))
    os.symlink("nowhere", os.path.join(texts, "folderart", "dead"))
    os.mkfifo(os.path.join(texts, "pipe.txt"))
    os.mkdir(os.path.join(version_dir, "dir.log"))
    return os.path.join(texts, "pipe.txt")


_ODD_PROBLEMS = {
    "loopA.txt": "a loop of symbolic links",
    "dangling.txt": "a link to nothing (its target is gone)",
    "passwd.txt": "a link to a place outside the snapshot root",
    "rec.txt": "hidden, or a link into a hidden folder",
    "pipe.txt": "not a regular file (a FIFO, socket or device)",
}


def _check_odd_version(listed):
    arts = {a["name"]: a for kind in listed["kinds"] for a in kind["artifacts"]}
    for name, problem in _ODD_PROBLEMS.items():
        assert (arts[name]["problem"], arts[name]["size"], arts[name]["summary"]) == (problem, 0, None), name
    assert arts["notes.txt"]["summary"] == "2 lines" and "problem" not in arts["notes.txt"]
    assert arts["folderart"]["size"] == 0 and any("folderart: 1 entry" in w for w in listed["warnings"])


def test_the_tree_lists_odd_entries_with_their_problem_and_reads_none(server_root, store):
    root, version = store
    fifo = _odd_entries(os.path.join(root, version))
    try:
        (listed,) = json.loads(api.tree_json(root, str(server_root), api.fingerprint(root)))["snapshots"][0]["versions"]
    finally:
        _release(fifo)
    _check_odd_version(listed)


@pytest.mark.parametrize(
    "name, status, words",
    [
        ("loopA.txt", 400, "loop of symbolic links"),
        ("dangling.txt", 404, "a link to nothing"),
        ("passwd.txt", 403, "outside the snapshot root"),
        ("rec.txt", 403, "hidden"),
        ("pipe.txt", 400, "not a regular file"),
    ],
)
def test_a_file_that_leads_nowhere_is_refused_saying_why(store, name, status, words):
    root, version = store
    _odd_entries(os.path.join(root, version))
    for call in (api.file_summary, api.resolve):
        with pytest.raises(api.ApiError) as refused:
            call(root, f"{version}/texts/{name}")
        assert refused.value.status == status and words in refused.value.message


def test_a_folder_named_like_a_run_log_is_not_read_as_one(store):
    root, version = store
    os.mkdir(os.path.join(root, version, "dir.log"))
    with pytest.raises(api.ApiError) as refused:
        api.file_summary(root, f"{version}/dir.log")
    assert refused.value.status == 400 and "'mnist/v0:base/dir.log' is a folder" in refused.value.message
    assert api.file_summary(root, f"{version}/mnist.log")["preview"]["type"] == "log"


def _wide_csv(path, columns):
    with open(path, "w") as f:
        f.write(",".join("c" * (300 if i == 0 else 1) for i in range(columns)) + "\n")
        f.write(",".join("1" for _ in range(columns)) + "\n")


def test_the_description_of_a_wide_table_is_cut_as_its_preview_is(store):
    root, version = store
    wide = os.path.join(root, version, "csvs", "wide.csv")
    _wide_csv(wide, 400_000)  # 1.6 MB: over 1 MiB, not parsed to be described (it is at 1 MiB and under)
    assert api.file_summary(root, f"{version}/csvs/wide.csv")["describe"].get("columns") is None
    _wide_csv(wide, 200_000)
    described = api.file_summary(root, f"{version}/csvs/wide.csv")["describe"]
    assert described["column_count"] == 200_000 and len(described["columns"]) == api.MAX_TABLE_COLUMNS
    assert described["columns"][0] == "c" * api.MAX_CELL_CHARS
    assert [len(row) for row in described["head"]] == [api.MAX_TABLE_COLUMNS]
    assert len(json.dumps(described)) < 10_000


# the same on a real server: none of these is a 500, nor a request that never ends
@pytest.fixture
def served(lab, request):
    """A version in the shared server's snapshot root, named after the test; removed afterwards."""
    import shutil

    name = request.node.name.split("[")[0].replace("test_", "s_")[:60]
    version = save_artifacts(lab.snapshots, name, [("text", "notes.txt", "first line\nsecond line\n")])
    yield version
    for fifo in ("texts/pipe.txt",):
        _release(os.path.join(lab.snapshots, version, fifo))
    shutil.rmtree(os.path.join(lab.snapshots, name), ignore_errors=True)


def _raw_query(path):
    import urllib.parse

    return "opencrate/api/file?" + urllib.parse.urlencode({"path": path, "raw": 1})


@pytest.mark.parametrize(
    "header, expected",
    [
        ("bytes=" + "0" * 5000 + "1-", b"irst line\nsecond line\n"),
        ("bytes=0-" + "0" * 5000 + "4", b"first"),
        ("bytes=-" + "0" * 5000 + "5", b"line\n"),
    ],
)
def test_the_server_reads_range_bounds_padded_with_zeros(lab, served, header, expected):
    status, headers, body = lab.fetch(_raw_query(f"{served}/texts/notes.txt"), headers={"Range": header})
    assert (status, body) == (206, expected)
    assert headers["Content-Range"].endswith("/23")


def test_the_server_tree_answers_with_links_loops_and_fifos_and_notes_each(lab, served):
    version_dir = os.path.join(lab.snapshots, served)
    _odd_entries(version_dir)
    snapshot_dir = os.path.dirname(version_dir)
    os.symlink("v1", os.path.join(snapshot_dir, "v1"))  # a version folder in a loop
    status, tree = lab.api("tree")  # 30 s at most: a FIFO opened would leave it unanswered
    assert status == 200
    name, folder = served.split("/")
    versions = {v["folder"]: v for v in next(s for s in tree["snapshots"] if s["name"] == name)["versions"]}
    _check_odd_version(versions[folder])
    assert versions["v1"]["warnings"] == ["v1: a loop of symbolic links: the version cannot be read"]
    for _ in range(3):  # and it keeps answering: no worker thread is left waiting on the FIFO
        assert lab.get("opencrate/api/tree", timeout=10)[0] == 200


@pytest.mark.parametrize(
    "name, status, words",
    [
        ("texts/pipe.txt", 400, "not a regular file"),
        ("texts/passwd.txt", 403, "outside the snapshot root"),
        ("texts/loopA.txt", 400, "loop of symbolic links"),
        ("dir.log", 400, "is a folder"),
    ],
)
def test_the_server_refuses_what_leads_nowhere_saying_why(lab, served, name, status, words):
    _odd_entries(os.path.join(lab.snapshots, served))
    got, body = lab.api("file", path=f"{served}/{name}")
    assert got == status and words in body["message"]
    if name != "dir.log":
        got, _, raw = lab.fetch(_raw_query(f"{served}/{name}"), timeout=10)
        assert got == status and words in json.loads(raw)["message"]


def test_the_server_sends_the_description_of_a_wide_table_cut(lab, served):
    import urllib.parse

    os.makedirs(os.path.join(lab.snapshots, served, "csvs"))
    _wide_csv(os.path.join(lab.snapshots, served, "csvs", "wide.csv"), 200_000)
    query = urllib.parse.urlencode({"path": f"{served}/csvs/wide.csv"})
    status, _, body = lab.fetch(f"opencrate/api/file?{query}")
    assert status == 200 and len(body) < 50_000  # was 2.6 MB for a 1 MiB one-row CSV
    described = json.loads(body)["describe"]
    assert described["column_count"] == 200_000 and len(described["columns"]) == api.MAX_TABLE_COLUMNS
