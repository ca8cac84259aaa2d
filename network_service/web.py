"""The shared web layer: base templates, static files, and the one commit at the end of each request."""

from __future__ import annotations

from flask import Blueprint, Flask, g

from network_service.db import _SESSION_KEY
from network_service.markup import plain_text, render_markdown
from network_service.security import current_person

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/mentornet-static"
)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_filter(plain_text, "plain_text")

    @app.after_request
    def _commit(response):
        # One transaction per request: operations flush; the request commits only when it succeeded,
        # so a failed request leaves nothing half-written.
        session = g.get(_SESSION_KEY)
        if session is not None:
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
        return response

    @app.context_processor
    def _person():
        return {"current_person": current_person()}
