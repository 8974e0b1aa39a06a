"""jupyter_server extension of opencrate-nb: the REST API the JupyterLab sidebar reads.

Enabled by ``etc/jupyter/jupyter_server_config.d/opencrate_nb.json`` (installed with the
wheel). Routes live under ``<base_url>opencrate/api/``; see ``handlers.py``.
"""

from typing import Any

LABEXTENSION_NAME = "opencrate-nb-labextension"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "opencrate_nb.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    # "src" is relative to the opencrate_nb package, which re-exports this function
    return [{"src": "labextension", "dest": LABEXTENSION_NAME}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from .handlers import API_PATH, setup_handlers

    settings = setup_handlers(serverapp)
    serverapp.log.info(
        "opencrate-nb: snapshot API at %s%s/ (snapshot root %r)", serverapp.base_url, API_PATH, settings.snapshot_root
    )
