"""``crate gc [NAME]``: remove history contents beyond retention and leftovers of interrupted saves."""

import argparse

from ..core import gc
from ..core.format import format_size, plural
from ._output import Progress, add_name, command, emit, emit_json, table


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace) -> int:
    if args.keep is not None and args.keep < 0:
        raise ValueError(f"--keep must be 0 or more, got {args.keep}.")
    report = gc.collect(
        args.root, name=args.name, dry_run=not args.yes, min_age=args.min_age, keep=args.keep, progress=Progress("gc")
    )
    if args.json:
        emit_json(report.to_dict())
    else:
        emit(report_text(report))
    return 0


def report_text(report: gc.GcReport) -> str:
    """What gc removed or would remove, as a table of reason, size and path, then its notes."""
    verb = "would remove" if report.dry_run else "removed"
    lines = [f"gc {verb} {plural(len(report.items), 'item')} ({format_size(report.bytes)})"]
    if report.items:
        rows = [(item.reason, format_size(item.size), item.path) for item in report.items]
        lines += ["  " + line for line in table(["reason", "size", "path"], rows, right=(1,)).splitlines()]
    lines += [f"  note: {note}" for note in report.notes]
    if report.dry_run and report.items:
        lines.append("nothing was removed (a dry run): run again with --yes to remove them")
    return "\n".join(lines)
