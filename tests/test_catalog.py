"""The browsable tree of a snapshot root (opencrate_nb/core/catalog.py), built from real snapshots."""

import json
import os
import shutil
import warnings

import pandas as pd
import pytest
from _notebook_fixtures import forget_snapshot

import opencrate as oc
from opencrate_nb.core import catalog, lineage, record
from opencrate_nb.core.record import RecordWarning


class Labels:
    """A custom handler that saves a folder of label files."""

    def save(self, labels):
        os.makedirs(self.path, exist_ok=True)
        for name, text in labels.items():
            with open(os.path.join(self.path, f"{name}.txt"), "w") as f:
                f.write(text)

    def load(self):
        return {n[:-4]: open(os.path.join(self.path, n)).read() for n in sorted(os.listdir(self.path))}


def _version(tree, path):
    name, folder = path.split("/")
    snap = next(s for s in tree["snapshots"] if s["name"] == name)
    return next(v for v in snap["versions"] if v["folder"] == folder)


def _artifacts(version):
    return {a["name"]: a for kind in version["kinds"] for a in kind["artifacts"]}


def _wait_for_clock_tick(folder):
    """Return once a new file gets a newer mtime than the newest one now in ``folder`` (coarse clocks)."""
    probe = os.path.join(folder, ".tick")
    newest = max(os.stat(os.path.join(folder, n)).st_mtime_ns for n in os.listdir(folder))
    while True:
        with open(probe, "w"):
            pass
        if os.stat(probe).st_mtime_ns > newest:
            os.remove(probe)
            return


@pytest.fixture
def runs(workdir):
    """mnist v0:baseline (json + backups, text, custom labels), v1 (csv, resumed once), v10 (empty)."""
    oc.snapshot.setup(name="mnist", tag="baseline")
    oc.info("first run")
    lineage.set_current_cell({"execution_count": 3, "cell_id": "abc123"})
    oc.snapshot.json("metrics.json").save({"accuracy": 0.9})
    lineage.set_current_cell(None)
    metrics = oc.snapshot.json("metrics.json")
    metrics.backup(tag="best")
    untagged = metrics.backup()
    oc.snapshot.text("notes.txt").save("hello")
    oc.snapshot.labels("train_labels", handler=Labels).save({"a": "cat", "b": "dog"})
    oc.snapshot.setup(name="mnist")
    oc.snapshot.csv("history.csv").save(pd.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.25]}), index=False)
    oc.snapshot.setup(name="mnist", start=1)  # a second run of v1: history log appears
    oc.snapshot.setup(name="mnist", start=10)
    oc.snapshot.setup(name="audio")
    oc.snapshot.text("z.txt").save("z")
    oc.snapshot.text("a.txt").save("a")
    forget_snapshot()
    return {"untagged": untagged}


