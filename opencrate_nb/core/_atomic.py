"""Atomic writes and content hashes.

Every artifact is written to a hidden temporary file in its final folder (a small first
save: to an unnamed file there, named by ``linkat``) and moved into place: a process killed
mid-save leaves either the old file or the new one under the real name, never a torn one.
Large files are also flushed to disk (fsync) so that a power cut cannot leave a
renamed-but-empty file; the hash is computed in a second thread while that flush runs, so
it costs almost nothing.
"""

import errno
import hashlib
import itertools
import os
import re
import secrets
import shutil
import stat
import sys
import threading
from typing import Any, Optional

# Files at least this large are fsync'ed before the rename. Small files are not:
# their cost would be dominated by the flush, and the rename alone already
# protects them against a killed process.
FSYNC_MIN_BYTES = 1 << 20
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


def next_token() -> int:
    """The next 32-bit token of this process (see :func:`temp_path_for`)."""
    return next(_tokens) & 0xFFFFFFFF


def temp_path_for(path):
    """A hidden sibling of ``path`` that keeps its suffix (handlers pick formats by suffix).

    The token is a per-process counter from a random start (cheaper than fresh random
    bytes per save); files are created with O_EXCL, so a clash fails instead of sharing.
    """
    if _PLAIN_SEPARATOR:
        folder, separator, base = path.rpartition(os.sep)
        dot = base.rfind(".")
        suffix = base[dot:] if dot > 0 and base[:dot].lstrip(".") else ""  # os.path.splitext's rule
        return f"{folder}{separator}.{base}.{next(_tokens) & 0xFFFFFFFF:08x}{TEMP_MARK}{suffix}"
    folder, base = os.path.split(path)
    _, suffix = os.path.splitext(base)
    return os.path.join(folder, f".{base}.{next(_tokens) & 0xFFFFFFFF:08x}{TEMP_MARK}{suffix}")


_PLAIN_SEPARATOR = os.altsep is None  # one separator (POSIX): the name splits with one rpartition


def is_temp_name(file_name):
    """True for leftovers of interrupted saves made by :func:`temp_path_for`."""
    return bool(_TEMP_PATTERN.match(file_name))


_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


def is_sha256(text) -> bool:
    """Whether ``text`` reads as a sha256 (64 lowercase hex digits), as the record and the store write it."""
    return type(text) is str and _SHA256.match(text) is not None


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


_NOT_FILES = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def not_a_file(mode: int) -> Optional[str]:
    """What a non-regular file is ("a named pipe (FIFO)", ...), or None for a regular file: reading
    a FIFO or a device never ends, so nothing the store reads on its own is opened without asking."""
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _NOT_FILES if test(mode)), "not a regular file")


