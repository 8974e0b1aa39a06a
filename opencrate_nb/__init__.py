"""opencrate-nb: versioned snapshots of ML runs, notebook first.

``import opencrate as oc`` (or ``import opencrate_nb as oc``) gives the OpenCrate
snapshot API. Everything is imported on first use so that importing the package
stays cheap: no numpy, pandas, torch or IPython until a handler or the notebook
layer needs them.
"""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING, Any

# the one place the version is written: pyproject.toml reads it ([tool.hatch.version]) and
# tests/test_packaging.py keeps labextension/package.json in step
__version__ = "0.1.0"

if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ imports on first use
    from .core.fileio import io
    from .core.log import critical, debug, error, exception, info, success, warning
    from .core.snapshot import snapshot

# public name -> module that defines it
_EXPORTS = {
    "snapshot": "opencrate_nb.core.snapshot",
    "io": "opencrate_nb.core.fileio",
    "debug": "opencrate_nb.core.log",
    "info": "opencrate_nb.core.log",
    "success": "opencrate_nb.core.log",
    "warning": "opencrate_nb.core.log",
    "error": "opencrate_nb.core.log",
    "critical": "opencrate_nb.core.log",
    "exception": "opencrate_nb.core.log",
    "browse": "opencrate_nb.notebook.browser",
    "load_ipython_extension": "opencrate_nb.notebook",
    "unload_ipython_extension": "opencrate_nb.notebook",
    "_jupyter_server_extension_points": "opencrate_nb.server",
    "_jupyter_labextension_paths": "opencrate_nb.server",
}

__all__ = [
    "snapshot",
    "io",
    "debug",
    "info",
    "success",
    "warning",
    "error",
    "critical",
    "exception",
    "browse",
    "load_ipython_extension",
    "unload_ipython_extension",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'opencrate_nb' has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
