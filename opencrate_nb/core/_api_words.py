"""Words of the API that are never artifact kinds, and what a user who typed one meant.

``oc.snapshot.<word>(name, handler=...)`` makes a custom kind out of any identifier, so a
user coming from OpenCrate's own package who writes ``oc.snapshot.info("x")`` or
``oc.snapshot.path`` would otherwise get a kind named ``info`` or ``path``. These words
answer with the call that exists instead.
"""

from typing import Optional

#: logging is a top-level function of ``oc``, never a method of the snapshot
LEVELS = ("debug", "info", "success", "warning", "error", "critical", "exception")

#: other words an OpenCrate user reaches for, and the attribute that does it here
_INSTEAD: dict[str, str] = {
    "path": (
        "oc.snapshot has no path. An artifact's file is its .path (e.g. oc.snapshot.json('metrics.json').path); "
        "the version folder is oc.snapshot.dir_path."
    ),
    "dir": "The version folder is oc.snapshot.dir_path.",
    "directory": "The version folder is oc.snapshot.dir_path.",
    "folder": "The version folder is oc.snapshot.dir_path.",
    "log": "Log with oc.info(...) (or oc.debug, oc.warning, ...); the run log file is oc.snapshot.log_path.",
    "logger": "Log with oc.info(...) (or oc.debug, oc.warning, ...); the run log file is oc.snapshot.log_path.",
    "versions": "The versions of this snapshot are oc.snapshot.list_versions().",
    "tags": "The tags of this snapshot are oc.snapshot.list_tags().",
    "artifacts": "The artifacts of this version are oc.snapshot.list_artifacts().",
    "save": "save() is a method of an artifact: oc.snapshot.json('metrics.json').save(value).",
    "load": "load() is a method of an artifact: oc.snapshot.json('metrics.json').load().",
    "io": "The file helpers are oc.io (e.g. oc.io.show_files_in_dir(oc.snapshot.dir_path)).",
    "browse": "The snapshot browser is oc.browse().",
    "snapshot": "oc.snapshot is the snapshot itself.",
}


def instead_of(word: str) -> Optional[str]:
    """What to call instead of ``oc.snapshot.<word>``, or None when ``word`` may name a kind."""
    if word in LEVELS:
        return f"Logging is a top-level function: call oc.{word}(...), not oc.snapshot.{word}(...)."
    return _INSTEAD.get(word)


def refusal(word: str, api_names: tuple[str, ...] = ()) -> Optional[str]:
    """Why ``word`` cannot be a custom kind (it belongs to the API), or None when it can.

    ``api_names`` are the public attributes of the snapshot object: a kind of that name
    could never be reached as ``oc.snapshot.<word>``.
    """
    hint = instead_of(word)
    if hint is not None:
        return f"{word!r} is not an artifact kind. {hint}"
    if word in api_names:
        return f"{word!r} is the name of oc.snapshot.{word}, so it cannot be an artifact kind: choose another word."
    return None
