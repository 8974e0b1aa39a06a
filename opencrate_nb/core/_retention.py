"""Retention of earlier contents, and the reaper that frees pruned ones in the background.

The last :data:`opencrate_nb.core.history.KEEP` earlier contents of each artifact are kept;
older ones are taken out of the object store when a save pushes them out (``prune``) or by
gc. A pruned content is renamed into ``.crate/tmp/pruned-*`` and a background thread unlinks
it: on ext4 the unlink of a file whose write-back is under way waits for it (when overwrites
were renames over the old name, which start one, that made each overwrite of a small json
2.4x slower), and a rename never waits.
"""

import atexit
import os
import queue
import secrets
import sys
import threading
from typing import Any

from . import _atomic, _objects, _savelock
from ._objects import TREES_DIR, is_object_name, object_path, read_tree, tmp_dir
from ._timelines import index_for
from .record import RECORD_DIR

PRUNED_PREFIX = "pruned-"
_HISTORY = __package__ + ".history"


def keep_count() -> int:
    """The retention setting now (``history.KEEP``, which users may change at run time)."""
    history: Any = sys.modules.get(_HISTORY)
    if history is None:
        from . import history
    keep = history.KEEP
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ValueError(f"opencrate_nb.core.history.KEEP must be a whole number >= 0, got {keep!r}.")
    return keep


_trees_seen: dict[str, tuple] = {}  # version folder -> ((lock hold, trees made here), what _trees found)


def _trees(version_dir):
    """(names of the folder contents kept, hashes of the files they hold): one listdir when there are none.

    Called with the save lock held. While this process keeps holding it (a leased lock: saves in a
    loop), no other process can store a folder content, so the answer is kept until this process
    stores one or takes the lock anew.
    """
    stamp = (_savelock.version_lock(version_dir).taken, _objects.trees_made[0])
    seen = _trees_seen.get(version_dir)
    if seen is not None and seen[0] == stamp:
        return seen[1]
    found = _trees_now(version_dir)
    _trees_seen[version_dir] = (stamp, found)
    return found


def _trees_now(version_dir):
    folder = os.path.join(version_dir, RECORD_DIR, TREES_DIR)
    try:
        names = {name for name in os.listdir(folder) if is_object_name(name)}
    except FileNotFoundError:
        return set(), set()
    members = set()
    for name in names:
        try:
            members.update(sha for _, sha in read_tree(version_dir, name))
        except (OSError, UnicodeDecodeError):
            continue
    return names, members


def prune(version_dir: str, rel: str, keep=None, index=None) -> list:
    """Remove objects of ``rel`` that fell out of retention and nothing else keeps. Returns their paths.

    Call with the version lock held (saves do), so that the record is complete. ``index``:
    the record index when the caller knows it is complete (it just extended it), else it is read.
    """
    keep = keep_count() if keep is None else keep
    if index is None:
        index = index_for(version_dir)
    timeline = index.timelines.get(rel)
    if timeline is None:
        return []
    contents = timeline.contents  # the earlier contents, then the current one unless deleted
    cut = len(contents) - (0 if timeline.deleted else 1) - keep
    if cut <= timeline.pruned:
        return []  # only the contents pushed out since the last prune are looked at (gc does the rest)
    pushed_out = {c.sha256 for c in contents[timeline.pruned : cut] if c.sha256}
    dropped = pushed_out - {c.sha256 for c in contents[cut:]}  # what retention keeps: Timeline.retained(keep)
    timeline.pruned = cut
    removed = []
    trees = None
    for sha in dropped:
        if _kept_elsewhere(index, sha, keep, rel):
            continue
        if trees is None:
            trees = _trees(version_dir)
        if sha in trees[0] or sha in trees[1]:
            continue  # folder contents (and their files) are collected by gc, which follows their manifests
        target = object_path(version_dir, sha)
        if discard(version_dir, target):
            removed.append(target)
    return removed


def _kept_elsewhere(index, sha, keep, rel):
    for other in index.hash_paths.get(sha, ()):
        if other == rel:
            continue
        timeline = index.timelines.get(other)
        if timeline is not None and sha in timeline.retained(keep):
            return True
    return False


# -- freeing pruned contents in the background ----------------------------------------------------
_doomed: queue.SimpleQueue[str] = queue.SimpleQueue()
_TAIL = secrets.token_hex(2)  # with the counter: another process's names do not meet this one's
_deleter = None
_deleter_guard = threading.Lock()


def discard(version_dir: str, target: str) -> bool:
    """Take an object out of the store now and free its space on a background thread.

    Unlinking a file written moments ago can wait milliseconds for its write-back (ext4
    does); a rename does not, so a save pays only for the rename. A process that exits
    first frees the rest at exit; one that is killed leaves ``.crate/tmp/pruned-*``
    files, which gc removes. Returns False when ``target`` was not there.
    """
    global _deleter
    # a per-process counter from a random start (no system call per save, as for temporary files)
    trash = f"{tmp_dir(version_dir)}{os.sep}{PRUNED_PREFIX}{_atomic.next_token():08x}{_TAIL}"
    try:
        os.rename(target, trash)
    except FileNotFoundError:
        if not os.path.exists(target):
            return False
        os.makedirs(os.path.dirname(trash), exist_ok=True)
        os.rename(target, trash)
    _doomed.put(trash)
    if _deleter is None or not _deleter.is_alive():
        with _deleter_guard:
            if _deleter is None or not _deleter.is_alive():
                _deleter = threading.Thread(target=_delete_forever, name="opencrate-prune", daemon=True)
                _deleter.start()
    return True


REAP_EVERY = 0.2  # seconds between the reaper's rounds: a save never wakes it (that would cost the GIL)


def _delete_forever():
    import time

    while True:
        time.sleep(REAP_EVERY)
        drain()


def drain() -> None:
    """Free every content this process pruned, now (runs at exit; tests call it before counting)."""
    while True:
        try:
            path = _doomed.get_nowait()
        except queue.Empty:
            return
        _atomic.remove_quietly(path)


def _after_fork():
    global _doomed, _deleter
    _doomed, _deleter = queue.SimpleQueue(), None


atexit.register(drain)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
