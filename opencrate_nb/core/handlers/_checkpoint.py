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
from typing import Any

from ..errors import InvalidNameError, UntrustedContentError
from ..format import plural
from . import _checkpoint_keras, _checkpoint_onnx
from ._base import Handler, corrupt, counted, require
from ._compare import Detail, capped

_TORCH = (".pt", ".pth")
_KERAS = (".keras", ".h5")
_PICKLE = (".pkl", ".pickle", ".joblib")
_UNSUPPORTED = {".ckpt": "TensorFlow"}
MAX_DESCRIBED_TENSORS = 200


def _suffix(path):
    return os.path.splitext(path)[1].lower()


def _check_supported(path):
    suffix = _suffix(path)
    if suffix in _UNSUPPORTED:
        raise InvalidNameError(
            f"{_UNSUPPORTED[suffix]} checkpoints ({suffix}) are not supported. Use .pt/.pth, .safetensors, "
            ".npz/.npy, .keras/.h5, .onnx, .joblib or .pkl, or a custom handler: oc.snapshot.<kind>(name, handler=YourClass)."
        )
    return suffix


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"
_PICKLE_START = b"\x80"  # the PROTO opcode: torch's legacy (non-zip) format is a series of pickles


def _head(path, size=16):
    with open(path, "rb") as f:
        return f.read(size)


def _needs_unpickling(exc):
    """torch's weights-only loader refused a class or function (the file is fine, but not only weights)."""
    text = str(exc).lower()
    return "global" in text and "unsupported operand" not in text


def _load_torch(path, map_location, safe, mmap):
    torch = require("torch", "torch", "Loading .pt/.pth checkpoints")
    head = _head(path)
    if not head.startswith((*_ZIP_MAGIC, _PICKLE_START)):
        raise corrupt(path, "it is neither a torch zip archive nor torch's legacy format")
    try:
        return torch.load(path, map_location=map_location, weights_only=safe, mmap=mmap)
    except pickle.UnpicklingError as exc:
        if safe and (_needs_unpickling(exc) or _torch_file_is_whole(path)):
            raise UntrustedContentError(
                f"{os.path.basename(path)!r} holds Python objects that safe loading (weights_only=True) refuses: "
                f"{_first_line(exc)}. If you trust this file, load it with load(weights_only=False)."
            ) from None
        raise corrupt(path, "its pickled part is damaged", exc) from None
    except (EOFError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not _is_format_error(exc):
            raise
        raise corrupt(path, "torch cannot read it as a checkpoint", exc) from None


_TORCH_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # the first pickle of torch's legacy format


def _torch_file_is_whole(path):
    """Whether a torch file is intact (zip CRCs and pickle opcodes; legacy: its magic number), unpickling nothing.

    Tells a file that only weights-only loading cannot read (old pickle protocols, custom
    classes) from a damaged one. Runs on the error path only: it reads the whole file.
    """
    import pickletools
    import zipfile

    try:
        if _head(path).startswith(_ZIP_MAGIC):
            with zipfile.ZipFile(path) as archive:
                if archive.testzip() is not None:
                    return False
                pickles = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "data.pkl"]
                if len(pickles) != 1:
                    return False
                with archive.open(pickles[0]) as f:
                    for _ in pickletools.genops(f):
                        pass
            return True
        with open(path, "rb") as f:
            if not any(arg == _TORCH_MAGIC_NUMBER for _, arg, _ in pickletools.genops(f)):
                return False
            for _ in range(3):  # protocol version, system info, the object
                for _ in pickletools.genops(f):
                    pass
        return True
    except Exception:  # noqa: BLE001 - whatever fails to parse is not a whole file
        return False


def _is_format_error(exc):
    text = str(exc)
    return any(part in text for part in ("PytorchStreamReader", "Invalid magic number", "corrupt", "unexpected EOF"))


def _first_line(exc):
    lines = [line.strip() for line in str(exc).splitlines() if "global" in line.lower()]
    return (lines[0] if lines else str(exc).splitlines()[0])[:300]


