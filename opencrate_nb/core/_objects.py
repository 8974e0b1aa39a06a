"""The object store of a version: earlier contents of artifacts, one file per distinct content.

::

    <version>/.crate/objects/<h[:2]>/<h>   one file per distinct earlier content (h = sha256)
    <version>/.crate/trees/<h>             a folder artifact's content: "name\\0filehash\\n" lines

An object never changes once it is there (its name is its hash). A file written by a
built-in handler is replaced, never rewritten in place, so its old inode can be hard-linked
into the store for free; files that a custom handler may rewrite in place are copied.
"""

import errno
import os
import shutil
import stat as _stat

from . import _atomic
from ._timelines import index_for
from .record import RECORD_DIR

OBJECTS_DIR = "objects"
TREES_DIR = "trees"
TMP_DIR = "tmp"
# The hash in the record is trusted for the file on disk when the sizes agree and the
# file was not modified after the record line was written (plus this many seconds).
MTIME_SLACK = 2.0


def objects_dir(version_dir: str) -> str:
    return os.path.join(version_dir, RECORD_DIR, OBJECTS_DIR)


def object_path(version_dir: str, sha: str) -> str:
    if version_dir.endswith(os.sep) or not version_dir:
        return os.path.join(version_dir, RECORD_DIR, OBJECTS_DIR, sha[:2], sha)
    return f"{version_dir}{os.sep}{RECORD_DIR}{os.sep}{OBJECTS_DIR}{os.sep}{sha[:2]}{os.sep}{sha}"  # a join, cheaper


def tree_path(version_dir: str, sha: str) -> str:
    return os.path.join(version_dir, RECORD_DIR, TREES_DIR, sha)


def tmp_dir(version_dir: str) -> str:
    if version_dir.endswith(os.sep) or not version_dir:
        return os.path.join(version_dir, RECORD_DIR, TMP_DIR)
    return f"{version_dir}{os.sep}{RECORD_DIR}{os.sep}{TMP_DIR}"  # a join, cheaper (each pruned content)


def is_object_name(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def list_dir(folder: str) -> list:
    """The ``os.scandir`` entries of a folder, or [] when it does not exist."""
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []


def kept_objects(version_dir: str) -> list:
    """(sha256, path) of every earlier content in a version's object store."""
    return [
        (item.name, item.path)
        for shard in list_dir(objects_dir(version_dir))
        if shard.is_dir(follow_symlinks=False)
        for item in list_dir(shard.path)
        if is_object_name(item.name)
    ]


def content_path(version_dir: str, sha: str):
    """Where a kept content is (object file or folder manifest), or None."""
    for candidate in (object_path(version_dir, sha), tree_path(version_dir, sha)):
        if os.path.exists(candidate):
            return candidate
    return None


# -- putting contents in ---------------------------------------------------------------------------
def store_file(version_dir: str, source: str, sha: str, link: bool = True) -> bool:
    """Put ``source`` (whose hash is ``sha``) in the object store; True when a new object was made.

    An object that exists already is the same content: nothing is written (deduplication).
    ``link=False`` copies instead of hard-linking (for files a handler may rewrite in place).
    """
    target = object_path(version_dir, sha)
    try:
        return _place(source, target, link)
    except FileNotFoundError:
        if os.path.isdir(os.path.dirname(target)):
            raise  # the source is gone: nothing to keep
        os.makedirs(os.path.dirname(target), exist_ok=True)  # a new shard folder
        return _place(source, target, link)


def _place(source, target, link):
    """Link (or copy) ``source`` to ``target``; False when the object was there already."""
    if link:
        try:
            os.link(source, target)  # an existing object says so itself: no stat first
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.EOPNOTSUPP, errno.ENOTSUP):
                raise  # ENOSPC, EDQUOT, ENOENT...: the caller must know
    if os.path.exists(target):
        return False
    tmp = _atomic.temp_path_for(target)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        _atomic.remove_quietly(tmp)
        raise
    return True


def tree_manifest(folder: str) -> tuple:
    """(manifest bytes, [(relative name, file hash, full path)]) of a folder artifact's content."""
    items = []
    for rel, full in sorted(_atomic.iter_files(folder)):
        items.append((rel, _atomic.hash_file(full), full))
    data = b"".join(rel.encode("utf-8") + b"\0" + sha.encode("ascii") + b"\n" for rel, sha, _ in items)
    return data, items


#: how many folder contents this process has stored (retention's look at the stored trees is
#: kept until this changes; see _retention._trees)
trees_made = [0]


def store_tree(version_dir: str, folder: str, link: bool = False) -> tuple:
    """Keep a folder's content: each file as an object, plus a manifest named by the folder hash.

    Returns (folder hash, whether anything new was stored).
    """
    trees_made[0] += 1
    data, items = tree_manifest(folder)
    created = False
    for _, sha, full in items:
        created = store_file(version_dir, full, sha, link=link) or created
    sha = _atomic.hash_bytes(data)  # equals _atomic.hash_tree(folder)[0]
    target = tree_path(version_dir, sha)
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        _atomic.write_bytes(target, data)
        created = True
    return sha, created