def test_tree_lists_snapshots_versions_kinds_and_artifacts(runs):
    tree = catalog.tree("snapshots")
    assert json.loads(json.dumps(tree)) == tree  # JSON-safe
    assert tree["root"] == "snapshots"
    assert [s["name"] for s in tree["snapshots"]] == ["audio", "mnist"]
    mnist = tree["snapshots"][1]
    assert [(v["folder"], v["number"], v["tag"]) for v in mnist["versions"]] == [
        ("v0:baseline", 0, "baseline"),
        ("v1", 1, None),
        ("v10", 10, None),
    ]

    v0 = mnist["versions"][0]
    assert v0["path"] == "mnist/v0:baseline"
    assert [(k["kind"], k["folder"]) for k in v0["kinds"]] == [
        ("json", "jsons"),
        ("labels", "labels"),
        ("text", "texts"),
    ]
    arts = _artifacts(v0)
    assert sorted(arts) == ["metrics.json", "notes.txt", "train_labels"]
    assert v0["artifact_count"] == 3
    metrics = arts["metrics.json"]
    assert metrics["path"] == "mnist/v0:baseline/jsons/metrics.json"
    assert metrics["size"] == os.path.getsize("snapshots/mnist/v0:baseline/jsons/metrics.json")
    assert metrics["cell"] == {"execution_count": 3, "cell_id": "abc123"}
    assert len(metrics["sha256"]) == 64
    assert [b["name"] for b in metrics["backups"]] == ["metrics.backup_best.json", runs["untagged"]]
    assert metrics["backups"][0]["path"] == "mnist/v0:baseline/jsons/metrics.backup_best.json"
    assert arts["notes.txt"]["cell"] is None
    labels = arts["train_labels"]
    assert labels["kind"] == "labels" and labels["size"] == len("cat") + len("dog")
    assert [log["name"] for log in v0["logs"]] == ["mnist.log"]
    assert v0["logs"][0]["path"] == "mnist/v0:baseline/mnist.log"
    with open("snapshots/mnist/v0:baseline/mnist.log") as f:
        assert v0["logs"][0]["size"] == len(f.read().encode())
    backups_size = sum(b["size"] for b in metrics["backups"])
    assert v0["size"] == sum(a["size"] for a in arts.values()) + backups_size + v0["logs"][0]["size"]
    assert v0["created"] and v0["modified"] and v0["warnings"] == []

    v1, v10 = mnist["versions"][1], mnist["versions"][2]
    assert [log["name"] for log in v1["logs"]] == ["mnist.history.log", "mnist.log"]
    assert list(_artifacts(v1)) == ["history.csv"]
    assert v10["kinds"] == [] and v10["artifact_count"] == 0
    assert [a["name"] for a in tree["snapshots"][0]["versions"][0]["kinds"][0]["artifacts"]] == ["a.txt", "z.txt"]


def test_deletes_hand_edits_and_orphaned_backups(runs):
    oc.snapshot.setup(name="mnist", tag="baseline", start=0)
    oc.snapshot.text("notes.txt").delete(confirm=True)
    metrics = oc.snapshot.json("metrics.json")
    best = metrics.list_backups()[0]
    metrics.delete(confirm=True)
    forget_snapshot()
    os.remove("snapshots/mnist/v1/csvs/history.csv")  # by hand: the record still lists it
    with open("snapshots/mnist/v1/csvs/copied.csv", "w") as f:  # by hand: not in the record
        f.write("a,b\n1,2\n")

    tree = catalog.tree("snapshots")
    arts = _artifacts(_version(tree, "mnist/v0:baseline"))
    assert "notes.txt" not in arts and "metrics.json" not in arts
    assert best in arts and arts[best]["backups"] == []  # its artifact is gone: listed on its own
    v1 = _version(tree, "mnist/v1")
    assert list(_artifacts(v1)) == ["copied.csv"]
    copied = _artifacts(v1)["copied.csv"]
    assert copied["size"] == 8 and copied["kind"] == "csv" and copied["sha256"] is None and copied["modified"]
    assert v1["warnings"] == ["csvs/history.csv is in the record but not on disk"]


def test_missing_record_is_rebuilt_from_the_files(runs):
    shutil.rmtree("snapshots/mnist/v0:baseline/.crate")
    v0 = _version(catalog.tree("snapshots"), "mnist/v0:baseline")
    arts = _artifacts(v0)
    assert sorted(arts) == ["metrics.json", "notes.txt", "train_labels"]
    names = {b["name"] for b in arts["metrics.json"]["backups"]}  # known by their names now
    assert names == {"metrics.backup_best.json", runs["untagged"]}
    assert arts["metrics.json"]["sha256"] is None and arts["metrics.json"]["cell"] is None
    assert arts["train_labels"]["size"] == 6
    assert v0["warnings"] == []


def test_corrupt_record_lines_are_skipped_and_reported_once(runs):
    path = "snapshots/mnist/v1/.crate/record.jsonl"
    with open(path, "ab") as f:
        f.write(b'not json at all\n\n["a list"]\n1, 2\n{"op": "save", "name": "torn.csv", "pa')
    with pytest.warns(RecordWarning) as caught:
        v1 = _version(catalog.tree("snapshots"), "mnist/v1")
    assert list(_artifacts(v1)) == ["history.csv"]
    assert v1["warnings"] == [
        ".crate/record.jsonl line 2: skipped (torn or not JSON)",
        ".crate/record.jsonl line 4: skipped (a JSON list, not an object)",
        ".crate/record.jsonl line 5: skipped (torn or not JSON)",
        ".crate/record.jsonl line 6: skipped (no end of line yet: torn, or being written)",
    ]  # read (or warned about) once its end is written
    assert len(caught) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # each line is warned about once, however often the tree is read
        catalog.tree("snapshots")


