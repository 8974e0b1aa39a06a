"""``crate verify [NAME] [VERSION]``: re-hash artifacts against the record; exit 1 when anything is wrong."""

import argparse

from ..core import verify
from ._output import Progress, add_name, add_version, command, emit_json, paint, terminal_safe, version_of


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = command(
        commands,
        common,
        "verify",
        run,
        "check artifacts against the record",
        "Re-hash every artifact (and kept history content) and compare with the record. Reports "
        "corrupted, missing and untracked files. Exit status 1 when anything is wrong.",
    )
    add_name(parser)
    add_version(parser, what="only this version of NAME")
    parser.add_argument("--no-history", action="store_true", help="do not re-hash kept history contents")
    parser.add_argument("--repair", action="store_true", help="first finish or undo changes a killed process left")


def run(args: argparse.Namespace) -> int:
    options = {"history_contents": not args.no_history, "progress": Progress("verify"), "repair": args.repair}
    version = version_of(args)
    if version is not None and args.name is None:
        raise ValueError(f"Version {version!r} of which snapshot? Give the name first: crate verify NAME {version}")
    if version is not None:
        report = verify.verify(version, name=args.name, root=args.root, **options)
    else:
        report = verify.verify_all(args.root, args.name, **options)
    if args.json:
        emit_json(report.to_dict())
    else:
        headline, *problems = terminal_safe(str(report)).split("\n")
        print("\n".join([paint(headline, "green" if report.ok else "red"), *problems]))
    return 0 if report.ok else 1
