"""``crate reproduce NAME VERSION [--gather ARTIFACT] [--rtol X]``: re-run a version, compare what it saved."""

import sys

from ._output import add_name, command, emit_json, terminal_safe


def add_parser(commands, common):
    from ..reproduce import DEFAULT_RTOL, DEFAULT_TIMEOUT

    parser = command(
        commands,
        common,
        "reproduce",
        run,
        "re-run a version in a fresh kernel and compare",
        "Re-execute the run notebook of VERSION (or, with --gather, the cells one artifact depended on) "
        "in a new kernel, into a new version tagged repro-of-v<N>; then report per artifact: identical, "
        "equal within tolerance, different (and how) or missing, and how the environment differs. "
        "Exit status 0 when it reproduced, 1 when it did not.",
    )
    add_name(parser, optional=False)
    parser.add_argument("version", help="version: 2, v2, v2:tag, a tag")
    parser.add_argument("--gather", metavar="ARTIFACT", default=None, help="re-run only the cells ARTIFACT needed")
    parser.add_argument(
        "--rtol",
        type=float,
        default=DEFAULT_RTOL,
        metavar="X",
        help=f"relative tolerance for numbers in JSON/YAML/CSV/checkpoints (default {DEFAULT_RTOL:g})",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help="seconds allowed per cell (default %(default)s)",
    )


def run(args):
    from ..reproduce import reproduce

    print(f"re-running {args.name} {args.version} in a fresh kernel...", file=sys.stderr)
    report = reproduce(
        args.name, args.version, root=args.root, gather_artifact=args.gather, rtol=args.rtol, timeout=args.timeout
    )
    if args.json:
        emit_json(report.to_dict())
    else:
        print(terminal_safe(str(report)))
    return 0 if report.reproduced else 1