def test_tree_follows_saves_and_a_new_root_is_empty(runs, tmp_path):
    before = catalog.tree("snapshots")
    oc.snapshot.setup(name="mnist", start=1)
    oc.snapshot.json("late.json").save([1, 2])
    forget_snapshot()
    after = catalog.tree("snapshots")
    assert "late.json" in _artifacts(_version(after, "mnist/v1"))
    assert "late.json" not in _artifacts(_version(before, "mnist/v1"))
    assert _version(after, "mnist/v0:baseline") == _version(before, "mnist/v0:baseline")
    assert catalog.tree(str(tmp_path / "nothing here")) == {"root": str(tmp_path / "nothing here"), "snapshots": []}
    os.makedirs("snapshots/not_a_snapshot/data")
    assert [s["name"] for s in catalog.tree("snapshots")["snapshots"]] == ["audio", "mnist", "not_a_snapshot"]
    assert catalog.tree("snapshots")["snapshots"][2]["versions"] == []


def test_fingerprint_changes_with_records_logs_and_folders(runs):
    first = catalog.fingerprint("snapshots")
    assert catalog.fingerprint("snapshots") == first
    steps = []

    def changed():
        nonlocal first
        now = catalog.fingerprint("snapshots")
        steps.append(now != first)
        first = now

    oc.snapshot.setup(name="mnist", start=1)
    changed()  # a setup rewrites the run log
    oc.snapshot.json("late.json").save({"a": 1})
    changed()
    oc.snapshot.json("late.json").backup(tag="b")
    changed()
    oc.info("a log line")
    changed()
    oc.snapshot.setup(name="other")
    changed()  # a new snapshot name and version
    forget_snapshot()
    _wait_for_clock_tick("snapshots/mnist/v1/jsons")
    os.remove("snapshots/mnist/v1/jsons/late.json")  # by hand
    changed()
    assert steps == [True] * 6


def test_resolve_refuses_anything_outside_the_root(runs, tmp_path):
    real_root = os.path.realpath("snapshots")
    assert catalog.resolve("snapshots", "mnist/v1/csvs/history.csv") == os.path.join(
        real_root, "mnist/v1/csvs/history.csv"
    )
    assert catalog.resolve("snapshots", "") == real_root
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    os.symlink(outside, "snapshots/mnist/v1/csvs/link.csv")
    os.symlink(tmp_path, "snapshots/escape")
    os.symlink("../v1", "snapshots/mnist/v1/inside")  # a link that stays inside is fine
    assert catalog.resolve("snapshots", "mnist/v1/inside/csvs") == os.path.join(real_root, "mnist/v1/csvs")
    refused = {
        "../secret.txt": "'..'",
        "mnist/../../secret.txt": "'..'",
        "mnist\\..\\..\\secret.txt": "'..'",
        str(outside): "relative",
        "/etc/passwd": "relative",
        "C:\\Windows": "relative",
        "mnist/v1\x00.csv": "NUL",
        "mnist/v1/csvs/link.csv": "outside",
        "escape/secret.txt": "outside",
    }
    for path, why in refused.items():
        with pytest.raises(ValueError, match=why):
            catalog.resolve("snapshots", path)
    with pytest.raises(ValueError, match="string"):
        catalog.resolve("snapshots", None)