def _load_numpy(path, suffix, trusted):
    np = require("numpy", None, "Loading numpy checkpoints")
    head = _head(path)
    if suffix == ".npy" and not head.startswith(_NPY_MAGIC):
        raise corrupt(path, "it does not start with the .npy header")
    if suffix == ".npz" and not head.startswith(_ZIP_MAGIC):
        raise corrupt(path, "it is not a zip archive, which every .npz file is")
    import zipfile
    import zlib

    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=trusted)
        with np.load(path, allow_pickle=trusted) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as exc:
        if not trusted and "allow_pickle" in str(exc):
            raise UntrustedContentError(
                f"{os.path.basename(path)!r} contains pickled Python objects. If you trust this file, load(trusted=True)."
            ) from None
        raise corrupt(path, "numpy cannot read it", exc) from None
    except (EOFError, OSError, zipfile.BadZipFile, zlib.error, pickle.UnpicklingError) as exc:
        if isinstance(exc, OSError) and type(exc) is not OSError:
            raise  # FileNotFoundError, PermissionError, disk errors: not the file's content
        raise corrupt(path, "numpy cannot read it", exc) from None


def _check_pickle_stream(path):
    """Walk a pickle's opcodes without running any (pickletools): a damaged stream is corrupt."""
    import pickletools

    with open(path, "rb") as f:
        try:
            for _ in pickletools.genops(f):
                pass
        except Exception as exc:  # noqa: BLE001 - any parse failure means the stream is not a pickle
            raise corrupt(path, "it is not a valid pickle", exc) from None


def _state_dict(obj):
    return obj.state_dict() if hasattr(obj, "state_dict") and callable(obj.state_dict) else obj


