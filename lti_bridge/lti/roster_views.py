"""The coordinators' page of course rosters from the learning platforms (LTI Names and Role Provisioning)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from lti_bridge.lti import contexts
from network_service.networks import navigation, permissions
from network_service.networks.operations import get_network
from network_service.security import current_person, login_required

bp = Blueprint("lti_roster", __name__)


@bp.get("/networks/<slug>/roster")
@login_required
def roster(slug: str):
    network = get_network(slug)
    rosters = contexts.rosters_for(network, viewer=current_person())
    return render_template("lti/roster.html", network=network, rosters=rosters)


@bp.post("/networks/<slug>/roster/<int:context_id>/refresh")
@login_required
def refresh(slug: str, context_id: int):
    network = get_network(slug)
    count = contexts.refresh_for(network, context_id, viewer=current_person())
    flash(_("The roster now lists %(count)s people.", count=count), "success")
    return redirect(url_for("lti_roster.roster", slug=slug), 303)


@bp.post("/networks/<slug>/roster/<int:context_id>/grades")
@login_required
def grades(slug: str, context_id: int):
    network = get_network(slug)
    enabled = request.form.get("report_joined") == "on"
    context = contexts.set_report_joined(network, context_id, enabled, viewer=current_person())
    if enabled:
        posted = contexts.report_joined(context, network)
        flash(
            _(
                "Joining the network is reported to the course gradebook (%(count)s learners so far).",
                count=posted,
            ),
            "success",
        )
    else:
        flash(_("Joining the network is no longer reported to the course gradebook."), "success")
    return redirect(url_for("lti_roster.roster", slug=slug), 303)


navigation.register_section(
    navigation.Section(
        key="roster",
        endpoint="lti_roster.roster",
        label=lambda: _("Course rosters"),
        order=80,
        visible=permissions.can_see_courses,
    )
)
