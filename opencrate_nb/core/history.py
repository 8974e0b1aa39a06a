"""Artifact history: every content an artifact has had, kept once per distinct content.

When a save replaces an artifact's file, the old file is hard-linked into the version's
object store just before the new file is moved into place, so it costs no copy and no
extra space until it is the only name left for that content::

    <version>/.crate/objects/<h[:2]>/<h>   one file per distinct earlier content (h = sha256)
    <version>/.crate/trees/<h>             a folder artifact's content: "name\\0filehash\\n" lines
    <version>/.crate/tmp/                  short-lived links made while loading an earlier content
    <version>/.crate/save.lock             serialises "keep old, replace, record" across processes

The record (``.crate/record.jsonl``) already says when each content was saved, by
which cell, with its size and hash; the history of an artifact is read from it.
Saving the same content again adds nothing. Retention: the last :data:`KEEP`
earlier contents of each artifact are kept (environment variable
``OPENCRATE_HISTORY_KEEP`` sets the default, 5); ``KEEP = 0`` switches history off.
Explicit backups (``artifact.backup()``) are ordinary files and are never pruned.

Artifacts of custom kinds are written by the user's handler, possibly in place, so
their earlier content is *copied* (a file, or each file of a folder) rather than
linked; loading an earlier folder content materialises it in ``.crate/tmp`` for the
duration of the handler's ``load``.
"""

import atexit
import contextlib
import datetime as _dt
import html
import os
import queue
import secrets
import shutil
import stat as _stat
import threading
import warnings

from . import _atomic
from ._savelock import version_lock
from ._timelines import index_for, parse_time, to_timestamp
from .errors import OpenCrateError
from .format import cell_label, format_time
from .record import RECORD_DIR

ENV_KEEP = "OPENCRATE_HISTORY_KEEP"
DEFAULT_KEEP = 5
OBJECTS_DIR = "objects"
TREES_DIR = "trees"
TMP_DIR = "tmp"
# The hash in the record is trusted for the file on disk when the sizes agree and the
# file was not modified after the record line was written (plus this many seconds).
MTIME_SLACK = 2.0


def _keep_from_env():
    value = os.environ.get(ENV_KEEP, "").strip()
    if not value:
        return DEFAULT_KEEP
    try:
        number = int(value)
    except ValueError:
        warnings.warn(
            f"{ENV_KEEP}={value!r} is not a whole number; keeping {DEFAULT_KEEP} earlier contents.", stacklevel=2
        )
        return DEFAULT_KEEP
    return max(number, 0)


#: Earlier contents kept per artifact (0 switches history off). Set it at run time:
#: ``opencrate_nb.core.history.KEEP = 10``.
KEEP = _keep_from_env()


class NotInHistoryError(OpenCrateError, FileNotFoundError):
    """The requested earlier content does not exist, or was not kept."""


def keep_count():
    keep = KEEP
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ValueError(f"opencrate_nb.core.history.KEEP must be a whole number >= 0, got {keep!r}.")
    return keep


# -- paths ----------------------------------------------------------------------------------------
def objects_dir(version_dir):
    return os.path.join(version_dir, RECORD_DIR, OBJECTS_DIR)


def object_path(version_dir, sha):
    return os.path.join(version_dir, RECORD_DIR, OBJECTS_DIR, sha[:2], sha)


def tree_path(version_dir, sha):
    return os.path.join(version_dir, RECORD_DIR, TREES_DIR, sha)


def is_object_name(name):
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def list_dir(folder):
    """The ``os.scandir`` entries of a folder, or [] when it does not exist."""
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except FileNotFoundError:
        return []


def kept_objects(version_dir):
    """(sha256, path) of every earlier content in a version's object store."""
    return [
        (item.name, item.path)
        for shard in list_dir(objects_dir(version_dir))
        if shard.is_dir(follow_symlinks=False)
        for item in list_dir(shard.path)
        if is_object_name(item.name)
    ]


