"""Artifact history (opencrate_nb/core/history.py): contents kept on overwrite and delete,
deduplication, load(version=), load(at=), retention, backups, concurrent saves."""

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import warnings

import pytest
from _notebook_fixtures import REPO

import opencrate as oc
from opencrate_nb.core import _atomic, _objects, _retention, _timelines, history


def _stored(version_dir):
    found = []
    for folder, _, files in os.walk(_objects.objects_dir(version_dir)):
        found += [os.path.join(folder, f) for f in files]
    return found


@pytest.fixture
def snap(workdir):
    oc.snapshot.setup(name="hist")
    yield oc.snapshot


def test_history_lists_every_content_oldest_first(snap):
    metrics = oc.snapshot.json("metrics.json")
    for value in (1, 2, 3):
        metrics.save({"loss": value})
    items = metrics.history()
    assert [item["index"] for item in items] == [0, 1, 2]
    assert [item["current"] for item in items] == [False, False, True]
    assert all(item["available"] for item in items)
    assert items[0]["time"] < items[1]["time"] < items[2]["time"]
    assert items[2]["sha256"] == metrics.last_record()["sha256"]
    assert items[0]["size"] == len(json.dumps({"loss": 1}, indent=4))
    text = str(items)
    assert text.startswith("metrics.json: 3 contents") and "current" in text
    assert "<table>" in items._repr_html_()


def test_history_names_the_cell_that_saved(snap):
    from opencrate_nb.core import lineage

    notes = oc.snapshot.text("notes.txt")
    notes.save("outside a notebook")
    lineage.set_current_cell({"execution_count": 7, "cell_id": "c-7"})
    try:
        notes.save("from cell 7")
    finally:
        lineage.set_current_cell(None)
    items = notes.history()
    assert [item["cell"] for item in items] == [None, {"execution_count": 7, "cell_id": "c-7"}]
    assert "In [7]" in str(items) and "c-7" not in str(items)
    assert "<td>In [7]</td>" in items._repr_html_()


def test_loading_earlier_contents_by_position(snap):
    config = oc.snapshot.yaml("config.yaml")
    for lr in (0.1, 0.01, 0.001):
        config.save({"lr": lr})
    assert config.load(version=0) == {"lr": 0.1}
    assert config.load(version=1) == {"lr": 0.01}
    assert config.load(version=-1) == config.load() == {"lr": 0.001}
    with pytest.raises(IndexError, match=r"version=3 is out of range; valid: 0..2"):
        config.load(version=3)
    with pytest.raises(TypeError, match="exactly one of version= .* or at="):
        config.load(version=0, at="2020-01-01")


def test_loading_as_of_a_time(snap):
    notes = oc.snapshot.text("notes.txt")
    notes.save("first")
    notes.save("second")
    items = notes.history()
    between = _timelines.parse_time(items[1]["time"]) - 1e-6
    assert notes.load(at=dt.datetime.fromtimestamp(between).astimezone()) == "first"
    assert notes.load(at=items[1]["time"]) == "second"
    assert notes.load(at=dt.datetime.now()) == "second"
    with pytest.raises(history.NotInHistoryError, match="did not exist yet .* first saved at"):
        notes.load(at="2000-01-01T00:00:00")
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        notes.load(at="yesterday")
    notes.delete(confirm=True)
    with pytest.raises(history.NotInHistoryError, match="deleted at"):
        notes.load(at=dt.datetime.now())
    assert notes.load(version=1) == "second"  # the deleted content is still kept


def test_same_content_is_stored_once(snap):
    table = oc.snapshot.csv("table.csv")
    for rows in ([[1]], [[2]], [[1]], [[2]], [[2]]):
        table.save(rows)
    items = table.history()
    assert [item["saves"] for item in items] == [1, 1, 1, 2]  # consecutive equal saves are one content
    assert len(_stored(snap.dir_path)) == 2  # contents [[1]] and [[2]], each once
    assert table.load(version=0, lib="csv") == [["1"]]
    assert table.load(version=1, lib="csv") == [["2"]]


def test_retention_keeps_the_last_contents(snap, monkeypatch):
    monkeypatch.setattr(history, "KEEP", 2)
    log = oc.snapshot.text("log.txt")
    for n in range(6):
        log.save(f"content {n}")
    items = log.history()
    assert [item["available"] for item in items] == [False, False, False, True, True, True]
    assert len(_stored(snap.dir_path)) == 2
    _retention.drain()
    waiting = os.path.join(snap.dir_path, ".crate", "tmp")  # where pruned contents wait for the reaper
    assert not os.path.isdir(waiting) or os.listdir(waiting) == []  # pruned contents are freed
    assert log.load(version=3) == "content 3"
    with pytest.raises(history.NotInHistoryError, match=r"was not kept: history keeps the last 2"):
        log.load(version=0)


def test_a_large_file_saved_again_is_kept_once_and_the_replaced_copy_freed_in_the_background(snap):
    big = oc.snapshot.text("big.txt")
    content = "x" * (2 << 20)  # large: the replaced file goes to the reaper instead of being unlinked in the save
    big.save(content)
    big.save(content)
    big.save("small now")
    assert [item["saves"] for item in big.history()] == [2, 1]
    assert len(_stored(snap.dir_path)) == 1 and big.load(version=0) == content
    _retention.drain()
    assert os.listdir(os.path.join(snap.dir_path, ".crate", "tmp")) == []
    assert sorted(os.listdir(os.path.dirname(big.path))) == ["big.txt"]  # no temporary file left either


