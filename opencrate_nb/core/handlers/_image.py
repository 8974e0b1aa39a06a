"""Images from numpy arrays, PIL images or matplotlib figures.

``load(lib="pil")`` returns a PIL image; ``lib="cv2"`` returns what OpenCV's imread
would (a BGR uint8 array), produced with Pillow and numpy so OpenCV is not needed;
``lib="numpy"`` returns an RGB(A) array.
"""

import contextlib
import os
from typing import Any

from ._base import Handler, corrupt, require
from ._compare import Detail, compare_media

_JPEG = (".jpg", ".jpeg")


def is_figure(obj):
    return hasattr(obj, "savefig") and type(obj).__module__.startswith("matplotlib")


def is_pil_image(obj):
    return type(obj).__module__.startswith("PIL.") and hasattr(obj, "mode")


def to_pil(obj):
    """A PIL image from a PIL image, an HxW / HxWx3 / HxWx4 array (uint8, or float in [0, 1]) or a tensor."""
    Image = require("PIL.Image", None, "Saving images")
    if is_pil_image(obj):
        return obj
    np = require("numpy", None, "Saving images from arrays")
    if hasattr(obj, "detach"):  # torch tensor, CHW -> HWC
        obj = obj.detach().cpu().numpy()
        if obj.ndim == 3 and obj.shape[0] in (1, 3, 4) and obj.shape[-1] not in (1, 3, 4):
            obj = np.moveaxis(obj, 0, -1)
    array = np.asarray(obj)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ValueError(
            f"Cannot save an array of shape {array.shape} as an image: use HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA)."
        )
    if array.dtype != np.uint8:
        if array.dtype.kind == "f":
            array = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        elif array.dtype == bool:
            array = array.astype(np.uint8) * 255
        else:
            array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(array)


@contextlib.contextmanager
def pil_content_errors(path):
    """Pillow's complaints about a file's content become CorruptArtifactError; disk errors pass untouched."""
    from PIL import UnidentifiedImageError

    try:
        yield
    except UnidentifiedImageError as exc:
        raise corrupt(path, "Pillow cannot identify it as an image", exc) from None
    except (SyntaxError, OSError) as exc:
        if isinstance(exc, OSError) and (type(exc) is not OSError or exc.errno is not None):
            raise  # a real I/O error (missing file, permissions, disk)
        raise corrupt(path, "its image data is damaged or cut short", exc) from None


class ImageHandler(Handler):
    kind = "image"
    folder = "images"
    suffixes = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
    description = "numpy arrays, PIL images and matplotlib figures"
    media_types = {
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".bmp": "image/bmp",
        ".tif": "image/tiff",
        ".tiff": "image/tiff",
        ".webp": "image/webp",
    }

    def save(self, obj, path, dpi=None, bbox_inches="tight", **kwargs):
        if is_figure(obj):
            obj.savefig(path, dpi=dpi or "figure", bbox_inches=bbox_inches, **kwargs)
            return
        image = to_pil(obj)
        if path.lower().endswith(_JPEG) and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(path, **kwargs)

    def load(self, path: str, lib: str = "pil") -> Any:
        """``lib="pil"`` -> a PIL image, ``"cv2"`` -> BGR uint8 array, ``"numpy"`` -> RGB(A) array."""
        if lib not in ("pil", "PIL", "cv2", "numpy"):
            raise ValueError(f"Unknown lib {lib!r} for images: use 'pil', 'cv2' or 'numpy'.")
        with pil_content_errors(path):
            return self._load(path, lib)

    def _load(self, path, lib):
        Image = require("PIL.Image", None, "Loading images")
        if lib in ("pil", "PIL"):
            with Image.open(path) as image:
                image.load()
                return image
        np = require("numpy", None, f"Loading images with lib={lib!r}")
        if lib == "cv2":
            with Image.open(path) as image:
                mode = "L" if image.mode in ("L", "I", "I;16", "1") else "RGB"
                array = np.asarray(image.convert(mode))
            return array if mode == "L" else np.ascontiguousarray(array[..., ::-1])
        if lib == "numpy":
            with Image.open(path) as image:
                return np.asarray(image.convert("RGBA" if "A" in image.getbands() else "RGB"))
        raise ValueError(f"Unknown lib {lib!r} for images: use 'pil', 'cv2' or 'numpy'.")

    def describe(self, path):
        Image = require("PIL.Image", None, "Describing images")
        with Image.open(path) as image:  # reads the header only
            return {
                "size": os.path.getsize(path),
                "width": image.width,
                "height": image.height,
                "mode": image.mode,
                "format": image.format,
            }

    def summary(self, description: dict) -> str:
        get = description.get
        if not get("width"):
            return ""
        return f"{get('width')}\u00d7{get('height')} {get('mode') or ''} {get('format') or ''}".strip()

    def compare(self, path_a: str, path_b: str) -> Detail:
        """The changed facts, and both side by side when a browser can show them."""
        return compare_media(self, path_a, path_b)
