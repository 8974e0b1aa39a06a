"""``crate log NAME [VERSION]``: print a version's run log, entry by entry."""

import argparse
import os

from ..core import log, refs
from ._output import LEVEL_COLOURS, add_name, command, emit_json, paint, terminal_safe, version_of

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
    parser.add_argument(
        "version", nargs="?", default=None, help="version: 3, v3, v3:tag, a tag, -1 or last (the newest, the default)"
    )
    parser.add_argument("--version", dest="version_option", default=None, help=argparse.SUPPRESS)  # the old spelling
    parser.add_argument("--history", action="store_true", help="the history log: every run of this version")
    parser.add_argument(
        "-n", "--entries", type=int, default=0, metavar="N", help="only the last N entries (default: all)"
    )
    parser.add_argument("--level", choices=log.LEVELS, default=None, help="only entries at LEVEL or above")


def run(args: argparse.Namespace) -> int:
    ref = refs.resolve(version_of(args) or DEFAULT_VERSION, name=args.name, root=args.root)
    file = f"{ref.name}.history.log" if args.history else f"{ref.name}.log"
    path = os.path.join(ref.dir_path, file)
    if not os.path.exists(path):
        hint = " (it starts when a version is run a second time)" if args.history else ""
        raise FileNotFoundError(f"{ref.label} has no {file}{hint}.")
    entries = log.select_entries(log.read_entries(path), level=args.level, last=args.entries)
    if args.json:
        emit_json({"version": ref.to_dict(), "path": path, "entries": [e.to_dict() for e in entries]})
    elif entries:
        print("\n".join(entry_text(e) for e in entries))
    return 0


def entry_text(entry: log.LogEntry) -> str:
    """One entry as the terminal shows it: stored text made safe, its level coloured (on a terminal)."""
    text = terminal_safe(entry.text)
    colour = LEVEL_COLOURS.get(entry.level or "")
    if colour is None:
        return text
    marker = f" - {entry.level}"
    return text.replace(marker, f" - {paint(entry.level or '', colour)}", 1)
