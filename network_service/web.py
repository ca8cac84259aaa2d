"""The shared web layer: base templates, static files, and the one commit at the end of each request."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, g, render_template, request
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError

from network_service.db import _SESSION_KEY, MAX_ID
from network_service.errors import database_unavailable, unavailable_response
from network_service.fragments import CSRF_MARK
from network_service.languages import shown as spoken_language
from network_service.markup import plain_text, render_markdown
from network_service.security import current_person

log = logging.getLogger(__name__)

# Headers that describe the body or the outcome of a response replaced by the 503; the others (security) stay.
_BODY_HEADERS = {"content-type", "content-length", "location", "etag", "last-modified", "set-cookie"}

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/mentornet-static"
)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_filter(plain_text, "plain_text")
    app.add_template_filter(spoken_language, "spoken_language")

    @app.after_request
    def _commit(response):
        # One transaction per request: operations flush; the request commits only when it succeeded,
        # so a failed request leaves nothing half-written.
        session = g.get(_SESSION_KEY)
        if session is not None:
            if response.status_code < 400:
                try:
                    session.commit()
                except SQLAlchemyError as exc:
                    if not database_unavailable(exc):
                        raise
                    # The database went away before the commit: nothing of the request is kept, say so.
                    log.warning(
                        "database unavailable at commit of %s %s: %s", request.method, request.path, exc
                    )
                    unavailable = unavailable_response()
                    # The hooks that ran before this one (secure headers) wrote to the response we replace.
                    for name, value in response.headers.items():
                        if name.lower() not in _BODY_HEADERS:
                            unavailable.headers.setdefault(name, value)
                    return unavailable
            else:
                session.rollback()
        return response

    @app.context_processor
    def _person():
        return {"current_person": current_person(), "site_header": site_header}


def site_header() -> Markup:
    """The header of every page: the same for every page a person sees in one language with the same unread
    count, so it is kept (page_cache, no data domain: the key is all it depends on); the sign-out form's CSRF
    token, which belongs to the session, is put in afterwards."""
    from flask_babel import get_locale
    from flask_wtf.csrf import generate_csrf

    from network_service import page_cache

    person = current_person()
    unread = 0
    if person is not None and "notifications" in current_app.blueprints:
        from network_service.notifications.views import _unread_notifications

        unread = _unread_notifications()
    key = (person is not None, person is not None and person.is_site_admin, unread, str(get_locale()))
    html = page_cache.cached(
        "site_header",
        key,
        (),
        lambda: render_template("_site_header.html", csrf_placeholder=Markup(CSRF_MARK)),  # noqa: S704  # nosec B704  # a constant of ours
    )
    if person is None:
        return Markup(html)  # noqa: S704  # nosec B704 - rendered by our autoescaping template
    return Markup(html.replace(CSRF_MARK, str(escape(generate_csrf()))))  # noqa: S704  # nosec B704


def cursor_arg(name: str) -> int | None:
    """A keyset cursor from the query string (``?before=`` or ``?after=``: the id of the previous page's last
    row), or None when there is none or it is no whole number. A number beyond every id is the largest id: the
    same page, and nothing the database driver would refuse to send."""
    value = request.args.get(name, "")
    if not value.isdigit():
        return None
    return min(int(value), MAX_ID)


def keep_form_for_agreement(form, exc: Exception) -> bool:
    """Whether ``exc`` is ``require_current_agreement``'s refusal (``AgreementPending``): then the form is shown
    again with what was typed, and ``_agreement_needed.html`` says so and links to the agreement in a new window,
    so that this page keeps the text until it is sent again (a way back from the agreement page would land on an
    empty form, or on a POST-only address). Any other refusal is the caller's to handle."""
    from network_service.networks.operations import AgreementPending  # noqa: PLC0415 - networks builds on web

    if not isinstance(exc, AgreementPending):
        return False
    form.agreement_url = exc.agreement_url
    form.agreement_network = exc.network_name
    return True


def form_status(form) -> int:
    """A form page's status: 403 while the agreement must be accepted first, 422 for refused input, else 200."""
    if getattr(form, "agreement_url", None):
        return 403
    return 422 if form.errors or form.form_errors else 200
