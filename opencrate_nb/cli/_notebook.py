"""``crate notebook NAME VERSION [-o FILE]``: the run's notebook (run.ipynb) of a version."""

import os
import sys

from ..core import _atomic, refs, run_notebook
from ._output import add_name, command


def add_parser(commands, common):
    parser = command(
        commands,
        common,
        "notebook",
        run,
        "write out a version's run notebook",
        "The cells of version VERSION as they were executed (sources, outputs, the artifacts each "
        "saved), as a notebook: to FILE with -o, else on stdout.",
    )
    add_name(parser, optional=False)
    parser.add_argument("version", help="version: 2, v2, v2:tag, a tag")
    parser.add_argument("-o", "--output", metavar="FILE", default=None, help="write the notebook to FILE")


def run(args):
    ref = refs.resolve(args.version, name=args.name, root=args.root)
    data = run_notebook.read_bytes(ref.dir_path)
    if args.json or args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    _atomic.write_output(os.path.abspath(args.output), data)
    print(f"wrote {ref.label}'s run notebook to {args.output}", file=sys.stderr)
    return 0