def open_regular(path: str, check: Optional[Any] = None):
    """Open ``path`` for binary reading if it is a regular file; else raise OSError saying what it is.

    Opened without blocking first (a FIFO would wait for a writer forever), then what was opened
    is checked: ``check(stat)`` when given (it raises what its caller's users should see).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        facts = os.fstat(fd)
        if check is not None:
            check(facts)
        else:
            what = not_a_file(facts.st_mode)
            if what is not None:
                raise OSError(errno.EINVAL, f"it is {what}, not a file", path)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


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


class FileWriter:
    """A binary file object over a raw descriptor, for libraries that write to a file object (torch.save).

    It writes every byte (short writes looped) and remembers a full disk (:func:`note_failure`),
    which the library may report only as its own message. A second thread hashes the file
    behind the writer, reading back what was written (from the page cache): on a free core
    the hash is done with the write; otherwise it finishes while :func:`stage_file` waits for
    the flush. The writer never waits for the hash. :meth:`hexdigest` gives it.
    """

    def __init__(self, path):
        self._fd = os.open(path, _REWRITE_FLAGS, 0o666)
        self.size = 0
        self._behind = _HashBehind(path)

    def write(self, data):
        view = memoryview(data).cast("B")
        try:
            write_all(self._fd, view)
        except OSError as exc:
            note_failure(exc)
            raise
        self.size += view.nbytes
        self._behind.advance(self.size)
        return view.nbytes

    def flush(self):
        pass

    def writable(self):
        return True

    def hexdigest(self):
        """The sha256 of everything written (waits for the hashing thread)."""
        return self._behind.finish(self.size)

    def cancel(self):
        """Stop the hashing thread (the write failed, or its file is not used)."""
        self._behind.cancel()

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        if exc[0] is not None:
            self._behind.cancel()


class _HashBehind:
    """A thread that hashes a file up to where its writer has got (see :class:`FileWriter`)."""

    def __init__(self, path):
        self._path = path
        self._hash = hashlib.sha256()
        self._ready = 0  # bytes written so far
        self._end = None  # the final size, once the writer is done
        self._error = None
        self._cancelled = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="opencrate-hash", daemon=True)
        self._thread.start()

    def advance(self, size):
        with self._wake:
            self._ready = size
            self._wake.notify()

    def _run(self):
        try:
            with open(self._path, "rb", buffering=0) as f:
                done, buf = 0, bytearray(_CHUNK * 4)
                view = memoryview(buf)
                while True:
                    with self._wake:
                        while not self._cancelled and self._ready <= done and self._end is None:
                            self._wake.wait()
                        if self._cancelled:
                            return
                        limit = self._end if self._end is not None else self._ready
                    while done < limit:
                        n = f.readinto(view[: min(len(buf), limit - done)])
                        if not n:
                            raise OSError(errno.EIO, f"{self._path} is shorter than what was written to it")
                        self._hash.update(view[:n])
                        done += n
                    if self._end is not None and done >= self._end:
                        return
        except BaseException as exc:  # noqa: BLE001 - raised by finish() in the writer's thread
            self._error = exc

    def finish(self, size):
        with self._wake:
            self._end = size
            self._wake.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._hash.hexdigest()

    def cancel(self):
        with self._wake:
            self._cancelled = True
            self._wake.notify()
        self._thread.join()


def finish_file(temp_path, final_path, before_replace=None, known_sha=None):
    """Hash, flush (when large) and move ``temp_path`` to ``final_path``. Returns (sha256, size).

    ``before_replace(sha256, size)`` runs just before the move.
    ``known_sha`` is the hash when the writer computed it while writing.
    """
    staged = stage_file(temp_path, known_sha)
    if before_replace is not None:
        before_replace(staged.sha, staged.size)
    os.replace(temp_path, final_path)
    if staged.size >= FSYNC_MIN_BYTES:
        fsync_dir(os.path.dirname(final_path) or ".")
    return staged.sha, staged.size


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
    staged = stage_bytes(path, data)
    try:
        if before_replace is not None:
            before_replace(staged.sha, staged.size)
        os.replace(staged.tmp, path)
    except BaseException:
        remove_quietly(staged.tmp)
        raise
    return staged.sha, staged.size


def write_output(path: str, data: bytes) -> None:
    """Write a file the user named (``crate notebook ... -o FILE``): atomically, except into what is
    not a regular file (``/dev/null``, ``/dev/stdout``, a pipe), which is written into, never replaced."""
    try:
        special = not stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        special = False
    if not special:
        write_bytes(path, data)
        return
    with open(path, "wb") as f:
        f.write(data)


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
    """Remove a file, link or folder; whatever is not there, or cannot go, is left to gc."""
    try:
        os.unlink(path)  # the common case first: no stat to find out what it is
    except FileNotFoundError:
        pass
    except OSError:
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


# -- writing whole, and knowing a full disk when we see one ---------------------------------------
DISK_FULL_ERRNOS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e is not None)
_failures = threading.local()


def write_all(fd, data):
    """Write every byte of ``data`` (``os.write`` may write less, e.g. when the disk fills up)."""
    view = data if type(data) is bytes else memoryview(data).cast("B")
    total, done = len(view), 0
    while done < total:
        written = os.write(fd, memoryview(view)[done:] if done else view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        done += written


def note_failure(exc):
    """Remember a disk-full error this thread hit (see :func:`disk_full_cause`)."""
    if getattr(exc, "errno", None) in DISK_FULL_ERRNOS:
        _failures.last = exc


def copy_noting_failures(source, target):
    """``shutil.copy2`` for ``shutil.copytree``, remembering a disk-full error: copytree folds the
    errors of its files into the text of one ``shutil.Error``, where their errno is lost."""
    try:
        return shutil.copy2(source, target)
    except OSError as exc:
        note_failure(exc)
        raise


def forget_failures():
    _failures.last = None


def disk_full_cause(exc, probe_path=None):
    """The ENOSPC/EDQUOT error behind ``exc``, or None.

    Libraries turn a full disk into their own messages (torch: "unexpected pos", libsndfile:
    "System error"), so besides ``exc`` and its causes this looks at what our own writers
    hit in this thread, and finally asks the file system: a temporary file that cannot grow
    by one block, or no free inode.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return exc
        exc = exc.__cause__ or exc.__context__
    last = getattr(_failures, "last", None)
    if last is not None:
        return last
    if probe_path is not None:
        return probe_space(probe_path)
    return None