class CheckpointHandler(Handler):
    kind = "checkpoint"
    folder = "checkpoints"
    suffixes = (".pt", ".pth", ".safetensors", ".npz", ".npy", ".keras", ".h5", ".onnx", ".joblib", ".pkl", ".pickle")
    description = "model state (torch, safetensors, numpy, Keras/HDF5, ONNX, joblib/pickle) chosen by the file suffix"

    def save(self, obj, path, **kwargs):
        suffix = _check_supported(path)
        if suffix in _TORCH:
            torch = require("torch", "torch", "Saving .pt/.pth checkpoints")
            from .._atomic import FileWriter

            with FileWriter(path) as writer:  # a second thread hashes behind the write
                torch.save(obj, writer, **kwargs)
            return writer  # the hash is taken once the file is flushed (core/_writer.stage)
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
        elif suffix in _KERAS:
            _checkpoint_keras.save(obj, path, suffix)
        elif suffix == ".onnx":
            _checkpoint_onnx.save(obj, path)
        elif suffix == ".joblib":
            joblib = require("joblib", "all", "Saving .joblib checkpoints")
            joblib.dump(obj, path, **kwargs)
        elif suffix in (".pkl", ".pickle"):
            with open(path, "wb") as f:
                pickle.dump(obj, f, protocol=kwargs.get("protocol", pickle.HIGHEST_PROTOCOL))
        else:
            raise InvalidNameError(f"Unknown checkpoint suffix {suffix!r}: use one of {', '.join(self.suffixes)}.")

    def load(
        self,
        path: str,
        map_location: Any = None,
        weights_only: bool = True,
        trusted: bool = False,
        device: str = "cpu",
        mmap: bool | None = None,
    ) -> Any:
        """Load a checkpoint.

        ``weights_only=False`` (torch) or ``trusted=True`` (any pickle-based file; Keras files:
        ``safe_mode=False``) allow loading arbitrary Python objects: only do that for files you trust. A file that is
        not valid in its format raises CorruptArtifactError, never advice to load it unsafely.
        """
        suffix = _check_supported(path)
        if suffix in _TORCH:
            return _load_torch(path, map_location, weights_only and not trusted, mmap)
        if suffix == ".safetensors":
            st = require("safetensors.torch", "torch", "Loading .safetensors checkpoints")
            try:
                return st.load_file(path, device=device)
            except Exception as exc:
                if type(exc).__name__ != "SafetensorError":
                    raise
                raise corrupt(path, "it is not a valid safetensors file", exc) from None
        if suffix in (".npz", ".npy"):
            return _load_numpy(path, suffix, trusted)
        if suffix in _KERAS:
            return _checkpoint_keras.load(path, suffix, trusted)
        if suffix == ".onnx":
            return _checkpoint_onnx.load(path)
        if not trusted:
            if suffix != ".joblib":
                _check_pickle_stream(path)  # parses opcodes only: a corrupt file is called corrupt
            raise UntrustedContentError(
                f"Loading {os.path.basename(path)!r} would unpickle it, which can run any code stored in the file. "
                "If you trust where it came from, load it with load(trusted=True)."
            )
        if suffix == ".joblib":
            joblib = require("joblib", "all", "Loading .joblib checkpoints")
            return joblib.load(path)
        with open(path, "rb") as f:
            try:
                return pickle.load(f)
            except (pickle.UnpicklingError, EOFError) as exc:
                raise corrupt(path, "it is not a valid pickle", exc) from None

    def describe(self, path):
        suffix = _check_supported(path)
        info = {"size": os.path.getsize(path), "format": suffix.lstrip(".")}
        if suffix == ".safetensors":
            info.update(_describe_safetensors(path))
        elif suffix in (".npz", ".npy"):
            info.update(_describe_numpy(path, suffix))
        elif suffix in _KERAS or suffix == ".onnx":
            try:
                found = (
                    _checkpoint_onnx.describe(path) if suffix == ".onnx" else _checkpoint_keras.describe(path, suffix)
                )
            except Exception as exc:  # noqa: BLE001 - a summary must not fail (a missing extra included)
                info["note"] = (
                    f"not described ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"
                )
                return info
            info.update(found)
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

    def summary(self, description: dict) -> str:
        if "parameters" not in description:
            return ""
        tensors = description.get("tensor_count") or 0
        parameters = description.get("parameters") or 0
        return f"{description.get('format', '')} \u00b7 {plural(tensors, 'tensor')}, {counted(parameters, 'parameter')}"

    def compare(self, path_a: str, path_b: str) -> Detail:
        """Keys, tensor shapes and dtypes, scalars and parameter counts (from describe(); values are not read)."""
        a, b = self.describe(path_a), self.describe(path_b)
        rows: list[tuple] = []
        keys_a, keys_b = a.get("keys") or [], b.get("keys") or []
        rows += [(f"- key {k}", "present", "") for k in keys_a if k not in keys_b]
        rows += [(f"+ key {k}", "", "present") for k in keys_b if k not in keys_a]
        tensors_a = {t["name"]: t for t in a.get("tensors") or []}
        tensors_b = {t["name"]: t for t in b.get("tensors") or []}

        def show(t):
            return f"{list(t.get('shape') or [])} {t.get('dtype')}"

        rows += [(f"- tensor {n}", show(t), "") for n, t in tensors_a.items() if n not in tensors_b]
        rows += [(f"+ tensor {n}", "", show(t)) for n, t in tensors_b.items() if n not in tensors_a]
        rows += [
            (f"tensor {n}", show(t), show(tensors_b[n]))
            for n, t in tensors_a.items()
            if n in tensors_b and show(t) != show(tensors_b[n])
        ]
        scalars_a, scalars_b = a.get("scalars") or {}, b.get("scalars") or {}
        rows += [
            (k, scalars_a.get(k), scalars_b.get(k))
            for k in dict.fromkeys([*scalars_a, *scalars_b])
            if scalars_a.get(k) != scalars_b.get(k)
        ]
        for field in ("parameters", "format", "note"):
            if a.get(field) != b.get(field):
                rows.append((field, a.get(field), b.get(field)))
        detail = capped(rows, "differences")
        if not detail:
            detail.note = "same keys, tensor shapes and scalars; tensor values differ"
        return detail


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
