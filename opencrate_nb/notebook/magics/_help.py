"""``%crate help``: the overview of every subcommand, and one subcommand's help."""

import argparse
import difflib
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from ._cell_save import cell_save
from ._registry import SUBCOMMANDS, command


def overview() -> str:
    """Every subcommand with its synopsis, then the cell magic: the text of ``%crate`` and ``%crate?``."""
    lines = ["%crate SUBCOMMAND [options]: drive opencrate snapshots from the notebook.", "", "Subcommands:"]
    for sub in SUBCOMMANDS.values():
        lines.append(f"  {sub.usage}")
        lines.append(f"      {sub.summary}")
    cell_usage = cell_save.parser.format_usage().strip()[len("usage: ") :]
    lines += [
        "",
        "Cell magic:",
        f"  {cell_usage}",
        "      Run the cell and save the value of its last expression (--raw: the cell's text).",
        "",
        "Artifacts are named by file name (metrics.json); the suffix gives the kind, or --kind KIND.",
        "%crate help SUBCOMMAND (or %crate SUBCOMMAND --help) explains one subcommand.",
    ]
    return "\n".join(lines)


def unknown_subcommand(sub: str) -> UsageError:
    """The error for a subcommand that does not exist, with the closest one when there is one."""
    names = list(SUBCOMMANDS)
    close = difflib.get_close_matches(sub, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return UsageError(f"Unknown %crate subcommand {sub!r}.{hint} %crate help lists them: {', '.join(names)}.")


@command("help [SUBCOMMAND]")
@magic_arguments()
@argument("subcommand", metavar="SUBCOMMAND", nargs="?", default=None, help="a subcommand to explain")
def cmd_help(magics: Any, args: argparse.Namespace) -> None:
    """List the subcommands, or explain one."""
    if args.subcommand is None:
        print(overview())
        return
    if args.subcommand not in SUBCOMMANDS:
        raise unknown_subcommand(args.subcommand)
    print(SUBCOMMANDS[args.subcommand].help)