def probe_space(path):
    """An ENOSPC/EDQUOT error when the file system at ``path`` has no room left (a block or an inode)."""
    folder = path if os.path.isdir(path) else os.path.dirname(path) or "."
    try:
        st = os.statvfs(folder)
        if st.f_files > 0 and st.f_favail == 0:
            return OSError(errno.ENOSPC, "No free inode left on device")
    except (OSError, AttributeError):
        pass
    if not os.path.isfile(path) or not hasattr(os, "posix_fallocate"):
        return None
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        os.posix_fallocate(fd, size, 1 << 16)
        os.ftruncate(fd, size)
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            return exc
    finally:
        os.close(fd)
    return None


# -- staging a new content, then swapping it in ----------------------------------------------------
class Staged:
    """A new content written to its temporary file: ``tmp``, ``sha`` (sha256), ``size``, ``st`` (its stat).

    A first save staged in an unnamed file (:func:`stage_unnamed`) whose name turned out taken
    comes here with ``fd`` open, ``tmp`` None and ``data`` kept, for :func:`name_staged`.
    """

    __slots__ = ("tmp", "sha", "size", "st", "fd", "data")

    def __init__(self, tmp, sha, size, st, fd=None, data=None):
        self.tmp, self.sha, self.size, self.st, self.fd, self.data = tmp, sha, size, st, fd, data

    def discard(self) -> None:
        """The save did not happen: the staged content goes (an unnamed one just by closing it)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                os.close(fd)
            except OSError:
                pass
        if self.tmp is not None:
            remove_quietly(self.tmp)


def stage_bytes(path, data, identity=True):
    """Write ``data`` to a fresh temporary sibling of ``path`` (flushed when large). Returns a :class:`Staged`.

    ``identity=False`` leaves ``st`` None: one system call less for a small file, whose
    recovery can afford to hash it instead of comparing inodes. (A small first save is staged
    in an unnamed file instead: :func:`stage_unnamed`.)
    """
    if type(data) is not bytes:
        data = memoryview(data).cast("B")  # its length in bytes
    sha = hash_bytes(data)
    tmp, fd = create_temp(path)
    try:
        try:
            if os.write(fd, data) != len(data):  # a full disk may write part of it: retried, or ENOSPC
                write_all(fd, memoryview(data)[os.lseek(fd, 0, os.SEEK_CUR) :])
            st = None
            if len(data) >= FSYNC_MIN_BYTES:
                os.fsync(fd)
                st = os.fstat(fd)
            elif identity:
                st = os.fstat(fd)
        finally:
            os.close(fd)
    except BaseException:
        remove_quietly(tmp)
        raise
    return Staged(tmp, sha, len(data), st)


def stage_file(tmp, known_sha=None):
    """Hash (unless ``known_sha``) and flush (when large) a temporary file a library wrote.

    ``known_sha`` is the hash, or an object whose ``hexdigest()`` gives it once this thread has
    flushed the file (a :class:`FileWriter`, whose thread hashes meanwhile).
    """
    if known_sha is not None and not isinstance(known_sha, str):
        try:
            staged = stage_file(tmp, "")
        except BaseException:
            known_sha.cancel()
            raise
        staged.sha = known_sha.hexdigest()
        return staged
    st = os.stat(tmp)
    size = st.st_size
    if known_sha is not None:
        if size >= FSYNC_MIN_BYTES:
            fsync_file(tmp)
        sha = known_sha
    elif size >= FSYNC_MIN_BYTES:
        result = []

        def _hash():
            try:
                result.append(hash_file(tmp))
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
                result.append(exc)

        worker = threading.Thread(target=_hash, name="opencrate-hash")  # reads the page cache while the disk works
        worker.start()
        try:
            fsync_file(tmp)
        finally:
            worker.join()
        if isinstance(result[0], BaseException):
            raise result[0]
        sha = result[0]
    else:
        with open(tmp, "rb") as f:
            sha = hash_bytes(f.read())
    return Staged(tmp, sha, size, st)


_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_EXCHANGE: list[Any] = []
_NOREPLACE: list[Any] = []


def _exchanger():
    """Linux's renameat2 (for RENAME_EXCHANGE: swap two names in one step); None where unavailable."""
    if not _EXCHANGE:
        function = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                function = libc.renameat2
                function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
                function.restype = ctypes.c_int
            except (OSError, AttributeError):
                function = None
        _EXCHANGE.append(function)
    return _EXCHANGE[0]


