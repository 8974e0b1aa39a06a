"""``crate verify [NAME]``: re-hash artifacts against the record; exit 1 when anything is wrong."""

from ..core import verify
from ._output import Progress, add_name, command, emit_json


def add_parser(commands, common):
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
    parser.add_argument("--version", help="only this version of NAME (2, v2, v2:tag, a tag, last)")
    parser.add_argument("--no-history", action="store_true", help="do not re-hash kept history contents")
    parser.add_argument("--repair", action="store_true", help="first finish or undo changes a killed process left")


def run(args):
    options = {"history_contents": not args.no_history, "progress": Progress("verify"), "repair": args.repair}
    if args.version is not None:
        report = verify.verify(args.version, name=args.name, root=args.root, **options)
    else:
        report = verify.verify_all(args.root, args.name, **options)
    if args.json:
        emit_json(report.to_dict())
    else:
        print(report)
    return 0 if report.ok else 1
