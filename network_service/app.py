"""The application factory and the Flask-extension form of mentorNET."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from network_service import background, i18n, jobs, security, sessions, web
from network_service.config import ConfigurationError, check_production_safety, load_config
from network_service.db import db
from network_service.errors import register_error_handlers

log = logging.getLogger(__name__)

PLUGIN_GROUP = "mentornet.plugins"


class MentorNet:
    """Mount the network service into a Flask application (``MentorNet().init_app(app)``).

    Settings are layered: defaults, then ``app.config["MENTORNET"]``, then the mapping given here, then the
    ``MENTORNET_*`` environment (unless ``use_environment=False``). The result is written into the host's
    ``app.config`` without prefix (``SECRET_KEY``, ``DATABASE_URL``, ...), and mentorNET's error handlers answer
    for the whole application: mount it into an application that agrees with both.
    """

    def __init__(
        self, app: Flask | None = None, config: Mapping[str, Any] | None = None, use_environment: bool = True
    ):
        self.config = config
        self.use_environment = use_environment
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, config: Mapping[str, Any] | None = None) -> None:
        overrides = dict(app.config.get("MENTORNET", {}))
        overrides.update(self.config or {})
        overrides.update(config or {})
        settings = load_config(overrides, environ=None if self.use_environment else {})
        check_production_safety(settings)
        _apply_settings(app, settings)

        db.init_app(app, app.config["DATABASE_URL"], pool_size=app.config["DATABASE_POOL_SIZE"])
        web.init_app(app)
        security.init_app(app)
        i18n.init_app(app)
        _register_blueprints(app)
        # after the API: flask-smorest registers its own HTTPException handler, ours must win
        register_error_handlers(app)
        _load_plugins(app)
        security.init_rate_limits(app)
        app.extensions["mentornet"] = self


def create_app(
    config: Mapping[str, Any] | None = None, instance_path: str | None = None, use_environment: bool = True
) -> Flask:
    """The standalone application. ``use_environment=False`` ignores MENTORNET_* variables (demo, tests)."""
    app = Flask("network_service", instance_path=instance_path, static_folder=None, template_folder=None)
    MentorNet(config=config, use_environment=use_environment).init_app(app)
    return app


def _apply_settings(app: Flask, settings: dict[str, Any]) -> None:
    if not settings["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        settings["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'mentornet.sqlite'}"
    app.config.update(settings)
    app.config["MENTORNET_SETTINGS"] = settings
    # Rate limits keep working while their Redis is away (counted in memory, per process) instead of failing
    # every limited request with a 500 (docs/operations.md).
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    if settings["PROXY_COUNT"]:
        # Behind N proxies, the client address (rate limits, logs) and scheme come from X-Forwarded-*.
        count = settings["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_prefix=count)
    secure = urlsplit(settings["BASE_URL"]).scheme == "https"
    app.config.update(
        SESSION_COOKIE_NAME="mentornet_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings["SESSION_HOURS"]),
        PREFERRED_URL_SCHEME="https" if secure else "http",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    # the first-party session above, and the frame session of a launch inside a learning platform's frame
    sessions.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from network_service.accounts.views import bp as accounts_bp
    from network_service.api import init_api
    from network_service.audit.views import bp as audit_bp
    from network_service.conversations.views import bp as conversations_bp
    from network_service.courses.views import bp as courses_bp
    from network_service.directory.views import bp as directory_bp
    from network_service.embed.views import bp as embed_bp
    from network_service.federations.views import bp as federations_bp
    from network_service.goals.views import bp as goals_bp
    from network_service.growth.views import bp as growth_bp
    from network_service.help.views import bp as help_bp
    from network_service.insights.views import bp as insights_bp
    from network_service.mail.views import bp as mail_bp
    from network_service.meetings.views import bp as meetings_bp
    from network_service.moderation.views import bp as moderation_bp
    from network_service.networks.organise_views import bp as organise_bp
    from network_service.networks.views import bp as networks_bp
    from network_service.notifications.views import bp as notifications_bp
    from network_service.privacy.views import bp as privacy_bp  # noqa: I001
    from network_service.resources.views import bp as resources_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(networks_bp)
    app.register_blueprint(organise_bp)
    app.register_blueprint(courses_bp)
    app.register_blueprint(embed_bp)
    app.register_blueprint(mail_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(conversations_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(goals_bp)
    app.register_blueprint(resources_bp)
    app.register_blueprint(help_bp)
    app.register_blueprint(directory_bp)
    app.register_blueprint(insights_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(federations_bp)
    app.register_blueprint(growth_bp)
    app.register_blueprint(privacy_bp)
    app.extensions.setdefault("mentornet.rate_limits", []).append(
        ("privacy.export", "5 per hour", ["POST"], {})  # the export is heavy; also limited per person
    )
    _init_background(app)
    jobs.init_app(app)
    init_api(app)

    @app.get("/healthz")
    def healthz():
        try:
            with db.engine.connect().execution_options(read_only=True) as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            log.exception("health check: database unreachable")
            response = jsonify(status="unavailable", database="unreachable")
            response.status_code = 503
            response.headers["Retry-After"] = "30"
            return response
        return jsonify(status="ok")

    security.exempt_from_csrf(healthz)


def _init_background(app: Flask) -> None:
    from network_service.courses.operations import process_received
    from network_service.mail.operations import deliver_due

    background.init_app(app)
    # Order matters: acting on a completion queues its invitation, which the mail drain then delivers.
    background.add_drain(app, "completions", process_received)
    background.add_drain(app, "mail", deliver_due)


def _load_plugins(app: Flask) -> None:
    """Load ``mentornet.plugins`` entry points: each is a class or callable with ``init_app(app)``."""
    wanted = app.config["PLUGINS"]
    loaded = {}
    for entry_point in entry_points(group=PLUGIN_GROUP):
        if wanted is not None and entry_point.name not in wanted:
            continue
        plugin = entry_point.load()
        instance = plugin() if isinstance(plugin, type) else plugin
        instance.init_app(app)
        loaded[entry_point.name] = instance
    missing = set(wanted or ()) - set(loaded)
    if missing:
        raise ConfigurationError(
            f"MENTORNET_PLUGINS names plugins that are not installed: {', '.join(sorted(missing))}"
        )
    app.extensions["mentornet.plugins"] = loaded
