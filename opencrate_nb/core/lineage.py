"""Which notebook cell is running, so that every save can point back to it.

The notebook layer sets this around each cell; core only reads it. Outside a
notebook it stays ``None``.
"""

_current = None


def set_current_cell(info):
    """Set the running cell: ``{"execution_count": int, "cell_id": str | None}`` or ``None``."""
    global _current
    _current = dict(info) if info else None


def current_cell():
    return _current
