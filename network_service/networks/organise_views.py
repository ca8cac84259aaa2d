"""Pages for organising a network: the agreement and its versions, members by role, settings, leaving."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from network_service import page_cache
from network_service.db import utcnow
from network_service.errors import Conflict, InvalidInput, MentorNetError
from network_service.networks import navigation, operations, organise, permissions
from network_service.networks.forms import (
    AcceptAgreementForm,
    AppointForm,
    LeaveForm,
    MembersFilterForm,
    PublishAgreementForm,
    RemindForm,
    SettingsForm,
)
from network_service.networks.models import Level, Role
from network_service.privacy.operations import profile_shared_among
from network_service.security import current_person, declare_shared_limit, keeps_form, login_required
from network_service.web import cursor_arg

bp = Blueprint("organise", __name__)

# Publishing an agreement notifies every member, who must accept it again: a few a day at most, per person,
# the page and the API spending one budget (docs/security.md).
AGREEMENT_RATE_LIMIT = "5 per hour;10 per day"
AGREEMENT_ENDPOINTS = (("organise.publish", ["POST"]), ("api_networks.Agreements", ["POST"]))


declare_shared_limit(bp, "agreements", AGREEMENT_RATE_LIMIT, AGREEMENT_ENDPOINTS)


navigation.register_section(
    navigation.Section(
        key="members",
        endpoint="organise.members",
        label=lambda: _("Members"),
        order=1,
        visible=permissions.can_view_members,
    )
)
navigation.register_section(
    navigation.Section(
        key="agreement",
        endpoint="organise.agreement",
        label=lambda: _("Agreement"),
        order=80,
        visible=permissions.can_view_members,
    )
)
navigation.register_section(
    navigation.Section(
        key="settings",
        endpoint="organise.settings",
        label=lambda: _("Settings"),
        order=90,
        visible=permissions.can_manage_settings,
    )
)


def _agreement_pending(network) -> bool:
    """The banner of the network's pages: kept per viewer and network until an agreement is published or
    accepted, or a membership changes (page_cache.STRUCTURE)."""
    viewer = current_person()
    if viewer is None:
        return False
    return navigation.fact(viewer, network, "agreement_pending")


navigation.register_fact(
    navigation.Fact(
        key="agreement_pending",
        domains=(page_cache.STRUCTURE,),
        query=operations.agreement_pending_query,
        compute=operations.agreement_pending,
    )
)


@bp.app_context_processor
def _agreement_banner():
    return {"agreement_pending": _agreement_pending}


def _form_error(form, exc: MentorNetError) -> int:
    """Put a refused operation's message next to its field (or above the form); the page's status code."""
    if not isinstance(exc, InvalidInput | Conflict):
        raise exc  # Forbidden, NotFound: the error page
    target = getattr(form, exc.field, None) if exc.field else None
    if (
        target is not None
        and getattr(target, "type", "") != "HiddenField"
        and hasattr(target, "errors")
        and not isinstance(target.errors, dict)
    ):
        if isinstance(target.errors, tuple):
            target.errors = list(target.errors)
        target.errors.append(exc.detail)
    else:
        form.form_errors.append(exc.detail)
    return exc.status


def _network_and_viewer(slug: str):
    network = operations.get_network(slug)
    viewer = current_person()
    if not permissions.can_view_members(viewer, network):
        abort(403)
    return network, viewer


# -- the agreement -------------------------------------------------------------------------------------------


def _back_to() -> str | None:
    """``?next=``: where a page that sent the person here to accept the agreement takes them back (a form they were
    filling in, e.g. a conversation); only a path on this site, never another host."""
    from network_service.notifications.operations import is_local_path  # noqa: PLC0415 - keeps imports one-way

    wanted = request.args.get("next", "")
    return wanted[:500] if is_local_path(wanted) else None


@bp.route("/networks/<slug>/agreement", methods=["GET", "POST"])
@login_required
def agreement(slug: str):
    network, viewer = _network_and_viewer(slug)
    current = operations.current_agreement(network)
    form = AcceptAgreementForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                version = int(form.agreement_version.data or "")
            except ValueError:
                version = None
            try:
                organise.accept_current(viewer, network, version=version, accept=form.accept_agreement.data)
            except MentorNetError as exc:
                status = _form_error(form, exc)
            else:
                flash(_("Thank you: you accepted version %(version)s.", version=current.version), "success")
                return redirect(_back_to() or url_for("organise.agreement", slug=slug), 303)
        else:
            status = 422
    form.agreement_version.data = str(current.version)
    return render_template(
        "networks/agreement.html",
        network=network,
        agreement=current,
        previous=organise.previous_version(current),
        changes=organise.changes_between(organise.previous_version(current), current),
        accepted_at=organise.accepted_at(viewer, current),
        is_member=permissions.is_member(viewer, network),
        form=form,
        can_publish=permissions.can_publish_agreement(viewer, network),
        can_follow=permissions.can_follow_acceptance(viewer, network),
        counts=organise.acceptance_counts(network),
    ), status


@bp.get("/networks/<slug>/agreement/versions")
@login_required
def versions(slug: str):
    network, viewer = _network_and_viewer(slug)
    return render_template(
        "networks/agreement_versions.html",
        network=network,
        versions=organise.agreement_versions(network, viewer),
    )


@bp.get("/networks/<slug>/agreement/versions/<int:version>")
@login_required
def version(slug: str, version: int):
    network, viewer = _network_and_viewer(slug)
    shown = organise.get_version(network, version, viewer)
    previous = organise.previous_version(shown)
    return render_template(
        "networks/agreement_version.html",
        network=network,
        agreement=shown,
        previous=previous,
        changes=organise.changes_between(previous, shown),
        current=operations.current_agreement(network),
    )


@bp.route("/networks/<slug>/agreement/publish", methods=["GET", "POST"])
@login_required
@keeps_form(PublishAgreementForm)
def publish(slug: str):
    network = operations.get_network(slug)
    viewer = current_person()
    if not permissions.can_publish_agreement(viewer, network):
        abort(403)
    current = operations.current_agreement(network)
    form = PublishAgreementForm()
    status = 200
    if request.method == "GET":
        form.title.data, form.body.data = current.title, current.body
    elif form.validate_on_submit():
        try:
            published = operations.publish_agreement(
                network,
                form.title.data,
                form.body.data,
                actor=viewer,
                change_note=form.change_note.data or "",
            )
        except MentorNetError as exc:
            status = _form_error(form, exc)
        else:
            flash(
                _(
                    "Version %(version)s is published. Every member is asked to accept it.",
                    version=published.version,
                ),
                "success",
            )
            return redirect(url_for("organise.agreement", slug=slug), 303)
    else:
        status = 422
    return render_template(
        "networks/agreement_publish.html", network=network, form=form, current=current
    ), status


@bp.get("/networks/<slug>/agreement/pending")
@login_required
def pending(slug: str):
    network = operations.get_network(slug)
    viewer = current_person()
    if not permissions.can_follow_acceptance(viewer, network):
        abort(403)
    return render_template(
        "networks/agreement_pending.html",
        network=network,
        agreement=operations.current_agreement(network),
        pending=organise.not_accepted(network, viewer),
        counts=organise.acceptance_counts(network),
        form=RemindForm(),
    )


@bp.post("/networks/<slug>/agreement/remind")
@login_required
def remind(slug: str):
    network = operations.get_network(slug)
    viewer = current_person()
    if not permissions.can_follow_acceptance(viewer, network):
        abort(403)
    if not RemindForm().validate_on_submit():
        abort(400)
    sent, skipped = organise.remind_now(network, viewer, now=utcnow())
    if sent:
        flash(_("Reminders sent: %(count)s.", count=sent), "success")
    if skipped:
        flash(
            _(
                "%(count)s member(s) were reminded in the last 24 hours and were not reminded again.",
                count=skipped,
            ),
            "info",
        )
    if not sent and not skipped:
        flash(_("Everyone has accepted the current version."), "success")
    return redirect(url_for("organise.pending", slug=slug), 303)


# -- members -------------------------------------------------------------------------------------------------


@bp.get("/networks/<slug>/members")
@login_required
def members(slug: str):
    network, viewer = _network_and_viewer(slug)
    form = MembersFilterForm(request.args)
    role = Role(form.role.data) if form.role.data in set(Role) else None
    level = Level(form.level.data) if form.level.data in set(Level) else None
    after = cursor_arg("after")
    rows, next_after = organise.members_page(
        network, viewer, role=role, level=level, language=form.language.data or "", after=after
    )
    profile_shared_among(m.person_id for m in rows)  # the cards ask profile_shared: one query for the page
    filters = {
        k: v
        for k, v in (("role", form.role.data), ("level", form.level.data), ("language", form.language.data))
        if v
    }
    return render_template(
        "networks/members.html",
        network=network,
        members=rows,
        form=form,
        filtered=bool(filters),
        next_url=url_for("organise.members", slug=slug, after=next_after, **filters) if next_after else None,
        first_url=url_for("organise.members", slug=slug, **filters) if after else None,
        can_appoint=permissions.can_appoint(viewer, network),
        appoint_form=AppointForm(),
        member_actions=_member_actions(viewer, network),
    )


def _member_actions(viewer, network) -> dict:
    """What the members page offers on each card beside the role form: reporting a member (any member) and
    suspending one (the moderators, by ``may_suspend``); the moderation operations decide when asked."""
    from network_service.moderation.operations import may_suspend  # noqa: PLC0415 - moderation builds on networks

    return {
        "report": permissions.is_member(viewer, network),
        "suspend": lambda membership: may_suspend(viewer, network, membership),
    }


# -- settings ------------------------------------------------------------------------------------------------


@bp.route("/networks/<slug>/settings", methods=["GET", "POST"])
@login_required
def settings(slug: str):
    network = operations.get_network(slug)
    viewer = current_person()
    if not permissions.can_manage_settings(viewer, network):
        abort(403)
    form = SettingsForm()
    status = 200
    if request.method == "GET":
        for key in organise.SETTINGS_FIELDS:
            value = getattr(network, key)
            getattr(form, key).data = ", ".join(value) if key == "languages" else value
    elif form.validate_on_submit():
        try:
            organise.update_settings(
                network, viewer, **{key: getattr(form, key).data or "" for key in organise.SETTINGS_FIELDS}
            )
        except MentorNetError as exc:
            status = _form_error(form, exc)
        else:
            flash(_("The settings are saved."), "success")
            return redirect(url_for("organise.settings", slug=network.slug), 303)
    else:
        status = 422
    return render_template("networks/settings.html", network=network, form=form), status


# -- leaving -------------------------------------------------------------------------------------------------


@bp.route("/networks/<slug>/leave", methods=["GET", "POST"])
@login_required
def leave(slug: str):
    network = operations.get_network(slug)
    viewer = current_person()
    if not permissions.is_member(viewer, network):
        abort(403)
    form = LeaveForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                organise.leave(viewer, network)
            except MentorNetError as exc:
                status = _form_error(form, exc)
            else:
                flash(_("You have left %(network)s.", network=network.name), "success")
                return redirect(url_for("networks.home"), 303)
        else:
            status = 422
    return render_template(
        "networks/leave.html",
        network=network,
        form=form,
        last_coordinator=organise.is_last_coordinator(viewer, network),
    ), status
