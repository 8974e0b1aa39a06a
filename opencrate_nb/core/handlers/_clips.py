"""Values returned by the media handlers.

They are plain dicts and lists (``loaded["data"]`` works as the OpenCrate guide shows)
with a type of their own, so the notebook layer can render them inline.
"""


class AudioClip(dict):
    """``{"data", "sample_rate", "duration", "channels"}`` as loaded from an audio artifact."""

    def __repr__(self):
        return (
            f"AudioClip(sample_rate={self.get('sample_rate')}, channels={self.get('channels')}, "
            f"duration={self.get('duration'):.3f}s)"
        )


class VideoClip(dict):
    """``{"frames", "fps", "duration", "width", "height"}`` as loaded from a video artifact."""

    def __repr__(self):
        frames = self.get("frames")
        count = len(frames) if frames is not None else 0
        return (
            f"VideoClip({count} frames, {self.get('width')}x{self.get('height')}, "
            f"fps={self.get('fps')}, duration={self.get('duration'):.3f}s)"
        )


class GifFrames(list):
    """The frames of a gif (numpy arrays), with ``duration_ms`` per frame and ``loop``."""

    duration_ms = 100
    loop = 0

    def __repr__(self):
        return f"GifFrames({len(self)} frames, duration_ms={self.duration_ms}, loop={self.loop})"
