from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from network_service.courses import operations
from network_service.courses.forms import RULE_LABELS, CourseLinkForm, LinkUnlinkedForm
from network_service.courses.models import CompletionRule
from network_service.db import session
from network_service.errors import MentorNetError
from network_service.networks import permissions
from network_service.networks.models import Network
from network_service.networks.operations import get_network
from network_service.privacy.operations import retention_days
from network_service.security import current_person, login_required

bp = Blueprint("courses", __name__)


def _link_and_replay(course_key: str, network: Network, rule: CompletionRule, min_grade, title: str) -> None:
    link = operations.link_course(
        course_key, network, actor=current_person(), rule=rule, min_grade=min_grade, title=title
    )
    outcomes = operations.replay_completions(link.course_key)
    invited = outcomes.get("invited", 0)
    flash(
        _(
            "Graduates of %(course)s will be invited into %(network)s.",
            course=link.course_key,
            network=network.name,
        )
        + (" " + _("%(count)s earlier graduates were invited now.", count=invited) if invited else ""),
        "success",
    )


@bp.route("/networks/<slug>/courses", methods=["GET", "POST"])
@login_required
def network_courses(slug: str):
    network = get_network(slug)
    viewer = current_person()
    links = operations.links_of(network, viewer=viewer)
    form = CourseLinkForm() if permissions.can_link_course(viewer, network) else None
    if form is None and request.method == "POST":
        abort(403)
    if form is not None and form.validate_on_submit():
        rule = CompletionRule(form.rule.data)
        min_grade = float(form.min_grade.data) / 100 if form.min_grade.data is not None else None
        try:
            _link_and_replay(form.course_key.data, network, rule, min_grade, form.title.data or "")
        except MentorNetError as exc:
            field = getattr(form, exc.field, None) if exc.field else None
            (field.errors if field is not None else form.form_errors).append(exc.detail)
        else:
            return redirect(url_for("courses.network_courses", slug=slug), 303)
    status = 422 if form is not None and form.errors else 200
    return render_template(
        "courses/courses.html",
        network=network,
        links=[(link, operations.funnel(link)) for link in links],
        form=form,
        rule_labels=RULE_LABELS,
    ), status


@bp.route("/admin/unlinked-passes", methods=["GET", "POST"])
@login_required
def unlinked_passes():
    viewer = current_person()
    courses = operations.unlinked_passes(viewer=viewer)
    form = LinkUnlinkedForm()
    networks = session.scalars(sa.select(Network).order_by(Network.name)).all()
    form.network.choices = [(network.slug, network.name) for network in networks]
    if form.validate_on_submit():
        network = get_network(form.network.data)
        _link_and_replay(form.course_key.data, network, CompletionRule.passed, None, "")
        return redirect(url_for("courses.unlinked_passes"), 303)
    if form.is_submitted() and form.errors:
        abort(400)
    return render_template(
        "courses/unlinked.html",
        courses=courses,
        form=form,
        networks=networks,
        retention_days=retention_days(),
    )
