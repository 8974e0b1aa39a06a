"""The record read as one timeline per artifact: merging, deletes, incremental reads, damage."""

import datetime as dt
import json
import os
import re
import subprocess
import sys
import warnings

import pytest

import opencrate as oc
from opencrate_nb.core import _timelines, record


@pytest.fixture
def version():
    oc.snapshot.setup(name="tl", start="new")
    return oc.snapshot.dir_path


def _record_path(folder):
    return os.path.join(folder, record.RECORD_DIR, record.RECORD_FILE)


def test_a_timeline_merges_repeated_saves_and_ends_at_a_delete(version):
    artifact = oc.snapshot.json("m.json")
    artifact.save({"a": 1})
    artifact.save({"a": 1})  # the same content again: one content saved twice
    artifact.save({"a": 2})
    index = _timelines.index_for(version, fresh=True)
    line = index.timelines["jsons/m.json"]
    assert [c.saves for c in line.contents] == [2, 1]
    first, second = line.contents
    assert first.until == second.time and second.until is None
    assert line.current() is second and line.earlier() == [first]
    artifact.delete(confirm=True)
    index.refresh()
    assert line.current() is None and line.deleted and line.earlier() == [first, second]
    assert second.until is not None


def test_retention_keeps_the_current_content_and_the_last_earlier_ones(version):
    artifact = oc.snapshot.text("t.txt")
    for word in ("one", "two", "three", "four"):
        artifact.save(word)
    line = _timelines.index_for(version, fresh=True).timelines["texts/t.txt"]
    hashes = [c.sha256 for c in line.contents]
    assert line.retained(2) == set(hashes[1:])
    assert line.retained(0) == {hashes[-1]}


def test_the_cached_index_reads_only_what_was_appended(version):
    oc.snapshot.json("a.json").save([1])
    index = _timelines.index_for(version)
    offset = index.offset
    assert _timelines.index_for(version) is index  # cached per version
    oc.snapshot.json("b.json").save([2])
    assert _timelines.index_for(version).offset > offset
    assert set(index.current_entries()) == {"jsons/a.json", "jsons/b.json"}


def test_a_partial_last_line_waits_for_its_end(version):
    oc.snapshot.json("a.json").save([1])
    index = _timelines.index_for(version, fresh=True)
    line = json.dumps(
        {
            "op": "save",
            "name": "c.json",
            "kind": "json",
            "path": "jsons/c.json",
            "size": 3,
            "sha256": "c" * 64,
            "time": record.now_iso(),
        }
    )
    with open(_record_path(version), "ab") as f:
        f.write(line[:20].encode())
    index.refresh()
    assert "jsons/c.json" not in index.timelines  # a writer is still writing it
    with open(_record_path(version), "ab") as f:
        f.write((line[20:] + "\n").encode())
    index.refresh()
    assert index.timelines["jsons/c.json"].current().sha256 == "c" * 64


def test_a_torn_line_is_counted_and_the_good_part_salvaged(version):
    oc.snapshot.json("a.json").save([1])
    good = json.dumps(
        {
            "op": "save",
            "name": "d.json",
            "kind": "json",
            "path": "jsons/d.json",
            "size": 3,
            "sha256": "d" * 64,
            "time": record.now_iso(),
        }
    )
    with open(_record_path(version), "ab") as f:
        f.write(b'{"op":"save","name":"torn' + good.encode() + b"\n" + b"not json at all\n")
    index = _timelines.index_for(version, fresh=True)
    assert "jsons/d.json" in index.timelines
    assert [salvaged for _, salvaged in index.bad_lines] == [True, False]


def test_a_missing_record_is_rebuilt_from_the_files(version):
    oc.snapshot.text("kept.txt").save("still here")
    record.close_all()
    os.remove(_record_path(version))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rebuilding is quiet: nothing is wrong with the files
        index = _timelines.index_for(version, fresh=True)
    assert index.rebuilt and not index.has_record
    assert index.timelines["texts/kept.txt"].current().size == len("still here")