def test_links_leaving_the_root_are_not_listed(runs, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    oc.snapshot.setup(name="far", root=str(elsewhere))
    oc.snapshot.text("far.txt").save("far")
    forget_snapshot()
    os.symlink(elsewhere / "far", "snapshots/far")
    os.symlink(elsewhere / "far" / "v0", "snapshots/mnist/v5")
    tree = catalog.tree("snapshots")
    assert [s["name"] for s in tree["snapshots"]] == ["audio", "mnist"]
    assert [v["folder"] for v in tree["snapshots"][1]["versions"]] == ["v0:baseline", "v1", "v10"]


def test_load_snippets_load_the_artifact_when_run(runs):
    tree = catalog.tree("snapshots")
    v0 = _version(tree, "mnist/v0:baseline")
    arts = _artifacts(v0)
    cases = [
        (arts["metrics.json"]["path"], "json", {"accuracy": 0.9}),
        (arts["metrics.json"]["backups"][0]["path"], "json", {"accuracy": 0.9}),
        (arts["notes.txt"]["path"], "text", "hello"),
        (v0["logs"][0]["path"], "log", None),
    ]
    for path, kind, expected in cases:
        code = catalog.load_snippet("snapshots", path, kind)
        namespace = {}
        exec(compile(code, "<snippet>", "exec"), namespace)  # running the snippet is the test
        values = [v for k, v in namespace.items() if k not in ("__builtins__", "oc")]
        assert len(values) == 1, code
        if kind == "log":
            assert "first run" in values[0]
        else:
            assert values[0] == expected
    csv_code = catalog.load_snippet("snapshots", _artifacts(_version(tree, "mnist/v1"))["history.csv"]["path"], "csv")
    namespace = {}
    exec(csv_code, namespace)
    pd.testing.assert_frame_equal(namespace["history"], pd.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.25]}))
    custom = catalog.load_snippet("snapshots", arts["train_labels"]["path"], "labels")
    namespace = {"YourHandler": Labels}
    exec(custom, namespace)
    assert namespace["train_labels"] == {"a": "cat", "b": "dog"}


def test_snippet_variable_names_are_valid_python():
    for name, kind, expected in [
        ("metrics.json", "json", "metrics"),
        ("2024 run.csv", "csv", "csv_2024_run"),
        ("class.json", "json", "json_class"),
        ("model.backup_best.pt", "checkpoint", "model"),
        ("mnist.log", "log", "mnist_log"),
        ('<img src=x onerror="a">.txt', "text", "img_src_x_onerror_a"),
    ]:
        assert catalog._variable_for(name, kind) == expected
    code = catalog.load_snippet("snap's", 'a/v0/texts/it\'s "quoted".txt', "text")
    compile(code, "<snippet>", "exec")


def test_log_tail_reads_only_the_end(workdir):
    oc.snapshot.setup(name="logs")
    for i in range(500):
        oc.info(f"line number {i}")
    forget_snapshot()
    rel = "logs/v0/logs.log"
    tail = catalog.log_tail("snapshots", rel, max_lines=3)
    assert [line.endswith(f"line number {i}") for i, line in zip((497, 498, 499), tail.splitlines())] == [True] * 3
    small = catalog.log_tail("snapshots", rel, max_lines=1000, max_bytes=200)
    assert len(small.encode()) <= 200 and small.splitlines()[-1].endswith("line number 499")
    assert "line number 0" not in small
    with pytest.raises(ValueError, match="'..'"):
        catalog.log_tail("snapshots", "../logs.log")


def test_saving_cell_finds_the_cell_source_after_kernel_restarts(workdir):
    oc.snapshot.setup(name="cells")
    version = oc.snapshot.dir_path
    first = {"execution_count": 2, "cell_id": None, "time": "2026-01-01T10:00:00.000000+00:00", "source": "old run"}
    second = {"execution_count": 2, "cell_id": None, "time": "2026-01-01T12:00:00.000000+00:00", "source": "new run"}
    other = {"execution_count": 5, "cell_id": "c5", "time": "2026-01-01T12:05:00.000000+00:00", "source": "by id"}
    for entry in (first, second, other):
        record.append_line(version, entry, file=record.CELLS_FILE)
    forget_snapshot()
    cell = {"execution_count": 2, "cell_id": None}
    assert catalog.saving_cell("snapshots", "cells/v0", cell)["source"] == "new run"
    assert catalog.saving_cell("snapshots", "cells/v0", cell, before="2026-01-01T11:00:00+00:00")["source"] == "old run"
    assert catalog.saving_cell("snapshots", "cells/v0", {"execution_count": 9, "cell_id": "c5"})["source"] == "by id"
    assert catalog.saving_cell("snapshots", "cells/v0", {"execution_count": 7, "cell_id": None}) is None
    assert catalog.saving_cell("snapshots", "cells/v0", None) is None


