from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import to_user_timezone

from network_service.db import utcnow
from network_service.errors import MentorNetError
from network_service.goals import operations, permissions
from network_service.goals.forms import STATUS_LABELS, DropForm, GoalForm, UpdateForm
from network_service.goals.models import GoalStatus
from network_service.goals.roadmap import roadmap_for
from network_service.networks import navigation
from network_service.networks.operations import get_network
from network_service.security import current_person, declare_shared_limit, keeps_form, login_required
from network_service.web import cursor_arg, form_status, keep_form_for_agreement

bp = Blueprint("goals", __name__)

# Goals assigned, reassigned or achieved notify their owner or mentors, and every change is kept: per person,
# the pages and the API spending one budget (docs/security.md).
GOAL_RATE_LIMIT = "60 per hour;300 per day"
GOAL_ENDPOINTS = (
    ("goals.new_goal", ["POST"]),
    ("goals.edit_goal", ["POST"]),
    ("goals.drop_goal", ["POST"]),
    ("goals.post_update", ["POST"]),
    ("api_goals.Goals", ["POST"]),
    ("api_goals.GoalDetail", ["PATCH", "DELETE"]),
    ("api_goals.GoalUpdates", ["POST"]),
)


declare_shared_limit(bp, "goals", GOAL_RATE_LIMIT, GOAL_ENDPOINTS)


navigation.register_section(
    navigation.Section(
        key="goals",
        endpoint="goals.goals",
        label=lambda: _("Goals"),
        order=50,
        visible=permissions.can_view_goals,
    )
)
navigation.register_section(
    navigation.Section(
        key="roadmap",
        endpoint="goals.roadmap",
        label=lambda: _("Roadmap"),
        order=60,
        visible=permissions.can_view_goals,
    )
)


def _today():
    return to_user_timezone(utcnow()).date()


def _field_error(form, exc: MentorNetError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, exc.detail]
    else:
        form.form_errors.append(exc.detail)


def _owner_choices(form: GoalForm, network) -> None:
    form.owner_id.choices = [(p.id, p.name_or_email) for p in operations.active_members(network)]


@bp.get("/networks/<slug>/goals")
@login_required
def goals(slug: str):
    network = get_network(slug)
    viewer = current_person()
    wanted = request.args.get("status", GoalStatus.open.value)
    status = (
        None
        if wanted == "all"
        else GoalStatus(wanted)
        if wanted in GoalStatus.__members__
        else GoalStatus.open
    )
    before = cursor_arg("before")
    items, next_cursor = operations.list_goals(network, viewer, status=status, before=before)
    return render_template(
        "goals/goals.html",
        network=network,
        goals=items,
        next_cursor=next_cursor,
        status=status.value if status else "all",
        counts=operations.status_counts(network),
        status_labels=STATUS_LABELS,
        today=_today(),
        can_manage=permissions.can_manage_goals(viewer, network),
    )


