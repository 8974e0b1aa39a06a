"""``%crate`` and ``%%crate``: drive opencrate snapshots from a notebook.

One module per idea: the registry (how a subcommand is declared, documented, confirmed),
the dispatcher (the magic itself, where errors are mapped once), one module per group of
subcommands, and ``%%crate save``'s cell rewriting. Each subcommand is a function with
IPython ``magic_arguments``, so its options are parsed, checked and documented in one place;
its docstring is its help. Importing the group modules registers their subcommands, in
the order ``%crate help`` lists them.
"""

from . import _artifacts, _compare, _compare_versions, _help, _log, _notebook, _setup
from ._cell_save import cell_save, keep_last_value
from ._dispatch import CrateMagics
from ._help import overview
from ._log import CAPTURE_STATES, DEFAULT_LOG_ENTRIES, LOG_LEVELS
from ._lookup import resolve, save_as
from ._registry import COMMANDS, SUBCOMMANDS, Rendered, order_by_module

#: the modules whose subcommands are registered on import, in the order help lists them
GROUPS = (_setup, _artifacts, _log, _compare, _compare_versions, _notebook, _help)
order_by_module(GROUPS)

CrateMagics.crate.__doc__ = overview()

__all__ = [
    "CAPTURE_STATES",
    "COMMANDS",
    "DEFAULT_LOG_ENTRIES",
    "GROUPS",
    "LOG_LEVELS",
    "SUBCOMMANDS",
    "CrateMagics",
    "Rendered",
    "cell_save",
    "keep_last_value",
    "overview",
    "resolve",
    "save_as",
]
