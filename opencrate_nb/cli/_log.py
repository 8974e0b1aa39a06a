"""``crate log NAME [--version V] [--history]``: print a version's run log."""

import os

from ..core import refs
from ._output import add_name, command, emit_json


def add_parser(commands, common):
    parser = command(
        commands,
        common,
        "log",
        run,
        "print the run log of a version",
        "Print <name>.log of a version (the newest by default), or <name>.history.log (every run "
        "of it) with --history.",
    )
    add_name(parser, optional=False)
    parser.add_argument("--version", default="last", help="version: 2, v2, v2:tag, a tag, or last (default)")
    parser.add_argument("--history", action="store_true", help="the history log: every run of this version")
    parser.add_argument("-n", "--lines", type=int, default=None, help="only the last N lines")


def run(args):
    ref = refs.resolve(args.version, name=args.name, root=args.root)
    file = f"{ref.name}.history.log" if args.history else f"{ref.name}.log"
    path = os.path.join(ref.dir_path, file)
    if not os.path.exists(path):
        hint = " (it starts when a version is run a second time)" if args.history else ""
        raise FileNotFoundError(f"{ref.label} has no {file}{hint}.")
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    if args.lines is not None:
        lines = lines[-args.lines :] if args.lines > 0 else []
    if args.json:
        emit_json({"version": ref.to_dict(), "path": path, "lines": lines})
    else:
        print("\n".join(lines))
    return 0