def test_a_replaced_record_is_read_anew(version):
    oc.snapshot.json("old.json").save([1])
    index = _timelines.index_for(version)
    assert "jsons/old.json" in index.timelines
    record.rebuild_record(version)  # a new file (new inode) with the same artifacts
    oc.snapshot.json("new.json").save([2])
    index = _timelines.index_for(version)
    assert {"jsons/old.json", "jsons/new.json"} <= set(index.current_entries())


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
        "2026-01-02T03:04:05+00:00",
        "2026-01-02T03:04:05Z",
        1767323045.0,
    ],
)
def test_times_are_read_as_timestamps(when):
    assert _timelines.to_timestamp(when) == 1767323045.0


def test_bad_times_say_what_to_pass():
    with pytest.raises(ValueError, match="ISO 8601"):
        _timelines.to_timestamp("yesterday")
    with pytest.raises(TypeError, match="datetime"):
        _timelines.to_timestamp(True)
    assert _timelines.parse_time("not a time") is None


# -- readers that survive any record -----------------------------------------------------------------
def _line(**fields):
    entry = {
        "op": "save",
        "name": "m.json",
        "kind": "json",
        "path": "jsons/m.json",
        "size": 3,
        "sha256": "a" * 64,
        "time": record.now_iso(),
        "cell": None,
    }
    entry.update(fields)
    return json.dumps(entry).encode()


BAD_LINES = {
    "sha256 is a list": (_line(sha256=["x"]), '"sha256" is'),
    "size is text": (_line(size="big"), '"size" is'),
    "cell is a number": (_line(cell=5), '"cell" is int'),
    "path is a number": (_line(path=3), '"path" is int'),
    "path leaves the version": (_line(path="../../elsewhere/m.json"), "not a path inside the version"),
    "sha256 names a path": (_line(sha256="../../../etc/passwd"), "not a sha256 in hex"),
    "a lone surrogate": (_line(name="\ud800.json"), "not valid Unicode"),
    "nested 30,000 deep": (b'{"op":"save","x":' + b"[" * 30000 + b"]" * 30000 + b"}", "nested too deeply"),
    "50 MB long": (b'{"op":"save","pad":"' + b"x" * (50 << 20) + b'"}', "more than a record line can be"),
    "not UTF-8": (b'{"op":"save","name":"\xff\xfe.json","path":"jsons/\xff.json"}', "not UTF-8"),
}


# each field's values: usual ones, odd but valid ones, and wrong ones
FIELD_VALUES = {
    "op": ["save", "backup", "delete", "rename", "", 3, None, ["save"]],
    "name": ["m.json", "données.json", "\ud800.json", "", 3, None, ["m.json"]],
    "kind": ["json", "", None, 3, {"kind": "json"}],
    "path": [
        "jsons/m.json",
        "m.json",
        "jsons/.m.json",
        "jsons/../m.json",
        "/etc/m.json",
        "jsons//m.json",
        "jsons/m.json/",
        "jsons\\m.json",
        "jsons/m\x00.json",
        ".",
        "",
        "jsons/d\u00e9.json",
        7,
        None,
    ],
    "size": [3, 0, -1, 2.5, True, "3", None],
    "sha256": ["a" * 64, "A" * 64, "a" * 63, "../" * 21 + "a", 64, None],
    "time": ["2026-12-01T08:22:22.500680+00:00", "", None, 5, "\udcff"],
    "cell": [
        None,
        {"execution_count": 5, "cell_id": None},
        {"execution_count": None, "cell_id": "c1"},
        {"execution_count": True},
        {"cell_id": 4},
        {"cell_id": "\ud800"},
        {"execution_count": 5, "x": 1},
        5,
        [],
    ],
}


