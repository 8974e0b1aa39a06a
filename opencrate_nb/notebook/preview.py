"""Inline previews: HTML cards for artifacts and players for loaded media.

Every function here is a plain function of its arguments (no kernel needed) and never
raises: a preview that fails becomes a short text saying why, inside the card. Every
name and value put into HTML goes through :func:`esc`. Media are never embedded whole
when large: images become thumbnails, gifs and videos are embedded only below
``MEDIA_EMBED_MAX_BYTES`` (otherwise a still or a small animated preview), audio is cut
to what fits.
"""

import base64
import functools
import html
import io
import json
import math
import os
from collections.abc import Sequence
from typing import Any, Optional

from ..core.format import cell_label, format_size, format_time, plural
from . import _core, _lineage

#: The size text of every card and table (the one formatter of :mod:`opencrate_nb.core.format`).
human_size = format_size

#: Largest media file embedded as it is (base64 makes it 4/3 larger in the notebook).
MEDIA_EMBED_MAX_BYTES = 2 << 20
#: Longest side of image thumbnails and animated previews, in pixels.
THUMB_PX = 320
ANIMATION_PX = 240
ANIMATION_MAX_FRAMES = 60
#: Images with more pixels than this are not decoded for a thumbnail.
MAX_DECODE_PIXELS = 100_000_000
#: JSON/YAML files up to this size are shown as a collapsible tree.
TREE_MAX_BYTES = 512 << 10
TREE_MAX_ITEMS = 50
TREE_MAX_DEPTH = 8
TREE_MAX_NODES = 1500
TEXT_HEAD_LINES = 30
TEXT_HEAD_CHARS = 3000
TABLE_MAX_COLUMNS = 20
TABLE_CELL_CHARS = 80
LISTING_MAX_FILES = 50
TENSORS_SHOWN = 30
#: Characters of the saving cell's source shown in a card.
SOURCE_MAX_CHARS = 4000

_DOT = " \u00b7 "
_ELLIPSIS = "\u2026"
_TIMES = "\u00d7"

_CARD_STYLE = (
    "border:1px solid var(--jp-border-color1,#ccc);border-radius:6px;padding:8px 12px;"
    "margin:4px 0;max-width:760px;font-family:var(--jp-ui-font-family,sans-serif);"
    "font-size:13px;line-height:1.4"
)
_BADGE_STYLE = (
    "display:inline-block;padding:0 6px;margin-left:6px;border-radius:8px;font-size:11px;"
    "font-weight:normal;background:var(--jp-layout-color2,#eee);color:inherit"
)
_MUTED = "color:var(--jp-ui-font-color2,#666);font-size:12px"
_PRE_STYLE = (
    "max-height:360px;overflow:auto;margin:6px 0 0;padding:6px;white-space:pre-wrap;"
    "background:var(--jp-layout-color2,#f6f6f6);font-size:12px"
)
_TABLE_STYLE = "border-collapse:collapse;font-size:12px;margin-top:6px"
_CELL_STYLE = "border:1px solid var(--jp-border-color2,#ddd);padding:2px 6px;text-align:left"


def esc(value):
    """HTML-escape anything (quotes too, so values are safe in attributes)."""
    return html.escape(str(value), quote=True)


def _clip(text, limit):
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _data_uri(mime, data):
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _note(text):
    return f'<div style="{_MUTED};margin-top:4px">{esc(text)}</div>'


def _failed(what, exc):
    return _note(f"{what} unavailable: {type(exc).__name__}: {_clip(exc, 300)}")


