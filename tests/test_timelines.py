"""The record read as one timeline per artifact: merging, deletes, incremental reads, damage."""

import datetime as dt
import json
import os
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
