"""``import opencrate as oc``: the same objects as ``opencrate_nb``, under OpenCrate's name."""

import opencrate_nb as _impl

__version__ = _impl.__version__
__all__ = list(_impl.__all__)


def __getattr__(name):
    return getattr(_impl, name)


def __dir__():
    return dir(_impl)
