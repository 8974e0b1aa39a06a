"""Artifact handlers: the built-in kinds, and kinds that other packages add.

Each handler class owns its kind's facts: ``kind``, ``folder``, ``suffixes``,
``media_types`` and the ``describe`` / ``summary`` / ``compare`` methods; the lookups
here (:func:`kind_for_folder`, :func:`kind_for_suffix`, :func:`media_type`) read them.
Built-in handler modules are imported on first use and import nothing heavy, so that
asking for the csv handler never imports Pillow or torch. Other packages add kinds
through the entry-point group ``opencrate.handlers`` (name = kind, value = ``module:Class``).
"""

from __future__ import annotations

import importlib
import os

from ._base import Handler, require
from ._clips import AudioClip, GifFrames, VideoClip
from ._compare import Detail

__all__ = [
    "Handler",
    "Detail",
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
    "media_type",
    "browser_media_type",
    "builtin_class",
]

ENTRY_POINT_GROUP = "opencrate.handlers"

# kind -> (module, class name). Each class holds its own facts (folder, suffixes, media
# types); its module imports nothing heavy, so reading them never imports Pillow or torch.
_BUILTIN = {
    "text": ("_text", "TextHandler"),
    "json": ("_json", "JsonHandler"),
    "yaml": ("_yaml", "YamlHandler"),
    "csv": ("_csv", "CsvHandler"),
    "image": ("_image", "ImageHandler"),
    "gif": ("_gif", "GifHandler"),
    "video": ("_video", "VideoHandler"),
    "audio": ("_audio", "AudioHandler"),
    "checkpoint": ("_checkpoint", "CheckpointHandler"),
}
#: media types a browser shows inline in <img>, <audio> and <video> (previews, diffs)
BROWSER_MEDIA_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "audio/wav",
        "audio/flac",
        "audio/ogg",
        "audio/mpeg",
        "video/mp4",
        "video/webm",
    }
)

_classes: dict[str, type[Handler]] = {}
_instances: dict[str, Handler] = {}
_entry_points = None


def builtin_kinds() -> list[str]:
    return list(_BUILTIN)


def builtin_class(kind: str) -> type[Handler] | None:
    """The class of a built-in kind (its facts are class attributes), or None."""
    cls = _classes.get(kind)
    if cls is None and kind in _BUILTIN:
        module_name, class_name = _BUILTIN[kind]
        cls = _classes[kind] = getattr(importlib.import_module(f"{__name__}.{module_name}"), class_name)
    return cls


def _builtin_classes():
    return [builtin_class(kind) for kind in _BUILTIN]


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
    cls = builtin_class(kind)
    if cls is not None:
        handler = cls()
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


def kind_for_folder(folder: str) -> str:
    """The kind stored in a folder of a version (a custom kind's folder is its own name)."""
    for cls in _builtin_classes():
        if cls.folder == folder:
            return cls.kind
    return folder


def kind_for_suffix(file_name: str) -> str | None:
    """The built-in kind that stores files with this suffix (``metrics.json`` -> ``json``).

    Text is the last resort (it accepts any suffix), so ``.txt``, ``.md`` and ``.log`` only.
    """
    lower = file_name.lower()
    for suffixes, kind in _tables()[0]:
        if lower.endswith(suffixes):
            return kind
    return None


def media_type(file_name: str) -> str | None:
    """The MIME type of a file by its suffix, from the built-in handlers' ``media_types``; None if unknown.

    The one suffix-to-MIME lookup: previews, diffs and the server all ask here.
    """
    return _tables()[1].get(os.path.splitext(file_name)[1].lower())


_suffix_tables = None


def _tables():
    """((suffixes, kind) with text last, {suffix: MIME}), read once from the built-in classes."""
    global _suffix_tables
    if _suffix_tables is None:
        classes = sorted(_builtin_classes(), key=lambda cls: cls.kind == "text")
        by_kind = tuple((tuple(cls.suffixes) + tuple(cls.media_types), cls.kind) for cls in classes)
        mimes: dict[str, str] = {}
        for cls in classes:
            for suffix, mime in cls.media_types.items():
                mimes.setdefault(suffix, mime)
        _suffix_tables = (by_kind, mimes)
    return _suffix_tables


def browser_media_type(file_name: str) -> str | None:
    """:func:`media_type` when a browser can show the file inline (an ``.avi`` or ``.tiff`` it cannot), else None."""
    found = media_type(file_name)
    return found if found in BROWSER_MEDIA_TYPES else None
