"""The write protocol: every change of an artifact, crash-, disk-full- and concurrency-safe.

A change (save, custom save, backup, delete) goes:

1. outside any lock: the new content is written to a hidden temporary file next to the
   artifact (a small first save: to an unnamed file of its folder) and hashed (large files:
   the hash overlaps the write and the flush);
2. under the version's save lock (core/_savelock.py), after finishing any change a dead
   process left behind (core/_journal.py): the old content is kept in the object store
   (history), the intent is written to the journal, the new file is moved in (a first save
   names it without replacing; an overwrite is ``renameat2(RENAME_EXCHANGE)`` where the
   platform has it, so the old file can be put back in one step), and the record line is
   appended whole;
3. the intent is marked done (a save's when the leased lock is let go) and the lock let go;
   retention prunes what fell out.

A failure before the record line is written (a full disk included) puts the old content
back under the name and raises; a kill leaves the intent, which the next user of the
version rolls forward (the new content is there: write the record line) or back.
"""

import errno
import hashlib
import os
import secrets
import shutil
import warnings
from typing import Any

from . import _atomic, _journal, _objects, _retention, record
from ._timelines import cached_current, index_for
from .errors import DiskFullError


class _Change:
    """The save lock of a version, held for one change; the first holder finishes orphaned intents."""

    __slots__ = ("version_dir", "lock", "journal")

    def __init__(self, version_dir):
        self.version_dir = version_dir
        self.journal = _journal.journal_for(version_dir)
        self.lock = self.journal.lock

    def __enter__(self):
        _take(self.journal)
        return self.journal

    def __exit__(self, *exc):
        self.lock.release()


def _take(journal) -> None:
    """Take the save lock of the journal's version; its outermost holder first finishes orphaned intents."""
    lock = journal.lock
    lock.acquire()
    try:
        if lock.depth == 1 and (lock.fresh or journal.abandoned) and journal.orphaned():  # leased: nothing new
            _journal.recover(journal.version_dir)
    except BaseException:
        lock.release()
        raise


def changing(version_dir: str) -> _Change:
    """``with changing(version_dir) as journal:`` the lock for one change (recovering first)."""
    return _Change(version_dir)


def recover(version_dir: str) -> list:
    """Finish or undo what an interrupted process left in a version (setup and verify call it)."""
    return _journal.recover_if_pending(version_dir)


def _rel(version_dir, path):
    return os.path.relpath(path, version_dir).replace(os.sep, "/")


# -- full disks ------------------------------------------------------------------------------------
def disk_full_error(cause: OSError, doing: str, path: str, original=None) -> DiskFullError:
    """A clear error for ENOSPC / EDQUOT, naming the file system and what was being written."""
    folder = os.path.dirname(os.path.abspath(path))
    if getattr(errno, "EDQUOT", None) is not None and cause.errno == errno.EDQUOT:
        what = "The disk quota is exceeded"
    elif "inode" in str(cause):
        what = "The disk has no free inode left (too many files)"
    else:
        what = "The disk is full"
    text = (
        f"{what} while {doing} {path!r} (in {folder}). Nothing was changed: the previous content, "
        "its history and the record are intact. Free some space on that disk, or set up the snapshot "
        "under another root, then save again."
    )
    if original is not None and not isinstance(original, OSError):
        text += f" (The writer said: {type(original).__name__}: {original})"
    error = DiskFullError(text)
    error.errno = cause.errno
    error.filename = path
    return error


def _reraise_if_full(exc, doing, path, probe=None):
    if isinstance(exc, DiskFullError) or not isinstance(exc, Exception):
        return
    cause = _atomic.disk_full_cause(exc, probe)
    if cause is not None:
        raise disk_full_error(cause, doing, path, exc) from exc


# -- staging the new content ------------------------------------------------------------------------
def _create_temp(path):
    try:
        return _atomic.create_temp(path)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)  # the kind folder was removed behind our back
        return _atomic.create_temp(path)