@pytest.mark.parametrize("field", sorted(FIELD_VALUES))
def test_the_one_pass_check_of_a_common_line_accepts_only_what_the_detailed_checks_accept(field):
    base = json.loads(_line())
    for value in FIELD_VALUES[field]:
        for extra in ({}, {"of": "m.json"}, {"of": 3}, {"rebuilt": True}):
            entry = {**base, field: value, **extra}
            for shape in (entry, {k: v for k, v in entry.items() if k != "cell"}):
                detailed = _timelines._entry_error(shape)
                assert _timelines.record_entry_error(shape) == detailed, shape
                if _timelines._is_common(shape):
                    assert detailed is None, shape
    assert _timelines._is_common(base) and _timelines._is_common({**base, "op": "backup", "of": "m.json"})


@pytest.mark.parametrize("bad", sorted(BAD_LINES))
def test_a_line_of_the_wrong_shape_is_skipped_with_one_warning_and_every_reader_keeps_working(bad, workdir, capsys):
    from opencrate_nb.cli import main as crate
    from opencrate_nb.core import catalog, diff, gc, verify

    oc.snapshot.setup(name="odd")
    metrics = oc.snapshot.json("m.json")
    metrics.save({"a": 1})
    raw, reason = BAD_LINES[bad]
    with open(_record_path(oc.snapshot.dir_path), "ab") as f:
        f.write(raw + b"\n")
    with pytest.warns(record.RecordWarning) as caught:
        metrics.save({"a": 2})  # a later line is read as usual
        index = _timelines.index_for(oc.snapshot.dir_path)
    assert len(caught) == 1 and reason in str(caught[0].message) and "line 2" in str(caught[0].message)
    (problem,) = index.problems
    assert str(problem).startswith(".crate/record.jsonl line 2: skipped (") and reason in str(problem)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned about once: asking again is quiet
        assert [item["current"] for item in metrics.history()] == [False, True]
        assert metrics.load(version=0) == {"a": 1}
        report = verify.verify(snapshot=oc.snapshot)
        assert [p.kind for p in report.problems] == ["record"]
        gc.collect("snapshots", name="odd", dry_run=True)
        oc.snapshot.setup(name="odd", start="new")
        oc.snapshot.json("m.json").save({"a": 3})
        assert "m.json" in str(diff.diff(0, 1, snapshot=oc.snapshot))
        payload = catalog.tree("snapshots")
        json.dumps(payload, ensure_ascii=False).encode("utf-8")  # what the server sends
        assert [a["name"] for k in payload["snapshots"][0]["versions"][0]["kinds"] for a in k["artifacts"]] == [
            "m.json"
        ]
        for argv in (["ls", "odd"], ["show", "odd", "0", "m.json"], ["verify", "odd"], ["diff", "odd", "0", "1"]):
            assert crate(argv) in (0, 1), argv  # 1: verify found the damaged line
    assert "line 2 is unreadable" in capsys.readouterr().out


