"""The demo's local mailbox: where mail goes when no SMTP server is configured, so people can click the links."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template
from markupsafe import Markup, escape

from network_service.db import session
from network_service.mail.models import OutboundEmail

bp = Blueprint("mail", __name__)

_LINK = re.compile(r"https?://[^\s<>\"]+")


def _mailbox_enabled() -> bool:
    return bool(current_app.config["DEMO_MAILBOX"]) and not current_app.config["SMTP_URL"]


@bp.app_template_filter("linkify")
def linkify(text: str | None) -> Markup:
    # The text is escaped first, and the URL pattern matches no quote or angle bracket.
    escaped = str(escape(text or ""))
    linked = _LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    return Markup(linked)  # noqa: S704  # nosec B704  # escaped above; links are the escaped text


@bp.get("/mailbox")
def mailbox():
    if not _mailbox_enabled():
        abort(404)
    mails = session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id.desc()).limit(100)).all()
    return render_template("mail/mailbox.html", mails=mails)