def stage(handler, obj, path: str, args=(), kwargs=None, data=None) -> _atomic.Staged:
    """Write ``obj`` with ``handler`` to a temporary sibling of ``path``; nothing under ``path`` changes.

    In-memory formats go through ``to_bytes``; the others are written by their library
    into the temporary file. A handler's ``save`` may return the sha256 of what it wrote
    (computed while writing), or the :class:`_atomic.FileWriter` it wrote through (which
    hashed behind the write), to spare reading the file again. ``data``: what ``to_bytes``
    already gave for ``obj``.
    """
    kwargs = kwargs or {}
    _atomic.forget_failures()
    if handler.writes_bytes():
        if data is None:
            data = handler.to_bytes(obj, path, *args, **kwargs)
        try:
            try:
                return _atomic.stage_bytes(path, data, identity=False)
            except FileNotFoundError:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                return _atomic.stage_bytes(path, data, identity=False)
        except OSError as exc:
            _reraise_if_full(exc, "saving", path)
            raise
    try:
        tmp, fd = _create_temp(path)  # reserves the name; the library rewrites the empty file
    except OSError as exc:
        _reraise_if_full(exc, "saving", path)
        raise
    os.close(fd)
    try:
        written_sha = handler.save(obj, tmp, *args, **kwargs)
        if not os.path.exists(tmp) or os.path.getsize(tmp) == 0:
            if isinstance(written_sha, _atomic.FileWriter):
                written_sha.cancel()
            raise RuntimeError(
                f"The {handler.kind} handler wrote nothing for {os.path.basename(path)!r}; nothing was saved."
            )
        known: Any = None
        if isinstance(written_sha, _atomic.FileWriter):
            known = written_sha  # its thread hashed the file while it was written; done during the flush
        elif _atomic.is_sha256(written_sha):
            known = written_sha  # a handler's word, taken as the hash (else the file is hashed)
        return _atomic.stage_file(tmp, known)
    except BaseException as exc:
        try:
            _reraise_if_full(exc, "saving", path, probe=tmp)
        finally:
            _atomic.remove_quietly(tmp)
        raise


def write(handler, obj, path: str, args=(), kwargs=None) -> tuple:
    """Save ``obj`` at a plain ``path`` (``oc.io``: no record, no history); returns (sha256, size)."""
    staged = stage(handler, obj, path, args, kwargs)
    try:
        os.replace(staged.tmp, path)
    except BaseException:
        _atomic.remove_quietly(staged.tmp)
        raise
    if staged.size >= _atomic.FSYNC_MIN_BYTES:
        _atomic.fsync_dir(os.path.dirname(path) or ".")
    return staged.sha, staged.size


# -- the changes -------------------------------------------------------------------------------------
def save(version_dir: str, rel: str, path: str, name: str, kind: str, handler, obj, args=(), kwargs=None) -> tuple:
    """Save with a built-in handler: stage, then keep old / intent / swap / record. Returns (sha256, size).

    ``version_dir`` and ``path`` are absolute (artifacts bind them at setup).
    """
    saved_here = _saved_here.get(version_dir)
    if saved_here is None:
        saved_here = _saved_here[version_dir] = set()
    first = rel not in saved_here and cached_current(version_dir, rel) is None  # a first save, it seems
    data = None
    if first and handler.writes_bytes():
        data = handler.to_bytes(obj, path, *args, **kwargs) if args or kwargs else handler.to_bytes(obj, path)
        if type(data) is bytes and len(data) < _atomic.FSYNC_MIN_BYTES:
            saved = _save_new(version_dir, rel, path, name, kind, data, saved_here)
            if saved is not None:
                return saved
    staged = stage(handler, obj, path, args, kwargs, data)
    try:
        return _commit_staged(version_dir, rel, path, name, kind, staged, first, saved_here)
    except BaseException as exc:
        staged.discard()
        _reraise_if_full(exc, "saving", path)
        raise


