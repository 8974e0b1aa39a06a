"""``GET <base_url>opencrate/api/compare?name=NAME``: the comparison of a snapshot's versions as JSON.

The table is computed by :mod:`opencrate_nb.core.compare` (as for ``oc.snapshot.compare`` and
``crate compare``); the JupyterLab panel only draws it. Query arguments: ``name`` (required),
``all=1`` (every column, not only those that differ), ``ignore`` (a glob of column names,
repeatable) and ``sort`` (a column, ``-column`` descending). The answer carries an ETag of its
bytes: a panel polling with ``If-None-Match`` gets 304 while no version changed.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core import compare
from ..core.errors import InvalidNameError
from ..core.refs import VersionNotFoundError
from . import api
from .handlers import BaseHandler


def compare_json(root: str, name: str, show_all: bool = False, ignore: tuple[str, ...] = (), sort: str = "") -> bytes:
    """The comparison of ``name`` under ``root`` as JSON bytes; an ``api.ApiError`` for a request to refuse."""
    if not name:
        raise api.ApiError(400, "Which snapshot? Pass ?name=<snapshot name>.")
    if name.startswith(".") or "/" in name or "\\" in name or "\x00" in name:
        raise api.ApiError(400, f"{name!r} is not a snapshot name: give one name from the tree, e.g. ?name=mnist.")
    folder = os.path.join(root, name)
    inside = os.path.realpath(folder).startswith(os.path.realpath(root) + os.sep)
    if not inside or not os.path.isdir(folder):
        raise api.ApiError(404, f"No snapshot named {name!r} in the snapshot folder.")
    try:
        result = compare.table(name, only_diff=not show_all, ignore=ignore, sort=sort or None, root=root)
    except VersionNotFoundError as exc:
        raise api.ApiError(404, str(exc)) from None
    except (InvalidNameError, KeyError) as exc:
        raise api.ApiError(400, exc.args[0] if exc.args else str(exc)) from None
    payload: dict[str, Any] = result.to_dict()
    del payload["root"]  # an absolute path of the server's disk: the panel knows the name
    return api._dumps(payload)


class CompareHandler(BaseHandler):
    """The comparison of one snapshot name, with ``ETag`` / ``If-None-Match`` (304 while nothing changed)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        root = self.snapshot_root()
        name = self.path_argument("name")
        ignore = tuple(self.get_arguments("ignore"))
        show_all = self.get_argument("all", "") in ("1", "true")
        body = await self.run(compare_json, root, name, show_all, ignore, self.get_argument("sort", ""))
        stamp = hashlib.sha256(body).hexdigest()[:32]
        self.set_header("ETag", f'"{stamp}"')
        self.set_header("Cache-Control", "no-cache")
        if api.etag_matches(self.request.headers.get("If-None-Match"), stamp):
            self.set_status(304)
            self.finish()
            return
        self.finish(body, set_content_type="application/json; charset=UTF-8")

    def check_etag_header(self) -> bool:
        return False  # decided above, from the body's hash
