"""gunicorn, as Open edX deploys: the application is created in each worker after the fork."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

# Paths that carry a secret: sign-in and invitation links, LTI e-mail confirmation, openedx-webhooks tokens.
_SECRET_IN_PATH = re.compile(r"(/(?:sign-in|invitations|lti/link|bridge/openedx/events)/)[^/?\s\"]+")
# Query values that carry one: the course panel's signed tokens (/embed/panel?t=..., /embed/open?t=...).
_SECRET_IN_QUERY = re.compile(r"((?:^|[?&])t=)[^&#\s\"]+")


def redact(text: str) -> str:
    return _SECRET_IN_QUERY.sub(r"\1[redacted]", _SECRET_IN_PATH.sub(r"\1[redacted]", text))


class RedactingLogger(Logger):
    """gunicorn's access log without the secrets some URLs carry (a log is read by more people than a mailbox)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f"):  # request line, path, query string, referer
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


class _Server(BaseApplication):
    def __init__(self, options: dict[str, Any], config: Mapping[str, Any] | None):
        self.options = options
        self.app_config = config
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # gunicorn 25.1 and later also open a control socket (gunicornc: add or kill workers, reload, shut down) in
        # $XDG_RUNTIME_DIR or ~/.gunicorn unless told not to. `mentornet serve` is run by a process manager with
        # signals, as before: no second way into the server, nothing written in the service user's home, and two
        # servers of one user (the tests' servers, the demo beside another) do not take one path from each other.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self):
        from network_service.app import create_app
        from network_service.db import pool_size_for

        # A given mapping is the whole configuration (the demo); without one, the environment configures (and
        # MENTORNET_DATABASE_POOL_SIZE, when set, wins over the pool sized for the threads here).
        config = dict(self.app_config or {})
        config.setdefault("DATABASE_POOL_SIZE", pool_size_for(self.options["threads"]))
        app = create_app(config, use_environment=self.app_config is None)
        prepare_worker(app)
        return app


log = logging.getLogger(__name__)


def prepare_worker(app) -> None:
    """Make a freshly loaded worker ready to serve: every template compiled, then everything that exists now
    moved out of the garbage collector's sight (``gc.freeze``).

    The objects of the loaded application (modules, the mapped classes, compiled templates: about 200,000) live
    as long as the worker. Without the freeze, every full collection walks them all again: under the load run
    (bench/load.py) each worker spent 250 to 400 ms in a full collection about every 15 s, holding the GIL, and
    every request then in the worker waited that long (docs/performance.md). Frozen objects are still freed by
    reference counting; only cycles among them would stay, and there are none to free in what a collection has
    just left. The templates are compiled here rather than by the first requests, which also spares the first
    visitors after a restart that wait.
    """
    environment = app.jinja_env
    for name in environment.list_templates():
        try:
            environment.get_template(name)
        except Exception:
            # a template that does not compile fails its own requests, as before, not the worker
            log.exception("template %s does not compile", name)
    gc.collect()
    gc.freeze()


MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """At most ``arenas`` glibc malloc arenas in this process and the workers forked from it.

    glibc gives threads their own arenas (up to eight per core); with 8 request threads per worker, memory
    freed in one arena is not reused by another, and a worker's resident memory grew by about ten megabytes
    over the load run (bench/load.py) while its Python objects did not. ``MALLOC_ARENA_MAX`` in the
    environment, when set, is left to decide. Returns whether the limit was set."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): nothing to limit
        return False


def run_gunicorn(
    host: str, port: int, workers: int, threads: int, config: Mapping[str, Any] | None = None
) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": "-",
        "logger_class": "network_service.serving.RedactingLogger",
        "errorlog": "-",
        "forwarded_allow_ips": "127.0.0.1",
    }
    limit_malloc_arenas()  # in the master, before the workers are forked: they inherit it
    _Server(options, config).run()