def exchange(a, b):
    """Swap the files at ``a`` and ``b`` atomically. False when the platform cannot, or ``b`` does not exist."""
    function = _exchanger()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    import ctypes

    code = ctypes.get_errno()
    if code == errno.ENOENT and os.path.lexists(a):
        return False  # nothing at b yet: a first save
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        _EXCHANGE[0] = None  # this file system cannot: plain renames from now on
        return False
    raise OSError(code, os.strerror(code), b)


def rename_new(a, b):
    """Move ``a`` to ``b`` unless something is at ``b`` (then False, nothing moved): a first save.

    One system call where the platform has renameat2(RENAME_NOREPLACE); elsewhere a look,
    then a rename (a file made at ``b`` in between is replaced, as ``os.rename`` would).
    """
    if not _NOREPLACE:
        _NOREPLACE.append(_exchanger())
    function = _NOREPLACE[0]
    if function is not None:
        if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_NOREPLACE) == 0:
            return True
        import ctypes

        code = ctypes.get_errno()
        if code == errno.EEXIST:
            return False
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), a, None, b)
        _NOREPLACE[0] = None  # this file system cannot: a look, then a rename, from now on
    if os.path.lexists(b):
        return False
    os.rename(a, b)
    return True


# -- unnamed files: a first save that is killed leaves nothing behind ------------------------------
# Linux makes a file without a name in a folder (O_TMPFILE) and names it later with linkat(),
# which never replaces: a first save is then one name operation, where a temporary name and a
# rename are two (on an ext4 disk that halves what a new small file costs).
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_UNNAMED = [bool(_O_TMPFILE) and sys.platform.startswith("linux")]  # False once the file system says no
_AT_EMPTY_PATH, _AT_SYMLINK_FOLLOW = 0x1000, 0x400
_LINKAT: list[Any] = []  # [libc linkat, how]: how is "fd" (AT_EMPTY_PATH), "proc" (/proc/self/fd) or None
_UNSUPPORTED = (errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR, errno.EINVAL, errno.ENOSYS)
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def stage_unnamed(folder, data):
    """``data`` (bytes) written to an unnamed file of ``folder`` (O_TMPFILE): its open descriptor, or
    None where the platform has none. A kill before :func:`link_unnamed` names it leaves nothing.

    Errors other than "not supported here" propagate (a full disk, no free inode, no folder).
    """
    if not _UNNAMED[0]:
        return None
    try:
        fd = os.open(folder, os.O_WRONLY | _O_TMPFILE | _O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
        _UNNAMED[0] = False  # this file system (or kernel) has none: named temporary files from now on
        return None
    try:
        if os.write(fd, data) != len(data):  # a full disk may write part of it: retried, or ENOSPC
            write_all(fd, memoryview(data)[os.lseek(fd, 0, os.SEEK_CUR) :])
    except BaseException:
        os.close(fd)
        raise
    return fd


def _linkat():
    if not _LINKAT:
        function = None
        try:
            import ctypes

            # no argtypes: the arguments are Python ints and bytes, which ctypes passes as int and
            # char * as they are (declaring them makes every call convert them, a quarter slower)
            function = ctypes.CDLL(None, use_errno=True).linkat
            function.restype = ctypes.c_int
        except (OSError, AttributeError):
            function = None
        _LINKAT.extend((function, "fd" if function is not None else None))
    return _LINKAT


_NOT_BY_DESCRIPTOR = (errno.ENOENT, errno.EPERM, errno.EACCES, errno.EXDEV) + _UNSUPPORTED


def link_unnamed(fd, path):
    """linkat() the unnamed file ``fd`` to ``path``: 0, or the error number (EEXIST: something is
    there); None where descriptors cannot be linked at all. Kernels before 6.10 link by descriptor
    only for privileged users: then through /proc/self/fd."""
    function, how = _LINKAT if _LINKAT else _linkat()
    target = path.encode(_FS_ENCODING, _FS_ERRORS)  # os.fsencode, without its call
    while how is not None:
        if how == "fd":
            failed = function(fd, b"", _AT_FDCWD, target, _AT_EMPTY_PATH)
        else:
            failed = function(_AT_FDCWD, f"/proc/self/fd/{fd}".encode(), _AT_FDCWD, target, _AT_SYMLINK_FOLLOW)
        if not failed:
            return 0
        import ctypes

        code = ctypes.get_errno()
        if code in _NOT_BY_DESCRIPTOR and os.path.isdir(os.path.dirname(path)):
            how = _LINKAT[1] = "proc" if how == "fd" else None  # this way is closed here: the next one
            continue
        return code
    return None


def name_staged(staged, path) -> None:
    """Give an unnamed staged content a temporary name next to ``path`` (``staged.tmp``), for the
    save to go the usual way (something was under the name after all)."""
    if staged.fd is None:
        return
    while True:
        tmp = temp_path_for(path)
        code = link_unnamed(staged.fd, tmp)
        if code != errno.EEXIST:  # else another process holds that name: the next one
            break
    if code == 0:
        staged.discard()
        staged.tmp = tmp
        return
    if code is not None:
        raise OSError(code, os.strerror(code), tmp)
    tmp, fd = create_temp(path)  # descriptors cannot be linked here: the content is written out again
    try:
        try:
            write_all(fd, staged.data)
        finally:
            os.close(fd)
    except BaseException:
        remove_quietly(tmp)
        raise
    staged.discard()
    staged.tmp = tmp


EXCHANGED, CREATED, REPLACED = "exchanged", "created", "replaced"


def swap_in(tmp, path):
    """Move ``tmp`` to ``path``. Returns how:

    ``EXCHANGED``: the old file is now at ``tmp`` (to put back, or to unlink); ``CREATED``:
    there was no old file; ``REPLACED``: the old file is gone (no exchange on this platform).
    """
    if exchange(tmp, path):
        return EXCHANGED
    existed = os.path.lexists(path)
    os.replace(tmp, path)
    return REPLACED if existed else CREATED


def swap_back(tmp, path, how):
    """Undo :func:`swap_in` of ``EXCHANGED`` or ``CREATED``: the old file back under ``path`` (or none)."""
    if how == EXCHANGED:
        if not exchange(tmp, path):
            os.replace(tmp, path)
    elif how == CREATED:
        os.rename(path, tmp)
    else:
        raise ValueError("a replaced file cannot be swapped back")
    remove_quietly(tmp)
