"""Writing one artifact through its handler, atomically. Shared by artifacts and ``oc.io``."""

import os

from . import _atomic


def write(handler, obj, path, args=(), kwargs=None, before_replace=None):
    """Save ``obj`` at ``path`` with ``handler``; returns (sha256, size).

    In-memory formats go through ``to_bytes``; the others are written by their
    library into a hidden temporary file in the same folder, then moved into place.
    A handler's ``save`` may return the sha256 of what it wrote (computed while
    writing) to spare reading the file again.
    """
    kwargs = kwargs or {}
    if handler.writes_bytes():
        data = handler.to_bytes(obj, path, *args, **kwargs)
        return _atomic.write_bytes(path, data, before_replace=before_replace)
    tmp, fd = _atomic.create_temp(path)  # reserves the name; the library rewrites the empty file
    os.close(fd)
    try:
        written_sha = handler.save(obj, tmp, *args, **kwargs)
        if not os.path.exists(tmp) or os.path.getsize(tmp) == 0:
            raise RuntimeError(
                f"The {handler.kind} handler wrote nothing for {os.path.basename(path)!r}; nothing was saved."
            )
        known = written_sha if isinstance(written_sha, str) and len(written_sha) == 64 else None
        return _atomic.finish_file(tmp, path, before_replace=before_replace, known_sha=known)
    except BaseException:
        _atomic.remove_quietly(tmp)
        raise
