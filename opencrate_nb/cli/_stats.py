"""``crate stats [NAME]``: files, bytes and deduplication savings per version."""

from ..core import gc
from ._output import Progress, add_name, command, emit_json


def add_parser(commands, common):
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


def run(args):
    result = gc.stats(args.root, name=args.name, progress=Progress("stats"))
    if args.json:
        emit_json(result.to_dict())
    else:
        print(result)
    return 0