def _save_new(version_dir, rel, path, name, kind, data, saved_here):
    """A small first save, the most common save of all, in one function: ``data`` goes into an unnamed
    file of the artifact's folder, which one ``linkat()`` names under the save lock, between the
    intent and the record line. Returns (sha256, size); None where unnamed files cannot be had
    (nothing was written: the general path goes on).

    The steps are those of :func:`_commit_staged` for a first save, written out flat: on a small
    file every call and object spared per save shows in bench/bench_core.py. A kill before the
    link leaves nothing; after it, the intent (the record line to write) for recovery to finish.
    """
    _atomic.forget_failures()
    try:
        fd = _atomic.stage_unnamed(path[: path.rfind(os.sep)], data)
    except FileNotFoundError:
        return None  # the kind folder was removed behind our back: the general path makes it again
    except OSError as exc:
        _reraise_if_full(exc, "saving", path)
        raise
    if fd is None:
        return None
    size = len(data)
    sha = hashlib.sha256(data).hexdigest()
    journal = _journal.journal_for(version_dir)
    try:
        _take(journal)
    except BaseException:
        os.close(fd)
        raise
    try:
        entry, line, plain = record.save_entry(name, kind, rel, size, sha)
        journal.begin(_UNNAMED_FIRST_SAVE, line)  # the intent: with the record line it will append
        try:
            code = _atomic.link_unnamed(fd, path)
        except BaseException:
            journal.end()  # nothing moved
            raise
        if code != 0:  # something is there after all (EEXIST), or no linking here (None): the usual way
            journal.end()
            staged, fd = _atomic.Staged(None, sha, size, None, fd, data), None
            if code not in (errno.EEXIST, None):
                staged.discard()
                raise OSError(code, os.strerror(code), path)
            return _commit_named(version_dir, rel, path, name, kind, staged, saved_here)
        linked, fd = fd, None
        try:
            os.close(linked)  # a file system that reports a failed write only now: the save is undone
            record.append_locked(version_dir, entry, line, plain=plain, lock=journal.lock)
        except BaseException:
            _undo_swap(version_dir, journal, _atomic.temp_path_for(path), path, _atomic.CREATED, None)
            raise
        saved_here.add(rel)
        journal.complete()
    except BaseException as exc:
        if fd is not None:
            os.close(fd)
        _reraise_if_full(exc, "saving", path)
        raise
    finally:
        journal.lock.release()
    return sha, size


def _commit_named(version_dir, rel, path, name, kind, staged, saved_here):
    """An unnamed first save whose name was taken meanwhile: given a temporary name, it goes the usual way."""
    try:
        _atomic.name_staged(staged, path)
        return _commit_staged(version_dir, rel, path, name, kind, staged, False, saved_here)
    except BaseException:
        staged.discard()
        raise


#: version folder -> the artifacts this process saved there: with the record index this process
#: has (not refreshed), the hint that a save is a first one (then staged unnamed and linked, or
#: tried as a no-replace rename)
_saved_here: dict[str, set] = {}


def _commit_staged(version_dir, rel, path, name, kind, staged, first, saved_here):
    """Under the save lock: keep the old content, write the intent, swap the new file in, record it.
    ``staged`` has a temporary name (an unnamed first save is :func:`_save_new`'s).

    The lock is held without a :class:`_Change` object: on a small file every call and object
    spared per save shows in bench/bench_core.py.
    """
    keep = _retention.keep_count()
    ino = staged.st.st_ino if staged.st is not None else None  # None: recovery compares hashes
    journal = _journal.journal_for(version_dir)
    _take(journal)
    try:
        entry, line, plain = record.save_entry(name, kind, rel, staged.size, staged.sha)  # the intent holds it too
        old, how = None, None
        if first:
            journal.begin({"op": "save", "old": None, "ino": ino, "tmp": _tmp_rel(rel, staged)}, line)
            try:
                if _atomic.rename_new(staged.tmp, path):
                    how = _atomic.CREATED
                else:
                    journal.end()  # something is there after all: nothing moved, keep it first
            except BaseException:
                journal.end()  # nothing moved
                raise
        if how is None:
            tmp_rel = _tmp_rel(rel, staged)
            if keep:
                old, _ = _objects.keep_current(
                    version_dir, rel, path, link=True, new_sha=staged.sha, index=journal.lock.complete_index()
                )
            journal.begin({"op": "save", "old": old, "ino": ino, "tmp": tmp_rel}, line)
            try:
                if keep and old is None:
                    os.rename(staged.tmp, path)  # nothing there (keeping looked): a first save
                    how = _atomic.CREATED
                else:
                    # an exchange even when the old content is in the store: a rename over an existing
                    # name makes ext4 write the new file out at once (auto_da_alloc), an exchange does not
                    how = _atomic.swap_in(staged.tmp, path)
            except BaseException:
                journal.end()  # nothing moved
                raise
        try:
            # the index, when extended in memory
            index = record.append_locked(version_dir, entry, line, plain=plain, lock=journal.lock)
        except BaseException:
            _undo_swap(version_dir, journal, staged.tmp, path, how, old)
            raise
        saved_here.add(rel)
        if how == _atomic.EXCHANGED:
            _drop_old_file(version_dir, staged.tmp, staged.size, kept=old is not None and old != staged.sha)
        journal.complete()
        if keep and how != _atomic.CREATED and staged.size >= _atomic.FSYNC_MIN_BYTES:
            # the next save keeps this content without hashing it, whatever becomes of the record
            # index; a small one needs no stat for that: the record's line vouches for it (same
            # size, not modified since; see _objects.current_hash), and hashing it would be cheap
            _objects.remember(path, staged.sha)
        if staged.size >= _atomic.FSYNC_MIN_BYTES:
            _atomic.fsync_dir(os.path.dirname(path) or ".")
        if old is not None and old != staged.sha:
            _prune(version_dir, rel, index, keep)
    finally:
        journal.lock.release()
    return staged.sha, staged.size


