"""``crate diff NAME A B``: what changed between two versions."""

from ..core import diff
from ._output import add_name, command, emit_json


def add_parser(commands, common):
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
    parser.add_argument("a", help="version: 2, v2, v2:tag, a tag, or other_name/v1")
    parser.add_argument("b", help="version to compare with A (same forms)")


def run(args):
    result = diff.diff(args.a, args.b, root=args.root, name=args.name)
    if args.json:
        emit_json(result.to_dict())
    else:
        print(result)
    return 0
