"""``oc.io``: look at folders, and save/load single files with the built-in handlers.

``oc.io.<kind>.save(obj, path)`` / ``.load(path)`` work on any path (custom handlers
use them); saves are atomic like artifact saves but are not written to the record.
"""

import html
import os
import sys
from dataclasses import dataclass
from typing import Any, Optional, TextIO, Union

from . import _terminal, _writer, handlers
from .format import format_size, format_time

_TEE, _LAST, _PIPE, _GAP = "├── ", "└── ", "│   ", "    "


def list_files_in_dir(path):
    """Names (not paths) of the visible files directly in ``path``, sorted."""
    if not os.path.isdir(path):
        raise FileNotFoundError(f"Not a folder: {path!r}.")
    with os.scandir(path) as entries:
        return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_file())


def show_files_in_dir(
    path: Union[str, "os.PathLike[str]"],
    depth: Optional[int] = None,
    verbose: bool = False,
    file: Optional[TextIO] = None,
) -> None:
    """Print the tree below ``path``, ``depth`` levels deep, as the OpenCrate guide shows it.

    The tree starts with the folder's own name; ``verbose`` annotates every file and folder with
    its modification time and size (a folder's: the total of the files below it), dimmed on a
    terminal. In a notebook the tree is a rich display (HTML, with this text as its plain
    fallback). Hidden entries (the ``.crate`` bookkeeping, temporary files) are not shown.
    """
    tree = file_tree(path, depth=depth, verbose=verbose)
    display = _terminal.kernel_display() if file is None else None
    if display is not None:
        display(tree)
        return
    out = file or sys.stdout
    out.write(tree.text(colour=_terminal.wants_colour(out)) + "\n")


@dataclass(frozen=True)
class TreeLine:
    """One line of a folder tree: the guide characters before it, the name, and the verbose annotation."""

    prefix: str
    name: str
    note: str  #: "(2026-12-01 08:22, 45.6 KB)" with verbose, else ""
    is_dir: bool


@dataclass(frozen=True)
class FileTree:
    """A folder tree as ``show_files_in_dir`` shows it; a notebook displays it as HTML with a text fallback."""

    lines: tuple[TreeLine, ...]

    def text(self, colour: bool = False) -> str:
        """The tree as lines of text; ``colour`` dims the annotations with ANSI codes."""
        return "\n".join(
            line.prefix + line.name + (" " + _terminal.dim(line.note, colour) if line.note else "")
            for line in self.lines
        )

    def html(self) -> str:
        """The same tree in a ``<pre>``: names escaped, folders bold, annotations dimmed."""
        rows = []
        for line in self.lines:
            name = html.escape(line.name)
            row = f'<span style="opacity:0.55">{html.escape(line.prefix)}</span>' if line.prefix else ""
            row += f"<b>{name}</b>" if line.is_dir else name
            if line.note:
                row += f' <span style="opacity:0.55">{html.escape(line.note)}</span>'
            rows.append(row)
        return '<pre class="oc-file-tree" style="line-height:1.35">' + "\n".join(rows) + "</pre>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self.html()}

    def __str__(self) -> str:
        return self.text()


def file_tree(path: Union[str, "os.PathLike[str]"], depth: Optional[int] = None, verbose: bool = False) -> FileTree:
    """The tree of ``path`` (see ``show_files_in_dir``), checked before anything is read."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Nothing at {path!r} to show.")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"depth must be a whole number >= 0 or None, got {depth!r}.")
    is_dir = os.path.isdir(path)
    lines = [TreeLine("", _own_name(path), _note(path, is_dir) if verbose else "", is_dir)]
    if is_dir:
        _walk(path, "", depth, verbose, lines)
    return FileTree(tuple(lines))


def _own_name(path: str) -> str:
    """'snapshots' for 'snapshots/', 'checkpoints' for a whole path ending in it; the folder's name for '.'."""
    name = os.path.basename(os.path.normpath(path))
    if name in ("", ".", ".."):
        name = os.path.basename(os.path.abspath(path)) or os.path.abspath(path)
    return name


def _walk(folder: str, prefix: str, depth: Optional[int], verbose: bool, lines: list[TreeLine]) -> None:
    if depth is not None and depth <= 0:
        return
    try:
        with os.scandir(folder) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: (not e.is_dir(), e.name))
    except PermissionError:
        lines.append(TreeLine(prefix + _LAST, "(permission denied)", "", False))
        return
    for index, entry in enumerate(entries):
        last = index == len(entries) - 1
        is_dir = entry.is_dir()
        lines.append(
            TreeLine(
                prefix + (_LAST if last else _TEE), entry.name, _note(entry.path, is_dir) if verbose else "", is_dir
            )
        )
        if entry.is_dir(follow_symlinks=False):
            _walk(entry.path, prefix + (_GAP if last else _PIPE), None if depth is None else depth - 1, verbose, lines)


def _note(path: str, is_dir: bool) -> str:
    """'(2026-12-01 08:22, 45.6 KB)': modification time to the minute, then the size (a folder's total)."""
    try:
        stat = os.stat(path)
    except OSError:
        return "(?)"
    size = _folder_size(path) if is_dir else stat.st_size
    return f"({format_time(stat.st_mtime)[:16]}, {format_size(size)})"


def _folder_size(folder: str) -> int:
    """The bytes of the visible files below ``folder`` (hidden entries and symlinked folders left out)."""
    total = 0
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        total += _folder_size(entry.path)
                    elif entry.is_file():
                        total += entry.stat().st_size
                except OSError:
                    continue
    except OSError:
        pass
    return total


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
