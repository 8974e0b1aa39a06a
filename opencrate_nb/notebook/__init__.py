"""The IPython layer of opencrate-nb: ``%load_ext opencrate``.

Loading the extension registers the ``%crate`` / ``%%crate`` magics, automatic cell
capture into the run log, inline previews of artifacts and loaded media, and tab
completion. ``%unload_ext opencrate`` removes all of it. Nothing here is imported by
``import opencrate``; IPython is needed only once the extension is loaded.
"""


def load_ipython_extension(ip):
    """Entry point of ``%load_ext opencrate`` (and ``c.InteractiveShellApp.extensions``)."""
    from ._extension import load_ipython_extension as load

    load(ip)


def unload_ipython_extension(ip):
    """Entry point of ``%unload_ext opencrate``."""
    from ._extension import unload_ipython_extension as unload

    unload(ip)
