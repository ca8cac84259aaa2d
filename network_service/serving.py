"""gunicorn, as Open edX deploys: the application is created in each worker after the fork."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication


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
        "errorlog": "-",
        "forwarded_allow_ips": "127.0.0.1",
    }
    _Server(options, config).run()
