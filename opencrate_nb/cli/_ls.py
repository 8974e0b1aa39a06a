"""``crate ls [NAME]``: the snapshot names, or the versions of one name."""

import argparse
import os

from ..core import _timelines, environment, refs
from ..core._names import check_name
from ..core.format import format_size, format_time
from . import _remote_ls
from ._output import command, emit, emit_json, table


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = command(
        commands,
        common,
        "ls",
        run,
        "list snapshot names, or the versions of one",
        "Without NAME: every snapshot name with its versions. With NAME: each version with its "
        "artifacts, size, run start and git commit.",
    )
    parser.add_argument("name", nargs="?", help="a snapshot name, or a remote URL (then a name may follow)")
    parser.add_argument("remote_name", nargs="?", metavar="NAME", help="with a URL: a snapshot name there")


def run(args: argparse.Namespace) -> int:
    if args.name is not None and "://" in args.name:
        return _remote_ls.run(args)
    if args.remote_name is not None:
        raise ValueError(f"crate ls takes one NAME (or a URL and a NAME); got {args.name!r} and {args.remote_name!r}.")
    if args.name is None:
        rows = [
            {"name": name, "versions": [r.folder for r in refs.list_versions(args.root, name)]}
            for name in refs.list_names(args.root)
        ]
        if args.json:
            emit_json(rows)
        elif not rows:
            emit(f"no snapshots under {args.root}")
        else:
            body = [(row["name"], len(row["versions"]), row["versions"][-1]) for row in rows]
            emit(table(["name", "versions", "newest"], body, right=(1,)))
        return 0
    name = check_name(args.name, "snapshot name")  # the spelling setup() stored
    rows = _remote_ls.mark_pushed(args.root, name, [version_row(ref) for ref in refs.iter_versions(args.root, name)])
    if args.json:
        emit_json(rows)
        return 0
    emit(versions_table(rows))
    return 0


def versions_table(rows: list) -> str:
    """The versions of one name as a table: artifacts, their size, when the last run started, git."""
    body = []
    for row in rows:
        git = row["git"] or {}
        commit = (git.get("commit") or "")[:10] + ("*" if git.get("dirty") else "")
        start = format_time(row["start"]) if row["start"] else ""
        body.append([row["version"], row["artifacts"], format_size(row["bytes"]), start, commit])
        if "remote" in row:  # a default remote is set (crate remote set)
            body[-1].append(row["remote"])
    header = ["version", "artifacts", "size", "last run", "commit"] + (
        ["remote"] if rows and "remote" in rows[0] else []
    )
    return table(header, body, right=(1, 2))


def version_row(ref):
    """One version as a dict: artifacts and bytes from its record, the last run's start and git."""
    current = _timelines.index_for(ref.dir_path).current
    run = environment.last_run(ref.dir_path) or {}
    return {
        "name": ref.name,
        "version": ref.folder,
        "number": ref.number,
        "tag": ref.tag,
        "path": os.path.abspath(ref.dir_path),
        "artifacts": len(current),
        "bytes": sum(entry.get("size") or 0 for entry in current.values()),
        "start": run.get("start"),
        "end": run.get("end"),
        "git": run.get("git"),
    }
