from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from network_service import page_cache
from network_service.accounts.models import Person
from network_service.accounts.sessions import VIA_INVITATION
from network_service.db import session
from network_service.errors import MentorNetError
from network_service.fragments import FragmentCache
from network_service.networks import navigation, operations, permissions
from network_service.networks.forms import (
    LEVEL_LABELS,
    ROLE_LABELS,
    AcceptInvitationForm,
    AppointForm,
    InviteForm,
)
from network_service.networks.models import Level, Role
from network_service.security import current_person, declare_shared_limit, keeps_form, login_required, sign_in

bp = Blueprint("networks", __name__)

# Each invitation mails an address nobody has confirmed, at once: limited per person (page and API, one
# budget), generously enough for a coordinator inviting a course cohort of 50 to 100 one by one in an hour.
INVITE_RATE_LIMIT = "150 per hour;400 per day"
INVITE_ENDPOINTS = (("networks.invite", ["POST"]), ("api_networks.Invitations", ["POST"]))


declare_shared_limit(bp, "invitations", INVITE_RATE_LIMIT, INVITE_ENDPOINTS)


@bp.app_context_processor
def _labels():
    return {
        "role_labels": ROLE_LABELS,
        "level_labels": LEVEL_LABELS,
        "network_sections": lambda network: navigation.sections_for(current_person(), network),
        "network_nav": navigation.network_nav,
    }


navigation.register_section(
    navigation.Section(
        key="overview",
        endpoint="networks.network",
        label=lambda: _("Overview"),
        order=0,
        visible=permissions.can_view_members,
    )
)


@bp.get("/")
def home():
    person = current_person()
    if person is None:
        return render_template("networks/landing.html")
    # Everything the page shows below the header, as plain values (the memberships loaded with the person, the
    # applications in one small statement): the rendered HTML is kept under exactly these values, so it follows
    # the person's own memberships and applications at once and no one else's write (a new member elsewhere, a
    # message) makes it render again.
    summary = operations.home_summary(person, applications=5)  # one statement
    context = {
        "name": person.name_or_email,
        "cards": summary.cards,
        "applications": summary.applications,
        "profile_complete": bool(person.display_name and person.languages),
        "sharing_undecided": summary.sharing_undecided,
    }
    key = (*context.values(), str(get_locale()), request.script_root)
    html = _HOME.get(key)
    if html is None:
        html = render_template("networks/_home_content.html", **context)
        _HOME.put(key, html)
    content = Markup(html)  # noqa: S704  # nosec B704 - rendered by our autoescaping template
    return render_template("networks/home.html", content_html=content)


# The home page below the header, by what it shows (content-addressed, network_service/fragments.py): a
# few hundred bytes per person and language; docs/performance.md.
_HOME = FragmentCache(size=5000, max_bytes=2 * 1024 * 1024)


@bp.get("/networks/<slug>")
@login_required
def network(slug: str):
    network = operations.get_network(slug)
    viewer = current_person()
    operations.check_can_view_members(viewer, network)
    can = {
        "can_invite": permissions.can_invite(viewer, network),
        "can_appoint": permissions.can_appoint(viewer, network),
        "can_see_courses": permissions.can_see_courses(viewer, network),
        "is_member": permissions.is_member(viewer, network),
    }
    if can["can_appoint"]:
        # The role forms carry the session's CSRF token and leave out the viewer's own card: rendered each time
        # (the coordinator and the Meta-Mentors only).
        html = _overview_html(network, viewer, can, shared=False)[0]
    else:
        html, hidden_shown = page_cache.cached(
            "network_overview",
            (network.id, str(get_locale()), tuple(sorted(can.items()))),
            page_cache.of_members(network.id),
            lambda: _overview_html(network, viewer, can, shared=True),
        )
        if viewer.id in hidden_shown:
            # The viewer is on the page and does not share their profile: they see their own fields, the
            # others do not.
            html = _overview_html(network, viewer, can, shared=False)[0]
    return render_template("networks/network.html", network=network, overview_html=html)


def _overview_html(network, viewer, can: dict, *, shared: bool) -> tuple[Markup, frozenset[int]]:
    """The page below the navigation, and the people shown on it who do not share their profile. ``shared``:
    rendered for every viewer with the same permissions (no viewer's own view of their own profile).

    Without the appointment forms (which carry the session's CSRF token) the HTML is kept under exactly the
    values it shows (content-addressed, network_service/fragments.py): a write that changes none of them (a new
    invitee seen only by those who may invite, a message, a help request: each bumps the page cache's versions)
    costs the statements but no rendering."""
    overview = operations.network_overview(network, viewer)
    shared_ids = overview.profile_shared
    hidden_shown = frozenset(m.person.id for m in overview.shown if m.person.id not in shared_ids)
    if not shared and viewer is not None:
        # The viewer sees their own fields (privacy.operations.profile_shared), the others only those shared.
        shared_ids = shared_ids | {viewer.id}
    # A ``profile_shared`` flag for each card shown: what the cards show of each person depends on it.
    cards = tuple((m, m.person.id in shared_ids) for m in overview.shown)
    partners = overview.partners if "growth" in current_app.blueprints else None
    context = {
        "network": network,
        "overview": overview,
        "active": overview.shown,
        "invited": overview.invited,
        "agreement": overview.agreement,
        "partner_names": partners,
        "profile_shared": lambda person: person.id in shared_ids,
        **can,
    }
    if can["can_appoint"]:
        html = render_template("networks/_overview.html", appoint_form=AppointForm(), **context)
        return Markup(html), hidden_shown  # noqa: S704  # nosec B704 - rendered by our autoescaping template
    key = (
        network.id,
        network.slug,
        network.organisation.name,
        network.description,
        tuple(network.languages or ()),
        network.region,
        network.contact_email,
        network.contact_phone,
        network.contact_hours,
        tuple(sorted(can.items())),
        overview.active_count,
        overview.invited_count if can["can_invite"] else None,  # shown only to those who may invite
        cards,
        tuple(overview.invited),
        overview.agreement,
        partners,
        str(get_locale()),
        request.script_root,
    )
    html = _OVERVIEW.get(key)
    if html is None:
        html = render_template("networks/_overview.html", appoint_form=None, **context)
        _OVERVIEW.put(key, html)
    return Markup(html), hidden_shown  # noqa: S704  # nosec B704 - rendered by our autoescaping template


