"""Pages of the Federation section of a network: its federations and member networks, what it shares, and the
federated dashboard."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from network_service.conversations.models import Channel, ChannelKind
from network_service.db import session
from network_service.errors import MentorNetError
from network_service.federations import access, dashboard, operations, permissions
from network_service.federations.forms import (
    ConfirmForm,
    InviteForm,
    JoinForm,
    ShareChannelForm,
    ShareResourceForm,
)
from network_service.insights import operations as insights_operations
from network_service.insights.views import health_charts, percent
from network_service.networks import navigation
from network_service.networks.models import Network
from network_service.networks.operations import get_network
from network_service.resources.models import Resource
from network_service.security import current_person, declare_shared_limit, keeps_form, login_required

bp = Blueprint("federations", __name__, url_prefix="/networks/<slug>/federation")

# Inviting a network into the federation and asking to join one notify the other network's coordinators:
# limited per person, the pages and the API spending one budget (docs/security.md).
FEDERATION_RATE_LIMIT = "20 per hour;50 per day"
FEDERATION_ENDPOINTS = (
    ("federations.invite", ["POST"]),
    ("federations.join", ["POST"]),
    ("api_federations.Members", ["POST"]),
    ("api_federations.Memberships", ["POST"]),
)


declare_shared_limit(bp, "federation-requests", FEDERATION_RATE_LIMIT, FEDERATION_ENDPOINTS)


def _visible(viewer, network: Network) -> bool:
    """Members see the section once the network is in a federation; its coordinator always (to start one)."""
    if not permissions.can_view_federation(viewer, network):
        return False
    return permissions.can_manage_links(viewer, network) or operations.in_a_federation(network)


navigation.register_section(
    navigation.Section(
        key="federation",
        endpoint="federations.index",
        label=lambda: _("Federation"),
        order=75,
        visible=_visible,
    )
)


@bp.app_template_global("federation_shared_resources")
def _shared_resources(network: Network) -> list[Resource]:
    """ "From the federation" in a library (the library page is only shown to people who may see it)."""
    return access.shared_resources_for(network)


@bp.app_template_global("federation_public_members")
def _public_members(network: Network) -> list[dict]:
    return operations.public_members(network)


@bp.app_template_global("federation_public_federations")
def _public_federations(network: Network) -> list[dict]:
    return operations.public_federations(network)


def _share_forms(network: Network, viewer, targets, channel_form=None, resource_form=None):
    if not targets or not permissions.can_share(viewer, network):
        return None, None
    choices = [(t.id, t.name) for t in targets]
    channel_form = channel_form or ShareChannelForm(prefix="share-channel")
    channel_form.federation_id.choices = choices
    channel_form.channel_id.choices = [
        (c.id, c.name)
        for c in session.scalars(
            sa.select(Channel)
            .where(Channel.network_id == network.id, Channel.kind == ChannelKind.open)
            .order_by(Channel.name)
        )
    ]
    resource_form = resource_form or ShareResourceForm(prefix="share-resource")
    resource_form.federation_id.choices = choices
    resource_form.resource_id.choices = [
        (r.id, r.title)
        for r in session.scalars(
            sa.select(Resource).where(Resource.network_id == network.id).order_by(Resource.title).limit(500)
        )
    ]
    return channel_form, resource_form


def _page(network: Network, status: int = 200, **forms):
    viewer = current_person()
    links = operations.links_of(network, viewer)
    channels, resources = operations.shared_with(network, viewer)
    targets = operations.sharing_targets(network)
    own_channels, own_resources = operations.shared_by(network)
    manage = permissions.can_manage_links(viewer, network)
    channel_form, resource_form = _share_forms(
        network, viewer, targets, forms.get("channel_form"), forms.get("resource_form")
    )
    return render_template(
        "federations/index.html",
        network=network,
        links=links,
        shared_channels=channels,
        shared_resources=resources,
        own_channels=own_channels,
        own_resources=own_resources,
        targets={t.id: t for t in targets},
        manage=manage,
        can_share=permissions.can_share(viewer, network),
        can_dashboard=bool(links.active_members) and permissions.can_view_dashboard(viewer, network),
        invite_form=forms.get("invite_form") or InviteForm(),
        join_form=forms.get("join_form") or JoinForm(),
        channel_form=channel_form,
        resource_form=resource_form,
        confirm_form=ConfirmForm(),
        may_accept=lambda link: operations.may_accept(viewer, link),
        may_end=lambda link: operations.may_end(viewer, link),
    ), status


def _refused(form, field: str, exc: MentorNetError) -> None:
    if exc.status in (403, 404) and exc.field is None:
        raise exc
    target = getattr(form, exc.field or field, None) or getattr(form, field)
    target.errors = [*target.errors, exc.detail]


@bp.get("")
@login_required
def index(slug: str):
    return _page(get_network(slug))


@bp.post("/invite")
@login_required
@keeps_form(InviteForm)
def invite(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_manage_links(viewer, network):
        abort(403)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            link = operations.invite_member(network, form.network.data, actor=viewer)
        except MentorNetError as exc:
            _refused(form, "network", exc)
        else:
            if link.status == operations.LinkStatus.active:
                flash(
                    _("%(network)s is now a member of the federation.", network=link.member.name), "success"
                )
            else:
                flash(
                    _("%(network)s is invited. Its coordinator decides.", network=link.member.name), "success"
                )
            return redirect(url_for("federations.index", slug=slug), 303)
    return _page(network, 422, invite_form=form)


@bp.post("/join")
@login_required
@keeps_form(JoinForm)
def join(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_manage_links(viewer, network):
        abort(403)
    form = JoinForm()
    if form.validate_on_submit():
        try:
            link = operations.request_to_join(network, form.federation.data, actor=viewer)
        except MentorNetError as exc:
            _refused(form, "federation", exc)
        else:
            if link.status == operations.LinkStatus.active:
                flash(_("%(network)s is now a member of %(federation)s.",
                        network=network.name, federation=link.federation.name), "success")  # fmt: skip
            else:
                flash(_("Your request is sent. The coordinator of %(federation)s decides.",
                        federation=link.federation.name), "success")  # fmt: skip
            return redirect(url_for("federations.index", slug=slug), 303)
    return _page(network, 422, join_form=form)


def _link_action(slug: str, link_id: int, action) -> object:
    network = get_network(slug)
    viewer = current_person()
    link = operations.get_link(link_id, viewer)
    if network.id not in (link.federation_id, link.member_id):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    action(link, viewer)
    return redirect(url_for("federations.index", slug=slug), 303)


@bp.post("/links/<int:link_id>/accept")
@login_required
def accept(slug: str, link_id: int):
    def act(link, viewer):
        operations.accept_link(link, actor=viewer)
        flash(_("%(network)s is now a member of %(federation)s.",
                network=link.member.name, federation=link.federation.name), "success")  # fmt: skip

    return _link_action(slug, link_id, act)


@bp.post("/links/<int:link_id>/end")
@login_required
def end(slug: str, link_id: int):
    def act(link, viewer):
        operations.end_link(link, actor=viewer)
        flash(_("Done: %(network)s and %(federation)s are not linked any more.",
                network=link.member.name, federation=link.federation.name), "success")  # fmt: skip

    return _link_action(slug, link_id, act)


@bp.post("/share-channel")
@login_required
def share_channel(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_share(viewer, network):
        abort(403)
    form = ShareChannelForm(prefix="share-channel")
    form.channel_id.choices = form.federation_id.choices = []
    if form.validate_on_submit():
        try:
            share = operations.share_channel(
                network, form.channel_id.data, form.federation_id.data, actor=viewer,
                allow_posting=form.allow_posting.data,
            )  # fmt: skip
        except MentorNetError as exc:
            _refused(form, "channel_id", exc)
        else:
            flash(_("%(channel)s is shared with %(federation)s.",
                    channel=share.channel.name, federation=share.federation.name), "success")  # fmt: skip
            return redirect(url_for("federations.index", slug=slug), 303)
    return _page(network, 422, channel_form=form)


@bp.post("/share-resource")
@login_required
def share_resource(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_share(viewer, network):
        abort(403)
    form = ShareResourceForm(prefix="share-resource")
    form.resource_id.choices = form.federation_id.choices = []
    if form.validate_on_submit():
        try:
            share = operations.share_resource(
                network, form.resource_id.data, form.federation_id.data, actor=viewer
            )
        except MentorNetError as exc:
            _refused(form, "resource_id", exc)
        else:
            flash(_("%(resource)s is shared with %(federation)s.",
                    resource=share.resource.title, federation=share.federation.name), "success")  # fmt: skip
            return redirect(url_for("federations.index", slug=slug), 303)
    return _page(network, 422, resource_form=form)


@bp.post("/shared-channels/<int:share_id>/remove")
@login_required
def unshare_channel(slug: str, share_id: int):
    network = get_network(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    operations.unshare_channel(network, share_id, actor=current_person())
    flash(_("The channel is no longer shared."), "success")
    return redirect(url_for("federations.index", slug=slug), 303)


@bp.post("/shared-resources/<int:share_id>/remove")
@login_required
def unshare_resource(slug: str, share_id: int):
    network = get_network(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    operations.unshare_resource(network, share_id, actor=current_person())
    flash(_("The resource is no longer shared."), "success")
    return redirect(url_for("federations.index", slug=slug), 303)


def _charts(data: dict) -> dict:
    return health_charts(
        data,
        active_text=_("Members of all member networks who did something in the last 7, 30 and 90 days."),
        new_members_text=_("Members who joined a member network in each of the last 12 months."),
        funnel=[data["funnel"][key] for key in dashboard.FUNNEL_KEYS],
    )


@bp.get("/dashboard")
@login_required
def federated_dashboard(slug: str):
    network = get_network(slug)
    data = dashboard.dashboard(network, current_person())
    return render_template(
        "federations/dashboard.html", network=network, data=data, charts=_charts(data), percent=percent
    )


@bp.get("/dashboard/<dataset>.csv")
@login_required
def export(slug: str, dataset: str):
    network = get_network(slug)
    if dataset not in dashboard.DATASETS:
        abort(404)
    data = dashboard.dashboard(network, current_person())
    body = insights_operations.to_csv(dashboard.csv_rows(dataset, data))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{network.slug}-federation-{dataset}.csv"'},
    )
