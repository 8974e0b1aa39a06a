"""Version folders: ``<root>/<name>/v<N>[:<tag>]``.

Version numbers come from the folders on disk; there is no project config file.
Claiming a number happens under a per-name file lock, so two processes calling
``setup(start="new")`` at the same moment get different versions.
"""

import contextlib
import os
import re
import time

_VERSION_PATTERN = re.compile(r"^v(\d+)(?::(.+))?$")
LOCK_FILE = ".crate.lock"


def parse_folder(folder_name):
    """``"v3:baseline"`` -> ``(3, "baseline")``; ``"v3"`` -> ``(3, None)``; anything else -> None."""
    m = _VERSION_PATTERN.match(folder_name)
    if not m:
        return None
    return int(m.group(1)), m.group(2)


def folder_name(number, tag=None):
    return f"v{number}:{tag}" if tag else f"v{number}"


def list_folders(snapshot_dir, broken=None):
    """Sorted ``(number, tag, folder_name)`` of the version folders of one snapshot name.

    A version name that leads to no folder (a link to nothing, a loop of links) is not a
    version folder; with a list as ``broken``, ``(number, tag, folder_name, OSError)`` of each
    is appended to it, for a listing that says why it is missing.
    """
    found = []
    try:
        entries = os.scandir(snapshot_dir)
    except FileNotFoundError:
        return found
    with entries:
        for entry in entries:
            parsed = parse_folder(entry.name)
            if not parsed:
                continue
            try:
                is_dir = entry.is_dir()  # False for a link to nothing; a loop of links raises
            except OSError as exc:
                is_dir, error = False, exc
            else:
                error = None
            if is_dir:
                found.append((parsed[0], parsed[1] or None, entry.name))
            elif broken is not None and entry.is_symlink():
                if error is None:
                    try:
                        os.stat(entry.path)
                    except OSError as exc:
                        error = exc
                if error is not None:
                    broken.append((parsed[0], parsed[1] or None, entry.name, error))
    found.sort(key=lambda item: (item[0], item[1] or ""))
    return found


@contextlib.contextmanager
def name_lock(snapshot_dir, timeout=60.0):
    """An exclusive lock across processes for one snapshot name."""
    os.makedirs(snapshot_dir, exist_ok=True)
    path = os.path.join(snapshot_dir, LOCK_FILE)
    try:
        import fcntl
    except ImportError:  # Windows: a lock folder, created atomically
        fcntl = None
    if fcntl is not None:
        with open(path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return
    lock_dir = path + ".d"
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.mkdir(lock_dir)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Could not lock {snapshot_dir!r}; remove {lock_dir!r} if no other process uses it."
                ) from None
            time.sleep(0.01)
    try:
        yield
    finally:
        os.rmdir(lock_dir)


def resolve(snapshot_dir, start, tag):
    """Pick (and create if needed) the version folder for ``setup``.

    Returns ``(number, folder_name, created, notice)``; ``notice`` is a warning text
    when an untagged sibling of a tagged version is being created.
    """
    with name_lock(snapshot_dir):
        existing = list_folders(snapshot_dir)
        if start == "new":
            number = existing[-1][0] + 1 if existing else 0
        elif start == "last":
            number = max(item[0] for item in existing) if existing else 0
        else:
            number = start
        name = folder_name(number, tag)
        path = os.path.join(snapshot_dir, name)
        created = not os.path.isdir(path)
        notice = None
        if created:
            siblings = [item for item in existing if item[0] == number and item[2] != name]
            if siblings and tag is None:
                tags = ", ".join(repr(item[1]) for item in siblings if item[1])
                notice = (
                    f"v{number} of {os.path.basename(snapshot_dir)!r} exists only with tag {tags}; "
                    f"creating a new untagged v{number}. To resume the tagged one, pass tag="
                    f"{siblings[0][1]!r} to oc.snapshot.setup()."
                )
            os.makedirs(path, exist_ok=True)
        return number, name, created, notice