#: the intent of a first save staged unnamed (no temporary name, no inode to compare), as
#: ``_journal.Journal.begin`` takes it encoded
_UNNAMED_FIRST_SAVE = record.encode_json({"op": "save", "old": None, "ino": None, "tmp": None}).encode()


def _tmp_rel(rel, staged):
    """The journal's name of the staged file (a sibling of the artifact)."""
    return rel[: rel.rfind("/") + 1] + staged.tmp[staged.tmp.rfind(os.sep) + 1 :]


def _drop_old_file(version_dir, old_path, size, kept=False):
    """Remove the replaced file. ``kept``: its content is in the store, so only a name goes. Else a
    large one is handed to the background reaper: freeing its blocks and cached pages takes
    milliseconds per 64 MB (the same content saved again is not kept twice)."""
    if size >= _atomic.FSYNC_MIN_BYTES and not kept:
        try:
            if _retention.discard(version_dir, old_path):
                return
        except OSError:
            pass
    _atomic.remove_quietly(old_path)


def _undo_swap(version_dir, journal, tmp, path, how, old):
    """Put the old content back under ``path`` after a failed record line; else leave the intent."""
    try:
        if how != _atomic.REPLACED:
            _atomic.swap_back(tmp, path, how)
        elif old is not None:
            _objects.restore(version_dir, old, path, link=True)  # replaced: linked back from the store
        else:
            raise OSError(f"the previous content of {path!r} could not be put back (history is off)")
    except BaseException:
        journal.abandon()  # recovery will decide, from what is on disk
        raise
    journal.end()


def _prune(version_dir, rel, index=None, keep=None):
    try:
        _retention.prune(version_dir, rel, keep, index)
    except OSError as exc:  # retention is housekeeping: gc does it later
        warnings.warn(f"History retention could not prune {rel!r}: {exc}", stacklevel=3)


def save_custom(version_dir: str, rel: str, path: str, name: str, kind: str, run) -> None:
    """Save through a user's handler, which writes at ``path`` itself (``run()``), perhaps in place.

    Its files get inodes of their own first (so no kept object changes with them), the old
    content is copied into the store, and on failure or after a kill it is put back.
    """
    keep = _retention.keep_count()
    try:
        with _Change(version_dir) as journal:
            _objects.break_links(path)
            old, created = _objects.keep_current(version_dir, rel, path, link=False)
            journal.begin(
                {"op": "custom", "entry": {"op": "save", "name": name, "kind": kind, "path": rel}, "old": old}
            )
            try:
                run()
                if os.path.lexists(path):
                    sha, size = _content_of(path)
                    record.log_operation(version_dir, "save", name, kind, rel, size, sha)
                else:
                    sha = old
            except BaseException:
                try:
                    _objects.restore(version_dir, old, path)
                except BaseException:
                    journal.abandon()
                    raise
                journal.end()
                raise
            journal.end()
            if old is not None and old != sha:
                if keep:
                    _prune(version_dir, rel)
                elif created:
                    _drop_undo_copy(version_dir, old)
    except BaseException as exc:
        _reraise_if_full(exc, "saving", path, probe=path if os.path.isfile(path) else None)
        raise