def read_tree(version_dir: str, sha: str) -> list:
    """[(relative name, file hash)] of a kept folder content."""
    with open(tree_path(version_dir, sha), "rb") as f:
        data = f.read()
    items = []
    for line in data.split(b"\n"):
        if line:
            rel, _, file_sha = line.partition(b"\0")
            items.append((rel.decode("utf-8"), file_sha.decode("ascii")))
    return items


# -- the hash of what is on disk -------------------------------------------------------------------
def _trusted_hash(content, st):
    """The record's hash of the file on disk, when the file is evidently the one recorded."""
    if content is None or not content.sha256 or content.size != st.st_size:
        return None
    stamp = content.timestamp
    if stamp is None or st.st_mtime > stamp + MTIME_SLACK:
        return None
    return content.sha256


# Hashes of files this process moved into place: (dev, inode, size, mtime_ns, ctime_ns) -> sha256,
# so the next save of the artifact knows the old content's hash without reading the file or the
# record. The change time is part of the key: no copy (which may keep the modification time) and
# no later file that reuses the inode number can have it.
_written: dict[tuple[int, int, int, int, int], str] = {}
_WRITTEN_MAX = 4096


def _identity(st):
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def remember(path: str, sha: str) -> None:
    """Note the hash of the file just moved into place at ``path``."""
    if len(_written) >= _WRITTEN_MAX:
        _written.clear()
    try:
        _written[_identity(os.stat(path))] = sha
    except OSError:
        pass


def current_hash(version_dir: str, rel: str, path: str, st: os.stat_result, index=None) -> str:
    """sha256 of the file at ``path``: from this process's memory, the record, or by hashing it."""
    sha = _written.get(_identity(st))
    if sha is not None:
        return sha
    timeline = (index or index_for(version_dir)).timelines.get(rel)
    current = timeline.current() if timeline is not None else None
    return _trusted_hash(current, st) or _atomic.hash_file(path)


def keep_current(version_dir: str, rel: str, path: str, link: bool = True, new_sha=None, index=None) -> tuple:
    """Keep what is at ``path`` now in the object store. Returns (its hash or None, whether new).

    None when nothing is there; nothing is stored when it is ``new_sha`` (the same content
    saved again). Errors (a full disk) propagate: a save must not go on when the content
    it replaces could not be kept. ``index``: the record index when the caller knows it is
    complete (else it is refreshed).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, False
    if _stat.S_ISDIR(st.st_mode):
        return store_tree(version_dir, path, link=link)
    sha = current_hash(version_dir, rel, path, st, index)
    if sha == new_sha:
        return sha, False
    return sha, store_file(version_dir, path, sha, link=link)


def break_links(path: str) -> None:
    """Give every file at ``path`` (a file or a folder) an inode of its own.

    Before a custom handler rewrites files in place: a file that shares its inode with a
    kept object would otherwise change that object too.
    """
    if os.path.isdir(path):
        files = [full for _, full in _atomic.iter_files(path)]
    elif os.path.isfile(path):
        files = [path]
    else:
        return
    for full in files:
        if os.stat(full).st_nlink > 1:
            tmp = _atomic.temp_path_for(full)
            try:
                shutil.copy2(full, tmp)
                os.replace(tmp, full)
            except BaseException:
                _atomic.remove_quietly(tmp)
                raise


def restore(version_dir: str, sha, path: str, link: bool = False) -> None:
    """Put the kept content ``sha`` back at ``path`` (None: remove ``path``). Used to roll back.

    ``link=True`` (a file that only built-in handlers write, never in place) hard-links the
    object back, which needs no free block: the undo of a save that met a full disk.
    """
    doomed = None
    if os.path.lexists(path):
        doomed = _atomic.temp_path_for(path) + ".deleting"
    if sha is None:
        if doomed:
            os.rename(path, doomed)
            _atomic.remove_quietly(doomed)
        return
    tmp = _atomic.temp_path_for(path)
    try:
        if os.path.exists(tree_path(version_dir, sha)):
            os.mkdir(tmp)
            for rel, file_sha in read_tree(version_dir, sha):
                dest = os.path.join(tmp, *rel.split("/"))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copyfile(object_path(version_dir, file_sha), dest)
        elif not link or not _place(object_path(version_dir, sha), tmp, True):
            shutil.copyfile(object_path(version_dir, sha), tmp)
        if doomed and (os.path.isdir(path) or os.path.isdir(tmp)):
            os.rename(path, doomed)  # a folder cannot be replaced in one step
        os.replace(tmp, path)
    except BaseException:
        _atomic.remove_quietly(tmp)
        raise
    if doomed:
        _atomic.remove_quietly(doomed)
