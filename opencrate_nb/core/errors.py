"""Exceptions raised by opencrate. Each message names the problem and the fix."""


class OpenCrateError(Exception):
    """Base class of every error opencrate raises on purpose."""


class InvalidNameError(OpenCrateError, ValueError):
    """A snapshot name, tag, kind or artifact name that cannot be used as a folder or file name."""


class NotSetUpError(OpenCrateError, RuntimeError):
    """Something needs a snapshot, and ``oc.snapshot.setup()`` has not been called."""


class UnknownKindError(OpenCrateError, AttributeError):
    """An artifact kind that is neither built in nor given a ``handler=``."""


class UntrustedContentError(OpenCrateError, PermissionError):
    """Loading would run code from the file (pickle); it needs an explicit opt-in."""


class MissingDependencyError(OpenCrateError, ImportError):
    """An optional library that a handler needs is not installed."""


class ConfirmationRequired(OpenCrateError, PermissionError):
    """A destructive call (delete, reset) was made without ``confirm=True``."""


class CorruptArtifactError(OpenCrateError, ValueError):
    """A saved file that is not what its format says (changed, truncated or overwritten since it was saved)."""


class UndecodableTextError(CorruptArtifactError, UnicodeDecodeError):
    """A text or csv file that is not valid in the encoding it is read with: damaged, or written in another one.

    Also a ``UnicodeDecodeError`` (``encoding``, ``reason``; ``object`` holds only the bytes that failed), so code
    that caught the codec's error keeps working.
    """

    def __init__(self, message: str, encoding: str, undecodable: bytes, reason: str):
        UnicodeDecodeError.__init__(self, encoding, undecodable, 0, len(undecodable), reason)
        self.message = message

    def __str__(self):
        return self.message

    def __reduce__(self):
        return type(self), (self.message, self.encoding, self.object, self.reason)


class DiskFullError(OpenCrateError, OSError):
    """The disk (or the quota, or the inode table) is full; nothing was changed.

    ``errno`` is ENOSPC or EDQUOT and ``filename`` the artifact's path, as for the OSError behind it.
    """

    def __str__(self):
        return str(self.args[0]) if self.args else "The disk is full."
