"""``crate remote set URL | show | unset``: the root's default remote (optional; no config file otherwise)."""

import argparse

from ..core import remote
from ._output import command, emit_json


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = command(
        commands,
        common,
        "remote",
        run,
        "set, show or unset the default remote",
        "'crate remote set URL' stores URL in the snapshots folder's hidden .crate/remote.json; "
        "push and pull then need no URL, and 'crate ls NAME' marks the versions pushed there. "
        "Credentials never go in the URL: they come from the filesystem's usual configuration.",
    )
    parser.add_argument("action", choices=("set", "show", "unset"), help="what to do")
    parser.add_argument("url", nargs="?", help="the remote (for set), e.g. s3://bucket/crates")


def run(args: argparse.Namespace) -> int:
    if args.action == "set":
        if not args.url:
            raise ValueError("crate remote set needs a URL, e.g. crate remote set s3://bucket/crates.")
        result = {"url": remote.set_default(args.root, args.url)}
        text = f"default remote of {args.root!r}: {result['url']}"
    elif args.url:
        raise ValueError(f"crate remote {args.action} takes no URL.")
    elif args.action == "unset":
        result = {"removed": remote.unset_default(args.root)}
        text = "default remote removed" if result["removed"] else "no default remote was set"
    else:
        url = remote.default_remote(args.root)
        result = {"url": url}
        text = remote.redact(url) if url else f"no default remote for {args.root!r} (crate remote set URL)"
    if args.json:
        emit_json(result)
    else:
        print(text)
    return 0