@bp.route("/networks/<slug>/goals/new", methods=["GET", "POST"])
@login_required
@keeps_form(GoalForm)
def new_goal(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_manage_goals(viewer, network):
        abort(403)
    form = GoalForm()
    del form.status
    _owner_choices(form, network)
    if not form.is_submitted():
        form.owner_id.data = viewer.id
    if form.validate_on_submit():
        try:
            goal = operations.create_goal(
                network,
                actor=viewer,
                title=form.title.data,
                description=form.description.data,
                target_value=form.target_value.data,
                unit=form.unit.data,
                owner_id=form.owner_id.data,
                due_date=form.due_date.data,
            )
        except MentorNetError as exc:
            if not keep_form_for_agreement(form, exc):
                if exc.status != 422:
                    raise
                _field_error(form, exc)
        else:
            flash(_("The goal is set."), "success")
            return redirect(url_for("goals.goal", slug=slug, goal_id=goal.id), 303)
    status = form_status(form)
    return render_template("goals/form.html", network=network, form=form, goal=None), status


@bp.get("/networks/<slug>/goals/<int:goal_id>")
@login_required
def goal(slug: str, goal_id: int):
    network = get_network(slug)
    return _goal_page(network, operations.get_goal(network, goal_id, current_person()), UpdateForm())


def _goal_page(network, goal, update_form, status: int = 200):
    viewer = current_person()
    if not update_form.is_submitted():
        update_form.value.data = goal.current_value
    before = cursor_arg("before")  # ?before=<update id>: older progress updates
    updates, older = operations.list_updates(goal, before=before)
    return render_template(
        "goals/goal.html",
        network=network,
        goal=goal,
        updates=updates,
        older_updates=older,
        newest_updates=before is None,
        first_number=operations.count_updates(goal, before=before) if updates else 0,
        update_form=update_form,
        drop_form=DropForm(),
        status_labels=STATUS_LABELS,
        today=_today(),
        can_manage=permissions.can_manage_goals(viewer, network),
        can_update=permissions.can_post_update(viewer, goal) and goal.status != GoalStatus.dropped,
    ), status


@bp.post("/networks/<slug>/goals/<int:goal_id>/updates")
@login_required
@keeps_form(UpdateForm)
def post_update(slug: str, goal_id: int):
    network = get_network(slug)
    viewer = current_person()
    goal = operations.get_goal(network, goal_id, viewer)
    if not permissions.can_post_update(viewer, goal):
        abort(403)
    form = UpdateForm()
    if form.validate_on_submit():
        try:
            operations.post_update(goal, actor=viewer, value=form.value.data, note=form.note.data or "")
        except MentorNetError as exc:
            if not keep_form_for_agreement(form, exc):
                if exc.status != 422:
                    raise
                _field_error(form, exc)
        else:
            flash(_("Thank you: the progress is recorded."), "success")
            return redirect(url_for("goals.goal", slug=slug, goal_id=goal.id), 303)
    return _goal_page(network, goal, form, form_status(form))


@bp.route("/networks/<slug>/goals/<int:goal_id>/edit", methods=["GET", "POST"])
@login_required
@keeps_form(GoalForm)
def edit_goal(slug: str, goal_id: int):
    network = get_network(slug)
    viewer = current_person()
    goal = operations.get_goal(network, goal_id, viewer)
    if not permissions.can_manage_goals(viewer, network):
        abort(403)
    form = GoalForm(obj=None if request.method == "POST" else goal)
    _owner_choices(form, network)
    if goal.owner_id is not None and goal.owner_id not in {value for value, _label in form.owner_id.choices}:
        form.owner_id.choices.insert(
            0, (goal.owner_id, goal.owner.name_or_email)
        )  # a former member stays shown
    if request.method == "GET":
        form.status.data = goal.status.value
    if form.validate_on_submit():
        try:
            operations.edit_goal(
                goal,
                actor=viewer,
                title=form.title.data,
                description=form.description.data,
                target_value=form.target_value.data,
                unit=form.unit.data,
                owner_id=form.owner_id.data,
                due_date=form.due_date.data,
                status=form.status.data,
            )
        except MentorNetError as exc:
            if not keep_form_for_agreement(form, exc):
                if exc.status != 422:
                    raise
                _field_error(form, exc)
        else:
            flash(_("The goal is saved."), "success")
            return redirect(url_for("goals.goal", slug=slug, goal_id=goal.id), 303)
    status = form_status(form)
    return render_template("goals/form.html", network=network, form=form, goal=goal), status


@bp.post("/networks/<slug>/goals/<int:goal_id>/drop")
@login_required
@keeps_form(DropForm)
def drop_goal(slug: str, goal_id: int):
    network = get_network(slug)
    viewer = current_person()
    goal = operations.get_goal(network, goal_id, viewer)
    if not DropForm().validate_on_submit():
        abort(400)
    operations.drop_goal(goal, actor=viewer)
    flash(_("The goal is dropped. You can reopen it by editing it."), "success")
    return redirect(url_for("goals.goals", slug=slug), 303)


@bp.get("/networks/<slug>/roadmap")
@login_required
def roadmap(slug: str):
    network = get_network(slug)
    viewer = current_person()
    phases = roadmap_for(network, viewer)
    return render_template(
        "goals/roadmap.html",
        network=network,
        phases=phases,
        show_hints=permissions.can_manage_goals(viewer, network),  # the hints tell leaders what to do next
    )