# ---------------------------------------------------------------------------------------------
# facts about an artifact
# ---------------------------------------------------------------------------------------------
def artifact_facts(artifact: Any) -> dict[str, Any]:
    """Name, kind, size, modified, version and saving cell of an artifact; missing facts are None.

    Size and time come from the record entry of the last save when there is one (as in the
    catalog and the CLI), the file's own stat otherwise; ``modified`` is already formatted.
    """
    facts = {
        "name": getattr(artifact, "name", "?"),
        "kind": _core.artifact_kind(artifact),
        "exists": False,
        "size": None,
        "modified": None,
        "version": None,
        "cell": None,
        "path": getattr(artifact, "path", None),
        "backup_of": None,
        "saved_at": None,
    }
    try:
        version_dir = getattr(artifact, "version_dir", None) or os.path.dirname(os.path.dirname(facts["path"]))
        facts["version"] = os.path.basename(os.path.normpath(version_dir))
    except Exception:  # noqa: BLE001 - an artifact-like object without a usable path still gets its card
        pass
    path = facts["path"]
    try:
        stat = os.stat(path)
        facts["exists"] = True
        facts["modified"] = format_time(stat.st_mtime)
        facts["size"] = stat.st_size
    except (OSError, TypeError):
        return facts
    try:
        entry = artifact.last_record()
    except Exception:  # noqa: BLE001 - an unreadable record must not hide the card
        entry = None
    if isinstance(entry, dict):
        if entry.get("size") is not None:
            facts["size"] = entry["size"]
        facts["cell"] = entry.get("cell")
        facts["saved_at"] = entry.get("time")
        facts["backup_of"] = entry.get("of")
        if isinstance(facts["saved_at"], str):
            facts["modified"] = format_time(facts["saved_at"])
    if os.path.isdir(path) and facts["size"] == stat.st_size:
        facts["size"] = _tree_size(path)
    return facts


def _tree_size(folder):
    total = 0
    for base, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        total += sum(os.path.getsize(os.path.join(base, f)) for f in files if not f.startswith("."))
    return total


def describe(artifact):
    try:
        info = artifact.describe()
        return info if isinstance(info, dict) else {}
    except Exception as exc:  # noqa: BLE001 - a handler's describe() (a user's too) may raise anything
        return {"_error": exc}


def summary_line(kind, info):
    """One line about the content (dimensions, rows, duration...), or ''."""
    try:
        return _summary_line(kind, info)
    except Exception:  # noqa: BLE001 - describe() dicts hold whatever a handler put there
        return ""


def _summary_line(kind, info):
    handler = _core.handlers.get_handler(kind) or _core.handlers.Handler()  # each kind words its own line
    return handler.summary(info) if callable(getattr(handler, "summary", None)) else ""


# ---------------------------------------------------------------------------------------------
# the card
# ---------------------------------------------------------------------------------------------
def artifact_card(artifact):
    """The HTML card of an artifact: facts, then a preview suited to its kind. Never raises."""
    try:
        return _artifact_card(artifact)
    except Exception as exc:  # noqa: BLE001 - a card must never break the display
        return f"<pre>{esc(_safe_repr(artifact))}\n(preview failed: {esc(type(exc).__name__)}: {esc(exc)})</pre>"


def _artifact_card(artifact):
    facts = artifact_facts(artifact)
    kind = facts["kind"]
    if not facts["exists"]:
        meta = [f"version {facts['version']}"] if facts["version"] else []
        return _card(facts, meta, _note("not saved yet"))
    info = describe(artifact)
    meta = [human_size(facts["size"]), f"modified {facts['modified']}"]
    if facts["version"]:
        meta.append(f"version {facts['version']}")
    label = cell_label(facts["cell"])
    meta.append(f"saved by {label}" if label else "saved outside a notebook cell")
    if facts["backup_of"]:
        meta.append(f"backup of {facts['backup_of']}")
    summary = summary_line(kind, info)
    body = saving_cell_html(artifact, facts) + _lineage.card_warnings_html(artifact)
    if summary:
        body += f'<div style="margin-top:2px">{esc(summary)}</div>'
    body += kind_preview(artifact, kind, info)
    return _card(facts, meta, body)


def saving_cell_html(artifact, facts):
    """A collapsed ``<details>`` with the source of the cell that saved the artifact ('' if unknown)."""
    try:
        entry = _core.saving_cell(artifact.version_dir, facts["cell"], facts["saved_at"])
        source = entry.get("source") if entry else None
        if not source:
            return ""
        shown = _clip(source, SOURCE_MAX_CHARS)
        return (
            f'<details style="{_MUTED};margin-top:2px"><summary>source of {esc(cell_label(facts["cell"]))}'
            f'</summary><pre style="{_PRE_STYLE}">{esc(shown)}</pre></details>'
        )
    except Exception:  # noqa: BLE001 - an unreadable cell log only loses this line
        return ""