def test_history_off_keeps_nothing(snap, monkeypatch):
    monkeypatch.setattr(history, "KEEP", 0)
    log = oc.snapshot.text("log.txt")
    log.save("a")
    log.save("b")
    assert not os.path.exists(_objects.objects_dir(snap.dir_path))
    assert [item["available"] for item in log.history()] == [False, True]


def test_bad_retention_settings_are_named(monkeypatch):
    monkeypatch.setattr(history, "KEEP", -1)
    with pytest.raises(ValueError, match="KEEP must be a whole number >= 0"):
        _retention.keep_count()
    monkeypatch.setenv(history.ENV_KEEP, "lots")
    with pytest.warns(UserWarning, match="OPENCRATE_HISTORY_KEEP='lots' is not a whole number"):
        assert history._keep_from_env() == history.DEFAULT_KEEP
    monkeypatch.setenv(history.ENV_KEEP, "7")
    assert history._keep_from_env() == 7


def test_explicit_backups_are_never_pruned(snap, monkeypatch):
    monkeypatch.setattr(history, "KEEP", 1)
    ckpt = oc.snapshot.json("state.json")
    ckpt.save({"loss": 0.5})
    name = ckpt.backup(tag="initial")
    for n in range(5):
        ckpt.save({"loss": n})
    assert ckpt.list_backups() == [name]
    assert oc.snapshot.json(name).load() == {"loss": 0.5}
    _retention.drain()  # contents pruned by the saves are freed in the background: finish that first
    assert oc.snapshot.gc(dry_run=False, min_age=0).items == []


def test_delete_with_relative_paths_in_different_folders(workdir, monkeypatch):
    """Regression: a folder cache keyed by relative path made the second folder's delete fail."""
    for sub in ("one", "two"):
        os.mkdir(workdir / sub)
        monkeypatch.chdir(workdir / sub)
        oc.snapshot.setup(name="nbtest", start=0)
        artifact = oc.snapshot.json("m.json")
        artifact.save({"a": 1})
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            artifact.delete(confirm=True)
        assert artifact.load(version=0) == {"a": 1}


def test_folder_artifacts_of_custom_kinds_have_history(snap):
    class Boxes:
        def save(self, boxes):
            os.makedirs(self.path, exist_ok=True)
            index = len(os.listdir(self.path))
            with open(os.path.join(self.path, f"boxes_{index}.txt"), "w") as f:
                f.write(" ".join(map(str, boxes)))

        def load(self):
            return sorted(os.listdir(self.path))

    labels = oc.snapshot.labels("boxes", handler=Boxes)
    labels.save([1, 2])
    labels.save([3, 4])
    assert labels.load() == ["boxes_0.txt", "boxes_1.txt"]
    assert labels.load(version=0) == ["boxes_0.txt"]
    assert len(labels.history()) == 2


def test_concurrent_saves_from_two_processes_lose_nothing(workdir, monkeypatch):
    """Two processes overwrite one artifact 25 times each: every content stays in the history."""
    script = textwrap.dedent("""
        import sys
        import opencrate as oc
        oc.snapshot.setup(name="race", start=0)
        artifact = oc.snapshot.json("shared.json")
        for n in range(25):
            artifact.save({"writer": sys.argv[1], "n": n})
    """)
    env = dict(os.environ, OPENCRATE_HISTORY_KEEP="1000", PYTHONPATH=REPO)
    os.makedirs("snapshots/race/v0")
    workers = [subprocess.Popen([sys.executable, "-c", script, who], env=env) for who in ("a", "b")]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    monkeypatch.setattr(history, "KEEP", 1000)
    oc.snapshot.setup(name="race", start=0)
    artifact = oc.snapshot.json("shared.json")
    items = artifact.history()
    assert len(items) == 50 and all(item["available"] for item in items)
    loaded = [artifact.load(version=k) for k in range(50)]
    assert sorted((v["writer"], v["n"]) for v in loaded) == sorted((w, n) for w in "ab" for n in range(25))
    for writer in "ab":  # each process's contents appear in the order it saved them
        assert [v["n"] for v in loaded if v["writer"] == writer] == list(range(25))
    assert loaded[-1] == artifact.load()
    assert oc.snapshot.verify().ok


@pytest.mark.parametrize("linking", ["fd", "proc", None], ids=["by-descriptor", "through-proc", "no-linking"])
def test_a_file_put_under_a_new_name_by_hand_is_kept_before_the_first_save_replaces_it(snap, monkeypatch, linking):
    """However the platform names a new file (an unnamed file linked by descriptor or through /proc,
    or a temporary name where it cannot), a first save that finds something there keeps it first."""
    monkeypatch.setattr(_atomic, "_LINKAT", [_atomic._linkat()[0] if linking else None, linking])
    metrics = oc.snapshot.json("by_hand.json")
    os.makedirs(os.path.dirname(metrics.path), exist_ok=True)
    with open(metrics.path, "w") as f:
        f.write('{"written": "by hand"}')  # the record knows nothing of it: a first save, it seems
    metrics.save({"written": "by opencrate"})
    assert metrics.load() == {"written": "by opencrate"}
    kept = [open(path).read() for path in _stored(oc.snapshot.dir_path)]
    assert kept == ['{"written": "by hand"}']  # moved aside into the store, not replaced
    assert oc.snapshot.verify().ok


def test_the_first_overwrite_after_a_first_save_keeps_the_first_content_under_its_hash(snap):
    metrics = oc.snapshot.json("first.json")
    metrics.save({"n": 1})
    metrics.save({"n": 2})
    assert [item["available"] for item in metrics.history()] == [True, True]
    assert metrics.load(version=0) == {"n": 1}
    assert oc.snapshot.verify().ok
