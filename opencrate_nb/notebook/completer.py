"""Tab completion for ``%crate``: subcommands, options, artifact names, kinds, levels.

Uses IPython's matcher API v2 (``IPCompleter.custom_matchers``), so unloading the
extension simply removes the matcher from that list.
"""

from . import _core

MATCHER_ID = "opencrate_nb.crate_matcher"

# subcommand -> what its positional arguments complete to, in order
_POSITIONALS = {
    "setup": ["snapshot"],
    "ls": ["artifact"],
    "show": ["artifact"],
    "load": ["artifact"],
    "save": ["artifact", "variable"],
    "backup": ["artifact"],
    "backups": ["artifact"],
    "rm": ["artifact"],
    "diff": ["version", "version"],
    "capture": ["choices"],
    "help": ["subcommand"],
}
_OPTION_VALUES = {  # options with choices= complete to those (levels, states)
    "--kind": "kind",
    "--root": None,
    "--tag": None,
    "--version": None,
    "-n": None,
    "-o": None,
    "--output": None,
}


def _options_of(parser):
    """(options that take a value, all option strings) of an argparse parser."""
    with_value, every = set(), []
    for action in parser._actions:
        for option in action.option_strings:
            every.append(option)
            if action.nargs != 0:
                with_value.add(option)
    return with_value, every


def _choices_of(parser, option=None, position=None):
    """The ``choices`` an option (or the positional argument at ``position``) declares, or None."""
    if option is not None:
        actions = [a for a in parser._actions if option in a.option_strings]
    else:
        positionals = [a for a in parser._actions if not a.option_strings]
        actions = positionals[position : position + 1]
    choices = actions[0].choices if actions else None
    return list(choices) if choices else None


def candidates(line, shell=None):
    """What may follow ``line`` (the text before the cursor, starting with %crate or %%crate)."""
    from . import magics

    words = line.split()
    if not words or words[0] not in ("%crate", "%%crate", "crate"):
        return None
    cell_magic = words[0] == "%%crate"
    if line[-1:].isspace():
        words.append("")
    if len(words) == 2:
        return ["save"] if cell_magic else list(magics.COMMANDS)
    sub = words[1]
    parser = (
        magics.cell_save.parser if cell_magic and sub == "save" else getattr(magics.COMMANDS.get(sub), "parser", None)
    )
    if parser is None:
        return []
    with_value, options = _options_of(parser)
    current, previous = words[-1], words[-2]
    if previous in with_value:
        choices = _choices_of(parser, option=previous)
        return choices if choices is not None else _values(_OPTION_VALUES.get(previous), shell)
    if current.startswith("-"):
        return options
    position = 0
    skip = False
    for word in words[2:-1]:
        if skip:
            skip = False
        elif word in with_value:
            skip = True
        elif not word.startswith("-"):
            position += 1
    slots = ["artifact"] if cell_magic else _POSITIONALS.get(sub, [])
    if position < len(slots):
        if slots[position] == "choices":
            return _choices_of(parser, position=position) or []
        return _values(slots[position], shell)
    return []


def _values(what, shell):
    from . import magics

    if what == "kind":
        kinds = list(_core.handlers.builtin_kinds())
        if _core.is_set_up():
            kinds += [k for k in {_core.artifact_kind(a) for a in _core.snapshot.list_artifacts()} if k not in kinds]
        return kinds
    if what == "subcommand":
        return list(magics.COMMANDS)
    if what == "artifact":
        if not _core.is_set_up():
            return []
        return sorted({a.name for a in _core.snapshot.list_artifacts()})
    if what == "variable" and shell is not None:
        hidden = getattr(shell, "user_ns_hidden", {})
        return sorted(n for n in shell.user_ns if not n.startswith("_") and n not in hidden)
    if what == "version":
        return _core.snapshot.list_versions() if _core.is_set_up() else []
    if what == "snapshot":
        from ..core import refs

        try:
            return refs.list_names(_core.snapshot.root if _core.is_set_up() else refs.DEFAULT_ROOT)
        except OSError:
            return []
    return []


def magic_part(line):
    """The ``%crate ...`` part of a line (also after ``x = ``), or None."""
    at = line.rfind("%crate")
    if at < 0:
        stripped = line.lstrip()
        return stripped if stripped.startswith("crate ") else None
    if at > 0 and line[at - 1] == "%":
        at -= 1
    before = line[:at].strip()
    if before and not before.endswith("="):
        return None
    return line[at:]


def make_matcher(shell):
    """A matcher (API v2) completing ``%crate`` lines; it suppresses other matchers when it answers."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    @context_matcher(identifier=MATCHER_ID)
    def crate_matcher(context):
        try:
            stripped = magic_part(context.text_until_cursor)
            found = candidates(stripped, shell) if stripped else None
        except Exception:  # noqa: BLE001 - completion must never print a traceback
            found = None
        if found is None:
            return {"completions": []}
        word = stripped.split()[-1] if stripped and not stripped[-1:].isspace() else ""
        token = context.token
        # IPython's token stops at characters such as ':'; complete only the part after it
        start = len(word) - len(token) if word.endswith(token) else 0
        matches = [SimpleCompletion(c[start:], type="crate") for c in found if c.startswith(word)]
        return {"completions": matches, "suppress": bool(matches)}

    return crate_matcher


def register(shell):
    """Add the matcher to the shell's completer; returns it (for :func:`unregister`)."""
    completer = getattr(shell, "Completer", None)
    if completer is None or not hasattr(completer, "custom_matchers"):
        return None
    try:
        matcher = make_matcher(shell)
    except ImportError:  # IPython older than 8.6: no matcher API v2
        return None
    completer.custom_matchers.append(matcher)
    return matcher


def unregister(shell, matcher):
    completer = getattr(shell, "Completer", None)
    if completer is None or matcher is None:
        return
    try:
        completer.custom_matchers.remove(matcher)
    except ValueError:
        pass