def test_every_fact_comes_with_its_rendered_text(runs):
    from opencrate_nb.core.format import cell_label, format_size, format_time

    v0 = _version(catalog.tree("snapshots"), "mnist/v0:baseline")
    assert v0["size_text"] == format_size(v0["size"]) and v0["modified_text"] == format_time(v0["modified"])
    assert v0["created_text"] == format_time(v0["created"])
    arts = _artifacts(v0)
    for item in [*arts.values(), *arts["metrics.json"]["backups"], *v0["logs"]]:
        assert item["size_text"] == format_size(item["size"]) and item["modified_text"] == format_time(item["modified"])
    assert arts["metrics.json"]["cell_label"] == cell_label(arts["metrics.json"]["cell"]) == "In [3]"
    assert arts["notes.txt"]["cell_label"] is None
    assert catalog.version("snapshots/mnist/v0:baseline") == v0  # one version, as the tree has it


def test_a_summary_is_the_handlers_one_line_when_cheap(runs, monkeypatch):
    from opencrate_nb.core import handlers

    json_handler = handlers.get_handler("json")
    if getattr(json_handler, "summary", None) is None:  # until handlers carry summary(): a real one-line summary
        monkeypatch.setattr(json_handler, "summary", lambda info: f"{info['type']} of {info['length']}", raising=False)
    oc.snapshot.setup(name="mnist", start="new")
    oc.snapshot.json("big.json").save(list(range(40_000)))  # larger than SUMMARY_MAX_BYTES: not read for a summary
    arts = _artifacts(catalog.version(oc.snapshot.dir_path))
    path = os.path.join(oc.snapshot.dir_path, "jsons", "big.json")
    assert os.path.getsize(path) > catalog.SUMMARY_MAX_BYTES and arts["big.json"]["summary"] is None
    metrics = _artifacts(_version(catalog.tree("snapshots"), "mnist/v0:baseline"))["metrics.json"]
    described = json_handler.describe("snapshots/mnist/v0:baseline/jsons/metrics.json")
    assert metrics["summary"] == json_handler.summary(described)
    assert _artifacts(_version(catalog.tree("snapshots"), "mnist/v0:baseline"))["train_labels"]["summary"] is None


def test_a_listing_without_summaries_reads_no_artifact_and_the_tree_still_has_them(runs, monkeypatch):
    import builtins

    folder = "snapshots/mnist/v0:baseline"
    real_open, opened = builtins.open, []

    def counted_open(file, *args, **kwargs):
        opened.append(os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counted_open)
    listed = _artifacts(catalog.version(folder, summaries=False))  # what %crate ls asks: it shows no summary
    assert listed["notes.txt"]["summary"] is None
    assert not [path for path in opened if os.sep + "texts" + os.sep in path or "/texts/" in path]
    monkeypatch.setattr(builtins, "open", real_open)
    summarised = _artifacts(_version(catalog.tree("snapshots"), "mnist/v0:baseline"))  # from the same cache
    assert summarised["notes.txt"]["summary"] is not None
    assert summarised["notes.txt"] == _artifacts(catalog.version(folder))["notes.txt"]


def test_names_that_are_not_utf8_are_shown_escaped_and_the_tree_stays_utf8(runs):
    with open(b"snapshots/mnist/v1/csvs/odd\xff.csv", "wb") as f:
        f.write(b"a\n1\n")
    v1 = _version(catalog.tree("snapshots"), "mnist/v1")
    odd = _artifacts(v1)["odd\\xff.csv"]
    assert odd["path"] == "mnist/v1/csvs/odd\\xff.csv" and odd["size"] == 4
    assert v1["warnings"] == ["csvs/odd\\xff.csv: the name is not UTF-8 (shown escaped); rename it to open it"]
    os.makedirs(b"snapshots/odd\xfe/v0:t\xfe/texts")
    tree = catalog.tree("snapshots")
    odd = _version(tree, "odd\\xfe/v0:t\\xfe")
    assert odd["path"] == "odd\\xfe/v0:t\\xfe" and odd["tag"] == "t\\xfe"
    assert odd["warnings"] == ["odd\\xfe/v0:t\\xfe: the name is not UTF-8 (shown escaped); rename it to open it"]
    json.dumps(tree, ensure_ascii=False).encode("utf-8")  # what the server sends


