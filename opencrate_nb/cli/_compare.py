"""``crate compare NAME``: every version side by side, only the configs and metrics that differ."""

import argparse
import sys

from ..core import compare
from ._output import add_name, command, emit_json, terminal_safe


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = command(
        commands,
        common,
        "compare",
        run,
        "compare every version: configs and metrics side by side",
        "One row per version (tag, created, duration, git commit, artifact count), then the config keys "
        "and metrics that differ between versions. Configs are JSON/YAML artifacts named like a config "
        "(config.yaml, params.json); metrics are the numbers of the other JSON artifacts and the last row "
        "of CSV histories (docs/compare.md).",
    )
    add_name(parser, optional=False)
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="print CSV (raw values: ISO times, seconds)")
    form.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--all", action="store_true", help="show every column, also those equal in all versions")
    parser.add_argument(
        "--ignore", action="append", default=[], metavar="PATTERN", help="leave out columns matching a glob (repeat)"
    )
    parser.add_argument("--sort", metavar="KEY", help="order the versions by a column; --sort=-KEY: descending")
    parser.add_argument(
        "--version",
        dest="versions",
        action="append",
        metavar="V",
        help="compare only these versions: 2, v2:tag, a tag (repeat; default: all)",
    )


def run(args: argparse.Namespace) -> int:
    result = compare.table(
        args.name, versions=args.versions, only_diff=not args.all, ignore=args.ignore, sort=args.sort, root=args.root
    )
    if args.json:
        emit_json(result.to_dict())
    elif args.csv:
        sys.stdout.write(result.to_csv())
    elif args.markdown:
        print(terminal_safe(result.to_markdown()))
    else:
        print(terminal_safe(result.to_text()))
    return 0
