"""``crate gc [NAME]``: remove history contents beyond retention and leftovers of interrupted saves."""

from ..core import gc
from ._output import Progress, add_name, command, emit_json


def add_parser(commands, common):
    parser = command(
        commands,
        common,
        "gc",
        run,
        "clean up (a dry run unless --yes)",
        "List, and with --yes remove, history contents beyond retention or unreferenced, and "
        "leftovers of interrupted saves, deletes and loads. Leftovers younger than --min-age are "
        "kept: a save may still need them.",
    )
    add_name(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="only list what would be removed (the default)")
    mode.add_argument("--yes", "-y", action="store_true", help="really remove")
    parser.add_argument(
        "--min-age",
        type=float,
        default=gc.DEFAULT_MIN_AGE,
        metavar="SECONDS",
        help=f"keep leftovers younger than this (default {gc.DEFAULT_MIN_AGE:.0f})",
    )
    parser.add_argument(
        "--keep",
        type=int,
        default=None,
        metavar="N",
        help="earlier contents kept per artifact (default: the history setting)",
    )


def run(args):
    if args.keep is not None and args.keep < 0:
        raise ValueError(f"--keep must be 0 or more, got {args.keep}.")
    report = gc.collect(
        args.root, name=args.name, dry_run=not args.yes, min_age=args.min_age, keep=args.keep, progress=Progress("gc")
    )
    if args.json:
        emit_json(report.to_dict())
    else:
        print(report)
        if report.dry_run and report.items:
            print("run again with --yes to remove them")
    return 0
