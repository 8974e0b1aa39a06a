"""Video from a list (or array) of frames, written with imageio's ffmpeg plugin (the [video] extra)."""

import os

from ._base import Handler, require
from ._clips import VideoClip
from ._compare import Detail, compare_media

_EXTRA = "video"


def _imageio():
    require("imageio_ffmpeg", _EXTRA, "Video artifacts")
    return require("imageio.v3", _EXTRA, "Video artifacts")


class VideoHandler(Handler):
    kind = "video"
    folder = "videos"
    suffixes = (".mp4", ".avi", ".mov", ".mkv", ".webm")
    description = "a sequence of HxWx3 frames and a frame rate"
    media_types = {
        ".mp4": "video/mp4",
        ".avi": "video/x-msvideo",
        ".mov": "video/quicktime",
        ".mkv": "video/x-matroska",
        ".webm": "video/webm",
    }

    def save(self, frames, path, fps=30, codec=None, quality=None):
        iio = _imageio()
        np = require("numpy", None, "Video artifacts")
        from ._image import to_pil

        if not len(frames):
            raise ValueError("A video needs at least one frame; got none.")
        array = np.stack([np.asarray(to_pil(f).convert("RGB")) for f in frames])
        # yuv420p (what players expect) needs even sizes: pad by repeating the edge
        pad_h, pad_w = array.shape[1] % 2, array.shape[2] % 2
        if pad_h or pad_w:
            array = np.pad(array, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        kwargs = {"fps": fps, "macro_block_size": 1}
        if codec:
            kwargs["codec"] = codec
        if quality is not None:
            kwargs["quality"] = quality
        suffix = os.path.splitext(path)[1].lower()
        iio.imwrite(path, array, plugin="FFMPEG", extension=suffix, **kwargs)

    def load(self, path):
        """Returns a VideoClip: ``{"frames", "fps", "duration", "width", "height"}``."""
        iio = _imageio()
        frames = iio.imread(path, plugin="FFMPEG")
        meta = iio.immeta(path, plugin="FFMPEG")
        fps = float(meta.get("fps") or 0) or None
        duration = len(frames) / fps if fps else float(meta.get("duration") or 0)
        return VideoClip(
            frames=frames, fps=fps, duration=duration, width=int(frames.shape[2]), height=int(frames.shape[1])
        )

    def describe(self, path):
        iio = _imageio()
        meta = iio.immeta(path, plugin="FFMPEG")
        width, height = (meta.get("size") or (None, None))[:2]
        return {
            "size": os.path.getsize(path),
            "fps": meta.get("fps"),
            "duration": meta.get("duration"),
            "width": width,
            "height": height,
            "codec": meta.get("codec"),
        }

    def summary(self, description: dict) -> str:
        get = description.get
        if not get("width"):
            return ""
        fps, duration = get("fps"), get("duration")
        return (
            f"{get('width')}\u00d7{get('height')}"
            + (f", {float(fps):g} fps" if fps else "")
            + (f", {float(duration):.1f} s" if duration else "")
        )

    def compare(self, path_a: str, path_b: str) -> Detail:
        """The changed facts, and both side by side when a browser can show them."""
        return compare_media(self, path_a, path_b)
