"""Pages: apply to a network, partner organisations, the guided start of a network, the promotion kit."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import escape

from network_service.errors import MentorNetError
from network_service.growth import forms, operations, permissions
from network_service.growth.models import (
    ApplicationStatus,
    CourseLinkRequestStatus,
    NetworkStart,
    PartnerStatus,
    StartStatus,
)
from network_service.networks import navigation
from network_service.networks.models import Level, Network
from network_service.networks.operations import default_agreement_body, get_network
from network_service.security import current_person, declare_shared_limit, keeps_form, login_required

bp = Blueprint("growth", __name__)

# Applying and asking for a partnership write rows others must read: limited per client address.
WRITE_RATE_LIMIT = "20 per hour"
LIMITED_ENDPOINTS = (
    "growth.apply",
    "growth.request_partner",
    "growth.start",
    "api_growth.Applications",
    "api_growth.Partners",
)


# The last step of starting a network invites up to MAX_INVITATIONS people by e-mail at once: per person.
START_STEP_RATE_LIMIT = "20 per hour;50 per day"


@bp.record_once
def _limits(state) -> None:
    limits = state.app.extensions.setdefault("mentornet.rate_limits", [])
    for endpoint in LIMITED_ENDPOINTS:
        limits.append((endpoint, WRITE_RATE_LIMIT, ["POST"], {}))


declare_shared_limit(bp, "network-start", START_STEP_RATE_LIMIT, (("growth.start_step", ["POST"]),))
# The form of each step (_step_form builds it): the page of a refused step shows its fields with their labels.
START_FORMS = {
    "organisation": forms.StartOrganisationForm,
    "network": forms.StartNetworkForm,
    "agreement": forms.StartAgreementForm,
    "course": forms.StartCourseForm,
    "invitations": forms.StartInvitationsForm,
}


# The widget may be framed by any page: it shows only public figures, sets no cookie and posts nothing.
WIDGET_FRAME_ANCESTORS = "*"

for _section in (
    navigation.Section(
        key="applications",
        endpoint="growth.applications",
        label=lambda: _("Applications"),
        order=96,
        visible=permissions.can_manage_applications,
    ),
    navigation.Section(
        key="partners",
        endpoint="growth.partners",
        label=lambda: _("Partners"),
        order=97,
        visible=permissions.can_decide_partners,
    ),
    navigation.Section(
        key="promote",
        endpoint="growth.promote",
        label=lambda: _("Promote"),
        order=98,
        visible=permissions.can_use_promotion_kit,
    ),
):
    navigation.register_section(_section)


def _public_extras(network: Network) -> dict:
    """What the public page /n/<slug> shows from this module: the apply button and the partners."""
    return {
        "accepts_applications": network.accepts_applications,
        "partners": operations.list_partners(network, None),
    }


@bp.app_context_processor
def _helpers():
    return {"growth_public": _public_extras}


def _field_error(form, exc: MentorNetError) -> None:
    form.problem_status = max(getattr(form, "problem_status", 0), exc.status)  # 409 for a conflict
    target = getattr(form, exc.field, None) if exc.field else None
    if target is not None and hasattr(target, "errors") and not isinstance(target.errors, dict):
        target.errors = [*target.errors, exc.detail]
    else:
        form.form_errors.append(exc.detail)


def _status(form) -> int:
    if getattr(form, "problem_status", 0):
        return form.problem_status
    return 422 if form.errors or form.form_errors else 200


def _cacheable(response: Response, seconds: int) -> Response:
    """Shared caches may keep a public promotion page only when this request has no session (a signed-in
    visitor's response may refresh the session cookie, which a shared cache must never store)."""
    from flask import session as flask_session

    if flask_session:
        response.headers["Cache-Control"] = "private, no-store"
    else:
        response.headers["Cache-Control"] = f"public, max-age={seconds}"
    return response


def _public_network(slug: str) -> Network:
    """The network of a public promotion page: only while its public page is on."""
    from network_service.directory.operations import visible_public_page

    network = get_network(slug)
    visible_public_page(network)
    return network


# -- applying -------------------------------------------------------------------------------------------------


@bp.route("/n/<slug>/apply", methods=["GET", "POST"])
@login_required
def apply(slug: str):
    network = get_network(slug)
    person = current_person()
    pending = operations.open_application(network, person)
    form = forms.ApplyForm()
    if not form.is_submitted():
        form.languages.data = ", ".join(person.languages or [])
        form.region.data = person.region
    if pending is None and form.validate_on_submit():
        try:
            operations.apply(
                network,
                person,
                motivation=form.motivation.data,
                experience=form.experience.data,
                languages=form.languages.data,
                region=form.region.data,
            )
        except MentorNetError as exc:
            if exc.status not in (409, 422):
                raise
            _field_error(form, exc)
        else:
            flash(_("Your application is sent. The network office will answer you."), "success")
            return redirect(url_for("growth.apply", slug=slug), 303)
    elif pending is not None and request.method == "POST":
        abort(409)
    return render_template(
        "growth/apply.html", network=network, form=form, pending=pending, withdraw=forms.ActionForm()
    ), _status(form)


@bp.post("/n/<slug>/apply/withdraw")
@login_required
def withdraw(slug: str):
    network = get_network(slug)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    pending = operations.open_application(network, current_person())
    if pending is None:
        abort(404)
    operations.withdraw_application(pending, current_person())
    flash(_("Your application is withdrawn."), "success")
    return redirect(url_for("growth.apply", slug=slug), 303)


@bp.route("/networks/<slug>/applications", methods=["GET", "POST"])
@login_required
def applications(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_manage_applications(viewer, network):
        abort(403)
    setting = forms.ApplicationsSettingForm(prefix="setting")
    if setting.validate_on_submit():
        operations.set_accepts_applications(network, viewer, setting.accepts_applications.data)
        flash(_("Saved."), "success")
        return redirect(url_for("growth.applications", slug=slug), 303)
    if request.method == "POST":
        abort(400)
    setting.accepts_applications.data = network.accepts_applications
    show = request.args.get("status", "pending")
    status = None if show == "all" else ApplicationStatus.pending
    return render_template(
        "growth/applications.html",
        network=network,
        setting=setting,
        items=operations.list_applications(network, viewer, status),
        show=show,
        decide=forms.DecideForm(formdata=None),
    )


@bp.route("/networks/<slug>/applications/<int:application_id>", methods=["GET", "POST"])
@login_required
def decide_application(slug: str, application_id: int):
    """The page of one application: what the applicant wrote and, while it waits, the form that accepts or
    declines it (the list links here; GET shows the form, POST decides)."""
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_manage_applications(viewer, network):
        abort(403)
    application = operations.get_application(network, application_id)
    form = forms.DecideForm()
    if form.validate_on_submit():
        try:
            operations.decide_application(
                application,
                viewer,
                accept=form.decision.data == "accept",
                level=Level(form.level.data) if form.level.data in set(Level) else Level.experienced,
                message=form.message.data,
            )
        except MentorNetError as exc:
            if exc.status not in (409, 422):
                raise
            _field_error(form, exc)
        else:
            flash(
                _("%(name)s is invited to join.", name=application.person.name_or_email)
                if form.decision.data == "accept"
                else _("The application is declined."),
                "success",
            )
            return redirect(url_for("growth.applications", slug=slug), 303)
    return render_template(
        "growth/application_decide.html", network=network, application=application, form=form
    ), _status(form)


# -- partners -------------------------------------------------------------------------------------------------


@bp.route("/n/<slug>/partner", methods=["GET", "POST"])
@login_required
def request_partner(slug: str):
    network = get_network(slug)
    viewer = current_person()
    mine = [o for o in permissions.coordinated_organisations(viewer) if o.id != network.organisation_id]
    form = forms.PartnerForm()
    form.organisation.choices = [("", _("— a new organisation —"))] + [(str(o.id), o.name) for o in mine]
    if form.validate_on_submit():
        chosen = next((o for o in mine if str(o.id) == form.organisation.data), None)
        try:
            operations.request_partnership(
                network,
                viewer,
                organisation=chosen,
                new_name=form.new_name.data if chosen is None else "",
                country=form.country.data or "",
                website=form.website.data or "",
                message=form.message.data,
            )
        except MentorNetError as exc:
            if exc.status not in (409, 422):
                raise
            _field_error(form, exc)
        else:
            flash(_("Your request is sent. The coordinators of the network will answer you."), "success")
            return redirect(url_for("directory.network_page", slug=slug) if _is_public(network) else "/", 303)
    return render_template("growth/partner_request.html", network=network, form=form), _status(form)


def _is_public(network: Network) -> bool:
    from network_service.directory.operations import public_page

    page = public_page(network)
    return bool(page and page.public)


@bp.get("/networks/<slug>/partners")
@login_required
def partners(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_decide_partners(viewer, network):
        abort(403)
    items = operations.list_partners(network, viewer, everything=True)
    return render_template(
        "growth/partners.html",
        network=network,
        requested=[p for p in items if p.status == PartnerStatus.requested],
        accepted=[p for p in items if p.status == PartnerStatus.accepted],
        form=forms.PartnerDecideForm(formdata=None),
    )


@bp.post("/networks/<slug>/partners/<int:partner_id>")
@login_required
def decide_partner(slug: str, partner_id: int):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_decide_partners(viewer, network):
        abort(403)
    partner = operations.get_partner(network, partner_id)
    form = forms.PartnerDecideForm()
    if not form.validate_on_submit():
        abort(400 if "csrf_token" in form.errors else 422)
    try:
        operations.decide_partner(
            partner, viewer, accept=form.decision.data == "accept", message=form.message.data
        )
    except MentorNetError as exc:
        if exc.status != 409:
            raise
        flash(exc.detail, "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("growth.partners", slug=slug), 303)


# -- promotion kit --------------------------------------------------------------------------------------------


@bp.get("/networks/<slug>/promote")
@login_required
def promote(slug: str):
    network = get_network(slug)
    if not permissions.can_use_promotion_kit(current_person(), network):
        abort(403)
    public = _is_public(network)
    page_url = url_for("directory.network_page", slug=slug, _external=True)
    widget_url = url_for("growth.widget", slug=slug, _external=True)
    snippet = (
        f'<iframe src="{widget_url}" title="{escape(network.name)}" width="320" height="260" '
        'style="border:0" loading="lazy"></iframe>'
    )
    return render_template(
        "growth/promote.html",
        network=network,
        public=public,
        page_url=page_url,
        snippet=snippet,
        figures=operations.figures(network),
    )


@bp.get("/n/<slug>/widget")
def widget(slug: str):
    network = _public_network(slug)
    g.frame_ancestors = WIDGET_FRAME_ANCESTORS
    response = Response(
        render_template(
            "growth/widget.html",
            network=network,
            figures=operations.figures(network),
            join_url=url_for(
                "growth.apply" if network.accepts_applications else "directory.network_page",
                slug=slug,
                _external=True,
            ),
        )
    )
    return _cacheable(response, 300)


@bp.get("/n/<slug>/qr.svg")
def qr_svg(slug: str):
    network = _public_network(slug)
    svg = operations.qr_svg(url_for("directory.network_page", slug=network.slug, _external=True))
    return _cacheable(Response(svg, mimetype="image/svg+xml"), 3600)


@bp.get("/n/<slug>/qr.png")
def qr_png(slug: str):
    network = _public_network(slug)
    png = operations.qr_png(url_for("directory.network_page", slug=network.slug, _external=True))
    response = Response(
        png,
        mimetype="image/png",
        headers={"Content-Disposition": f'attachment; filename="{network.slug}-qr.png"'},
    )
    return _cacheable(response, 3600)


@bp.get("/n/<slug>/flyer")
def flyer(slug: str):
    from network_service.directory.operations import public_page

    network = _public_network(slug)
    page_url = url_for("directory.network_page", slug=slug, _external=True)
    return render_template(
        "growth/flyer.html",
        network=network,
        page=public_page(network),
        page_url=page_url,
        figures=operations.figures(network),
    )


# -- course-link requests -------------------------------------------------------------------------------------


@bp.route("/networks/<slug>/course-requests", methods=["GET", "POST"])
@login_required
def course_requests(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_request_course_link(viewer, network):
        abort(403)
    form = forms.CourseRequestForm()
    if form.validate_on_submit():
        try:
            operations.request_course_link(network, viewer, form.course_key.data, form.title.data)
        except MentorNetError as exc:
            if exc.status not in (409, 422):
                raise
            _field_error(form, exc)
        else:
            flash(_("Your request is sent to the site administrators."), "success")
            return redirect(url_for("growth.course_requests", slug=slug), 303)
    return render_template(
        "growth/course_requests.html",
        network=network,
        form=form,
        items=operations.course_link_requests(viewer, network=network),
    ), _status(form)


# -- the guided start of a network ----------------------------------------------------------------------------

STEP_LABELS = {
    "organisation": lambda: _("Organisation"),
    "network": lambda: _("Network"),
    "agreement": lambda: _("Agreement"),
    "course": lambda: _("MOOC course"),
    "invitations": lambda: _("First invitations"),
}


@bp.route("/start", methods=["GET", "POST"])
@login_required
def start():
    person = current_person()
    current = operations.current_start(person)
    form = forms.ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        current = operations.begin_start(person)
        return redirect(url_for("growth.start_step", step=current.step), 303)
    return render_template(
        "growth/start.html", current=current, form=form, policy=operations.start_policy(), labels=STEP_LABELS
    )


def _step_form(step: str, current: NetworkStart):
    data = current.data or {}
    if step == "organisation":
        form = forms.StartOrganisationForm()
        mine = permissions.coordinated_organisations(current_person())
        form.organisation.choices = [("", _("— a new organisation —"))] + [(str(o.id), o.name) for o in mine]
        if not form.is_submitted() and current.organisation is not None:
            if current.organisation.id in {o.id for o in mine}:
                form.organisation.data = str(current.organisation.id)
            else:
                form.name.data = current.organisation.name
                form.country.data = current.organisation.country or ""
                form.city.data = current.organisation.city
                form.website.data = current.organisation.website
        return form
    if step == "network":
        form = forms.StartNetworkForm()
        if not form.is_submitted():
            form.name.data = data.get("name", "")
            form.slug.data = data.get("slug", "")
            form.languages.data = ", ".join(data.get("languages", []))
            form.region.data = data.get("region", "")
            form.description.data = data.get("description", "")
        return form
    if step == "agreement":
        form = forms.StartAgreementForm()
        if not form.is_submitted():
            form.title.data = _("Network agreement and communication rules")
            form.body.data = default_agreement_body()
        return form
    if step == "course":
        return forms.StartCourseForm()
    return forms.StartInvitationsForm()


def _save_step(step: str, current: NetworkStart, form, person) -> None:
    if step == "organisation":
        chosen = form.organisation.data
        operations.save_organisation(
            current,
            person,
            organisation_id=int(chosen) if chosen and chosen.isdigit() else None,
            name=form.name.data or "",
            country=form.country.data or "",
            city=form.city.data or "",
            website=form.website.data or "",
        )
    elif step == "network":
        operations.save_network(
            current,
            person,
            name=form.name.data,
            slug=form.slug.data,
            languages=form.languages.data or "",
            region=form.region.data or "",
            description=form.description.data or "",
        )
    elif step == "agreement":
        operations.save_agreement(current, person, title=form.title.data, body=form.body.data)
    elif step == "course":
        operations.save_course(
            current, person, course_key=form.course_key.data or "", title=form.title.data or ""
        )
    else:
        count = operations.save_invitations(current, person, form.emails.data or "")
        flash(
            _("Your network is ready.")
            + " "
            + ngettext("%(num)d invitation is sent.", "%(num)d invitations are sent.", count),
            "success",
        )


@bp.route("/start/<step>", methods=["GET", "POST"])
@login_required
@keeps_form(lambda step: START_FORMS.get(step))
def start_step(step: str):
    if step not in operations.STEPS:
        abort(404)
    person = current_person()
    current = operations.current_start(person)
    if current is None:
        return redirect(url_for("growth.start"), 303)
    reached = operations.reached_steps(current)
    if step not in reached:
        return redirect(url_for("growth.start_step", step=reached[-1]), 303)
    waiting = current.status == StartStatus.awaiting_approval
    form = _step_form(step, current)
    if not waiting and form.validate_on_submit():
        try:
            _save_step(step, current, form, person)
        except MentorNetError as exc:
            if exc.status not in (409, 422):
                raise
            _field_error(form, exc)
        else:
            if current.status == StartStatus.done:
                return redirect(url_for("networks.network", slug=current.network.slug), 303)
            return redirect(url_for("growth.start_step", step=current.step), 303)
    elif waiting and request.method == "POST":
        abort(409)
    index = operations.STEPS.index(step)
    link_requests = (
        operations.course_link_requests(person, network=current.network)
        if step in ("course", "invitations") and current.network is not None
        else []
    )
    return render_template(
        "growth/start_step.html",
        current=current,
        step=step,
        steps=operations.STEPS,
        reached=operations.reached_steps(current),
        labels=STEP_LABELS,
        form=form,
        waiting=waiting,
        previous=operations.STEPS[index - 1] if index > 0 else None,
        link_requests=link_requests,
        network_created=current.network_id is not None,
    ), _status(form)


# -- site administration --------------------------------------------------------------------------------------


@bp.route("/admin/growth", methods=["GET", "POST"])
@login_required
def admin():
    viewer = current_person()
    if not permissions.can_manage_site(viewer):
        abort(403)
    policy = forms.PolicyForm(prefix="policy")
    if policy.validate_on_submit():
        operations.set_start_policy(viewer, policy.policy.data)
        flash(_("Saved."), "success")
        return redirect(url_for("growth.admin"), 303)
    if request.method == "POST":
        abort(400)
    policy.policy.data = operations.start_policy()
    return render_template(
        "growth/admin.html",
        policy=policy,
        starts=operations.pending_starts(viewer),
        link_requests=operations.course_link_requests(viewer, status=CourseLinkRequestStatus.pending),
        action=forms.ActionForm(),
    )


@bp.post("/admin/growth/starts/<int:start_id>/<any(approve, decline):decision>")
@login_required
def decide_start(start_id: int, decision: str):
    viewer = current_person()
    if not permissions.can_manage_site(viewer):
        abort(403)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    operations.decide_start(operations.get_start(start_id, viewer), viewer, approve=decision == "approve")
    flash(_("Saved."), "success")
    return redirect(url_for("growth.admin"), 303)


@bp.post("/admin/growth/course-requests/<int:request_id>/<any(approve, decline):decision>")
@login_required
def decide_course_request(request_id: int, decision: str):
    from network_service.db import session
    from network_service.growth.models import CourseLinkRequest

    viewer = current_person()
    if not permissions.can_manage_site(viewer):
        abort(403)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    link_request = session.get(CourseLinkRequest, request_id)
    if link_request is None:
        abort(404)
    try:
        operations.decide_course_link(link_request, viewer, approve=decision == "approve")
    except MentorNetError as exc:
        if exc.status != 409:
            raise
        flash(exc.detail, "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("growth.admin"), 303)
