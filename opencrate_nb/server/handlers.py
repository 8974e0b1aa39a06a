"""Tornado handlers of the REST API under ``<base_url>opencrate/api/``: thin wrappers over ``api``.

Every route needs jupyter_server's authentication (``@web.authenticated``: 403 without a
token or login cookie) and its authorizer's permission to read contents. Errors are JSON
``{"message": ...}``, mapped in one place (``BaseHandler``); file work runs in a thread so that a slow preview (a large
checkpoint) never blocks the server.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any, Callable, Optional, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop
from traitlets import Bool, List, Unicode
from traitlets.config import Configurable

from ..core import catalog
from . import api, roots

API_PATH = "opencrate/api"
CHUNK_BYTES = 256 << 10
T = TypeVar("T")


class OpenCrate(Configurable):
    """Settings of the opencrate-nb server extension (``--OpenCrate.snapshot_root=runs``)."""

    snapshot_root = Unicode(
        "snapshots",
        config=True,
        help="Folder holding the snapshots, relative to the server root (the root given to "
        "oc.snapshot.setup / %crate setup by notebooks started there). It may not leave the server root.",
    )
    snapshot_roots = List(
        Unicode(),
        default_value=[],
        config=True,
        help="More snapshot folders to show, relative to the server root (each may not leave it).",
    )
    discover_roots = Bool(
        True,
        config=True,
        help="Also show every folder named 'snapshots' holding versions below the server root (found by a "
        "bounded walk that skips hidden folders, node_modules and virtual environments).",
    )
    warm_up = Bool(
        True,
        config=True,
        help="Read the snapshot tree once, in a thread, when the server starts, so that the first opening "
        "of the sidebar finds it ready (about 0.1 s of work for 10,000 artifacts). False: nothing is "
        "read before the sidebar asks.",
    )


class BaseHandler(APIHandler):
    """Finds the snapshot root for each request and answers every error as JSON ``{"message": ...}``.

    The one place errors are mapped: an ``api.ApiError`` (a refused or impossible request)
    becomes its own status, logged as a warning without a traceback; a bug stays a 500
    whose message points at the server log, where its traceback is.
    """

    auth_resource = "contents"

    def initialize(self, settings: OpenCrate) -> None:
        self.crate_settings = settings

    @property
    def server_root(self) -> str:
        return self.settings["server_root_dir"]

    @property
    def allow_hidden(self) -> bool:
        return bool(getattr(self.contents_manager, "allow_hidden", False))

    def snapshot_roots(self) -> list[str]:
        settings = self.crate_settings
        return roots.snapshot_roots(
            self.server_root, settings.snapshot_root, settings.snapshot_roots, settings.discover_roots
        )

    def snapshot_root(self) -> str:
        """The root the request names with ``?root=<base>`` (default: the configured root)."""
        return roots.pick(self.snapshot_roots(), self.server_root, self.get_argument("root", ""))

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run file work in the default thread pool."""
        return await IOLoop.current().run_in_executor(None, functools.partial(function, *args, **kwargs))

    def path_argument(self, name: str) -> str:
        """A path from the query string as sent: tornado's ``get_argument`` would turn NUL and
        other control characters into spaces, hiding them from the path checks."""
        values = self.request.query_arguments.get(name)
        if not values:
            return ""
        try:
            return values[-1].decode("utf-8")
        except UnicodeDecodeError:
            raise api.ApiError(400, f"The {name} argument is not valid UTF-8.") from None

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, api.ApiError):
            status_code = exc.status
        super().send_error(status_code, **kwargs)

    def _request_summary(self) -> str:
        """Method, address and client of the request for the log, credentials scrubbed (tornado's
        own summary would log the ``?token=`` the sidebar sends with downloads)."""
        request = self.request
        return f"{request.method} {api.scrub_credentials(request.uri or '')} ({request.remote_ip})"

    def log_exception(self, typ: Any, value: Optional[BaseException], tb: Any) -> None:
        if isinstance(value, api.ApiError):
            self.log.warning("%d %s: %s", value.status, self._request_summary(), value.message)
        elif isinstance(value, web.HTTPError):
            super().log_exception(typ, value, tb)
        else:  # tornado's would add repr(self.request): the address as sent, token and all
            self.log.error("Uncaught exception %s", self._request_summary(), exc_info=(typ, value, tb))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, api.ApiError):
            message = exc.message
        elif exc is None:
            message = self._reason
        elif isinstance(exc, web.HTTPError):
            text = exc.get_message() if hasattr(exc, "get_message") else exc.log_message
            message = text or exc.reason or self._reason
        else:
            message = f"Internal error ({type(exc).__name__}); the server log has the details."
        self.clear_header("Content-Disposition")
        self.clear_header("Content-Range")
        self.finish({"message": message}, set_content_type="application/json")

    def reply(self, payload: Any) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish(payload)


