"""The notifications page, the e-mail settings, and the one-click unsubscribe link of every notification e-mail.

Opening a notification is a POST (a form per item) that marks it read and then redirects to its page: a GET
that changes state would be triggered by link prefetchers and mail scanners and could be forged by any site;
the POST carries the CSRF token. The redirect goes only to paths on this service, never elsewhere.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import format_datetime, format_timedelta
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from network_service import page_cache
from network_service.db import MAX_ID, utcnow
from network_service.errors import NotFound
from network_service.notifications import operations
from network_service.notifications.forms import FREQUENCY_LABELS, EmptyForm, SettingsForm
from network_service.notifications.models import EmailFrequency
from network_service.security import current_person, exempt_from_csrf, login_required

bp = Blueprint("notifications", __name__)


def _unread_notifications() -> int:
    """The header's unread count: one COUNT per page, only for signed-in people, only when the page asks."""
    if "unread_notifications" not in g:
        person = current_person()
        try:
            g.unread_notifications = (
                page_cache.cached(
                    "unread_notifications",
                    person.id,
                    # a notification for someone else changes nothing here (page_cache, "Scopes")
                    page_cache.of_person(page_cache.NOTIFICATIONS, person.id),
                    lambda: operations.unread_count(person),
                )
                if person is not None
                else 0
            )
        except SQLAlchemyError:  # an error page after a failed transaction still renders, without the count
            g.unread_notifications = 0
    return g.unread_notifications


@bp.app_context_processor
def _header():
    return {"unread_notifications": _unread_notifications}


def _cursor() -> int | None:
    raw = request.args.get("before", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(_("This page of notifications does not exist."))
    return min(int(raw), MAX_ID)  # beyond every id: the first page


@bp.get("/notifications")
@login_required
def index():
    person = current_person()
    page, next_cursor = operations.list_for(person, before=_cursor())
    now = utcnow()
    items = [
        {
            "notification": n,
            "title": operations.title_of(n),
            "ago": format_timedelta(n.created_at - now, add_direction=True),
            "at": format_datetime(n.created_at, "medium"),
        }
        for n in page
    ]
    return render_template(
        "notifications/index.html",
        items=items,
        next_cursor=next_cursor,
        first_page=request.args.get("before") is None,
    )


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_item(notification_id: int):
    form = EmptyForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
        return redirect(url_for("notifications.index"), 303)
    notification = operations.mark_read(current_person(), notification_id)
    target = (
        notification.url if operations.is_local_path(notification.url) else url_for("notifications.index")
    )
    return redirect(target, 303)


@bp.post("/notifications/read-all")
@login_required
def read_all():
    form = EmptyForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
        return redirect(url_for("notifications.index"), 303)
    count = operations.mark_all_read(current_person())
    if count:
        flash(_("All notifications are marked as read."), "success")
    return redirect(url_for("notifications.index"), 303)


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def settings():
    person = current_person()
    form = SettingsForm()
    if not form.is_submitted():
        form.email_frequency.data = operations.frequency_of(person).value
    if form.validate_on_submit():
        operations.set_frequency(person, form.email_frequency.data, actor=person)
        flash(
            _("Saved: %(choice)s", choice=FREQUENCY_LABELS[EmailFrequency(form.email_frequency.data)]),
            "success",
        )
        return redirect(url_for("notifications.settings"), 303)
    status = 422 if form.errors else 200
    return render_template(
        "notifications/settings.html", form=form, person=person, has_email=bool(person.email)
    ), status


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """GET asks for confirmation (mail scanners open links; they must not unsubscribe anyone). POST
    unsubscribes: from the confirmation button, or directly from a mail program's RFC 8058 one-click POST
    (body ``List-Unsubscribe=One-Click``, no CSRF token possible). The signed token is the credential, so
    CSRF protection would add nothing: a forger would need the token."""
    try:
        person = operations.person_for_unsubscribe_token(token)
    except NotFound:
        return render_template("notifications/unsubscribe_invalid.html"), 404
    if request.method == "POST":
        operations.unsubscribe(token)
        return render_template("notifications/unsubscribed.html", person=person)
    return render_template(
        "notifications/unsubscribe.html",
        person=person,
        already=operations.frequency_of(person) == EmailFrequency.never,
    )


exempt_from_csrf(unsubscribe)


@bp.after_request
def _private(response):
    if request.endpoint == "notifications.unsubscribe":  # the path holds a personal token
        response.headers["Cache-Control"] = "no-store"
    return response
