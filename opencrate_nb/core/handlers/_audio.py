"""Audio from numpy arrays or tensors, written and read with soundfile."""

import os

from ..format import plural
from ._base import Handler, corrupt, require
from ._clips import AudioClip
from ._compare import Detail, compare_media


def _frames_first(np, data):
    """soundfile wants (frames, channels); torchaudio gives (channels, frames)."""
    if hasattr(data, "detach"):
        data = data.detach().cpu().numpy()
    array = np.asarray(data)
    if array.ndim == 2 and array.shape[0] <= 8 < array.shape[1]:
        array = array.T
    if array.ndim not in (1, 2):
        raise ValueError(f"Audio must be 1-D (mono) or 2-D (frames x channels), got shape {array.shape}.")
    return array


class AudioHandler(Handler):
    kind = "audio"
    folder = "audios"
    suffixes = (".wav", ".flac", ".ogg")
    description = "1-D or 2-D sample arrays (numpy, torch) with a sample rate"
    media_types = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}

    def save(self, data, path, sample_rate=None, lib="soundfile", subtype=None):
        if sample_rate is None:
            raise TypeError("Saving audio needs the sample rate: artifact.save(data, sample_rate).")
        if lib not in ("soundfile", "librosa", "torchaudio", "numpy"):
            raise ValueError(f"Unknown lib {lib!r} for audio: use 'soundfile'.")
        np = require("numpy", None, "Saving audio")
        sf = require("soundfile", None, "Saving audio")
        sf.write(path, _frames_first(np, data), int(sample_rate), subtype=subtype)

    def load(self, path, lib="soundfile", dtype="float64"):
        """Returns an AudioClip: ``{"data", "sample_rate", "duration", "channels"}``."""
        if lib not in ("soundfile", "librosa", "torchaudio", "numpy"):
            raise ValueError(f"Unknown lib {lib!r} for audio: use 'soundfile'.")
        sf = require("soundfile", None, "Loading audio")
        try:
            data, sample_rate = sf.read(path, dtype=dtype)
        except sf.LibsndfileError as exc:
            if "System error" in str(exc) or not os.path.exists(path):
                raise  # the disk or the path, not the content
            raise corrupt(path, "libsndfile cannot read it as audio", exc) from None
        channels = 1 if data.ndim == 1 else data.shape[1]
        return AudioClip(data=data, sample_rate=sample_rate, duration=len(data) / float(sample_rate), channels=channels)

    def describe(self, path):
        sf = require("soundfile", None, "Describing audio")
        info = sf.info(path)
        return {
            "size": os.path.getsize(path),
            "sample_rate": info.samplerate,
            "channels": info.channels,
            "frames": info.frames,
            "duration": info.duration,
            "format": info.format,
            "subtype": info.subtype,
        }

    def summary(self, description: dict) -> str:
        get = description.get
        if not get("sample_rate"):
            return ""
        channels = get("channels")
        return f"{float(get('duration') or 0):.2f} s, {get('sample_rate')} Hz, " + (
            plural(channels, "channel") if isinstance(channels, int) else "? channels"
        )

    def compare(self, path_a: str, path_b: str) -> Detail:
        """The changed facts, and both side by side when a browser can show them."""
        return compare_media(self, path_a, path_b)
