"""``import opencrate as oc``: the same objects as ``opencrate_nb``, under OpenCrate's name."""

from typing import TYPE_CHECKING, Any

import opencrate_nb as _impl

if TYPE_CHECKING:  # type checkers see opencrate_nb's names here too
    from opencrate_nb import *  # noqa: F403 - every public name, as __getattr__ serves them

__version__ = _impl.__version__
__all__ = list(_impl.__all__)


def __getattr__(name: str) -> Any:
    return getattr(_impl, name)


def __dir__() -> list[str]:
    return dir(_impl)