def _card(facts, meta, body):
    title = (
        f'<div style="font-weight:600" title="{esc(facts.get("path") or "")}">{esc(facts["name"])}'
        f'<span style="{_BADGE_STYLE}">{esc(facts["kind"])}</span></div>'
    )
    meta_html = f'<div style="{_MUTED}">{_DOT.join(esc(m) for m in meta)}</div>' if meta else ""
    return f'<div class="opencrate-card" style="{_CARD_STYLE}">{title}{meta_html}{body}</div>'


def artifact_text(artifact):
    """A plain-text version of the card (for terminals and ``text/plain``)."""
    try:
        facts = artifact_facts(artifact)
        head = f"{facts['name']} ({facts['kind']})"
        if not facts["exists"]:
            return f"{head}: not saved yet"
        parts = [human_size(facts["size"]), f"modified {facts['modified']}"]
        if facts["version"]:
            parts.append(f"version {facts['version']}")
        label = cell_label(facts["cell"])
        if label:
            parts.append(f"saved by {label}")
        line = f"{head}: {', '.join(parts)}"
        summary = summary_line(facts["kind"], describe(artifact))
        return f"{line}\n{summary}" if summary else line
    except Exception as exc:  # noqa: BLE001 - a summary must never break the display
        return f"{_safe_repr(artifact)} (summary failed: {type(exc).__name__})"


def _safe_repr(value):
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a user's __repr__ may raise anything
        return f"<{type(value).__name__}>"


def kind_preview(artifact, kind, info):
    """The preview part of a card. Never raises."""
    error = info.get("_error")
    path = artifact.path
    previewer = _PREVIEWERS.get(kind)
    try:
        if os.path.isdir(path) or previewer is None:
            return _preview_files(artifact, info)
        return previewer(artifact, info)
    except Exception as exc:  # noqa: BLE001 - a preview must never break the card
        html_text = _failed("preview", exc)
    if error is not None:
        html_text += _failed("summary", error)
    return html_text


# ---------------------------------------------------------------------------------------------
# previews by kind
# ---------------------------------------------------------------------------------------------
def _open_image(path):
    from PIL import Image

    image = Image.open(path)
    if image.width * image.height > MAX_DECODE_PIXELS:
        image.close()
        raise ValueError(f"{image.width}x{image.height} is too large to decode for a thumbnail")
    return image


def pil_thumbnail_tag(image, max_px=None, alt=""):
    """An ``<img>`` holding a thumbnail (PNG with transparency, else JPEG) of a PIL image."""
    max_px = max_px or THUMB_PX  # read at call time, so that the module's caps can be changed
    image = image.copy()
    if hasattr(image, "draft"):
        try:
            image.draft("RGB", (max_px * 2, max_px * 2))
        except Exception:  # noqa: BLE001 - only JPEG supports drafts
            pass
    image.thumbnail((max_px, max_px))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    buffer = io.BytesIO()
    if has_alpha:
        image.convert("RGBA").save(buffer, format="PNG", optimize=True)
        mime = "image/png"
    else:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, format="JPEG", quality=85)
        mime = "image/jpeg"
    return (
        f'<img src="{_data_uri(mime, buffer.getvalue())}" alt="{esc(alt)}" '
        f'style="max-width:{max_px}px;max-height:{max_px}px;margin-top:6px;display:block">'
    )


def _preview_image(artifact, info):
    with _open_image(artifact.path) as image:
        return pil_thumbnail_tag(image, alt=artifact.name)