# ------------------------------------------------------------------------------------------------
# links, FIFOs and folders that lead nowhere: the tree answers, lists them with their problem,
# and reads nothing outside the root, hidden, or that never ends
# ------------------------------------------------------------------------------------------------
def _released(fifo, call, seconds=20):
    """``call()``, failing (instead of hanging) if it blocks: a reader stuck on ``fifo`` is released."""
    import threading

    result = {}

    def target():
        try:
            result["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - raised again below, in the test's thread
            result["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        for _ in range(8):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                break
        pytest.fail(f"{call} blocked on the FIFO {fifo}: it was opened")
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.fixture
def odd_version(workdir, tmp_path):
    """snapshots/odd/v0 with a text saved by the library, then, by hand, in texts/: links in a loop,
    to nothing, to a file outside the root, to the hidden record, to a file inside, and a FIFO."""
    oc.snapshot.setup(name="odd")
    oc.snapshot.text("notes.txt").save("one\ntwo\n")
    version = oc.snapshot.dir_path
    forget_snapshot()
    texts = os.path.join(version, "texts")
    outside = tmp_path / "outside.txt"
    outside.write_text("a\nb\nc\n" * 100)
    os.symlink("loopB.txt", os.path.join(texts, "loopA.txt"))
    os.symlink("loopA.txt", os.path.join(texts, "loopB.txt"))
    os.symlink("does-not-exist", os.path.join(texts, "dangling.txt"))
    os.symlink(outside, os.path.join(texts, "out.txt"))
    os.symlink("../.crate/record.jsonl", os.path.join(texts, "rec.txt"))
    os.symlink("notes.txt", os.path.join(texts, "alias.txt"))
    os.mkfifo(os.path.join(texts, "pipe.txt"))
    return version


def test_odd_entries_of_a_kind_folder_are_listed_with_their_problem_and_never_read(odd_version):
    version = _released(os.path.join(odd_version, "texts", "pipe.txt"), lambda: catalog.version(odd_version))
    arts = _artifacts(version)
    expected = {
        "loopA.txt": "a loop of symbolic links",
        "loopB.txt": "a loop of symbolic links",
        "dangling.txt": "a link to nothing (its target is gone)",
        "out.txt": "a link to a place outside the snapshot root",
        "rec.txt": "hidden, or a link into a hidden folder",
        "pipe.txt": "not a regular file (a FIFO, socket or device)",
    }
    for name, problem in expected.items():
        assert arts[name]["problem"] == problem, name
        assert (arts[name]["size"], arts[name]["summary"]) == (0, None), name  # neither stat nor read of the target
        assert f"texts/{name}: {problem}: not read" in version["warnings"]
    assert "problem" not in arts["notes.txt"] and arts["notes.txt"]["summary"] == "2 lines"
    assert "problem" not in arts["alias.txt"]  # a link that stays visibly inside is followed
    assert (arts["alias.txt"]["size"], arts["alias.txt"]["summary"]) == (8, "2 lines")
    assert version["size"] == 16 and json.loads(json.dumps(version)) == version
    tree = _released(os.path.join(odd_version, "texts", "pipe.txt"), lambda: catalog.tree("snapshots"))
    assert _artifacts(_version(tree, "odd/v0")) == arts  # the tree is that version, and answers


def test_a_folder_copied_in_counts_only_the_files_it_may_read(workdir, tmp_path):
    oc.snapshot.setup(name="folders")
    oc.snapshot.text("n.txt").save("x")
    folder = os.path.join(oc.snapshot.dir_path, "texts", "copied")  # by hand: the record has no size for it
    forget_snapshot()
    os.makedirs(os.path.join(folder, "inner"))
    for name, text in (("a.txt", "cat"), ("inner/b.txt", "dog")):
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
    (tmp_path / "secret.txt").write_text("x" * 1000)
    os.symlink("nowhere", os.path.join(folder, "dead"))
    os.symlink("l2", os.path.join(folder, "l1"))
    os.symlink("l1", os.path.join(folder, "l2"))
    os.symlink(tmp_path / "secret.txt", os.path.join(folder, "inner", "out.txt"))
    os.symlink("a.txt", os.path.join(folder, "again.txt"))  # inside: counted
    os.mkfifo(os.path.join(folder, "pipe"))
    version = _version(catalog.tree("snapshots"), "folders/v0")
    item = _artifacts(version)["copied"]
    assert item["size"] == 9 and "problem" not in item
    assert version["warnings"] == [
        "texts/copied: 5 entries in it not counted (links to nothing, in a loop, out of the snapshot root or "
        "into a hidden folder; FIFOs, sockets or devices)"
    ]


def test_a_version_name_that_leads_to_no_folder_is_listed_with_its_problem(workdir):
    oc.snapshot.setup(name="s")
    oc.snapshot.text("n.txt").save("x")
    forget_snapshot()
    os.symlink("v1", "snapshots/s/v1")  # a loop
    os.symlink("nowhere", "snapshots/s/v2:gone")
    os.symlink("x", "snapshots/x")  # a snapshot name in a loop: not a snapshot
    stamp = catalog.fingerprint("snapshots")
    tree = catalog.tree("snapshots")
    assert [s["name"] for s in tree["snapshots"]] == ["s"]
    v0, v1, v2 = tree["snapshots"][0]["versions"]
    assert _artifacts(v0)["n.txt"]["size"] == 1
    assert (v1["folder"], v1["number"], v1["kinds"], v1["artifact_count"]) == ("v1", 1, [], 0)
    assert v1["warnings"] == ["v1: a loop of symbolic links: the version cannot be read"]
    assert (v2["folder"], v2["tag"]) == ("v2:gone", "gone")
    assert v2["warnings"] == ["v2:gone: a link to nothing (its target is gone): the version cannot be read"]
    os.remove("snapshots/s/v1")
    os.mkdir("snapshots/s/v1")
    assert catalog.fingerprint("snapshots") != stamp
    assert _version(catalog.tree("snapshots"), "s/v1")["warnings"] == []


def test_links_into_hidden_folders_of_the_root_are_not_followed(workdir):
    oc.snapshot.setup(name="shown")
    oc.snapshot.text("n.txt").save("x")
    forget_snapshot()
    oc.snapshot.setup(name="kept", root="snapshots/.archive")
    oc.snapshot.text("secret.txt").save("hidden content")
    forget_snapshot()
    os.symlink(".archive/kept", "snapshots/kept")  # a snapshot name leading into a hidden folder
    os.symlink("../.archive/kept/v0", "snapshots/shown/v5")  # a version doing the same
    tree = catalog.tree("snapshots")
    assert [s["name"] for s in tree["snapshots"]] == ["shown"]
    assert [v["folder"] for v in tree["snapshots"][0]["versions"]] == ["v0"]


def test_run_logs_that_are_links_out_or_fifos_are_listed_with_their_problem(workdir):
    oc.snapshot.setup(name="logs")
    oc.info("a line")
    version = oc.snapshot.dir_path
    forget_snapshot()
    os.symlink("/etc/passwd", os.path.join(version, "pw.log"))
    os.symlink(".crate/record.jsonl", os.path.join(version, "rec.log"))
    os.mkfifo(os.path.join(version, "pipe.log"))
    listed = {log["name"]: log for log in catalog.version(version)["logs"]}
    assert "problem" not in listed["logs.log"] and listed["logs.log"]["size"] > 0
    assert (listed["pw.log"]["size"], listed["pw.log"]["problem"]) == (0, "a link to a place outside the snapshot root")
    assert listed["rec.log"]["problem"] == "hidden, or a link into a hidden folder"
    assert listed["pipe.log"]["problem"] == "not a regular file (a FIFO, socket or device)"


def test_an_env_json_that_is_a_fifo_blocks_nothing(workdir):
    oc.snapshot.setup(name="env")
    oc.snapshot.text("n.txt").save("x")
    version = oc.snapshot.dir_path
    forget_snapshot()
    env = os.path.join(version, ".crate", catalog.ENV_FILE)
    if os.path.exists(env):
        os.remove(env)
    os.mkfifo(env)
    try:
        listed = _released(env, lambda: catalog.version(version))
    finally:
        os.remove(env)  # the library's own env.json writer reads it too
    assert listed["created"] == _artifacts(listed)["n.txt"]["modified"]  # from the first save instead


@pytest.mark.parametrize(
    "path, reason, words",
    [
        ("odd/v0/texts/loopA.txt", "loop", "loop of symbolic links"),
        ("odd/v0/texts/dangling.txt", "missing", "a link to nothing"),
        ("odd/v0/texts/none.txt", "missing", "No file or folder"),
        ("odd/v0/texts/out.txt", "outside", "outside the snapshot root"),
        ("odd/v0/texts/rec.txt", "hidden", "hidden"),
        ("odd/v0/.crate/record.jsonl", "hidden", "hidden"),
        ("odd/v0/texts/pipe.txt", "special", "not a regular file"),
        ("../outside.txt", "outside", "'..'"),
    ],
)
def test_check_readable_says_why_a_path_is_not_opened(odd_version, path, reason, words):
    with pytest.raises(catalog.Unreadable, match=words) as refused:
        catalog.check_readable("snapshots", path)
    assert refused.value.reason == reason and isinstance(refused.value, ValueError)


def test_check_readable_gives_what_may_be_opened(odd_version):
    real, facts = catalog.check_readable("snapshots", "odd/v0/texts/alias.txt")
    assert real == os.path.realpath(os.path.join(odd_version, "texts", "notes.txt")) and facts.st_size == 8
    assert catalog.check_readable("snapshots", "odd/v0/texts")[0] == os.path.realpath(
        os.path.join(odd_version, "texts")
    )
    with pytest.raises(catalog.Unreadable, match="is a folder, where a file is expected") as refused:
        catalog.check_readable("snapshots", "odd/v0/texts", folders=False)
    assert refused.value.reason == "folder"
    assert catalog.check_readable("snapshots", "odd/v0/texts/rec.txt", allow_hidden=True)[0].endswith("record.jsonl")


def test_log_tail_reads_only_a_regular_file(odd_version):
    os.mkdir(os.path.join(odd_version, "dir.log"))
    os.mkfifo(os.path.join(odd_version, "pipe.log"))
    for path, reason in (
        ("odd/v0/dir.log", "folder"),
        ("odd/v0/pipe.log", "special"),
        ("odd/v0/texts/rec.txt", "hidden"),
    ):
        with pytest.raises(catalog.Unreadable) as refused:
            _released(os.path.join(odd_version, "pipe.log"), lambda path=path: catalog.log_tail("snapshots", path))
        assert refused.value.reason == reason, path
    assert catalog.log_tail("snapshots", "odd/v0/texts/alias.txt") == "one\ntwo"


def test_visible_inside_is_the_rule_for_every_link_followed(tmp_path):
    top = tmp_path / "top"
    (top / ".secret" / "snapshots").mkdir(parents=True)
    (top / "open").mkdir()
    os.symlink("../.secret/snapshots", top / "open" / "snapshots")
    os.symlink(tmp_path, top / "out")
    real = os.path.realpath(top)
    assert catalog.visible_inside(real, str(top / "open"))
    assert not catalog.visible_inside(real, str(top / "open" / "snapshots"))  # into a hidden folder
    assert not catalog.visible_inside(real, str(top / "out"))  # out of the folder
    assert catalog.is_hidden("a/.b/c") and catalog.is_hidden(".crate") and not catalog.is_hidden("a/./b/../c")
