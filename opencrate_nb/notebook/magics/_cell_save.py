"""``%%crate save NAME``: run the cell and save the value of its last expression.

The cell runs as a normal cell (its output and its result are shown as usual) with one
change made to its syntax tree: the last expression is wrapped in :func:`keep_last_value`,
which hands the value over without changing it. ``--raw`` saves the cell's text instead.
"""

import argparse
import ast
import json
import os
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .. import _core, infer
from ._lookup import find_artifacts, kind_arg, report_saved, save_as
from ._registry import fix_parser, require_setup

USAGE = "%%crate save NAME [--kind KIND] [--raw]"
RAW_KINDS = ("yaml", "json", "text")


@magic_arguments()
@argument("name", metavar="NAME", help="artifact file name; the suffix picks the kind (results.csv)")
@kind_arg()
@argument("--raw", action="store_true", help="save the cell's text itself (YAML/JSON/text), without running it")
def cell_save(magics: Any, args: argparse.Namespace, cell: str) -> None:
    """Run the cell and save the value of its last expression as artifact NAME."""


fix_parser(cell_save, "%%crate save", USAGE)

_last_value: list = []


def keep_last_value(value: Any) -> Any:
    """Called by the rewritten last line of a ``%%crate save`` cell; passes the value through."""
    if _last_value:
        _last_value[0] = value
    return value


class _KeepLastValue(ast.NodeTransformer):
    """Wrap the cell's final expression in ``keep_last_value(...)``, so that it is still displayed.

    ``quiet`` (the cell ends with ``;``) ends the cell with ``pass``: IPython then shows no
    value, as it would for the cell alone (its own ``;`` check looks at the outer cell).
    """

    def __init__(self, quiet: bool = False) -> None:
        super().__init__()
        self.done = False
        self.quiet = quiet

    def visit_Module(self, node: ast.Module) -> ast.Module:
        if self.done:
            return node
        self.done = True
        if node.body and isinstance(node.body[-1], ast.Expr):
            last = node.body[-1]
            module = ast.Call(
                func=ast.Name(id="__import__", ctx=ast.Load()),
                args=[ast.Constant(value=__name__)],
                keywords=[ast.keyword(arg="fromlist", value=ast.List(elts=[ast.Constant(value="_")], ctx=ast.Load()))],
            )
            func = ast.Attribute(value=module, attr="keep_last_value", ctx=ast.Load())
            last.value = ast.copy_location(ast.Call(func=func, args=[last.value], keywords=[]), last.value)
            if self.quiet:
                node.body.append(ast.copy_location(ast.Pass(), last))
            ast.fix_missing_locations(node)
        return node


def _ends_with_semicolon(shell: Any, cell: str) -> bool:
    from IPython.core.displayhook import DisplayHook

    try:
        return bool(DisplayHook.semicolon_at_end_of_expression(shell.transform_cell(cell)))
    except Exception:  # noqa: BLE001 - a cell that does not tokenize shows its own error when run
        return False


def _ends_with_expression(shell: Any, cell: str) -> Any:
    try:
        tree = ast.parse(shell.transform_cell(cell))
    except SyntaxError:
        return None  # let the run show the error
    return bool(tree.body) and isinstance(tree.body[-1], ast.Expr)


def run_cell_save(magics: Any, line: str, cell: str) -> None:
    """``%%crate save`` with the options in ``line``: run ``cell`` (unless --raw) and save its value."""
    args = parse_argstring(cell_save, line)
    require_setup()
    if args.raw:
        return _save_raw(args, cell)
    shell = magics.shell
    if _ends_with_expression(shell, cell) is False:
        raise UsageError(
            "%%crate save saves the value of the cell's last expression, and this cell does not end "
            "with one: add a last line such as `df` or `fig`. Nothing was run."
        )
    transformer = _KeepLastValue(quiet=_ends_with_semicolon(shell, cell))
    nothing = object()
    _last_value[:] = [nothing]
    shell.ast_transformers.append(transformer)
    try:
        result = shell.run_cell(cell, store_history=False)
    finally:
        if transformer in shell.ast_transformers:
            shell.ast_transformers.remove(transformer)
        value = _last_value[0] if _last_value else nothing
        _last_value[:] = []
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        what = "was interrupted" if isinstance(error, KeyboardInterrupt) else f"raised {type(error).__name__}"
        raise UsageError(f"The cell {what}: {args.name} was not saved.")
    if value is nothing:
        raise UsageError(f"The cell did not end with an expression: {args.name} was not saved.")
    if value is None:
        raise UsageError(f"The cell's last expression is None: {args.name} was not saved.")
    save_as(args.name, value, args.kind)
    return None


def _save_raw(args: argparse.Namespace, text: str) -> None:
    name = args.name
    kind = args.kind or _core.handlers.kind_for_suffix(name)
    if kind is None:
        _, suffix = os.path.splitext(name)
        if suffix:
            raise UsageError(f"Cannot tell the kind of {name!r} from its suffix: add --kind yaml, json or text.")
        kind, name = "text", name + infer.default_suffix("text")
    if kind not in RAW_KINDS:
        raise UsageError(f"--raw saves text, so it works with yaml, json and text artifacts, not {kind}.")
    if kind == "json":
        try:
            json.loads(text)
        except ValueError as exc:
            raise UsageError(f"The cell is not valid JSON ({exc}): {name} was not saved.") from None
    elif kind == "yaml":
        import yaml

        try:
            yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = " ".join(str(exc).split())
            raise UsageError(f"The cell is not valid YAML ({problem}): {name} was not saved.") from None
    existing = find_artifacts(name, kind)
    artifact = _core.verbatim_artifact(kind, existing[0].name if existing else name)
    artifact.save(text)
    report_saved(artifact, "cell text")
    return None
