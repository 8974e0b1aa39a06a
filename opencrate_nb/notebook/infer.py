"""Which artifact kind fits a value, and how to hand the value to that kind's handler.

Used by ``%crate save`` and ``%%crate save``. The file name decides first
(``metrics.json`` is json whatever the value); a name without a known suffix gets the
kind the value suggests and that kind's default suffix. Heavy libraries are never
imported here: types are recognised by their module and class names.
"""

import os

from IPython.core.error import UsageError

from . import _core


def _has_type(value, package, class_name):
    """True if the value's type or a base is ``class_name`` from ``package`` (any submodule)."""
    for t in type(value).__mro__:
        if t.__name__ == class_name:
            module = t.__module__ or ""
            if module == package or module.startswith(package + "."):
                return True
    return False


def _is_tensor(value):
    return _has_type(value, "torch", "Tensor")


def _is_torch_module(value):
    return _has_type(value, "torch.nn", "Module")


def _looks_like_state_dict(value, depth=0):
    """A dict holding tensors (directly, or in nested dicts as in {'model': sd, 'optimizer': ...})."""
    if not isinstance(value, dict) or depth > 3:
        return False
    return any(_is_tensor(item) or _looks_like_state_dict(item, depth + 1) for item in value.values())


def kind_for_value(value):
    """The kind that naturally stores ``value``, or None."""
    handlers = _core.handlers
    if isinstance(value, handlers.AudioClip):
        return "audio"
    if isinstance(value, handlers.VideoClip):
        return "video"
    if isinstance(value, handlers.GifFrames):
        return "gif"
    if _has_type(value, "pandas", "DataFrame") or _has_type(value, "pandas", "Series"):
        return "csv"
    if _has_type(value, "matplotlib", "Figure") or _has_type(value, "PIL", "Image"):
        return "image"
    if _is_torch_module(value):
        return "checkpoint"
    if _has_type(value, "numpy", "ndarray"):
        shape, dtype = getattr(value, "shape", ()), str(getattr(value, "dtype", ""))
        if dtype == "uint8" and len(shape) == 3 and shape[2] in (3, 4):
            return "image"
        if len(shape) in (1, 2):
            return "csv"
        return "checkpoint"
    if _is_tensor(value):
        return "checkpoint"
    if isinstance(value, dict):
        return "checkpoint" if _looks_like_state_dict(value) else "json"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple, bool, int, float)) or value is None:
        return "json"
    return None


def default_suffix(kind):
    handler = _core.handlers.get_handler(kind)
    suffixes = tuple(getattr(handler, "suffixes", ()) or ()) if handler is not None else ()
    return suffixes[0] if suffixes else ""


def choose_kind(name, value, kind=None):
    """(kind, file name) for saving ``value`` as ``name``; raises UsageError when it cannot tell."""
    if kind:
        return kind, name
    by_name = _core.handlers.kind_for_suffix(name)
    if by_name:
        return by_name, name
    by_value = kind_for_value(value)
    if by_value is None:
        raise UsageError(
            f"Cannot tell which kind stores {name!r} (a {type(value).__name__}). "
            f"Name it with a suffix (e.g. {name}.json, {name}.csv, {name}.png) or add --kind KIND."
        )
    _, suffix = os.path.splitext(name)
    if not suffix:
        name = name + default_suffix(by_value)
    return by_value, name


def save_value(artifact, value):
    """Save ``value`` with the arguments its kind needs. Returns a note for the confirmation, or ''."""
    kind = _core.artifact_kind(artifact)
    handlers = _core.handlers
    note = ""
    if kind == "audio" and isinstance(value, dict) and "data" in value and "sample_rate" in value:
        artifact.save(value["data"], value["sample_rate"])
        return note
    if kind == "video" and isinstance(value, dict) and "frames" in value:
        artifact.save(value["frames"], fps=value.get("fps") or 30)
        return note
    if kind == "gif" and isinstance(value, handlers.GifFrames):
        artifact.save(list(value), duration_ms=value.duration_ms, loop=value.loop)
        return note
    if kind == "checkpoint" and _is_torch_module(value):
        value = value.state_dict()
        note = "the module's state_dict()"
    if kind == "audio" and not isinstance(value, dict):
        raise UsageError(
            "Saving audio needs the sample rate: save a dict {'data': samples, 'sample_rate': rate} "
            "(what loading an audio artifact returns), or call oc.snapshot.audio(name).save(data, rate)."
        )
    artifact.save(value)
    return note
