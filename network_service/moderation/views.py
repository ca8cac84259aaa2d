"""Pages of moderation: reporting, the moderation queue, hiding, suspending, blocking."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from network_service import security
from network_service.conversations import operations as conversations
from network_service.conversations.forms import ConfirmForm
from network_service.conversations.permissions import is_moderator, reads_as_member
from network_service.conversations.views import _apply_error, _form_errors_as_list, _message_of
from network_service.errors import MentorNetError
from network_service.moderation import operations
from network_service.moderation.forms import (
    REASON_LABELS,
    ForwardForm,
    HandleReportForm,
    HideForm,
    ReportForm,
    SuspendForm,
)
from network_service.moderation.models import ReportStatus
from network_service.networks import navigation
from network_service.networks import operations as networks
from network_service.networks.permissions import is_member
from network_service.security import current_person, login_required
from network_service.web import cursor_arg

bp = Blueprint("moderation", __name__, url_prefix="/networks/<slug>")

# Each report notifies every moderator (by e-mail for those who chose "immediately"): reporting is limited per
# person, on the pages and in the API, so that nobody can flood the coordinators' mailboxes (found by the second
# audit of session 10). The operations also refuse a second open report of the same message or member.
REPORT_RATE_LIMIT = "10 per hour;30 per day"
REPORT_ENDPOINTS = ("moderation.report_message", "moderation.report_member", "api_moderation.Reports")


@bp.record_once
def _limits(state) -> None:
    limits = state.app.extensions.setdefault("mentornet.rate_limits", [])
    for endpoint in REPORT_ENDPOINTS:
        limits.append((endpoint, REPORT_RATE_LIMIT, ["POST"], {"key_func": security.api_rate_key}))


navigation.register_section(
    navigation.Section(
        key="moderation",
        endpoint="moderation.queue",
        label=lambda: _("Moderation"),
        order=80,
        visible=is_moderator,
        badge=operations.open_report_count,
        badge_query=operations.open_report_query,
    )
)


@bp.app_context_processor
def _labels():
    return {"reason_labels": REASON_LABELS}


@bp.get("/moderation")
@login_required
def queue(slug: str):
    network = networks.get_network(slug)
    viewer = current_person()
    try:
        status = ReportStatus(request.args.get("status", "open"))
    except ValueError:
        status = ReportStatus.open
    reports, older = operations.list_reports(network, viewer, status=status, before=cursor_arg("before"))
    moderator = is_moderator(viewer, network)  # else a site administrator, for reports nobody else handles
    suspended = operations.suspended_members(network, viewer) if moderator else []
    return render_template(
        "moderation/queue.html",
        network=network,
        reports=reports,
        older=older,
        status=status,
        moderator=moderator,
        evidence=operations.evidence,
        handle_form=HandleReportForm(),
        forward_form=ForwardForm(),
        hide_form=HideForm(),
        confirm_form=ConfirmForm(),
        actions=operations.queue_actions(network, reports),
        suspended=suspended,
        reinstatable={m.person_id for m in suspended if operations.may_reinstate(viewer, network, m)},
    )


@bp.post("/moderation/reports/<int:report_id>")
@login_required
def handle(slug: str, report_id: int):
    network = networks.get_network(slug)
    viewer = current_person()
    report = operations.get_report(network, report_id, viewer)
    form = HandleReportForm()
    if not form.validate_on_submit():
        flash(_("Choose an outcome for the report."), "error")
        return redirect(url_for("moderation.queue", slug=slug), 303)
    operations.handle_report(report, actor=viewer, status=form.status.data, resolution=form.resolution.data)
    flash(_("The report is closed."), "success")
    return redirect(url_for("moderation.queue", slug=slug), 303)


@bp.post("/moderation/reports/<int:report_id>/forward")
@login_required
def forward(slug: str, report_id: int):
    """Pass a report on to the network of the person reported (docs/federations.md)."""
    network = networks.get_network(slug)
    viewer = current_person()
    form = ForwardForm()
    if not form.validate_on_submit():
        abort(400)  # no valid CSRF token: the fields themselves are judged by the operation
    report = operations.get_report(network, report_id, viewer)
    to_network = operations.network_named(form.network.data)
    operations.forward_report(report, actor=viewer, to_network=to_network, note=form.note.data)
    flash(_("The report is passed on to the moderators of %(network)s.", network=to_network.name), "success")
    return redirect(url_for("moderation.queue", slug=slug), 303)


def _report_page(network, form, *, message=None, person=None):
    viewer = current_person()
    if form.validate_on_submit():
        try:
            if message is not None:
                operations.report_message(message, actor=viewer, reason=form.reason.data, note=form.note.data)
            else:
                operations.report_member(
                    network, person, actor=viewer, reason=form.reason.data, note=form.note.data
                )
        except MentorNetError as exc:
            _form_errors_as_list(form)
            _apply_error(form, exc)
        else:
            flash(_("Thank you. The moderators of the network will look at your report."), "success")
            if message is not None:
                return redirect(conversations.thread_url(message), 303)
            return redirect(url_for("networks.network", slug=network.slug), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "moderation/report.html", network=network, form=form, message=message, person=person
    ), status


@bp.route("/conversations/messages/<int:message_id>/report", methods=["GET", "POST"])
@login_required
def report_message(slug: str, message_id: int):
    network = networks.get_network(slug)
    viewer = current_person()
    message = _message_of(network, message_id, viewer)
    # members of the network, and readers of a channel shared with their federation (docs/federations.md)
    if not reads_as_member(viewer, message.channel):
        abort(403)
    return _report_page(network, ReportForm(), message=message)


@bp.route("/members/<int:person_id>/report", methods=["GET", "POST"])
@login_required
def report_member(slug: str, person_id: int):
    network = networks.get_network(slug)
    if not is_member(current_person(), network):
        abort(403)
    return _report_page(network, ReportForm(), person=operations.get_person(person_id))


@bp.route("/conversations/messages/<int:message_id>/hide", methods=["GET", "POST"])
@login_required
def hide(slug: str, message_id: int):
    """Hide a message, or show it again: a page that shows it and asks for an optional reason (for the audit
    log), then its button posts here. The moderation queue posts its own form here (``next=queue``). A reason
    that is refused (too long) comes back on the page as typed; nothing changes."""
    network = networks.get_network(slug)
    viewer = current_person()
    form = HideForm()
    valid = form.validate_on_submit()
    if request.method == "POST" and form.csrf_token.errors:
        abort(400)
    if not is_moderator(viewer, network):
        abort(403)
    message = operations.get_message_for_moderation(network, message_id, viewer)
    from_queue = request.values.get("next", "") == "queue"
    back = url_for("moderation.queue", slug=slug) if from_queue else conversations.thread_url(message)
    hidden = request.values.get("hidden", "0" if message.hidden_at else "1") == "1"
    if valid:
        operations.hide_message(message, actor=viewer, hidden=hidden, reason=form.reason.data)
        flash(_("The message is hidden.") if hidden else _("The message is shown again."), "success")
        return redirect(back, 303)
    return render_template(
        "moderation/hide.html",
        network=network,
        message=message,
        form=form,
        hidden=hidden,
        from_queue=from_queue,
        back=back,
    ), (422 if form.errors else 200)


@bp.route("/members/<int:person_id>/suspend", methods=["GET", "POST"])
@login_required
def suspend(slug: str, person_id: int):
    network = networks.get_network(slug)
    viewer = current_person()
    if not is_moderator(viewer, network):
        abort(403)
    person = operations.get_person(person_id)
    form = SuspendForm()
    if form.validate_on_submit():
        try:
            operations.suspend_member(network, person, actor=viewer, reason=form.reason.data)
        except MentorNetError as exc:
            if exc.status == 403:
                raise
            _form_errors_as_list(form)
            _apply_error(form, exc)
        else:
            flash(_("%(name)s is suspended.", name=person.name_or_email), "success")
            return redirect(url_for("moderation.queue", slug=slug), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("moderation/suspend.html", network=network, person=person, form=form), status


@bp.post("/members/<int:person_id>/reinstate")
@login_required
def reinstate(slug: str, person_id: int):
    network = networks.get_network(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    person = operations.get_person(person_id)
    operations.reinstate_member(network, person, actor=current_person())
    flash(_("%(name)s is an active member again.", name=person.name_or_email), "success")
    return redirect(url_for("moderation.queue", slug=slug), 303)


@bp.get("/blocks")
@login_required
def blocks(slug: str):
    network = networks.get_network(slug)
    viewer = current_person()
    if not is_member(viewer, network):
        abort(403)
    q = request.args.get("q", "").strip()[:160]
    found, more, error = [], None, None
    try:  # a page of the members not blocked yet, searched by name (as the new direct message page)
        found, more = operations.block_candidates(network, viewer, q, after=cursor_arg("after"))
    except MentorNetError as exc:
        if exc.status != 422:
            raise
        error = exc.detail
    more_url = None
    if more is not None:
        more_url = url_for(
            "moderation.blocks", slug=slug, after=more, _anchor="picker-results", **({"q": q} if q else {})
        )
    return render_template(
        "moderation/blocks.html",
        network=network,
        blocks=operations.blocks_of(viewer),
        q=q,
        found=found,
        more_url=more_url,
        search_error=error,
        confirm_form=ConfirmForm(),
    ), (422 if error else 200)


@bp.post("/members/<int:person_id>/block")
@login_required
def block(slug: str, person_id: int):
    network = networks.get_network(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    person = operations.get_person(person_id)
    if request.form.get("blocked", "1") == "1":
        operations.block(network, person, actor=current_person())
        flash(_("You blocked %(name)s.", name=person.name_or_email), "success")
    else:
        operations.unblock(network, person, actor=current_person())
        flash(_("You no longer block %(name)s.", name=person.name_or_email), "success")
    return redirect(url_for("moderation.blocks", slug=slug), 303)
