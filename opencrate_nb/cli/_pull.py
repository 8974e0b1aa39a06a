"""``crate pull [URL] NAME [VERSION ...]``: fetch versions from a remote, every content verified."""

import argparse

from ..core import remote
from ._output import command, emit_json
from ._push import split_url


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = command(
        commands,
        common,
        "pull",
        run,
        "fetch versions from a remote",
        "Pull every version of NAME at URL (default: the remote of 'crate remote set'), or the "
        "VERSIONs named. Each content is checked against its hash before the version appears here; "
        "a local version of the same number with other content is never touched (use --as).",
    )
    parser.add_argument("words", nargs="+", metavar="[URL] NAME [VERSION ...]", help="the remote, a name, versions")
    parser.add_argument("--as", dest="as_version", metavar="VERSION", help="pull one version under this number/tag")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    url, words = split_url(args.words, args.root, "crate pull")
    if not words:
        raise ValueError("crate pull needs a snapshot name: crate pull URL NAME [VERSION ...].")
    name, wanted = words[0], words[1:]
    with remote.shown_errors(url):
        report = remote.pull(
            url,
            name,
            wanted or None,
            root=args.root,
            as_version=args.as_version,
            progress=False if args.no_progress else None,
        )
    if args.json:
        emit_json(report.to_dict())
    else:
        print(report)
    return 0
