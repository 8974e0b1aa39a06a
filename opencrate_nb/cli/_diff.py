"""``crate diff NAME A B``: what changed between two versions."""

import argparse

from ..core import diff
from ._output import add_name, command, emit_json, paint, terminal_safe

#: the colour of a line of the diff by its first mark: added, removed, changed
MARKS = {"+": "green", "-": "red", "~": "yellow", "@": "cyan"}


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = command(
        commands,
        common,
        "diff",
        run,
        "compare two versions",
        "Artifacts added, removed and changed between versions A and B, with what changed inside "
        "(JSON keys, CSV cells, text lines, tensor shapes...), run environment and run log "
        "differences.",
    )
    add_name(parser, optional=False)
    parser.add_argument("a", help="version: 3, v3, v3:tag, a tag, -1 (the newest), or other_name/v1")
    parser.add_argument("b", help="version to compare with A (same forms)")


def run(args: argparse.Namespace) -> int:
    result = diff.diff(args.a, args.b, root=args.root, name=args.name)
    if args.json:
        emit_json(result.to_dict())
    else:
        print("\n".join(_coloured(line) for line in terminal_safe(str(result)).split("\n")))
    return 0


def _coloured(line: str) -> str:
    """A diff line with its mark's colour (only on a terminal: see paint)."""
    body = line.lstrip(" ")
    if not body or body.startswith(("+++", "---")):
        return line
    return line[: len(line) - len(body)] + paint(body, MARKS.get(body[0]))
