"""``%crate`` and ``%%crate``: drive opencrate snapshots from a notebook.

One module per idea: the registry (how a subcommand is declared, documented, confirmed),
the dispatcher (the magic itself, where errors are mapped once), one module per group of
subcommands, and ``%%crate save``'s cell rewriting. Each subcommand is a function with
IPython ``magic_arguments``, so its options are parsed, checked and documented in one place;
its docstring is its help. Importing the group modules registers their subcommands, in
the order ``%crate help`` lists them.

``%load_ext`` imports only the dispatcher: the groups (and what they import) are imported by
:func:`load_groups` on the first ``%crate``, completion or help, or when one of this package's
names below is first read.
"""

import importlib

from ._dispatch import CrateMagics

#: the modules whose subcommands are registered on import, in the order help lists them
GROUP_MODULES = ("_setup", "_artifacts", "_log", "_compare", "_compare_versions", "_notebook", "_help")

#: names of this package that come from a module imported only with the groups
_LAZY = {
    "CAPTURE_STATES": "_log",
    "DEFAULT_LOG_ENTRIES": "_log",
    "LOG_LEVELS": "_log",
    "COMMANDS": "_registry",
    "SUBCOMMANDS": "_registry",
    "Rendered": "_registry",
    "order_by_module": "_registry",
    "cell_save": "_cell_save",
    "keep_last_value": "_cell_save",
    "overview": "_help",
    "resolve": "_lookup",
    "save_as": "_lookup",
}

__all__ = ["GROUPS", "CrateMagics", "load_groups", *sorted(_LAZY)]


def load_groups() -> tuple:
    """Import every subcommand group once (registering its subcommands in help's order); the group modules."""
    groups = globals().get("GROUPS")
    if groups is None:
        groups = tuple(importlib.import_module(f"{__name__}.{name}") for name in GROUP_MODULES)
        from ._registry import order_by_module

        order_by_module(groups)
        globals()["GROUPS"] = groups
    return groups


def __getattr__(name: str):
    if name == "GROUPS":
        return load_groups()
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    load_groups()
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