def _preview_gif(artifact, info):
    path = artifact.path
    size, _, _, data = _embeddable(path)
    if data is not None:
        return (
            f'<img src="{_data_uri("image/gif", data)}" alt="{esc(artifact.name)}" '
            f'style="max-width:{THUMB_PX * 2}px;margin-top:6px;display:block">'
        )
    with _open_image(path) as image:
        frames, duration = [], image.info.get("duration", 100) or 100
        count = getattr(image, "n_frames", 1)
        step = max(1, math.ceil(count / ANIMATION_MAX_FRAMES))
        for index in range(0, count, step):
            image.seek(index)
            frames.append(image.convert("RGB"))
    tag = animation_tag(frames, duration * step, alt=artifact.name)
    return tag + _note(f"smaller preview: the file ({human_size(size)}) is too large to embed")


def _embeddable(path):
    """(size, suffix, mime type when a browser plays it else None, the file's bytes when small enough to embed)."""
    size = os.path.getsize(path)
    suffix = os.path.splitext(path)[1].lower()
    mime = _core.handlers.browser_media_type(path)
    data = None
    if mime and size <= MEDIA_EMBED_MAX_BYTES:
        with open(path, "rb") as f:
            data = f.read()
    return size, suffix, mime, data


def _preview_video(artifact, info):
    path = artifact.path
    size, suffix, mime, data = _embeddable(path)
    if data is not None:
        return (
            f'<video controls preload="metadata" style="max-width:{THUMB_PX * 2}px;margin-top:6px;'
            f'display:block" src="{_data_uri(mime, data)}"></video>'
        )
    reason = f"the file ({human_size(size)}) is too large to embed" if mime else f"browsers cannot play {suffix} files"
    try:
        import imageio.v3 as iio
        from PIL import Image

        first = next(iter(iio.imiter(path, plugin="FFMPEG")))
        still = pil_thumbnail_tag(Image.fromarray(first), alt=artifact.name)
    except Exception as exc:  # noqa: BLE001 - imageio and ffmpeg fail in many ways on odd files
        return _note(f"no player: {reason}") + _failed("first frame", exc)
    return still + _note(f"first frame only: {reason}")


