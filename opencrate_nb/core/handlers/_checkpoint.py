"""Model checkpoints, by file suffix.

.pt / .pth (torch), .safetensors, .npz / .npy (numpy), .pkl / .pickle / .joblib.
Loading never runs code from the file by default: torch files load with
``weights_only=True`` (tensors, numbers, strings, containers: a checkpoint dict with
model and optimizer state loads fine), and pickle-based files need ``trusted=True``.
"""

import json
import os
import pickle
import struct

from ..errors import InvalidNameError, UntrustedContentError
from ._base import Handler, require

_TORCH = (".pt", ".pth")
_PICKLE = (".pkl", ".pickle", ".joblib")
_UNSUPPORTED = {".h5": "Keras/HDF5", ".keras": "Keras", ".ckpt": "TensorFlow"}
MAX_DESCRIBED_TENSORS = 200


def _suffix(path):
    return os.path.splitext(path)[1].lower()


def _check_supported(path):
    suffix = _suffix(path)
    if suffix in _UNSUPPORTED:
        raise InvalidNameError(
            f"{_UNSUPPORTED[suffix]} checkpoints ({suffix}) are not supported. Use .pt/.pth, .safetensors, "
            ".npz/.npy, .joblib or .pkl, or a custom handler: oc.snapshot.<kind>(name, handler=YourClass)."
        )
    return suffix


def _state_dict(obj):
    return obj.state_dict() if hasattr(obj, "state_dict") and callable(obj.state_dict) else obj


class CheckpointHandler(Handler):
    kind = "checkpoint"
    folder = "checkpoints"
    suffixes = (".pt", ".pth", ".safetensors", ".npz", ".npy", ".joblib", ".pkl", ".pickle")
    description = "model state (torch, safetensors, numpy, joblib/pickle) chosen by the file suffix"

    def save(self, obj, path, **kwargs):
        suffix = _check_supported(path)
        if suffix in _TORCH:
            torch = require("torch", "torch", "Saving .pt/.pth checkpoints")
            from .._atomic import HashingWriter

            with HashingWriter(path) as writer:
                torch.save(obj, writer, **kwargs)
            return writer.hexdigest()
        elif suffix == ".safetensors":
            st = require("safetensors.torch", "torch", "Saving .safetensors checkpoints")
            tensors = _state_dict(obj)
            if not isinstance(tensors, dict):
                raise TypeError("A .safetensors checkpoint holds a flat dict of tensors (e.g. model.state_dict()).")
            metadata = kwargs.pop("metadata", None)
            st.save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=metadata)
        elif suffix in (".npz", ".npy"):
            np = require("numpy", None, "Saving numpy checkpoints")
            with open(path, "wb") as f:
                if suffix == ".npy":
                    np.save(f, obj, allow_pickle=False)
                elif isinstance(obj, dict):
                    (np.savez_compressed if kwargs.get("compress") else np.savez)(f, **obj)
                else:
                    np.savez(f, obj)
        elif suffix == ".joblib":
            joblib = require("joblib", "all", "Saving .joblib checkpoints")
            joblib.dump(obj, path, **kwargs)
        elif suffix in (".pkl", ".pickle"):
            with open(path, "wb") as f:
                pickle.dump(obj, f, protocol=kwargs.get("protocol", pickle.HIGHEST_PROTOCOL))
        else:
            raise InvalidNameError(f"Unknown checkpoint suffix {suffix!r}: use one of {', '.join(self.suffixes)}.")

    def load(self, path, map_location=None, weights_only=True, trusted=False, device="cpu", mmap=None):
        """Load a checkpoint.

        ``weights_only=False`` (torch) or ``trusted=True`` (any pickle-based file) allow
        loading arbitrary Python objects: only do that for files you trust.
        """
        suffix = _check_supported(path)
        name = os.path.basename(path)
        if suffix in _TORCH:
            torch = require("torch", "torch", "Loading .pt/.pth checkpoints")
            safe = weights_only and not trusted
            try:
                return torch.load(path, map_location=map_location, weights_only=safe, mmap=mmap)
            except pickle.UnpicklingError as exc:
                if not safe:
                    raise
                raise UntrustedContentError(
                    f"{name!r} holds Python objects that safe loading (weights_only=True) refuses: {exc}. "
                    "If you trust this file, load it with load(weights_only=False)."
                ) from None
        if suffix == ".safetensors":
            st = require("safetensors.torch", "torch", "Loading .safetensors checkpoints")
            return st.load_file(path, device=device)
        if suffix in (".npz", ".npy"):
            np = require("numpy", None, "Loading numpy checkpoints")
            try:
                if suffix == ".npy":
                    return np.load(path, allow_pickle=trusted)
                with np.load(path, allow_pickle=trusted) as archive:
                    return {key: archive[key] for key in archive.files}
            except ValueError as exc:
                if trusted or "pickle" not in str(exc).lower():
                    raise
                raise UntrustedContentError(
                    f"{name!r} contains pickled Python objects. If you trust this file, load(trusted=True)."
                ) from None
        if not trusted:
            raise UntrustedContentError(
                f"Loading {name!r} would unpickle it, which can run any code stored in the file. "
                "If you trust where it came from, load it with load(trusted=True)."
            )
        if suffix == ".joblib":
            joblib = require("joblib", "all", "Loading .joblib checkpoints")
            return joblib.load(path)
        with open(path, "rb") as f:
            return pickle.load(f)

    def describe(self, path):
        suffix = _check_supported(path)
        info = {"size": os.path.getsize(path), "format": suffix.lstrip(".")}
        if suffix == ".safetensors":
            info.update(_describe_safetensors(path))
        elif suffix in (".npz", ".npy"):
            info.update(_describe_numpy(path, suffix))
        elif suffix in _TORCH:
            torch = require("torch", "torch", "Describing .pt/.pth checkpoints")
            try:
                value = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except Exception as exc:  # noqa: BLE001 - a summary must not fail
                info["note"] = f"not loadable with weights_only=True ({type(exc).__name__})"
                return info
            info.update(summarize(value))
        else:
            info["note"] = "pickle-based: not opened (it could run code)"
        return info


