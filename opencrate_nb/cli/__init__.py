"""``crate``: the command-line tool over a snapshots folder.

    crate ls | log | show | diff | compare | verify | gc | stats | notebook | reproduce | push | pull | remote
    (crate COMMAND --help for each)

One module per command; each has ``add_parser(commands, common)`` and ``run(args)``
returning the exit status. Every command takes ``--root`` (default ``snapshots``) and
``--json`` (machine-readable output on stdout); progress goes to stderr.
"""

import argparse
import os
import sys

from . import _compare, _diff, _gc, _log, _ls, _notebook, _pull, _push, _remote, _reproduce, _show, _stats, _verify
from ._output import fail

COMMANDS = (_ls, _log, _show, _diff, _compare, _verify, _gc, _stats, _notebook, _reproduce, _push, _pull, _remote)


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root", default=argparse.SUPPRESS, help="folder that holds the snapshots (default: snapshots)"
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON on stdout"
    )
    parser = argparse.ArgumentParser(
        prog="crate",
        parents=[common],
        description="Browse, compare, check and clean up opencrate snapshots (runs and their artifacts).",
        epilog="Run 'crate COMMAND --help' for the options of one command.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for module in COMMANDS:
        module.add_parser(commands, common)
    return parser


def main(argv=None):
    """Entry point of the ``crate`` script; returns the exit status (0 ok, 1 problems found, 2 error)."""
    args = build_parser().parse_args(argv)
    args.root = getattr(args, "root", "snapshots")
    args.json = getattr(args, "json", False)
    from ..core._printable import escape_on
    from ..core.errors import OpenCrateError

    escape_on(sys.stdout)  # a file name that is not UTF-8 prints as odd\xff.json
    escape_on(sys.stderr)

    try:
        return args.run(args)
    except (OpenCrateError, FileNotFoundError, KeyError, ValueError) as exc:
        return fail(exc)
    except BrokenPipeError:  # e.g. `crate log x | head`: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
