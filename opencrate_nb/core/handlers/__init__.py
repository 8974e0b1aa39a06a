"""Artifact handlers: the built-in kinds, and kinds that other packages add.

Built-in handler modules are imported on first use, so that asking for the csv
handler never imports Pillow or torch. Other packages add kinds through the
entry-point group ``opencrate.handlers`` (name = kind, value = ``module:Class``).
"""

import importlib

from ._base import Handler, require
from ._clips import AudioClip, GifFrames, VideoClip

__all__ = [
    "Handler",
    "require",
    "AudioClip",
    "GifFrames",
    "VideoClip",
    "builtin_kinds",
    "plugin_kinds",
    "refresh_entry_points",
    "get_handler",
    "kind_for_folder",
    "kind_for_suffix",
]

ENTRY_POINT_GROUP = "opencrate.handlers"

# kind -> (module, class name, folder, suffixes). The folders and suffixes are
# repeated here so that looking them up never imports a handler module.
_BUILTIN = {
    "text": ("_text", "TextHandler", "texts", (".txt",)),
    "json": ("_json", "JsonHandler", "jsons", (".json",)),
    "yaml": ("_yaml", "YamlHandler", "yamls", (".yaml", ".yml")),
    "csv": ("_csv", "CsvHandler", "csvs", (".csv", ".tsv")),
    "image": ("_image", "ImageHandler", "images", (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")),
    "gif": ("_gif", "GifHandler", "gifs", (".gif",)),
    "video": ("_video", "VideoHandler", "videos", (".mp4", ".avi", ".mov", ".mkv", ".webm")),
    "audio": ("_audio", "AudioHandler", "audios", (".wav", ".flac", ".ogg")),
    "checkpoint": (
        "_checkpoint",
        "CheckpointHandler",
        "checkpoints",
        (".pt", ".pth", ".safetensors", ".npz", ".npy", ".joblib", ".pkl", ".pickle"),
    ),
}

_instances: dict[str, Handler] = {}
_entry_points = None


def builtin_kinds():
    return list(_BUILTIN)


def _load_entry_points():
    global _entry_points
    if _entry_points is None:
        from importlib.metadata import entry_points

        _entry_points = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in _BUILTIN}
    return _entry_points


def refresh_entry_points():
    """Look for ``opencrate.handlers`` entry points again (after installing a package in a running kernel)."""
    global _entry_points
    for kind in list(_instances):
        if kind not in _BUILTIN:
            del _instances[kind]
    _entry_points = None


def plugin_kinds():
    """Kinds added by installed packages through the ``opencrate.handlers`` entry-point group."""
    return sorted(_load_entry_points())


def get_handler(kind):
    """The handler instance for a kind (built-in or from an entry point), or None."""
    handler = _instances.get(kind)
    if handler is not None:
        return handler
    spec = _BUILTIN.get(kind)
    if spec is not None:
        module = importlib.import_module(f"{__name__}.{spec[0]}")
        handler = getattr(module, spec[1])()
    else:
        ep = _load_entry_points().get(kind)
        if ep is None:
            return None
        handler = _instantiate_plugin(ep)
    _instances[kind] = handler
    return handler


def _instantiate_plugin(ep):
    """An instance of an entry point's handler class, checked like a built-in handler."""
    try:
        handler = ep.load()()
    except Exception as exc:
        raise ImportError(
            f"The artifact kind {ep.name!r} from entry point {ep.value!r} could not be loaded: "
            f"{type(exc).__name__}: {exc}. Reinstall or remove the package that provides it."
        ) from exc
    for method in ("save", "load"):
        if not callable(getattr(handler, method, None)):
            raise TypeError(f"The artifact kind {ep.name!r} ({ep.value}) has no {method}() method.")
    if not callable(getattr(handler, "writes_bytes", None)):
        raise TypeError(f"The artifact kind {ep.name!r} ({ep.value}) must subclass opencrate_nb.core.handlers.Handler.")
    if not getattr(handler, "folder", None):
        handler.folder = ep.name
    handler.kind = ep.name
    return handler


def kind_for_folder(folder):
    """The kind stored in a folder of a version (a custom kind's folder is its own name)."""
    for kind, spec in _BUILTIN.items():
        if spec[2] == folder:
            return kind
    return folder


def kind_for_suffix(file_name):
    """The built-in kind that stores files with this suffix (``metrics.json`` -> ``json``)."""
    lower = file_name.lower()
    for kind, spec in _BUILTIN.items():
        if kind == "text":
            continue
        if any(lower.endswith(s) for s in spec[3]):
            return kind
    if lower.endswith((".txt", ".md", ".log")):
        return "text"
    return None
