"""``crate push NAME [VERSION ...] [URL]``: send versions to a remote (only the contents it lacks)."""

import argparse

from ..core import remote
from ._output import command, emit_json


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = command(
        commands,
        common,
        "push",
        run,
        "send versions to a remote (s3://, gs://, az://, file://)",
        "Push every version of NAME, or the VERSIONs named, to URL (default: the remote of "
        "'crate remote set'). Only contents the remote lacks are sent; each version appears there "
        "once all of it has arrived. Run it again after an interruption: it resumes.",
    )
    parser.add_argument("name", help="a snapshot name")
    parser.add_argument("rest", nargs="*", metavar="VERSION ... URL", help="versions (default: all), then the URL")
    parser.add_argument("--as", dest="as_version", metavar="VERSION", help="push one version under this number/tag")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def split_url(words: list, root: str, what: str) -> tuple:
    """(url, the other words): the URL is the word with '://', else the root's default remote."""
    urls = [w for w in words if "://" in w]
    if len(urls) > 1:
        raise ValueError(f"{what} takes one URL; got {len(urls)}.")
    if urls:
        return urls[0], [w for w in words if w != urls[0]]
    default = remote.default_remote(root)
    if default is None:
        raise ValueError(
            f"Which remote? Give a URL (e.g. s3://bucket/crates or file:///mnt/share/crates), "
            f"or set a default one: crate remote set URL (--root {root})."
        )
    return default, words


def run(args: argparse.Namespace) -> int:
    url, wanted = split_url(args.rest, args.root, "crate push")
    with remote.shown_errors(url):
        report = remote.push(
            url,
            args.name,
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
