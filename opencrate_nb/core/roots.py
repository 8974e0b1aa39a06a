"""Where the snapshot roots are below a folder: every folder named ``snapshots`` that holds versions.

A notebook in ``labroot/experiments/`` writes ``experiments/snapshots/``; the sidebar, started
in ``labroot``, has to find it. The walk is bounded (depth, number of folders), skips hidden
folders, ``node_modules``, virtual environments and caches, and follows no symlink that leaves
the folder or leads into a hidden folder of it (``a2/snapshots -> ../.secret/snapshots`` is
skipped like ``.secret`` itself: ``catalog.visible_inside``). Its result is cached with the modification time of every folder it read: a poll
that finds them all unchanged costs one ``stat`` per folder, no listing.

    find(top)                        -> [absolute path of each snapshot root], sorted by path
    is_snapshot_root(folder)         -> whether ``folder`` holds at least one snapshot version
"""

from __future__ import annotations

import os
import re
import threading
from typing import Optional

from .catalog import visible_inside

ROOT_NAME = "snapshots"
#: folders never entered: package trees, environments and caches hold no runs of their own
SKIPPED = frozenset(
    {"node_modules", ".venv", "venv", "env", "__pycache__", "site-packages", "dist-packages", ".git", ".tox", "build"}
)
MAX_DEPTH = 6
MAX_FOLDERS = 4000
_VERSION_FOLDER = re.compile(r"^v\d+(:.*)?$")

_cache: dict[tuple[str, int, int], tuple[dict[str, int], list[str]]] = {}
_cache_lock = threading.Lock()


def is_snapshot_root(folder: str) -> bool:
    """True when ``folder`` has a snapshot folder with a version folder (``<name>/v<N>[:<tag>]``) in it."""
    return _snapshot_root_stamps(folder) is not None


def _snapshot_root_stamps(folder: str) -> Optional[dict[str, int]]:
    """The folders read to decide (with their mtimes) when ``folder`` is a snapshot root, else None."""
    try:
        with os.scandir(folder) as entries:
            names = [e for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
    except OSError:
        return None
    for entry in sorted(names, key=lambda e: e.name):
        try:
            with os.scandir(entry.path) as inner:
                if any(_VERSION_FOLDER.match(v.name) and v.is_dir(follow_symlinks=False) for v in inner):
                    return {folder: _mtime(folder), entry.path: _mtime(entry.path)}
        except OSError:
            continue
    return None


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def find(top: str, max_depth: int = MAX_DEPTH, max_folders: int = MAX_FOLDERS) -> list[str]:
    """Every snapshot root below ``top`` (``top`` itself when it is one), as absolute real paths.

    Served from the cache while no folder the last walk read has changed.
    """
    top = os.path.realpath(top)
    key = (top, max_depth, max_folders)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and all(_mtime(path) == stamp for path, stamp in cached[0].items()):
        return list(cached[1])
    stamps: dict[str, int] = {}
    found = _walk(top, max_depth, max_folders, stamps)
    with _cache_lock:
        _cache[key] = (stamps, found)
    return list(found)


def _walk(top: str, max_depth: int, max_folders: int, stamps: dict[str, int]) -> list[str]:
    found: list[str] = []
    seen: set[str] = set()
    level = [top]
    for depth in range(max_depth + 1):
        following: list[str] = []
        for folder in level:
            if len(stamps) >= max_folders:
                return sorted(found)
            real = os.path.realpath(folder)
            if real in seen or not visible_inside(top, real, resolved=True):
                continue  # a symlink loop, a link out of the walked folder or into a hidden one
            seen.add(real)
            if os.path.basename(real) == ROOT_NAME or folder == top:
                root_stamps = _snapshot_root_stamps(folder)
                if root_stamps is not None:
                    stamps.update(root_stamps)
                    found.append(real)
                    continue  # a root's own subfolders are snapshots, not more roots
            stamps[folder] = _mtime(folder)
            if depth == max_depth:
                continue
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.name.startswith(".") or entry.name in SKIPPED:
                            continue
                        try:
                            if entry.is_dir():
                                following.append(entry.path)
                        except OSError:
                            continue
            except OSError:
                continue
        level = sorted(following)
        if not level:
            break
    return sorted(found)


def clear_cache() -> None:
    """Forget every walk (tests, and a server whose settings changed)."""
    with _cache_lock:
        _cache.clear()