# The network page below its navigation, by what it shows (content-addressed): a few kilobytes per network,
# language and set of permissions, and one more for each member shown who does not share their profile.
_OVERVIEW = FragmentCache(size=500, max_bytes=2 * 1024 * 1024)


@bp.route("/networks/<slug>/invite", methods=["GET", "POST"])
@login_required
@keeps_form(InviteForm)
def invite(slug: str):
    network = operations.get_network(slug)
    viewer = current_person()
    if not permissions.can_invite(viewer, network):
        abort(403)
    form = InviteForm()
    if not permissions.can_appoint(viewer, network):
        form.role.choices = [(Role.mentor.value, ROLE_LABELS[Role.mentor])]
        form.level.choices = [(Level.novice.value, LEVEL_LABELS[Level.novice])]
    if form.validate_on_submit():
        try:
            invitation = operations.invite_person(
                network,
                form.email.data,
                actor=viewer,
                display_name=form.display_name.data or "",
                role=Role(form.role.data),
                level=Level(form.level.data),
            )
        except MentorNetError as exc:
            if exc.field and hasattr(form, exc.field):
                getattr(form, exc.field).errors.append(exc.detail)
            else:
                form.form_errors.append(exc.detail)
        else:
            flash(_("The invitation to %(email)s is on its way.", email=invitation.person.email), "success")
            return redirect(url_for("networks.invite", slug=network.slug))
    status = 422 if form.errors else 200
    return render_template("networks/invite.html", network=network, form=form), status


@bp.post("/networks/<slug>/appoint")
@login_required
def appoint(slug: str):
    network = operations.get_network(slug)
    if not permissions.can_appoint(current_person(), network):
        abort(403)  # before the form is judged: someone who may not appoint learns nothing else
    form = AppointForm()
    if not form.validate_on_submit():
        flash(_("Choose a role and an experience level."), "error")
        return redirect(url_for("networks.network", slug=slug), 303)
    person = session.get(Person, form.person_id.data)
    if person is None:
        abort(404)
    operations.appoint(
        network, person, actor=current_person(), role=Role(form.role.data), level=Level(form.level.data)
    )
    flash(
        _("%(name)s is now %(role)s.", name=person.name_or_email, role=ROLE_LABELS[Role(form.role.data)]),
        "success",
    )
    back = "organise.members" if request.form.get("back") == "members" else "networks.network"
    return redirect(url_for(back, slug=slug), 303)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str):
    pending = operations.check_invitation(token)
    return _accept_page(
        pending,
        lambda **answers: operations.accept_invitation(token, **answers),
        sign_in_after=True,
    )


@bp.route("/networks/<slug>/join", methods=["GET", "POST"])
@login_required
def join(slug: str):
    """A signed-in person with an open invitation joins without the e-mailed link (a graduate arriving from
    their course, say)."""
    network = operations.get_network(slug)
    person = current_person()
    pending = operations.open_invitation_of(person, network)
    return _accept_page(
        pending,
        lambda **answers: operations.join_invited(person, network, **answers),
        sign_in_after=False,
    )


def _accept_page(pending, accept, *, sign_in_after: bool):
    network = pending.network
    agreement = operations.current_agreement(network)
    form = AcceptInvitationForm()
    if not form.is_submitted():
        form.display_name.data = pending.person.display_name
    form.agreement_version.data = form.agreement_version.data or str(agreement.version)
    if form.validate_on_submit():
        try:
            version = int(form.agreement_version.data)
        except ValueError:
            version = None
        try:
            membership = accept(
                agreement_version=version,
                accept=form.accept_agreement.data,
                display_name=form.display_name.data,
                share_profile=True if form.share_profile.data else None,
            )
        except MentorNetError as exc:
            if exc.field == "agreement_version":
                form.agreement_version.data = str(agreement.version)
            target = getattr(form, exc.field, None) if exc.field else None
            (
                target.errors if target is not None and exc.field != "agreement_version" else form.form_errors
            ).append(exc.detail)
        else:
            if sign_in_after:
                sign_in(membership.person, via=VIA_INVITATION)
            flash(
                _(
                    "Welcome to %(network)s! Tell the other members a little about yourself.",
                    network=network.name,
                ),
                "success",
            )
            return redirect(url_for("accounts.profile"))
    status = 422 if form.errors else 200
    return render_template(
        "networks/invitation.html", form=form, invitation=pending, network=network, agreement=agreement
    ), status