def test_asking_again_reads_nothing_until_a_line_is_appended(version, monkeypatch):
    import builtins

    for number in range(50):
        oc.snapshot.text(f"t{number}.txt").save(str(number))
    artifacts = oc.snapshot.list_artifacts()
    opened = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        opened.append(os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    record.current_artifacts(version)
    for artifact in artifacts:  # what %crate ls and the cards ask, once per artifact
        assert artifact.last_record()["path"] == artifact.relative_path
    assert [
        f for f in opened if f.endswith(".jsonl")
    ] == []  # list_artifacts read the record; since then, each question costs one stat
    oc.snapshot.text("late.txt").save("x")
    assert "texts/late.txt" in record.current_artifacts(version)


def test_backups_are_listed_in_the_order_they_were_made(version):
    metrics = oc.snapshot.json("m.json")
    metrics.save({"a": 1})
    made = [metrics.backup(tag=tag) for tag in ("zeta", "alpha", "mid")]
    assert metrics.list_backups() == made
    assert _timelines.index_for(version).backups_of("jsons/m.json") == made


def test_the_cell_log_follows_the_same_rule(version):
    cells = os.path.join(version, record.RECORD_DIR, record.CELLS_FILE)
    good = {"execution_count": 4, "cell_id": "c4", "time": record.now_iso(), "source": "x = 1"}
    with open(cells, "ab") as f:
        f.write(b'{"execution_count": "four"}\n' + b'{"execution_count":3,"so' + json.dumps(good).encode() + b"\n")
    with pytest.warns(record.RecordWarning) as caught:
        entries = _timelines.index_for(version).cells()
    assert entries == [good] and len(caught) == 2
    assert _timelines.index_for(version).saving_cell({"execution_count": 4, "cell_id": "c4"}) == good
    assert [p.salvaged for p in _timelines.index_for(version).cell_problems()] == [False, True]


def test_an_unfinished_last_line_is_not_read_again_until_the_file_changes(version, monkeypatch):
    import builtins

    oc.snapshot.json("a.json").save([1])
    with open(_record_path(version), "ab") as f:
        f.write(
            b'{"op":"save","pad":"' + b"x" * (512 << 10)
        )  # a long torn tail (shorter than a line can be), no newline
    index = _timelines.index_for(version)
    opened = []
    real_open = builtins.open
    with monkeypatch.context() as patch:
        patch.setattr(builtins, "open", lambda file, *a, **k: opened.append(file) or real_open(file, *a, **k))
        for _ in range(5):
            _timelines.index_for(version)
    # only opens of this record count: other threads (a previous test's background writers) may open files meanwhile
    assert [f for f in opened if str(f).endswith("record.jsonl")] == []
    assert index.problems[-1].reason.startswith("no end of line yet")
    record.close_all()
    with pytest.warns(record.RecordWarning, match="line 2"):
        oc.snapshot.json("b.json").save([2])  # the writer ends the torn line first; the save is read
        assert "jsons/b.json" in _timelines.index_for(version).current


def _snapshot_of(index):
    """What an index says, in plain values: entries, current entries, timelines."""
    lines = {
        path: [(c.sha256, c.size, c.saves, c.time, c.until) for c in line.contents] + [bool(line.deleted)]
        for path, line in index.timelines.items()
    }
    return index.entries, index.current, lines, index.offset


def test_lines_this_process_writes_extend_the_index_in_memory_exactly_as_a_read_would(version, monkeypatch):
    artifact = oc.snapshot.json("m.json")
    artifact.save({"a": 0})
    index = _timelines.index_for(version)  # has read the record up to its end
    index.timelines  # timelines asked for: they must follow every save too
    reads = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        if str(path).endswith(record.RECORD_FILE):
            reads.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)
    for value in ({"a": 1}, {"a": 2}, {"a": 2}):
        artifact.save(value)
    artifact.backup("t")
    oc.snapshot.text("n.txt").save("x")
    artifact.delete(confirm=True)
    assert _timelines.index_for(version) is index and reads == []  # nothing was read back
    monkeypatch.setattr("builtins.open", real_open)
    assert _snapshot_of(index) == _snapshot_of(_timelines.index_for(version, fresh=True))


def test_a_line_another_process_wrote_first_makes_the_index_read_the_record_again(version):
    artifact = oc.snapshot.json("m.json")
    artifact.save({"a": 1})
    index = _timelines.index_for(version)
    entry = record.make_entry("save", "o.json", "json", "jsons/o.json", 2, "b" * 64)
    with open(_record_path(version), "ab") as f:  # as another writer would (this process's index does not know)
        f.write(record.encode_line(entry))
    artifact.save({"a": 2})  # appended after a line the index has not read: not taken in memory
    assert _snapshot_of(_timelines.index_for(version)) == _snapshot_of(_timelines.index_for(version, fresh=True))
    assert "jsons/o.json" in index.current