# -- keeping the old content ----------------------------------------------------------------------
def _trusted_hash(content, st):
    """The record's hash of the file on disk, when the file is evidently the one recorded."""
    if content is None or not content.sha256 or content.size != st.st_size:
        return None
    stamp = content.timestamp
    if stamp is None or st.st_mtime > stamp + MTIME_SLACK:
        return None
    return content.sha256


def store_file(version_dir, source, sha, link=True):
    """Put ``source`` (whose hash is ``sha``) in the object store; returns the object path.

    An object that exists already is the same content: nothing is written (deduplication).
    ``link=False`` copies instead of hard-linking (for files a handler may rewrite in place).
    """
    target = object_path(version_dir, sha)
    if os.path.exists(target):
        return target
    try:
        _place(source, target, link)
    except FileNotFoundError:
        if os.path.isdir(os.path.dirname(target)):
            raise  # the source is gone: nothing to keep
        os.makedirs(os.path.dirname(target), exist_ok=True)  # a new shard folder
        _place(source, target, link)
    return target


def _place(source, target, link):
    if link:
        try:
            os.link(source, target)
            return
        except FileExistsError:
            return
        except FileNotFoundError:
            raise
        except OSError:
            pass  # no hard links on this file system: copy
    tmp = _atomic.temp_path_for(target)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        _atomic.remove_quietly(tmp)
        raise


def store_tree(version_dir, folder, link=False):
    """Keep a folder's content: each file as an object, plus a manifest named by the folder hash."""
    lines = []
    for rel, full in sorted(_atomic.iter_files(folder)):
        sha = _atomic.hash_file(full)
        store_file(version_dir, full, sha, link=link)
        lines.append(rel.encode("utf-8") + b"\0" + sha.encode("ascii") + b"\n")
    data = b"".join(lines)
    sha = _atomic.hash_bytes(data)  # equals _atomic.hash_tree(folder)[0]
    target = tree_path(version_dir, sha)
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        _atomic.write_bytes(target, data)
    return sha


def read_tree(version_dir, sha):
    """[(relative name, file hash)] of a kept folder content."""
    with open(tree_path(version_dir, sha), "rb") as f:
        data = f.read()
    items = []
    for line in data.split(b"\n"):
        if line:
            rel, _, file_sha = line.partition(b"\0")
            items.append((rel.decode("utf-8"), file_sha.decode("ascii")))
    return items