def _content_of(path):
    if os.path.isdir(path):
        return _atomic.hash_tree(path)
    return _atomic.hash_file(path), os.path.getsize(path)


def _drop_undo_copy(version_dir, sha):
    """History is off: the copy kept only to undo a custom save goes (its file objects wait for gc)."""
    for target in (_objects.object_path(version_dir, sha), _objects.tree_path(version_dir, sha)):
        if os.path.exists(target):
            _retention.discard(version_dir, target)


def delete(version_dir: str, rel: str, path: str, name: str, kind: str, link: bool = True) -> bool:
    """Delete an artifact (file or folder): keep old / intent / rename away / record / remove.

    Returns False when there was nothing to delete.
    """
    keep = _retention.keep_count()
    try:
        with _Change(version_dir) as journal:
            if not os.path.lexists(path):
                return False
            old = _objects.keep_current(version_dir, rel, path, link=link)[0] if keep else None
            folder, base = os.path.split(path)
            doomed = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.deleting")
            entry = record.make_entry("delete", name, kind, rel)
            journal.begin({"op": "delete", "entry": entry, "old": old, "doomed": _rel(version_dir, doomed)})
            _move_then_record(journal, version_dir, entry, path, doomed)  # the name disappears at once and whole
            _atomic.remove_quietly(doomed)
            journal.end()
            if old is not None:
                _prune(version_dir, rel)
        return True
    except BaseException as exc:
        _reraise_if_full(exc, "deleting", path)
        raise


def _move_then_record(journal: Any, version_dir: str, entry: dict, source: str, target: str) -> None:
    """Rename ``source`` to ``target``, then write the record line (the caller began the intent).

    A record line that cannot be written moves the file back, so the disk and the record keep
    agreeing; if even that fails, the intent is left for the next use of the version to settle.
    """
    try:
        os.rename(source, target)
    except BaseException:
        journal.end()
        raise
    try:
        record.append_line(version_dir, entry)
    except BaseException:
        try:
            os.rename(target, source)
        except BaseException:
            journal.abandon()
            raise
        journal.end()
        raise


def backup(version_dir: str, source: str, target: str, name: str, kind: str, of: str):
    """Copy ``source`` to ``target`` (never replacing one) and record it. (sha256, size), or None when taken."""
    if os.path.lexists(target):
        return None
    tmp = _atomic.temp_path_for(target)
    rel = _rel(version_dir, target)
    _atomic.forget_failures()
    try:
        # copied under the save lock: a custom handler rewrites its files in place under it, and a
        # copy taken meanwhile would mix two saves
        with _Change(version_dir) as journal:
            if os.path.lexists(target):
                return None  # taken meanwhile (same second, another process): the caller tries the next name
            if os.path.isdir(source):
                shutil.copytree(source, tmp, copy_function=_atomic.copy_noting_failures)
                sha, size = _atomic.hash_tree(tmp)
                ino = None
            else:
                shutil.copyfile(source, tmp)
                staged = _atomic.stage_file(tmp)
                sha, size, ino = staged.sha, staged.size, staged.st.st_ino
            entry = record.make_entry("backup", name, kind, rel, size, sha, of=of)
            journal.begin({"op": "backup", "entry": entry, "ino": ino, "tmp": _rel(version_dir, tmp)})
            _move_then_record(journal, version_dir, entry, tmp, target)
            journal.end()
        return sha, size
    except BaseException as exc:
        try:
            _reraise_if_full(exc, "backing up to", target, probe=tmp if os.path.lexists(tmp) else None)
        finally:
            _atomic.remove_quietly(tmp)
        raise


def ensure_recorded_backup(version_dir: str, target: str, name: str, kind: str, of: str, sha: str) -> None:
    """A backup file that exists with the right content but has no record line (its maker died): record it."""
    rel = _rel(version_dir, target)
    with _Change(version_dir):
        timeline = index_for(version_dir).timelines.get(rel)
        current = timeline.current() if timeline is not None else None
        if current is None or current.sha256 != sha:
            size = _content_of(target)[1]
            record.log_operation(version_dir, "backup", name, kind, rel, size, sha, of=of)
