"""Atomic writes and content hashes.

Every artifact is written to a hidden temporary file in its final folder and moved
into place with ``os.replace``: a process killed mid-save leaves either the old file
or the new one under the real name, never a torn one. Large files are also flushed
to disk (fsync) so that a power cut cannot leave a renamed-but-empty file; the hash
is computed in a second thread while that flush runs, so it costs almost nothing.
"""

import hashlib
import itertools
import os
import re
import secrets
import shutil
import sys
import threading

# Files at least this large are fsync'ed before the rename. Small files are not:
# their cost would be dominated by the flush, and the rename alone already
# protects them against a killed process.
FSYNC_MIN_BYTES = 1 << 20
# Chunks at least this large are hashed and written at the same time (see HashingWriter).
PARALLEL_MIN_BYTES = 1 << 20
_CHUNK = 1 << 20
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_REWRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
TEMP_MARK = ".tmp"
_TEMP_PATTERN = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp(\.[^.]*)?$")


_tokens = itertools.count(secrets.randbits(32))


def _reseed_tokens():
    global _tokens
    _tokens = itertools.count(secrets.randbits(32))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_tokens)  # a forked child must not reuse the parent's names


def temp_path_for(path):
    """A hidden sibling of ``path`` that keeps its suffix (handlers pick formats by suffix).

    The token is a per-process counter from a random start (cheaper than fresh random
    bytes per save); files are created with O_EXCL, so a clash fails instead of sharing.
    """
    folder, base = os.path.split(path)
    _, suffix = os.path.splitext(base)
    return os.path.join(folder, f".{base}.{next(_tokens) & 0xFFFFFFFF:08x}{TEMP_MARK}{suffix}")


def is_temp_name(file_name):
    """True for leftovers of interrupted saves made by :func:`temp_path_for`."""
    return bool(_TEMP_PATTERN.match(file_name))


def hash_bytes(data):
    return hashlib.sha256(data).hexdigest()


def hash_file(path):
    """sha256 of a file, read in large chunks (hashlib releases the GIL on them)."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(_CHUNK)
        view = memoryview(buf)
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return h.hexdigest()


def hash_tree(folder):
    """Hash of a folder artifact: over sorted relative names and each file's hash."""
    h = hashlib.sha256()
    size = 0
    for rel, full in sorted(iter_files(folder)):
        h.update(rel.encode("utf-8") + b"\0" + hash_file(full).encode("ascii") + b"\n")
        size += os.path.getsize(full)
    return h.hexdigest(), size


def iter_files(folder):
    """(relative '/'-path, full path) of every visible file below ``folder``."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            full = os.path.join(dirpath, name)
            yield os.path.relpath(full, folder).replace(os.sep, "/"), full


def fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class HashingWriter:
    """A binary file writer that hashes what passes through it.

    A large chunk is written by a helper thread while this thread hashes the same
    bytes (both release the GIL), so the hash costs no copy and little time; the
    caller's buffer is not read after ``write`` returns. The kernel is asked to start
    writing each large chunk to disk at once, so the final fsync has little left to do.
    """

    def __init__(self, path):
        self._fd = os.open(path, _REWRITE_FLAGS, 0o666)
        self._hash = hashlib.sha256()
        self.size = 0
        self._writeback = _writeback_starter()

    def _write_all(self, view, failure=None):
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            if failure is None:
                raise
            failure.append(exc)

    def write(self, data):
        view = memoryview(data).cast("B")
        count = view.nbytes
        if count >= PARALLEL_MIN_BYTES:
            failure = []
            writer = threading.Thread(target=self._write_all, args=(view, failure), name="opencrate-write")
            writer.start()
            self._hash.update(view)
            writer.join()
            if failure:
                raise failure[0]
            if self._writeback is not None:
                self._writeback(self._fd, self.size, count)
        else:
            self._hash.update(view)
            self._write_all(view)
        self.size += count
        return count

    def flush(self):
        pass

    def writable(self):
        return True

    def hexdigest(self):
        return self._hash.hexdigest()

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_WRITEBACK: list = []


def _writeback_starter():
    """Linux's sync_file_range(SYNC_FILE_RANGE_WRITE): start writing pages to disk without waiting.

    Returns None where it is not available; it only makes the final fsync shorter.
    """
    if not _WRITEBACK:
        starter = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                function = libc.sync_file_range
                function.argtypes = (ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint)
                function.restype = ctypes.c_int

                def starter(fd, offset, count, _f=function):
                    _f(fd, offset, count, 2)
            except (OSError, AttributeError):
                starter = None
        _WRITEBACK.append(starter)
    return _WRITEBACK[0]


def finish_file(temp_path, final_path, before_replace=None, known_sha=None):
    """Hash, flush (when large) and move ``temp_path`` to ``final_path``. Returns (sha256, size).

    ``before_replace(sha256, size)`` runs just before the move (history keeps the old content there).
    ``known_sha`` is the hash when the writer computed it while writing (see HashingWriter).
    """
    size = os.path.getsize(temp_path)
    if known_sha is not None:
        if size >= FSYNC_MIN_BYTES:
            fsync_file(temp_path)
        sha = known_sha
    elif size >= FSYNC_MIN_BYTES:
        result = {}

        def _hash():
            result["sha"] = hash_file(temp_path)

        worker = threading.Thread(target=_hash, name="opencrate-hash")
        worker.start()
        try:
            fsync_file(temp_path)
        finally:
            worker.join()
        sha = result["sha"]
    else:
        with open(temp_path, "rb") as f:
            sha = hash_bytes(f.read())
    if before_replace is not None:
        before_replace(sha, size)
    os.replace(temp_path, final_path)
    if size >= FSYNC_MIN_BYTES:
        fsync_dir(os.path.dirname(final_path) or ".")
    return sha, size


def create_temp(path):
    """Create (O_EXCL) a fresh hidden temporary sibling of ``path``; returns (temp path, fd)."""
    while True:
        tmp = temp_path_for(path)
        try:
            return tmp, os.open(tmp, _CREATE_FLAGS, 0o666)
        except FileExistsError:
            continue  # another process holds that name: take the next one


def write_bytes(path, data, before_replace=None):
    """Atomically write ``data`` to ``path``. Returns (sha256, size).

    Uses raw ``os`` calls: for the many small files of a run (metrics, configs) the
    Python file object would cost as much as the write itself.
    """
    sha = hash_bytes(data)
    size = len(data)
    tmp, fd = create_temp(path)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if size >= FSYNC_MIN_BYTES:
                os.fsync(fd)
        finally:
            os.close(fd)
        if before_replace is not None:
            before_replace(sha, size)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    return sha, size


def copy_file(src, dst):
    """Atomic copy (used by backups): the copy appears whole or not at all."""
    tmp = temp_path_for(dst)
    try:
        shutil.copyfile(src, tmp)
        return finish_file(tmp, dst)
    except BaseException:
        remove_quietly(tmp)
        raise


def remove_quietly(path):
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        pass
