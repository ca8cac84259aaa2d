"""gunicorn, as Open edX deploys: the application is created in each worker after the fork."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

# Paths that carry a secret: sign-in and invitation links, LTI e-mail confirmation, openedx-webhooks tokens.
_SECRET_IN_PATH = re.compile(r"(/(?:sign-in|invitations|lti/link|bridge/openedx/events)/)[^/?\s\"]+")


def redact(text: str) -> str:
    return _SECRET_IN_PATH.sub(r"\1[redacted]", text)


class RedactingLogger(Logger):
    """gunicorn's access log without the secrets some URLs carry (a log is read by more people than a mailbox)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f"):
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

    def load(self):
        from network_service.app import create_app

        # A given mapping is the whole configuration (the demo); without one, the environment configures.
        return create_app(self.app_config, use_environment=self.app_config is None)


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
    _Server(options, config).run()
