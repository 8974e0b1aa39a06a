"""Loading and unloading the IPython extension: every registration and its exact undo.

The extension's state lives on the shell (``shell._opencrate_nb_extension``), not in a
module, so ``%reload_ext``, loading it under both names (``opencrate`` and
``opencrate_nb``) or loading it twice never registers anything twice.
"""

from . import capture as _capture
from . import completer as _completer
from . import magics as _magics
from . import preview as _preview

STATE_ATTRIBUTE = "_opencrate_nb_extension"


class ExtensionState:
    """What one load registered in one shell."""

    def __init__(self, shell):
        self.shell = shell
        self.capture = _capture.CellCapture(shell)
        self.magics = _magics.CrateMagics(shell, capture=self.capture)
        self.formatters = []
        self.matcher = None

    def register(self):
        shell = self.shell
        shell.register_magics(self.magics)
        self.capture.register()
        self.formatters = _preview.register_formatters(shell)
        self.matcher = _completer.register(shell)

    def unregister(self):
        shell = self.shell
        _completer.unregister(shell, self.matcher)
        self.matcher = None
        _preview.unregister_formatters(shell, self.formatters)
        self.formatters = []
        self.capture.unregister()
        manager = shell.magics_manager
        for kind in ("line", "cell"):
            table = manager.magics.get(kind, {})
            registered = table.get("crate")
            if getattr(registered, "__self__", None) is self.magics:
                del table["crate"]
        if manager.registry.get(type(self.magics).__name__) is self.magics:
            del manager.registry[type(self.magics).__name__]


def state_of(shell):
    return getattr(shell, STATE_ATTRIBUTE, None)


def load_ipython_extension(ip):
    """Register the %crate magics, the cell capture hooks and the display formatters (once)."""
    if state_of(ip) is not None:
        return
    state = ExtensionState(ip)
    state.register()
    setattr(ip, STATE_ATTRIBUTE, state)


def unload_ipython_extension(ip):
    """Remove everything :func:`load_ipython_extension` registered."""
    state = state_of(ip)
    if state is None:
        return
    try:
        state.unregister()
    finally:
        try:
            delattr(ip, STATE_ATTRIBUTE)
        except AttributeError:
            pass
