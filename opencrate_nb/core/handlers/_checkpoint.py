"""Model checkpoints, by file suffix.

.pt / .pth (torch), .safetensors, .npz / .npy (numpy), .pkl / .pickle / .joblib.
Loading never runs code from the file by default: torch files load with
``weights_only=True`` (tensors, numbers, strings, containers: a checkpoint dict with
model and optimizer state loads fine), and pickle-based files need ``trusted=True``.
"""

import errno
import json
import math
import os
import pickle
import pickletools
import struct
import warnings
from typing import Any, ClassVar, NoReturn

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


def _load_torch(path, map_location, safe, mmap):
    torch = require("torch", "torch", "Loading .pt/.pth checkpoints")
    head = _head(path)
    if not head.startswith((*_ZIP_MAGIC, _PICKLE_START)):
        raise corrupt(path, "it is neither a torch zip archive nor torch's legacy format")
    try:
        return torch.load(path, map_location=map_location, weights_only=safe, mmap=mmap)
    except pickle.UnpicklingError as exc:
        problem = _torch_problem(path)
        if safe and problem is None:
            raise UntrustedContentError(
                f"{os.path.basename(path)!r} holds Python objects that safe loading (weights_only=True) refuses: "
                f"{_first_line(exc)}. If you trust this file, load it with load(weights_only=False)."
            ) from None
        if problem is None:  # whole, but its objects do not unpickle
            raise corrupt(path, "its pickled part is damaged", exc) from None
        raise corrupt(path, f"its pickled part is damaged ({problem})") from None
    except (EOFError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not _is_format_error(exc):
            raise
        raise corrupt(path, "torch cannot read it as a checkpoint", exc) from None
    except Exception as exc:  # noqa: BLE001 - raised again unless the file is damaged
        # torch's zip reader says only "[Errno 22] Invalid argument" for a cut archive; an unsafe load of a
        # damaged pickle fails with whatever the torn opcodes lead to (KeyError, IndexError...)
        _blame_the_file_if_damaged(path, exc, _torch_problem, "torch cannot read it as a checkpoint")


def _blame_the_file_if_damaged(path, exc, problem_of, what) -> NoReturn:
    """Raise CorruptArtifactError when ``problem_of(path)`` finds the file damaged; else ``exc`` again
    (an error of the disk, or of a whole file's own objects)."""
    if _not_the_contents_fault(exc):
        raise exc
    problem = problem_of(path)
    if problem is None:
        raise exc
    raise corrupt(path, f"{what} ({problem})") from None


def _not_the_contents_fault(exc):
    """An error that says nothing about a file's content: memory, or an OSError of the disk or the file
    system (FileNotFoundError, EIO...). torch's zip reader and numpy's loaders raise a plain OSError for
    a damaged file, with no errno or EINVAL: that one is the content's."""
    if isinstance(exc, MemoryError):
        return True
    return isinstance(exc, OSError) and (type(exc) is not OSError or exc.errno not in (None, errno.EINVAL))


_TORCH_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # the first pickle of torch's legacy format


def _torch_problem(path):
    """What keeps a torch file from being whole, or None: the zip's CRCs and data.pkl's opcodes (legacy
    format: its five pickles and the storages they list), read to their end and unpickling nothing.

    Tells a file that only weights-only loading cannot read (old pickle protocols, custom
    classes) from a damaged one. Runs on the error path only: it reads the whole file.
    """
    import zipfile

    def check():
        if _head(path).startswith(_ZIP_MAGIC):
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
                if bad is not None:
                    return f"{bad} in the zip archive fails its CRC check"
                pickles = [info for info in archive.infolist() if info.filename.rsplit("/", 1)[-1] == "data.pkl"]
                if len(pickles) != 1:
                    return f"the zip archive holds {len(pickles)} data.pkl files, where torch writes one"
                with archive.open(pickles[0]) as f:
                    return _pickle_problem(_Bounded(f, pickles[0].file_size))
        with open(path, "rb") as f:
            return _torch_legacy_problem(_Bounded(f, os.path.getsize(path)))

    return _problem(check)


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
            problem = _numpy_problem(path, suffix, np)
            if problem is not None:
                raise corrupt(
                    path, f"it holds pickled Python objects, but their pickle is damaged ({problem})"
                ) from None
            if "Object arrays" not in str(exc):  # numpy reads a header larger than 10 kB only when trusted
                raise UntrustedContentError(
                    f"{os.path.basename(path)!r} has an array header larger than numpy reads from a file it does "
                    "not trust (a crafted one could exhaust memory). If you trust this file, load(trusted=True)."
                ) from None
            raise UntrustedContentError(
                f"{os.path.basename(path)!r} contains pickled Python objects. If you trust this file, load(trusted=True)."
            ) from None
        if trusted and _numpy_problem(path, suffix, np) is None:
            raise  # a whole file: the error is the objects' own
        raise corrupt(path, "numpy cannot read it", exc) from None
    except (EOFError, zipfile.BadZipFile, zlib.error, pickle.UnpicklingError) as exc:
        raise corrupt(path, "numpy cannot read it", exc) from None
    except Exception as exc:
        # numpy's header parser raises what its tokenizer does (TokenError, SyntaxError) for a damaged header
        if _not_the_contents_fault(exc):
            raise
        if trusted and _numpy_problem(path, suffix, np) is None:
            raise  # a whole file: the error is the objects' own
        raise corrupt(path, "numpy cannot read it", exc) from None


def _numpy_problem(path, suffix, np):
    """What keeps a .npy or .npz file from being whole, or None: each array's header, then the data it promises
    (a pickle of objects: its opcodes up to STOP, unpickling nothing); an .npz's zip CRCs too."""
    import zipfile

    def check():
        if suffix == ".npy":
            with open(path, "rb") as f:
                return _npy_problem(_Bounded(f, os.path.getsize(path)), np)
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                return f"{bad} in the zip archive fails its CRC check"
            for info in archive.infolist():
                if info.filename.endswith(".npy"):
                    with archive.open(info) as f:
                        problem = _npy_problem(_Bounded(f, info.file_size), np)
                    if problem:
                        return f"{info.filename}: {problem}"
        return None

    return _problem(check)


#: the largest .npy header a check parses (numpy loads at most 10 kB without trust; structured dtypes of
#: thousands of fields take more): bounded, since a crafted header could make parsing exhaust memory
_MAX_CHECKED_HEADER = 1 << 20


def _npy_problem(source, np):
    import inspect

    version = np.lib.format.read_magic(source)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    bounded = "max_header_size" in inspect.signature(read_header).parameters  # numpy >= 1.24
    shape, _, dtype = read_header(source, max_header_size=_MAX_CHECKED_HEADER) if bounded else read_header(source)
    if dtype.hasobject:
        return _pickle_problem(source)
    expected = math.prod(shape) * dtype.itemsize
    if source.left is not None and source.left < expected:
        return f"its data is cut short: {source.left} of the {expected} bytes its header promises"
    return None


def _pickle_problem(source):
    """Walk the pickle at ``source`` up to its STOP opcode, running none (pickletools); raises where it is damaged."""
    for _ in pickletools.genops(source):
        pass
    return None


def _pickle_file_problem(path):
    """What keeps the pickle file at ``path`` from being whole, or None."""

    def check():
        with open(path, "rb") as f:
            return _pickle_problem(_Bounded(f, os.path.getsize(path)))

    return _problem(check)


def _check_pickle_stream(path):
    """Walk a pickle's opcodes without running any (pickletools): a damaged stream is corrupt."""
    problem = _pickle_file_problem(path)
    if problem is not None:
        raise corrupt(path, f"it is not a valid pickle ({problem})")


def _problem(check):
    """``check()``, or what stopped it: a parse that fails is damage; a disk error or a missing library is raised."""
    try:
        return check()
    except ImportError:
        raise  # a library the check needs (numpy for a joblib file's arrays)
    except Exception as exc:  # whatever stops a structural walk before its end is damage
        if _not_the_contents_fault(exc):
            raise
        if isinstance(exc, _CutShort):
            return str(exc)
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        return (
            f"it does not parse: {type(exc).__name__}: {first}" if first else f"it does not parse: {type(exc).__name__}"
        )


def _check_deflate(path, wbits):
    """Decompress a zlib or gzip file to its end (1 MiB at a time, kept nowhere): it must end with its checksum."""
    import zlib

    decompressor = zlib.decompressobj(wbits)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            while chunk and not decompressor.eof:
                decompressor.decompress(chunk, 1 << 20)
                chunk = decompressor.unconsumed_tail
    if not decompressor.eof:
        raise ValueError("its compressed stream ends before its end marker and checksum")


class _CutShort(EOFError):
    """A walk reached the end of the file (or of the part it walks) before the end of what it reads."""

    def __init__(self, position, needed, left=0):
        super().__init__(
            f"it ends early: {plural(needed, 'more byte')} {'is' if needed == 1 else 'are'} needed at byte "
            f"{position}, {'none' if not left else plural(left, 'byte')} {'is' if left == 1 else 'are'} there"
        )


class _Bounded:
    """A strict, bounded view of a binary stream, for walking a file's structure.

    ``read(n)`` returns ``n`` bytes or raises EOFError (the file is cut short); it never reads past
    ``limit`` bytes (None: to the stream's end) and asks the stream for at most 1 MiB at a time, so
    a damaged length field cannot make a walk allocate more than the file holds.
    """

    _CHUNK = 1 << 20

    def __init__(self, stream, limit=None):
        self._stream = stream
        self.left = limit  #: bytes left before the limit (None: unknown, a decompressing stream)
        self._position = 0

    def tell(self):
        return self._position

    def _took(self, count):
        self._position += count
        if self.left is not None:
            self.left -= count

    def read(self, size):
        if self.left is not None and size > self.left:
            raise _CutShort(self._position, size, self.left)
        parts, missing = [], size
        while missing > 0:
            part = self._stream.read(min(missing, self._CHUNK))
            if not part:
                raise _CutShort(self._position + size - missing, missing)
            parts.append(part)
            missing -= len(part)
        self._took(size)
        return b"".join(parts)

    def readline(self):
        line = self._stream.readline() if self.left is None else self._stream.readline(self.left)
        self._took(len(line))
        return line

    def skip(self, size):
        if self.left is not None and size > self.left:
            raise _CutShort(self._position, size, self.left)
        if self.left is not None and getattr(self._stream, "seekable", lambda: False)():
            self._stream.seek(size, os.SEEK_CUR)  # within the limit, which is within the file
            self._took(size)
            return
        while size > 0:
            step = min(size, self._CHUNK)
            self.read(step)
            size -= step


class _Stub:
    """What every class or function a pickle names stands for in a walk: nothing is imported, nothing is run."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls if isinstance(cls, type) else _Stub)

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Stub()

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, item):
        pass

    def extend(self, items):
        pass

    def add(self, item):
        pass


class _JoblibArray(_Stub):
    """Stands for joblib's NumpyArrayWrapper: its state says how many bytes of array data follow it."""

    state: Any = None

    def __setstate__(self, state):
        self.state = state


class _StubWalk(pickle._Unpickler):  # the pure-Python unpickler, whose steps can be replaced
    """A pickle walked to its STOP without unpickling it: every class or function it names is a :class:`_Stub`,
    so nothing is imported or run; containers, strings and numbers are built as they are."""

    dispatch: ClassVar[dict[int, Any]] = dict(pickle._Unpickler.dispatch)

    def __init__(self, source):
        super().__init__(source)
        self._source = source

    def find_class(self, module, name):
        if (module, name) == ("_codecs", "encode"):  # how protocol 2 writes bytes (a datetime dtype's unit)
            return _protocol_2_bytes
        return _Stub

    def _bytearray8(self):
        (size,) = struct.unpack("<Q", self.read(8))
        self.append(bytearray(self.read(size)))  # read, not bytearray(size): the size is the file's word

    dispatch[pickle.BYTEARRAY8[0]] = _bytearray8


def _protocol_2_bytes(text, encoding):
    """What ``_codecs.encode(text, "latin1")`` in a protocol-2 pickle stands for; no other codec is looked up."""
    if not isinstance(text, str) or encoding != "latin1":
        raise ValueError(f"_codecs.encode with {encoding!r} is not how pickle writes bytes")
    return text.encode("latin-1")


class _JoblibWalk(_StubWalk):
    """joblib's format walked without unpickling: only ``numpy.dtype`` is real, to size the arrays, and the
    raw array data joblib writes after each NumpyArrayWrapper is skipped, not read into memory."""

    dispatch = dict(_StubWalk.dispatch)

    def find_class(self, module, name):
        if name == "NumpyArrayWrapper" and module.endswith("numpy_pickle"):
            return _JoblibArray
        if (module, name) == ("numpy", "dtype"):
            return require("numpy", None, "Checking .joblib checkpoints").dtype
        return super().find_class(module, name)

    def _build(self):
        pickle._Unpickler.load_build(self)
        if isinstance(self.stack[-1], _JoblibArray):
            self._skip_array(self.stack[-1].state)
            self.stack[-1] = _Stub()

    dispatch[pickle.BUILD[0]] = _build

    def _skip_array(self, state):
        np = require("numpy", None, "Checking .joblib checkpoints")
        shape, dtype = state["shape"], state["dtype"]
        if not isinstance(dtype, np.dtype) or not isinstance(shape, tuple):
            raise ValueError("an array's dtype or shape is damaged")
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError(f"an array's shape is damaged: {shape!r}")
        if dtype.hasobject:
            _JoblibWalk(self._source).load()  # joblib writes such an array as a pickle of its own
            return
        if state.get("numpy_array_alignment_bytes") is not None:
            self._source.skip(self._source.read(1)[0])  # the padding's length, then the padding
        self._source.skip(math.prod(shape) * dtype.itemsize)


class _StorageType(_Stub):
    """Stands for a torch storage class (``torch.FloatStorage``) named in a legacy file: its element size."""

    def __init__(self, name=""):
        self.name = name


class _TorchLegacyWalk(_StubWalk):
    """The object pickle of torch's legacy format, walked: each storage it refers to is noted with its type."""

    def __init__(self, source):
        super().__init__(source)
        self.storages: dict[str, Any] = {}

    def find_class(self, module, name):
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage":
            self.storages[pid[2]] = pid[1]
        return _Stub()


def _element_size(storage_type):
    """The bytes of one element of a legacy file's storage type (``FloatStorage``: 4), or None if unknown."""
    torch = require("torch", "torch", "Checking .pt/.pth checkpoints")
    name = storage_type.name if isinstance(storage_type, _StorageType) else ""
    if name == "UntypedStorage":
        return 1
    dtype = getattr(getattr(torch, name, None), "dtype", None) if name.endswith("Storage") else None
    return torch.empty((), dtype=dtype).element_size() if isinstance(dtype, torch.dtype) else None


def _torch_legacy_problem(source):
    """torch's legacy format: the magic number, the protocol version, the system info, the object, the
    storages' keys (five pickles), then each storage: its element count (8 bytes) and its elements."""
    if _TORCH_MAGIC_NUMBER not in [arg for _, arg, _ in pickletools.genops(source)]:
        return "it does not start with torch's magic number"
    _pickle_problem(source)  # the protocol version
    _pickle_problem(source)  # the system info
    walk = _TorchLegacyWalk(source)
    walk.load()
    keys = _StubWalk(source).load()
    if not isinstance(keys, list) or set(keys) != set(walk.storages):
        return "its list of storages does not match the storages its object refers to"
    for key in keys:
        size = _element_size(walk.storages[key])
        if size is None:
            return f"storage {key!r} has an unknown type"
        (count,) = struct.unpack("<q", source.read(8))
        if count < 0:
            return f"storage {key!r} has a negative size"
        source.skip(count * size)
    if source.left:
        return f"{plural(source.left, 'byte')} follow its last storage"
    return None


def _joblib_problem(path):
    """What keeps a .joblib file from being whole, or None: decompressed as joblib would (its compressors
    check their own streams), the pickle walked to STOP and each array's data counted, running nothing."""
    require("joblib", "all", "Checking .joblib checkpoints")
    try:
        from joblib.numpy_pickle_utils import _validate_fileobject_and_memmap as decompressing
    except ImportError:  # another joblib than the one this was written for: read the file as it is
        decompressing = None

    def walk(stream, limit):
        _JoblibWalk(_Bounded(stream, limit)).load()
        if limit is None:  # a compressed file: bz2, lzma and xz check the stream's end and checksum here
            while stream.read(1 << 20):
                pass
            head = _head(path, 2)
            if head.startswith((b"\x78", b"\x1f\x8b")):  # zlib, gzip: joblib reads them without their checksum
                _check_deflate(path, 31 if head == b"\x1f\x8b" else 15)
        return None

    with open(path, "rb") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # joblib < 0.10's format, said below
        if decompressing is None:
            return _problem(lambda: walk(f, os.path.getsize(path)))
        with decompressing(f, path) as (stream, _):
            if isinstance(stream, str):
                return "it is in the format of joblib before 0.10, which cannot be checked without unpickling it"
            return _problem(lambda: walk(stream, os.path.getsize(path) if stream is f else None))


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
            return _checkpoint_keras.save(obj, path, suffix)  # .h5: the writer of its bytes
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
            problem = _joblib_problem(path) if suffix == ".joblib" else None
            if problem is not None:
                raise corrupt(path, f"it is not a whole joblib file ({problem})")
            if suffix != ".joblib":
                _check_pickle_stream(path)  # parses opcodes only: a corrupt file is called corrupt
            raise UntrustedContentError(
                f"Loading {os.path.basename(path)!r} would unpickle it, which can run any code stored in the file. "
                "If you trust where it came from, load it with load(trusted=True)."
            )
        if suffix == ".joblib":
            joblib = require("joblib", "all", "Loading .joblib checkpoints")
            try:
                return joblib.load(path)
            except Exception as exc:  # noqa: BLE001 - raised again unless the file is damaged
                # a damaged file fails with whatever its torn opcodes lead to (KeyError, IndexError, EOFError...)
                _blame_the_file_if_damaged(path, exc, _joblib_problem, "it is not a whole joblib file")
        with open(path, "rb") as f:
            try:
                return pickle.load(f)
            except (pickle.UnpicklingError, EOFError) as exc:
                raise corrupt(path, "it is not a valid pickle", exc) from None
            except Exception as exc:
                if _not_the_contents_fault(exc):
                    raise
                problem = _pickle_file_problem(path)
                if problem is None:
                    raise  # a whole file: the error is the objects' own
                raise corrupt(path, f"it is not a valid pickle ({problem})") from None

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
