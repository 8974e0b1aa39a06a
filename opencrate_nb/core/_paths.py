"""Folders bound once as absolute paths, and shown the way the user named them.

A snapshot version is bound when it is set up: ``os.chdir()`` or ``%cd`` later must not
send saves, logs or the run environment into another folder. Paths are still shown as
the user gave them: relative to the current folder when they were given relative and
still lie inside it (``snapshots/run/v0``), absolute otherwise. A shown path is always
correct at the moment it is read.
"""

import os


def shown(absolute: str, relative: bool) -> str:
    """``absolute`` relative to the current folder when ``relative`` and it lies inside, else ``absolute``."""
    if not relative:
        return absolute
    try:
        here = os.getcwd()
    except OSError:  # the current folder was removed
        return absolute
    prefix = here if here.endswith(os.sep) else here + os.sep
    if absolute.startswith(prefix) and len(absolute) > len(prefix):
        return absolute[len(prefix) :]
    return "." if absolute == here else absolute
