from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from network_service.db import utcnow
from network_service.errors import MentorNetError
from network_service.insights import charts, operations, permissions
from network_service.insights.forms import NudgeForm, RefreshForm
from network_service.networks import navigation
from network_service.networks.operations import get_network
from network_service.security import current_person, login_required

bp = Blueprint("insights", __name__)

navigation.register_section(
    navigation.Section(
        key="insights",
        endpoint="insights.insights",
        label=lambda: _("Insights"),
        order=70,
        visible=permissions.can_view_insights,
    )
)


def percent(share) -> str:
    return "–" if share is None else f"{round(share * 100)}%"


def health_charts(data: dict, *, active_text: str, new_members_text: str, funnel: list[int]) -> dict:
    """The four charts a network's insights and a federation's dashboard share (texts say whose members)."""
    active = data["active"]["periods"]
    retention = data["retention"]
    return {
        "active": charts.bar_chart(
            _("Active members"),
            active_text,
            [_("%(days)s days", days=p["days"]) for p in active],
            [p["active"] for p in active],
        ),
        "new_members": charts.bar_chart(
            _("New members per month"),
            new_members_text,
            [row["month"][2:] for row in data["new_members"]],
            [row["joined"] for row in data["new_members"]],
        ),
        "retention": charts.heatmap(
            _("Retention by cohort"),
            _("Share of each month's new members still active 1, 3 and 6 months after joining."),
            [row["month"] for row in retention],
            [_("+%(months)s months", months=m["months"]) for m in retention[0]["marks"]] if retention else [],
            [[m["share"] for m in row["marks"]] for row in retention],
        ),
        "funnel": charts.hbar_chart(
            _("From the course to the network"),
            _("Graduates who passed the course, were invited, accepted and are active."),
            [_("passed"), _("invited"), _("accepted"), _("active")],
            funnel,
        ),
    }


def _charts(data: dict) -> dict:
    funnel_totals = [
        sum(row[key] for row in data["funnel"]) for key in ("passed", "invited", "accepted", "active")
    ]
    return {
        **health_charts(
            data,
            active_text=_("Members who did something in the last 7, 30 and 90 days."),
            new_members_text=_("Members who joined in each of the last 12 months."),
            funnel=funnel_totals,
        ),
        "funnel_totals": funnel_totals,
        "helpers": charts.network_graph(
            _("Who helps whom"),
            _("An arrow from the member who answered to the member who asked; thicker means more requests."),
            data["helpers"],
        ),
    }


@bp.get("/networks/<slug>/insights")
@login_required
def insights(slug: str):
    network = get_network(slug)
    viewer = current_person()
    data = operations.insights(network, viewer)
    quiet = operations.quiet_members(network, viewer)
    return render_template(
        "insights/insights.html",
        network=network,
        data=data,
        quiet=quiet,
        charts=_charts(data),
        percent=percent,
        refresh_form=RefreshForm(),
        nudge_form=NudgeForm(),
        datasets=operations.DATASETS,
        computed_at=_parse(data["computed_at"]),
        quiet_days=operations.QUIET_DAYS,
        nudge_days=operations.NUDGE_DAYS,
    )


def _parse(value: str):
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return utcnow()


@bp.post("/networks/<slug>/insights/refresh")
@login_required
def refresh(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_view_insights(viewer, network):
        abort(403)
    if not RefreshForm().validate_on_submit():
        abort(400)
    operations.insights(network, viewer, refresh=True)
    flash(_("The insights are up to date."), "success")
    return redirect(url_for("insights.insights", slug=slug), 303)


@bp.post("/networks/<slug>/insights/nudge")
@login_required
def nudge(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_nudge(viewer, network):
        abort(403)
    form = NudgeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        person_id = int(form.person_id.data or "")
    except ValueError:
        person_id = None
    try:
        sent = operations.nudge(network, person_id, actor=viewer)
    except MentorNetError as exc:
        if exc.status not in (404, 409, 422):
            raise
        flash(exc.detail, "error")
    else:
        flash(_("Nudge sent to %(name)s.", name=sent.person.name_or_email), "success")
    return redirect(url_for("insights.insights", slug=slug, _anchor="quiet"), 303)


@bp.get("/networks/<slug>/insights/<dataset>.csv")
@login_required
def export(slug: str, dataset: str):
    network = get_network(slug)
    viewer = current_person()
    if dataset not in operations.DATASETS:
        abort(404)
    data = operations.insights(network, viewer)
    quiet = operations.quiet_members(network, viewer) if dataset == "quiet" else None
    body = operations.to_csv(operations.csv_rows(dataset, data, quiet))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{network.slug}-{dataset}.csv"'},
    )
