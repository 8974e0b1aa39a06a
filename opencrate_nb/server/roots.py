"""Every snapshot root the sidebar shows, and the one a request is about.

The roots are: the configured ``OpenCrate.snapshot_root`` (shown even while empty, so that
the sidebar can say where snapshots will appear), the folders of ``OpenCrate.snapshot_roots``,
and, with ``OpenCrate.discover_roots``, every folder named ``snapshots`` holding versions
below the server root (``core.roots``). ``GET tree`` answers them all: the configured root's
tree as before, with the others in its ``roots`` list (its ETag stamps them all)::

    {"root", "base", "fingerprint", "snapshots": [...], "roots": [{"root", "base", "fingerprint", "snapshots"}, ...]}

and every other request names its root with ``?root=<its base>`` (the root's path relative to
the server root; no argument: the configured root). A ``root`` that is not one of these is
refused, so a request can never turn an arbitrary folder into a root.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Optional

from ..core import catalog
from ..core import roots as core_roots
from . import api


def snapshot_roots(server_root: str, configured: str, extra: Sequence[str] = (), discover: bool = True) -> list[str]:
    """The absolute snapshot roots, the configured one first, then by path; each once."""
    first = api.snapshot_root(server_root, configured)
    chosen = [first]
    for folder in extra:
        root = api.snapshot_root(server_root, folder)
        if os.path.isdir(root):
            chosen.append(root)
    if discover and os.path.isdir(server_root):
        chosen.extend(core_roots.find(server_root))
    unique: list[str] = []
    for root in chosen:
        if root not in unique:
            unique.append(root)
    return [first, *sorted(unique[1:])]


def pick(roots: Sequence[str], server_root: str, base: Optional[str]) -> str:
    """The root a request names by its ``base`` (no base: the configured root, which is first)."""
    if not base:
        return roots[0]
    for root in roots:
        if api.base_path(server_root, root) == base.strip("/"):
            return root
    raise api.ApiError(
        404,
        f"No snapshot root {base!r}: pass ?root= one of the bases GET tree lists "
        f"({', '.join(repr(api.base_path(server_root, r)) for r in roots)}).",
    )


def fingerprints(roots: Sequence[str]) -> tuple[str, list[str]]:
    """One stamp for them all (it changes when a root appears or goes, or any root's tree changes),
    and each root's own stamp (``catalog.fingerprint``)."""
    digest = hashlib.sha1(usedforsecurity=False)
    stamps = []
    for root in roots:
        stamp = catalog.fingerprint(root)
        stamps.append(stamp)
        digest.update(root.encode("utf-8", "surrogateescape") + b"\0" + stamp.encode() + b"\0")
    if len(stamps) == 1:
        return stamps[0], stamps  # one root: its own stamp, as before there were several
    return digest.hexdigest()[:20], stamps


def tree_json(roots: Sequence[str], stamps: Sequence[str], server_root: str, stamp: str) -> bytes:
    """The configured root's tree (as ``api.tree_json`` gives it, cached per root) with the other
    roots' trees in its ``roots`` list: a client that knows one root reads the same fields as before."""
    first, *others = [api.tree_json(root, server_root, root_stamp) for root, root_stamp in zip(roots, stamps)]
    if stamp != stamps[0]:  # the top-level fingerprint is the ETag's: it stamps every root
        first = first.replace(f'"fingerprint":"{stamps[0]}"'.encode(), f'"fingerprint":"{stamp}"'.encode(), 1)
    return first[:-1] + b',"roots":[' + b",".join(others) + b"]}"
