"""``oc.io``: look at folders, and save/load single files with the built-in handlers.

``oc.io.<kind>.save(obj, path)`` / ``.load(path)`` work on any path (custom handlers
use them); saves are atomic like artifact saves but are not written to the record.
"""

import os
import sys

from . import _writer, handlers
from .format import format_size, format_time

_TEE, _LAST, _PIPE, _GAP = "├── ", "└── ", "│   ", "    "


def list_files_in_dir(path):
    """Names (not paths) of the visible files directly in ``path``, sorted."""
    if not os.path.isdir(path):
        raise FileNotFoundError(f"Not a folder: {path!r}.")
    with os.scandir(path) as entries:
        return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_file())


def show_files_in_dir(path, depth=None, verbose=False, file=None):
    """Print the tree below ``path``, ``depth`` levels deep; ``verbose`` adds sizes and modification times.

    Hidden entries (the ``.crate`` bookkeeping, temporary files) are not shown.
    """
    out = file or sys.stdout
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Nothing at {path!r} to show.")
    if depth is not None and (not isinstance(depth, int) or depth < 0):
        raise ValueError(f"depth must be a whole number >= 0 or None, got {depth!r}.")
    lines = [_label(path, os.path.basename(os.path.normpath(path)) or path, verbose, top=True)]
    if os.path.isdir(path):
        _walk(path, "", depth, verbose, lines)
    out.write("\n".join(lines) + "\n")


def _walk(folder, prefix, depth, verbose, lines):
    if depth is not None and depth <= 0:
        return
    try:
        with os.scandir(folder) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: (not e.is_dir(), e.name))
    except PermissionError:
        lines.append(prefix + _LAST + "(permission denied)")
        return
    for index, entry in enumerate(entries):
        last = index == len(entries) - 1
        lines.append(prefix + (_LAST if last else _TEE) + _label(entry.path, entry.name, verbose))
        if entry.is_dir(follow_symlinks=False):
            _walk(entry.path, prefix + (_GAP if last else _PIPE), None if depth is None else depth - 1, verbose, lines)


def _label(path, name, verbose, top=False):
    is_dir = os.path.isdir(path)
    text = (path if top else name) + ("/" if is_dir and not (path if top else name).endswith("/") else "")
    if verbose and not is_dir:
        stat = os.stat(path)
        text += f"  ({format_size(stat.st_size)}, {format_time(stat.st_mtime)})"
    return text


class _KindIO:
    """``oc.io.<kind>``: the kind's handler on explicit paths."""

    def __init__(self, kind):
        self._kind = kind

    @property
    def handler(self):
        return handlers.get_handler(self._kind)

    def save(self, obj, path, *args, **kwargs):
        path = os.fspath(path)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        _writer.write(self.handler, obj, path, args, kwargs)

    def load(self, path, *args, **kwargs):
        return self.handler.load(os.fspath(path), *args, **kwargs)

    def describe(self, path):
        return self.handler.describe(os.fspath(path))

    def __repr__(self):
        return f"<oc.io.{self._kind}: save(obj, path) / load(path)>"


class _IO:
    """The ``oc.io`` namespace."""

    list_files_in_dir = staticmethod(list_files_in_dir)
    show_files_in_dir = staticmethod(show_files_in_dir)
    format_size = staticmethod(format_size)

    def __getattr__(self, kind):
        if kind.startswith("_") or handlers.get_handler(kind) is None:
            raise AttributeError(
                f"oc.io has no attribute {kind!r}. It has show_files_in_dir, list_files_in_dir and one "
                f"namespace per kind: {', '.join(handlers.builtin_kinds())}."
            )
        value = _KindIO(kind)
        setattr(self, kind, value)
        return value

    def __dir__(self):
        return ["list_files_in_dir", "show_files_in_dir", "format_size", *handlers.builtin_kinds()]


io = _IO()