def summarize(value):
    """Top-level keys, tensors (shape, dtype) and parameter count of a loaded checkpoint."""
    tensors = []
    total = [0]

    def walk(prefix, item, depth):
        if hasattr(item, "shape") and hasattr(item, "dtype"):
            shape = [int(s) for s in item.shape]
            count = 1
            for s in shape:
                count *= s
            total[0] += count
            if len(tensors) < MAX_DESCRIBED_TENSORS:
                tensors.append({"name": prefix, "shape": shape, "dtype": str(item.dtype).replace("torch.", "")})
        elif isinstance(item, dict) and depth < 6:
            for key, sub in item.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub, depth + 1)
        elif isinstance(item, (list, tuple)) and depth < 6:
            for index, sub in enumerate(item[:1000]):
                walk(f"{prefix}[{index}]", sub, depth + 1)

    walk("", value, 0)
    info = {"tensors": tensors, "tensor_count": None, "parameters": total[0]}
    info["tensor_count"] = len(tensors)
    if isinstance(value, dict):
        info["keys"] = [str(k) for k in list(value)[:100]]
        info["scalars"] = {
            str(k): v
            for k, v in value.items()
            if isinstance(v, (int, float, str, bool)) and (not isinstance(v, str) or len(v) < 200)
        }
    return info


def _describe_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(min(length, 100 << 20)))
    metadata = header.pop("__metadata__", None)
    tensors, total = [], 0
    for name, meta in header.items():
        count = 1
        for s in meta.get("shape", []):
            count *= s
        total += count
        if len(tensors) < MAX_DESCRIBED_TENSORS:
            tensors.append({"name": name, "shape": meta.get("shape"), "dtype": meta.get("dtype")})
    return {"tensors": tensors, "tensor_count": len(header), "parameters": total, "metadata": metadata}


def _describe_numpy(path, suffix):
    np = require("numpy", None, "Describing numpy checkpoints")
    if suffix == ".npy":
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        return {
            "tensors": [{"name": "", "shape": list(array.shape), "dtype": str(array.dtype)}],
            "tensor_count": 1,
            "parameters": int(array.size),
        }
    tensors, total = [], 0
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            array = archive[key]
            total += int(array.size)
            if len(tensors) < MAX_DESCRIBED_TENSORS:
                tensors.append({"name": key, "shape": list(array.shape), "dtype": str(array.dtype)})
        return {
            "tensors": tensors,
            "tensor_count": len(archive.files),
            "parameters": total,
            "keys": list(archive.files)[:100],
        }
