"""``crate stats [NAME] [VERSION]``: files, bytes and deduplication savings per version."""

import argparse

from ..core import gc, refs
from ._output import Progress, add_name, add_version, command, emit, emit_json, version_of


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = command(
        commands,
        common,
        "stats",
        run,
        "files, bytes and dedup savings",
        "Per version: current artifacts and their bytes, kept history contents, and the bytes "
        "saved by storing each content once.",
    )
    add_name(parser)
    add_version(parser, what="only this version of NAME")


def run(args: argparse.Namespace) -> int:
    version = version_of(args)
    if version is not None and args.name is None:
        raise ValueError(f"Version {version!r} of which snapshot? Give the name first: crate stats NAME {version}")
    if version is not None:
        ref = refs.resolve(version, name=args.name, root=args.root)
        result = gc.Stats()
        result.rows.append((ref, gc.version_stats(ref.dir_path)))
    else:
        result = gc.stats(args.root, name=args.name, progress=Progress("stats"))
    if args.json:
        emit_json(result.to_dict())
    else:
        emit(str(result))
    return 0
