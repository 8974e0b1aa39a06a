"""``crate ls URL [NAME]``: what a remote holds; and the pushed marks of ``crate ls NAME``."""

import argparse
import sys

from ..core import remote
from ..core.format import format_size
from ._output import emit_json, table


def run(args: argparse.Namespace) -> int:
    """``crate ls URL`` (names and versions at a remote) or ``crate ls URL NAME`` (its versions)."""
    with remote.shown_errors(args.name):
        rows = remote.list_remote(args.name, args.remote_name)
    if args.json:
        emit_json(rows)
        return 0
    if args.remote_name is None:
        shown = remote.redact(args.name)
        if not rows:
            print(f"no snapshots at {shown}")
        for row in rows:
            print(f"{row['name']:<30} {len(row['versions']):>3} version(s)  latest {row['versions'][-1]}")
        return 0
    body = [
        [r["version"], r["artifacts"], format_size(r["bytes"]), r["files"], format_size(r["stored_bytes"])]
        for r in rows
    ]
    print(table(["version", "artifacts", "size", "files", "stored"], body, right=(1, 2, 3, 4)))
    return 0


def mark_pushed(root: str, name: str, rows: list) -> list:
    """Add ``remote`` ("pushed", "differs" or "") to each version row when the root has a default remote."""
    url = remote.default_remote(root)
    if url is None:
        return rows
    try:
        marks = remote.push_marks(root, name, url)
    except (OSError, remote.RemoteError) as exc:
        print(f"crate: warning: could not read the default remote {remote.redact(url)}: {exc}", file=sys.stderr)
        marks = {}
    for row in rows:
        row["remote"] = marks.get(row["version"], "?")
    return rows