class TreeHandler(BaseHandler):
    """Every snapshot under every root (``roots``), with ``ETag: "<fingerprint>"`` stamping them all: the
    sidebar polls it with ``If-None-Match`` and gets 304 (no tree built, nothing sent) while nothing changed."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        all_roots = await self.run(self.snapshot_roots)
        stamp, stamps = await self.run(roots.fingerprints, all_roots)
        self.set_header("ETag", f'"{stamp}"')
        self.set_header("Cache-Control", "no-cache")
        if api.etag_matches(self.request.headers.get("If-None-Match"), stamp):
            self.set_status(304)
            self.finish()
            return
        body = await self.run(roots.tree_json, all_roots, stamps, self.server_root, stamp)
        self.finish(body, set_content_type="application/json; charset=UTF-8")

    def check_etag_header(self) -> bool:
        return False  # the 304 above is decided before the body exists; tornado's own check hashes it


class FileHandler(BaseHandler):
    """Summary and preview data of a file (``?path=``; a run log's is its tail), or its content with ``?raw=1``."""

    @property
    def content_security_policy(self) -> str:
        return super().content_security_policy + "; sandbox"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        root = self.snapshot_root()
        path = self.path_argument("path")
        if self.get_argument("raw", "") in ("1", "true"):
            await self.stream(api.resolve(root, path, self.allow_hidden))
            return
        self.reply(
            await self.run(
                api.file_summary,
                root,
                path,
                max_text_bytes=self.get_argument("max_bytes", None),
                max_rows=self.get_argument("rows", None),
                max_lines=self.get_argument("lines", None),
                allow_hidden=self.allow_hidden,
            )
        )

    async def stream(self, path: str) -> None:
        if os.path.isdir(path):
            raise api.ApiError(400, "A folder has no raw content; ask for one of its files.")
        size = os.path.getsize(path)
        span = api.byte_range(self.request.headers.get("Range"), size)
        mime, disposition = api.raw_headers(path)
        self.set_header("Content-Type", mime)
        self.set_header("Content-Disposition", disposition)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("Cache-Control", "no-cache")
        start, end = span if span else (0, size - 1)
        if span:
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.set_header("Content-Length", str(max(end - start + 1, 0)))
        try:  # checked before, and again as opened: a FIFO swapped in meanwhile blocks nothing
            f = await self.run(catalog.open_regular, path)
        except catalog.Unreadable as exc:
            raise api.ApiError(400, exc.message) from None
        try:
            await self.run(f.seek, start)
            left = end - start + 1
            while left > 0:
                chunk = await self.run(f.read, min(CHUNK_BYTES, left))
                if not chunk:
                    break
                left -= len(chunk)
                self.write(chunk)
                await self.flush()
        finally:
            f.close()
        self.finish(set_content_type=mime)


class SnippetHandler(BaseHandler):
    """Code that loads an artifact in a kernel started in ``?cwd=`` (the notebook's folder)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        root = self.snapshot_root()
        self.reply(
            await self.run(
                api.snippet,
                root,
                self.server_root,
                self.path_argument("path"),
                self.path_argument("cwd"),
                self.allow_hidden,
            )
        )


class NotebookHandler(BaseHandler):
    """``POST notebook?path=<version>``: the version's ``run.ipynb`` built up to date, and its path (the
    sidebar then opens it in a tab). POST: it may write the file, so it needs the permission to write."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        root = self.snapshot_root()
        self.reply(await self.run(api.notebook, root, self.path_argument("path"), self.allow_hidden))


ROUTES: dict[str, type[BaseHandler]] = {
    "tree": TreeHandler,
    "file": FileHandler,
    "snippet": SnippetHandler,
    "notebook": NotebookHandler,
}


def _warm_up(server_root: str, settings: OpenCrate, log: logging.Logger) -> None:
    try:
        found = roots.snapshot_roots(
            server_root, settings.snapshot_root, settings.snapshot_roots, settings.discover_roots
        )  # also walks for the roots once, so the first poll finds that walk cached
        for root in found:
            if os.path.isdir(root):
                api.tree_json(root, server_root, api.fingerprint(root))
    except Exception as exc:  # noqa: BLE001 - the first request will report it properly
        log.debug("opencrate-nb: warm-up read of the snapshot tree failed: %s", exc)


def setup_handlers(serverapp: Any) -> OpenCrate:
    """Register the routes on the server's web application (and read the tree once, in a thread)."""
    from .compare import CompareHandler  # its own module (it subclasses BaseHandler)

    routes = {**ROUTES, "compare": CompareHandler}
    settings = OpenCrate(config=serverapp.config)
    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base_url, API_PATH, name), handler, {"settings": settings})
            for name, handler in routes.items()
        ],
    )
    if settings.warm_up:
        server_root = web_app.settings["server_root_dir"]
        IOLoop.current().add_callback(
            IOLoop.current().run_in_executor, None, _warm_up, server_root, settings, serverapp.log
        )
    return settings
