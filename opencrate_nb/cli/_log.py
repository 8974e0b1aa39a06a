"""``crate log NAME [VERSION]``: print a version's run log, entry by entry."""

import argparse
import os

from ..core import log, refs
from ._output import add_name, command, emit_json, terminal_safe

DEFAULT_VERSION = "last"


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = command(
        commands,
        common,
        "log",
        run,
        "print the run log of a version",
        "Print <name>.log of a version (the newest by default), or <name>.history.log (every run "
        "of it) with --history. An entry is one logged message with the lines that continue it "
        "(a traceback, a cell's captured output).",
    )
    add_name(parser, optional=False)
    parser.add_argument("version", nargs="?", default=None, help="version: 2, v2, v2:tag, a tag, or last (the default)")
    parser.add_argument("--version", dest="version_option", default=None, help=argparse.SUPPRESS)  # the old spelling
    parser.add_argument("--history", action="store_true", help="the history log: every run of this version")
    parser.add_argument(
        "-n", "--entries", type=int, default=0, metavar="N", help="only the last N entries (default: all)"
    )
    parser.add_argument("--level", choices=log.LEVELS, default=None, help="only entries at LEVEL or above")


def run(args: argparse.Namespace) -> int:
    if args.version is not None and args.version_option is not None and args.version != args.version_option:
        raise ValueError(f"Two versions given ({args.version!r} and --version {args.version_option!r}): give one.")
    ref = refs.resolve(args.version or args.version_option or DEFAULT_VERSION, name=args.name, root=args.root)
    file = f"{ref.name}.history.log" if args.history else f"{ref.name}.log"
    path = os.path.join(ref.dir_path, file)
    if not os.path.exists(path):
        hint = " (it starts when a version is run a second time)" if args.history else ""
        raise FileNotFoundError(f"{ref.label} has no {file}{hint}.")
    entries = log.select_entries(log.read_entries(path), level=args.level, last=args.entries)
    if args.json:
        emit_json({"version": ref.to_dict(), "path": path, "entries": [e.to_dict() for e in entries]})
    elif entries:
        print(terminal_safe("\n".join(e.text for e in entries)))
    return 0
