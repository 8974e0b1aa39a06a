"""core/roots.py: finding every snapshot root below a folder (what the sidebar shows)."""

import os
import time

from opencrate_nb.core import roots


def version(root, name="mnist", folder="v0"):
    path = root / name / folder
    path.mkdir(parents=True)
    return path


def test_every_folder_named_snapshots_that_holds_versions_is_a_root(tmp_path):
    version(tmp_path / "snapshots")
    version(tmp_path / "experiments" / "snapshots", "cifar", "v3:best")
    version(tmp_path / "a" / "b" / "c" / "snapshots")
    (tmp_path / "empty" / "snapshots" / "mnist").mkdir(parents=True)  # no version yet: not a root
    (tmp_path / "other" / "mnist" / "v0").mkdir(parents=True)  # versions, but not in a "snapshots" folder
    version(tmp_path / "snapshots" / "mnist" / "v0" / "snapshots")  # inside a root: its content, not a root
    found = roots.find(str(tmp_path))
    real = os.path.realpath(tmp_path)
    assert found == sorted(os.path.join(real, p) for p in ("snapshots", "experiments/snapshots", "a/b/c/snapshots"))
    assert roots.is_snapshot_root(str(tmp_path / "experiments" / "snapshots"))
    assert not roots.is_snapshot_root(str(tmp_path / "empty" / "snapshots"))


def test_hidden_folders_packages_environments_and_deep_folders_are_not_searched(tmp_path):
    for skipped in (".cache", "node_modules", ".venv", "venv", "__pycache__"):
        version(tmp_path / skipped / "snapshots")
    version(tmp_path / "1" / "2" / "3" / "4" / "5" / "6" / "7" / "snapshots")  # deeper than MAX_DEPTH
    assert roots.find(str(tmp_path)) == []
    assert roots.find(str(tmp_path), max_depth=9) == [os.path.realpath(tmp_path / "1/2/3/4/5/6/7/snapshots")]


def test_symlinks_leaving_the_folder_and_loops_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    version(outside / "snapshots")
    top = tmp_path / "top"
    (top / "work").mkdir(parents=True)
    os.symlink(outside, top / "work" / "link-out")
    os.symlink(top, top / "work" / "loop")
    version(top / "work" / "snapshots")
    os.symlink(top / "work" / "snapshots", top / "alias")  # inside: found once, by its real path
    assert roots.find(str(top)) == [os.path.realpath(top / "work" / "snapshots")]


def test_the_walk_is_bounded_by_a_number_of_folders(tmp_path):
    for i in range(30):
        (tmp_path / f"d{i:02}").mkdir()
    version(tmp_path / "zz" / "snapshots")
    assert roots.find(str(tmp_path), max_folders=10) == []
    assert roots.find(str(tmp_path)) == [os.path.realpath(tmp_path / "zz" / "snapshots")]


def test_the_result_is_cached_until_a_folder_it_read_changes(tmp_path):
    version(tmp_path / "snapshots")
    assert len(roots.find(str(tmp_path))) == 1
    new = tmp_path / "experiments" / "snapshots" / "run"
    new.mkdir(parents=True)
    assert len(roots.find(str(tmp_path))) == 1  # no version yet
    time.sleep(0.01)  # mtimes have nanoseconds; this only keeps coarse file systems honest
    (new / "v0").mkdir()
    assert roots.find(str(tmp_path)) == sorted(
        os.path.realpath(p) for p in (tmp_path / "snapshots", tmp_path / "experiments" / "snapshots")
    )


def test_a_link_into_a_hidden_folder_is_not_a_root(tmp_path):
    version(tmp_path / ".secret" / "snapshots", "hid")
    (tmp_path / "a2").mkdir()
    os.symlink("../.secret/snapshots", tmp_path / "a2" / "snapshots")  # refused like .secret itself
    (tmp_path / "a3").mkdir()
    os.symlink("../.secret", tmp_path / "a3" / "deeper")  # a folder leading into it is not entered either
    version(tmp_path / "shown" / "snapshots")
    assert roots.find(str(tmp_path)) == [os.path.realpath(tmp_path / "shown" / "snapshots")]
