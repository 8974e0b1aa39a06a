"""Animated gifs from a list of frames (arrays or PIL images)."""

import os

from ..format import plural
from ._base import Handler, require
from ._clips import GifFrames
from ._compare import Detail, compare_media
from ._image import pil_content_errors, to_pil


class GifHandler(Handler):
    kind = "gif"
    folder = "gifs"
    suffixes = (".gif",)
    description = "a list of frames (numpy arrays or PIL images)"
    media_types = {".gif": "image/gif"}

    def save(self, frames, path, fps=None, duration_ms=None, loop=0):
        """``fps`` or ``duration_ms`` (per frame) set the speed; the default is 10 frames per second.

        The GIF writer stores identical neighbouring frames once, with their durations added
        (it plays the same), so a loaded gif can have fewer frames than were saved.
        """
        frames = list(frames)
        if not frames:
            raise ValueError("A gif needs at least one frame; got an empty list.")
        if duration_ms is None:
            duration_ms = 1000.0 / fps if fps else 100
        images = [to_pil(frame).convert("RGB") for frame in frames]
        images[0].save(
            path,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=int(round(duration_ms)),
            loop=loop,
            disposal=2,
        )

    def load(self, path, lib="numpy"):
        """``lib="numpy"`` -> GifFrames of RGB arrays; ``lib="pil"`` -> GifFrames of PIL images."""
        if lib not in ("numpy", "pil"):
            raise ValueError(f"Unknown lib {lib!r} for gifs: use 'numpy' or 'pil'.")
        Image = require("PIL.Image", None, "Loading gifs")
        np = require("numpy", None, "Loading gifs") if lib == "numpy" else None
        frames = GifFrames()
        with pil_content_errors(path), Image.open(path) as image:
            frames.duration_ms = image.info.get("duration", 100)
            frames.loop = image.info.get("loop", 0)
            for index in range(getattr(image, "n_frames", 1)):
                image.seek(index)
                frame = image.convert("RGB")
                frames.append(np.asarray(frame) if np is not None else frame.copy())
        return frames

    def describe(self, path):
        Image = require("PIL.Image", None, "Describing gifs")
        with Image.open(path) as image:
            count = getattr(image, "n_frames", 1)
            duration = image.info.get("duration", 100)
            return {
                "size": os.path.getsize(path),
                "width": image.width,
                "height": image.height,
                "frames": count,
                "duration_ms": duration,
                "duration": count * duration / 1000.0,
            }

    def summary(self, description: dict) -> str:
        get = description.get
        frames = get("frames")
        if not isinstance(frames, int) or not frames:
            return ""
        return f"{plural(frames, 'frame')}, {get('width')}\u00d7{get('height')}, {float(get('duration') or 0):.1f} s"

    def compare(self, path_a: str, path_b: str) -> Detail:
        """The changed facts, and both side by side when a browser can show them."""
        return compare_media(self, path_a, path_b)