def keep_current(version_dir, rel, path, new_sha=None, link=True):
    """Keep what is at ``path`` now in the object store, unless it is ``new_sha`` already.

    Returns the hash kept, or None (nothing there, or the same content is being saved).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    index = index_for(version_dir)
    timeline = index.timelines.get(rel)
    current = timeline.current() if timeline is not None else None
    if _stat.S_ISDIR(st.st_mode):
        sha = store_tree(version_dir, path, link=link)
        return sha if sha != new_sha else None
    sha = _trusted_hash(current, st) or _atomic.hash_file(path)
    if sha == new_sha:
        return None
    store_file(version_dir, path, sha, link=link)
    return sha


class _NoKeeper:
    """Stands in for a keeper when history is off."""

    __slots__ = ()

    def __call__(self, sha=None, size=None):
        return None

    def release(self):
        return None

    unlock = release


_NO_KEEPER = _NoKeeper()


class Keeper:
    """The ``before_replace`` callback of one save (or delete), and the lock it holds.

    Calling it (just before the new file replaces the old one) takes the version's save
    lock and keeps the old content; :meth:`release`, after the record line is written,
    applies retention to this artifact and lets the lock go.
    """

    __slots__ = ("version_dir", "rel", "path", "link", "_lock", "_kept")

    def __init__(self, version_dir, rel, path, link=True):
        self.version_dir = version_dir
        self.rel = rel
        self.path = path
        self.link = link
        self._lock = None
        self._kept = None

    def __call__(self, sha=None, size=None):
        if self._lock is None:
            lock = version_lock(self.version_dir)
            lock.acquire()
            self._lock = lock
        try:
            kept = keep_current(self.version_dir, self.rel, self.path, sha, link=self.link)
        except OSError as exc:
            warnings.warn(f"History could not keep the previous content of {self.rel!r}: {exc}", stacklevel=2)
            kept = None
        self._kept = self._kept or kept

    def unlock(self):
        """Let the lock go early (a custom handler writes in place, for as long as it likes)."""
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def release(self):
        lock, self._lock = self._lock, None
        if lock is None:
            if not self._kept:
                return
            lock = version_lock(self.version_dir)
            lock.acquire()
        try:
            if self._kept:
                prune(self.version_dir, self.rel)
        except OSError as exc:
            warnings.warn(f"History retention could not prune {self.rel!r}: {exc}", stacklevel=2)
        finally:
            self._kept = None
            lock.release()


def keeper(version_dir, rel, path, kind=None, handler=None, link=True):
    """A :class:`Keeper` for one save, or a no-op when history is off (``KEEP == 0``).

    With ``kind`` (a save), the run environment notes that this kind's handler was used.
    """
    if kind is not None:
        from . import environment

        environment.note_save(version_dir, kind, handler)
    if keep_count() == 0:
        return _NO_KEEPER
    return Keeper(version_dir, rel, path, link)


def keep_before_custom_save(version_dir, rel, path, kind=None, handler=None):
    """Copy a custom artifact's current content into the store before its handler rewrites it.

    Returns a keeper whose ``release()`` (after the record line) applies retention.
    """
    keep = keeper(version_dir, rel, path, kind, handler, link=False)
    keep()
    keep.unlock()
    return keep


# -- retention ------------------------------------------------------------------------------------
def _tree_members(version_dir):
    folder = os.path.join(version_dir, RECORD_DIR, TREES_DIR)
    members = set()
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return members
    for name in names:
        if is_object_name(name):
            try:
                members.update(sha for _, sha in read_tree(version_dir, name))
            except (OSError, UnicodeDecodeError):
                continue
    return members


def prune(version_dir, rel, keep=None):
    """Remove objects of ``rel`` that fell out of retention and nothing else keeps. Returns their paths.

    Call with the version lock held (saves do), so that the record is complete.
    """
    keep = keep_count() if keep is None else keep
    index = index_for(version_dir)
    timeline = index.timelines.get(rel)
    if timeline is None:
        return []
    earlier = timeline.earlier()
    cut = len(earlier) - keep
    if cut <= timeline.pruned:
        return []  # only the contents pushed out since the last prune are looked at (gc does the rest)
    dropped = {c.sha256 for c in earlier[timeline.pruned : cut]} - timeline.retained(keep)
    timeline.pruned = cut
    dropped.discard(None)
    removed = []
    in_trees = None
    for sha in dropped:
        if _kept_elsewhere(index, sha, keep, rel):
            continue
        if os.path.exists(tree_path(version_dir, sha)):
            continue  # folder contents are collected by gc, which follows their manifests
        if in_trees is None:
            in_trees = _tree_members(version_dir)
        if sha in in_trees:
            continue
        target = object_path(version_dir, sha)
        if discard(version_dir, target):
            removed.append(target)
    return removed


# -- freeing pruned contents in the background ----------------------------------------------------
PRUNED_PREFIX = "pruned-"
_doomed: queue.SimpleQueue[str] = queue.SimpleQueue()
_deleter = None
_deleter_guard = threading.Lock()


def discard(version_dir, target):
    """Take an object out of the store now and free its space on a background thread.

    Unlinking a file written moments ago can wait milliseconds for its write-back (ext4
    does); a rename does not, so a save pays only for the rename. A process that exits
    first frees the rest at exit; one that is killed leaves ``.crate/tmp/pruned-*``
    files, which gc removes. Returns False when ``target`` was not there.
    """
    global _deleter
    trash = os.path.join(version_dir, RECORD_DIR, TMP_DIR, f"{PRUNED_PREFIX}{secrets.token_hex(6)}")
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


def _delete_forever():
    while True:
        _atomic.remove_quietly(_doomed.get())


def drain():
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


def _kept_elsewhere(index, sha, keep, rel):
    for other in index.hash_paths.get(sha, ()):
        if other == rel:
            continue
        timeline = index.timelines.get(other)
        if timeline is not None and sha in timeline.retained(keep):
            return True
    return False


# -- listing and loading -------------------------------------------------------------------------
class History(list):
    """What ``artifact.history()`` returns: a list of dicts, oldest first, with a readable display.

    Each item: ``index``, ``time`` (when this content became current), ``until`` (when it
    was replaced or deleted; None while current), ``size``, ``sha256``, ``cell``,
    ``saves`` (consecutive saves of this same content), ``current``, ``available``
    (its content can be loaded) and ``path`` (where the content is, when available).
    """

    name = None

    def __str__(self):
        from .fileio import format_size

        if not self:
            return f"{self.name}: no history"
        lines = [f"{self.name}: {len(self)} content{'s' if len(self) != 1 else ''}"]
        for item in self:
            cell = item.get("cell") or {}
            where = f"  {cell_label(cell)}" if cell_label(cell) else ""
            size = format_size(item["size"]) if isinstance(item.get("size"), int) else "?"
            flag = "current" if item["current"] else ("kept" if item["available"] else "not kept")
            saves = f"  saved {item['saves']}x" if item.get("saves", 1) > 1 else ""
            lines.append(
                f"  [{item['index']}] {_short_time(item['time'])}  {size:>9}  "
                f"{(item['sha256'] or '?')[:12]}  {flag}{saves}{where}"
            )
        return "\n".join(lines)

    def _repr_html_(self):
        from .fileio import format_size

        rows = []
        for item in self:
            cell = item.get("cell") or {}
            flag = "current" if item["current"] else ("kept" if item["available"] else "not kept")
            size = format_size(item["size"]) if isinstance(item.get("size"), int) else "?"
            rows.append(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(str(v))}</td>"
                    for v in (
                        item["index"],
                        _short_time(item["time"]),
                        size,
                        (item["sha256"] or "?")[:12],
                        flag,
                        item.get("saves", 1),
                        cell_label(cell) or "",
                    )
                )
                + "</tr>"
            )
        head = "".join(f"<th>{h}</th>" for h in ("#", "saved", "size", "sha256", "state", "saves", "cell"))
        return (
            f"<div class='opencrate-history'><b>{html.escape(str(self.name))}</b>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )


def _short_time(text):
    return format_time(text)


def history_of(version_dir, rel, path):
    """The :class:`History` of the artifact at ``rel`` (file ``path``) in a version."""
    index = index_for(version_dir)
    timeline = index.timelines.get(rel)
    out = History()
    out.name = rel.rsplit("/", 1)[-1]
    if timeline is None:
        if os.path.exists(path):  # on disk but never recorded
            st = os.stat(path)
            sha, size = _atomic.hash_tree(path) if os.path.isdir(path) else (_atomic.hash_file(path), st.st_size)
            stamp = _dt.datetime.fromtimestamp(st.st_mtime).astimezone().isoformat(timespec="microseconds")
            out.append(
                {
                    "index": 0,
                    "time": stamp,
                    "until": None,
                    "size": size,
                    "sha256": sha,
                    "cell": None,
                    "saves": 1,
                    "current": True,
                    "available": True,
                    "path": path,
                }
            )
        return out
    last = len(timeline.contents) - 1
    for number, content in enumerate(timeline.contents):
        current = number == last and not timeline.deleted
        where = None
        if current:
            where = path if os.path.lexists(path) else None
        elif content.sha256:
            where = content_path(version_dir, content.sha256)
        sha = content.sha256
        if sha is None and current and where is not None and not os.path.isdir(where):
            sha = _atomic.hash_file(where)
        out.append(
            {
                "index": number,
                "time": content.time,
                "until": content.until,
                "size": content.size,
                "sha256": sha,
                "cell": content.cell,
                "saves": content.saves,
                "current": current,
                "available": where is not None,
                "path": where,
            }
        )
    return out


def pick(entries, version=None, at=None):
    """The history item for ``version=k`` (negative counts from the end) or ``at=`` a time."""
    if (version is None) == (at is None):
        raise TypeError("Give exactly one of version= (a position in the history) or at= (a time).")
    name = entries.name
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int):
            raise TypeError(f"version= is a position in {name}'s history (0 = first, -1 = current), got {version!r}.")
        count = len(entries)
        if not -count <= version < count:
            span = f"0..{count - 1} (or -1..-{count})" if count else "none"
            raise IndexError(
                f"{name} has {count} content{'s' if count != 1 else ''} in its history: "
                f"version={version} is out of range; valid: {span}. See artifact.history()."
            )
        return entries[version]
    stamp = to_timestamp(at)
    for item in reversed(entries):
        start = parse_time(item["time"])
        if start is None or start > stamp:
            continue
        until = parse_time(item["until"]) if item["until"] else None
        if until is None or stamp < until:
            return item
        raise NotInHistoryError(f"{name} did not exist at {_show(at)}: it was deleted at {_short_time(item['until'])}.")
    if not entries:
        raise NotInHistoryError(f"{name} has no saved content at all, so nothing existed at {_show(at)}.")
    raise NotInHistoryError(
        f"{name} did not exist yet at {_show(at)}: it was first saved at {_short_time(entries[0]['time'])}."
    )


def _show(at):
    return at.isoformat(sep=" ") if isinstance(at, (_dt.datetime, _dt.date)) else repr(at)


def load(artifact, version=None, at=None, args=(), kwargs=None):
    """Load an earlier content of ``artifact`` (an :class:`~opencrate_nb.core.artifact.Artifact`)."""
    kwargs = kwargs or {}
    entries = artifact.history()
    item = pick(entries, version=version, at=at)
    if item["current"]:
        return artifact.load(*args, **kwargs)
    if not item["available"]:
        raise NotInHistoryError(
            f"Content {item['index']} of {artifact.name!r} (saved {_short_time(item['time'])}) was not kept: "
            f"history keeps the last {keep_count()} earlier contents of each artifact "
            f"(opencrate_nb.core.history.KEEP or ${ENV_KEEP}). Use artifact.backup() for copies that are never pruned."
        )
    with materialized(artifact.version_dir, item, artifact.name) as path:
        handler = artifact.handler
        if getattr(artifact, "_custom", False):
            saved_path = getattr(handler, "path", None)
            handler.path = path
            try:
                return handler.load(*args, **kwargs)
            finally:
                handler.path = saved_path
        return handler.load(path, *args, **kwargs)


@contextlib.contextmanager
def materialized(version_dir, item, name):
    """An earlier content under its artifact's file name, in ``.crate/tmp``, removed on exit.

    Handlers choose formats by suffix, so the object is linked (or copied) to a file of
    the right name; a folder content is rebuilt from its manifest.
    """
    root = os.path.join(version_dir, RECORD_DIR, TMP_DIR)
    os.makedirs(root, exist_ok=True)
    folder = os.path.join(root, f"load-{secrets.token_hex(6)}")
    os.mkdir(folder)
    try:
        target = os.path.join(folder, name)
        if os.path.basename(os.path.dirname(item["path"])) == TREES_DIR:
            for rel, sha in read_tree(version_dir, item["sha256"]):
                dest = os.path.join(target, *rel.split("/"))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                _link_or_copy(object_path(version_dir, sha), dest)
            os.makedirs(target, exist_ok=True)  # an empty folder content
        else:
            _link_or_copy(item["path"], target)
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _link_or_copy(source, target):
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def content_path(version_dir, sha):
    """Where a kept content is (object file or folder manifest), or None."""
    for candidate in (object_path(version_dir, sha), tree_path(version_dir, sha)):
        if os.path.exists(candidate):
            return candidate
    return None