def _make_not_a_file(path, what):
    if what == "a folder":
        os.mkdir(path)
    elif what == "a named pipe (FIFO)":
        os.mkfifo(path)
    else:  # a symbolic link to itself
        os.symlink(os.path.basename(path), path)


@pytest.mark.parametrize("what", ["a folder", "a named pipe (FIFO)", "a link loop"])
def test_a_record_that_is_not_a_file_reads_as_missing_with_one_warning_and_is_never_opened(what, workdir):
    """A FIFO would make every reader wait for a writer forever (the sidebar's tree never answered)."""
    from opencrate_nb.core import catalog, verify

    oc.snapshot.setup(name="odd")
    oc.snapshot.text("kept.txt").save("still here")
    folder = oc.snapshot.dir_path
    record.close_all()
    os.remove(_record_path(folder))
    _make_not_a_file(_record_path(folder), what)
    with pytest.warns(record.RecordWarning, match="read as missing") as caught:
        index = _timelines.index_for(folder, fresh=True)
        payload = catalog.tree("snapshots")
        verify.verify(snapshot=oc.snapshot)
    assert len(caught) == 1
    assert index.rebuilt and index.timelines["texts/kept.txt"].current().size == len("still here")
    assert [a["name"] for k in payload["snapshots"][0]["versions"][0]["kinds"] for a in k["artifacts"]] == ["kept.txt"]
    if what != "a link loop":  # a save refuses to write its lines into it, saying what it is
        with pytest.raises(OSError, match=f"is {re.escape(what)}, not a record file: move it away"):
            oc.snapshot.text("new.txt").save("x")


GIGABYTES_OF_NUL_TAIL = """
import os, resource, sys, warnings
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # a reader that slurped the tail would fail
import opencrate as oc
from opencrate_nb.core import record
oc.snapshot.setup(name="tail", root=sys.argv[1])
metrics = oc.snapshot.json("m.json")
metrics.save({"a": 1})
record.close_all()
path = os.path.join(oc.snapshot.dir_path, ".crate", "record.jsonl")
os.truncate(path, os.path.getsize(path) + (2 << 30))  # 2 GB of NUL bytes and no newline (sparse: no disk)
oc.snapshot.setup(name="tail", root=sys.argv[1], start=0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(len(oc.snapshot.json("m.json").history()), len(caught), str(caught[0].message)[:200])
"""


def test_gigabytes_without_a_newline_are_read_past_in_bounded_memory(tmp_path):
    """A crash (or a hole) can leave a tail of NUL bytes with no newline: the reader reports it as one
    line too long and reads past it a chunk at a time, under a 1 GB address-space limit."""
    from _notebook_fixtures import REPO

    env = dict(os.environ, PYTHONPATH=REPO)
    child = subprocess.run(
        [sys.executable, "-c", GIGABYTES_OF_NUL_TAIL, str(tmp_path / "snapshots")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    count, warned, message = child.stdout.split(" ", 2)
    assert (count, warned) == ("1", "1") and "line 2" in message and "more than a record line can be" in message


def test_a_torn_line_too_long_to_be_one_is_reported_at_once_and_the_lines_after_its_end_are_read(version):
    oc.snapshot.json("a.json").save([1])
    with open(_record_path(version), "ab") as f:
        f.write(b'{"op":"save","pad":"' + b"x" * (2 << 20))  # longer than a line can be, no newline
    with pytest.warns(record.RecordWarning, match="line 2 .*more than a record line can be"):
        index = _timelines.index_for(version)
    assert [p.line for p in index.problems] == [2]
    record.close_all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reported once: the lines after its end are read quietly
        oc.snapshot.json("b.json").save([2])  # the writer ends the torn line first
        index = _timelines.index_for(version)
        assert {"jsons/a.json", "jsons/b.json"} <= set(index.current)
        assert [p.line for p in index.problems] == [2]