def _preview_audio(artifact, info):
    path = artifact.path
    _, _, mime, data = _embeddable(path)
    if data is not None:
        return _audio_tag(mime, data)
    import soundfile as sf

    with sf.SoundFile(path) as f:
        rate, channels = f.samplerate, min(f.channels, 2)
        frames = max(1, (MEDIA_EMBED_MAX_BYTES - 44) // (2 * channels))
        data = f.read(frames, dtype="int16", always_2d=True)[:, :channels]
    wav = wav_bytes(data, rate)
    seconds = len(data) / float(rate)
    return _audio_tag("audio/wav", wav) + _note(f"first {seconds:.1f} s of {float(info.get('duration') or 0):.1f} s")


def _audio_tag(mime, data):
    return (
        f'<audio controls preload="metadata" style="margin-top:6px;display:block" '
        f'src="{_data_uri(mime, data)}"></audio>'
    )


def _preview_csv(artifact, info):
    columns = list(info.get("columns") or [])
    rows = list(info.get("head") or [])
    if not columns and not rows:
        return _note("empty table")
    return table_html(columns, rows, total_rows=info.get("rows"))


def table_html(
    columns: Sequence[Any], rows: Sequence[Sequence[Any]], total_rows: Optional[int] = None, header: bool = True
) -> str:
    """A small HTML table of the first rows; wide tables are cut at TABLE_MAX_COLUMNS.

    ``header=False``: no heading row (a table of name/value pairs), ``columns`` only sets the width.
    """
    shown = columns[:TABLE_MAX_COLUMNS]
    more_columns = len(columns) - len(shown)

    def cells(values, tag):
        values = list(values)[: len(shown) or TABLE_MAX_COLUMNS]
        out = "".join(f'<{tag} style="{_CELL_STYLE}">{esc(_clip(v, TABLE_CELL_CHARS))}</{tag}>' for v in values)
        if more_columns > 0:
            out += f'<{tag} style="{_CELL_STYLE}">\u2026</{tag}>'
        return f"<tr>{out}</tr>"

    body = (cells(shown, "th") if header else "") + "".join(cells(row, "td") for row in rows)
    html_text = f'<table style="{_TABLE_STYLE}">{body}</table>'
    notes = []
    if total_rows is not None and total_rows > len(rows):
        notes.append(f"first {len(rows)} of {total_rows:,} rows")
    if more_columns > 0:
        notes.append(f"{more_columns} more columns")
    return html_text + (_note(", ".join(notes)) if notes else "")


def _preview_tree(artifact, info):
    path = artifact.path
    size = os.path.getsize(path)
    if size > TREE_MAX_BYTES:
        return _text_head(path) + _note(f"{human_size(size)}: too large for a tree view, showing the start")
    value = artifact.load()
    return json_tree_html(value)


def json_tree_html(value, open_depth=1):
    """Collapsible tree (``<details>``) of a JSON-like value, capped in items, depth and nodes."""
    budget = [TREE_MAX_NODES]

    def scalar(item):
        try:
            text = json.dumps(item, ensure_ascii=False, default=str)
        except Exception:  # noqa: BLE001 - default=str calls a value's own __str__
            text = repr(item)
        return f'<span style="color:var(--jp-mirror-editor-string-color,#a31515)">{esc(_clip(text, 200))}</span>'

    def node(key, item, depth):
        budget[0] -= 1
        key_html = f"<b>{esc(key)}</b>: " if key is not None else ""
        if isinstance(item, (dict, list, tuple)):
            is_dict = isinstance(item, dict)
            entries = list(item.items()) if is_dict else list(enumerate(item))
            label = (
                f"{{\u2026}} {plural(len(entries), 'key')}" if is_dict else f"[\u2026] {plural(len(entries), 'item')}"
            )
            if not entries:
                return f"<div>{key_html}{'{}' if is_dict else '[]'}</div>"
            if depth >= TREE_MAX_DEPTH or budget[0] <= 0:
                return f"<div>{key_html}{esc(label)}</div>"
            children = []
            for sub_key, sub in entries[:TREE_MAX_ITEMS]:
                if budget[0] <= 0:
                    children.append(f"<div>{_ELLIPSIS} (preview limit reached)</div>")
                    break
                children.append(node(sub_key, sub, depth + 1))
            if len(entries) > TREE_MAX_ITEMS:
                children.append(f"<div>{_ELLIPSIS} {len(entries) - TREE_MAX_ITEMS} more</div>")
            opened = " open" if depth < open_depth else ""
            return (
                f"<details{opened}><summary>{key_html}{esc(label)}</summary>"
                f'<div style="margin-left:1.2em">{"".join(children)}</div></details>'
            )
        return f"<div>{key_html}{scalar(item)}</div>"

    return (
        f'<div class="opencrate-tree" style="font-family:var(--jp-code-font-family,monospace);'
        f'font-size:12px;margin-top:6px">{node(None, value, 0)}</div>'
    )


def _text_head(path):
    with open(path, "rb") as f:
        raw = f.read(TEXT_HEAD_CHARS + 1)
    text = raw[:TEXT_HEAD_CHARS].decode("utf-8", "replace")
    lines = text.split("\n")
    cut = len(raw) > TEXT_HEAD_CHARS or len(lines) > TEXT_HEAD_LINES
    text = "\n".join(lines[:TEXT_HEAD_LINES])
    return f'<pre style="{_PRE_STYLE}">{esc(text)}{(chr(10) + _ELLIPSIS) if cut else ""}</pre>'


def _preview_text(artifact, info):
    return _text_head(artifact.path)


def _preview_checkpoint(artifact, info):
    parts = []
    tensors = info.get("tensors") or []
    if tensors:
        rows = [
            [
                t.get("name") or "(array)",
                _TIMES.join(str(s) for s in (t.get("shape") or [])) or "scalar",
                t.get("dtype"),
            ]
            for t in tensors[:TENSORS_SHOWN]
        ]
        parts.append(table_html(["tensor", "shape", "dtype"], rows))
        count = info.get("tensor_count") or len(tensors)
        if count > len(rows):
            parts.append(_note(f"first {len(rows)} of {count} tensors"))
    keys = info.get("keys")
    if keys:
        parts.append(
            f'<div style="margin-top:4px">keys: {esc(", ".join(str(k) for k in keys[:30]))}'
            f"{(' ' + _ELLIPSIS) if len(keys) > 30 else ''}</div>"
        )
    scalars = info.get("scalars")
    if scalars:
        parts.append(table_html(["key", "value"], [[k, v] for k, v in list(scalars.items())[:20]]))
    if info.get("note"):
        parts.append(_note(info["note"]))
    return "".join(parts) or _note("no summary available")


def _preview_files(artifact, info):
    path = artifact.path
    if os.path.isdir(path):
        files = info.get("files")
        if files is None:
            files = sorted(
                os.path.relpath(os.path.join(b, f), path).replace(os.sep, "/")
                for b, d, fs in os.walk(path)
                for f in fs
                if not f.startswith(".")
            )
        count = info.get("file_count", len(files))
        rows = []
        for rel in list(files)[:LISTING_MAX_FILES]:
            try:
                size = human_size(os.path.getsize(os.path.join(path, rel)))
            except OSError:
                size = "?"
            rows.append([rel, size])
        if not rows:
            return _note("empty folder")
        out = table_html(["file", "size"], rows)
        if count > len(rows):
            out += _note(f"first {len(rows)} of {count} files")
        return out
    return table_html(["file", "size"], [[os.path.basename(path), human_size(os.path.getsize(path))]])


_PREVIEWERS = {
    "image": _preview_image,
    "gif": _preview_gif,
    "video": _preview_video,
    "audio": _preview_audio,
    "csv": _preview_csv,
    "json": _preview_tree,
    "yaml": _preview_tree,
    "text": _preview_text,
    "checkpoint": _preview_checkpoint,
}


# ---------------------------------------------------------------------------------------------
# loaded media values
# ---------------------------------------------------------------------------------------------
def wav_bytes(data, sample_rate, max_bytes=None):
    """16-bit PCM WAV of (at most the first ``max_bytes`` worth of) samples: 1-D, or frames x channels."""
    import wave

    import numpy as np

    if max_bytes is None:
        max_bytes = MEDIA_EMBED_MAX_BYTES
    array = np.asarray(data)
    if array.ndim == 2 and array.shape[0] <= 8 < array.shape[1]:
        array = array.T  # channels first (torchaudio) -> frames first
    if array.ndim == 1:
        array = array[:, None]
    array = array[:, :2]
    channels = array.shape[1]
    array = array[: max(1, (max_bytes - 44) // (2 * channels))]
    if array.dtype.kind == "f":
        pcm = (np.clip(np.nan_to_num(array), -1.0, 1.0) * 32767).astype("<i2")
    elif array.dtype == np.int16:
        pcm = array.astype("<i2", copy=False)
    elif array.dtype.kind in "iu":
        info = np.iinfo(array.dtype)
        scaled = (array.astype(np.float64) - (info.min + info.max + 1) / 2) / ((info.max - info.min + 1) / 2)
        pcm = (np.clip(scaled, -1.0, 1.0) * 32767).astype("<i2")
    else:
        pcm = array.astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(np.ascontiguousarray(pcm).tobytes())
    return buffer.getvalue()


def _frame_to_pil(frame):
    from PIL import Image

    if hasattr(frame, "mode") and hasattr(frame, "convert"):
        return frame.convert("RGB")
    import numpy as np

    array = np.asarray(frame)
    if array.dtype != np.uint8:
        array = np.clip(array * (255.0 if array.dtype.kind == "f" and array.max() <= 1.0 else 1.0), 0, 255)
        array = array.astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    return Image.fromarray(array).convert("RGB")


def animation_tag(frames, duration_ms, alt="", max_px=None):
    """An animated-gif ``<img>`` from frames (arrays or PIL images), sampled and shrunk to fit the caps."""
    max_px = max_px or ANIMATION_PX
    frames = list(frames)
    step = max(1, math.ceil(len(frames) / ANIMATION_MAX_FRAMES))
    images = []
    for frame in frames[::step]:
        image = _frame_to_pil(frame)
        image.thumbnail((max_px, max_px))
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(20, int(round(float(duration_ms) * step))),
        loop=0,
    )
    data = buffer.getvalue()
    if len(data) > MEDIA_EMBED_MAX_BYTES:
        return pil_thumbnail_tag(images[0], max_px, alt) + _note("first frame only: the animation is too large")
    return (
        f'<img src="{_data_uri("image/gif", data)}" alt="{esc(alt)}" '
        f'style="max-width:{max_px}px;margin-top:6px;display:block">'
    )


def _value_card(title, summary, body):
    return (
        f'<div class="opencrate-card" style="{_CARD_STYLE}"><div style="font-weight:600">{esc(title)}</div>'
        f'<div style="{_MUTED}">{esc(summary)}</div>{body}</div>'
    )


def _value_preview(title, what):
    """Turn ``func(value) -> (summary, body HTML)`` into a card function that never raises."""

    def decorate(func):
        @functools.wraps(func)
        def card(value):
            try:
                summary, body = func(value)
            except Exception as exc:  # noqa: BLE001 - a preview must never break the display
                return _value_card(title, _safe_repr(value), _failed(what, exc))
            return _value_card(title, summary, body)

        return card

    return decorate


@_value_preview("AudioClip", "player")
def audio_clip_html(clip):
    """An audio player for a loaded AudioClip (cut to the embed cap)."""
    rate = clip.get("sample_rate")
    duration = float(clip.get("duration") or 0)
    summary = _core.handlers.get_handler("audio").summary(clip)  # the same line as a saved audio's card
    wav = wav_bytes(clip["data"], rate)
    body = _audio_tag("audio/wav", wav)
    embedded = (len(wav) - 44) / (2.0 * max(1, min(int(clip.get("channels") or 1), 2)) * float(rate))
    if embedded + 0.01 < duration:
        body += _note(f"first {embedded:.1f} s of {duration:.1f} s")
    return summary, body


@_value_preview("VideoClip", "preview")
def video_clip_html(clip):
    """An animated preview (sampled frames, shrunk) of a loaded VideoClip."""
    frames = clip.get("frames")
    count = len(frames) if frames is not None else 0
    fps = clip.get("fps") or 0
    summary = (
        f"{count} frames, {clip.get('width')}\u00d7{clip.get('height')}"
        + (f", {float(fps):g} fps" if fps else "")
        + f", {float(clip.get('duration') or 0):.1f} s"
    )
    if not count:
        return summary, _note("no frames")
    body = animation_tag(frames, 1000.0 / fps if fps else 100, alt="video preview")
    if count > ANIMATION_MAX_FRAMES:
        body += _note(f"preview: every {math.ceil(count / ANIMATION_MAX_FRAMES)}th frame")
    return summary, body


@_value_preview("GifFrames", "preview")
def gif_frames_html(frames):
    """The animation of loaded GifFrames."""
    duration = getattr(frames, "duration_ms", 100) or 100
    summary = f"{len(frames)} frames, {duration} ms per frame"
    if not len(frames):
        return summary, _note("no frames")
    return summary, animation_tag(frames, duration, alt="gif")


# ---------------------------------------------------------------------------------------------
# registration with IPython's display formatter
# ---------------------------------------------------------------------------------------------
def formatter_table():
    """(type, text/html function) pairs that the extension registers."""
    handlers = _core.handlers
    return [
        (_core.Artifact, artifact_card),
        (handlers.AudioClip, audio_clip_html),
        (handlers.VideoClip, video_clip_html),
        (handlers.GifFrames, gif_frames_html),
    ]


def register_formatters(shell):
    """Register the HTML formatters; returns what :func:`unregister_formatters` needs to undo it."""
    formatter = shell.display_formatter.formatters["text/html"]
    undo = []
    for cls, func in formatter_table():
        previous = formatter.for_type(cls, func)
        undo.append((cls, func, previous))
    return undo


def unregister_formatters(shell, undo):
    formatter = shell.display_formatter.formatters["text/html"]
    for cls, func, previous in reversed(undo):
        if formatter.type_printers.get(cls) is not func:
            continue  # someone registered another one since: leave it
        if previous is None:
            formatter.pop(cls, None)
        else:
            formatter.for_type(cls, previous)
