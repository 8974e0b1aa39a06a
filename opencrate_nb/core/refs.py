"""Naming a version: ``3``, ``-1`` (the newest), ``"v1"``, ``"v1:major-update"``, a tag alone
(``"major-update"``), ``"last"``, or any of those after a snapshot name: ``"other_name/v2"``.

A reference never picks silently between folders: a number (``0``, ``"0"``) or a tagless
``"v0"`` that matches several folders (``v0`` and ``v0:try``) is an error that lists how to
name each one, except that ``"v0"`` written out is the untagged folder ``v0`` when it exists
(that is its exact name). Negative numbers count positions in the sorted list of folders.

Used by diff, verify, the CLI and the notebook layer.
"""

import os

from . import versions
from ._names import check_name, stored_spelling
from .errors import InvalidNameError, OpenCrateError

DEFAULT_ROOT = "snapshots"


class VersionNotFoundError(OpenCrateError, LookupError):
    """A version reference that matches no version folder (or several)."""


class VersionRef:
    """One resolved version folder: ``root``, ``name``, ``folder`` (``v1:tag``), ``number``, ``tag``."""

    __slots__ = ("root", "name", "folder", "number", "tag")

    def __init__(self, root, name, folder, number, tag):
        self.root, self.name, self.folder, self.number, self.tag = root, name, folder, number, tag

    @property
    def dir_path(self):
        return os.path.join(self.root, self.name, self.folder)

    @property
    def label(self):
        return f"{self.name}/{self.folder}"

    def to_dict(self):
        return {
            "root": self.root,
            "name": self.name,
            "version": self.folder,
            "number": self.number,
            "tag": self.tag,
            "dir_path": self.dir_path,
        }

    def __eq__(self, other):
        return isinstance(other, VersionRef) and os.path.abspath(self.dir_path) == os.path.abspath(other.dir_path)

    def __hash__(self):
        return hash(os.path.abspath(self.dir_path))

    def __repr__(self):
        return f"<VersionRef {self.label}>"


def list_names(root=DEFAULT_ROOT):
    """Snapshot names under ``root`` (folders holding at least one version folder), sorted."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    names = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        if versions.list_folders(entry.path):
            names.append(entry.name)
    return names


def list_versions(root, name):
    """:class:`VersionRef` of every version of ``name``, oldest first."""
    return [
        VersionRef(root, name, folder, number, tag)
        for number, tag, folder in versions.list_folders(os.path.join(root, name))
    ]


def iter_versions(root=DEFAULT_ROOT, name=None):
    """Every :class:`VersionRef` of snapshot ``name``, or of every name under ``root``."""
    if name is not None:
        name = check_name(name, "snapshot name")  # the spelling setup() stored
    if name is not None and not versions.list_folders(os.path.join(root, name)):
        raise VersionNotFoundError(
            f"No snapshot named {name!r} under {root!r}. Names: {', '.join(list_names(root)) or 'none'}."
        )
    return [ref for each in ([name] if name is not None else list_names(root)) for ref in list_versions(root, each)]


def resolve(ref, name=None, root=None):
    """A :class:`VersionRef` for ``ref`` (see the module doc). ``name`` is used when ``ref`` has none."""
    root = os.fspath(root) if root is not None else DEFAULT_ROOT
    if isinstance(ref, VersionRef):
        return ref
    if isinstance(ref, bool):
        raise InvalidNameError(f"Invalid version {ref!r}: use a number, 'v1', 'v1:tag' or 'name/v1'.")
    text = ref
    if isinstance(ref, str):
        text = ref.strip(" ")  # spaces only: every other character reaches the name check below
        if "/" in text:
            name, _, text = text.partition("/")
            if not name:
                raise InvalidNameError(f"Invalid version {ref!r}: the part before '/' is the snapshot name.")
            text = text or "last"
    if not name:
        raise InvalidNameError(
            f"Which snapshot does version {ref!r} belong to? Set one up with oc.snapshot.setup(name=...), "
            "or write 'name/version' (e.g. 'my_run/v2')."
        )
    name = check_name(name, "snapshot name")  # the spelling setup() stored
    if isinstance(text, str):
        text = check_name(text, "version")
    found = versions.list_folders(os.path.join(root, name))
    if not found:
        raise VersionNotFoundError(
            f"No snapshot named {name!r} under {root!r} (no version folders in {os.path.join(root, name)})."
        )
    available = ", ".join(item[2] for item in found)
    if text is None or text == "last":
        text = -1
    if isinstance(text, str) and text.lstrip("-").isdigit():
        text = int(text)
    if isinstance(text, int):
        if text < 0:
            if -text > len(found):
                raise VersionNotFoundError(
                    f"{name!r} has {len(found)} version(s); {ref!r} is out of range. Versions: {available}."
                )
            number, tag, folder = found[text]
            return VersionRef(root, name, folder, number, tag)
        matches = [item for item in found if item[0] == text]
        return _one(matches, ref, root, name, available)
    if not isinstance(text, str):
        raise InvalidNameError(f"Invalid version {ref!r}: use a number, 'v1', 'v1:tag' or 'name/v1'.")
    # Folders are matched by the spelling setup() would store them under, so that one written in
    # another spelling (a decomposed tag, by an opencrate that did not normalise tags) is still
    # found; the ref keeps the folder's own name.
    exact = [item for item in found if stored_spelling(item[2]) == text]
    if exact:
        return _one(exact, ref, root, name, available)
    parsed = versions.parse_folder(text)
    if parsed is not None:
        number, tag = parsed
        matches = [item for item in found if item[0] == number and (tag is None or stored_spelling(item[1]) == tag)]
        return _one(matches, ref, root, name, available)
    matches = [item for item in found if stored_spelling(item[1]) == text]  # a tag alone
    return _one(matches, ref, root, name, available)


def _one(matches, ref, root, name, available):
    """The one match of ``ref``; several are an error that lists how to name each (never a silent pick)."""
    if not matches:
        raise VersionNotFoundError(f"{name!r} has no version {ref!r}. Versions: {available}.")
    if len(matches) > 1:
        choices = " or ".join(repr(item[2]) for item in matches)
        raise VersionNotFoundError(
            f"Version {ref} of {name!r} is ambiguous: it matches {len(matches)} folders. Name one of them: {choices}."
        )
    number, tag, folder = matches[0]
    return VersionRef(root, name, folder, number, tag)
