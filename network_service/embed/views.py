"""``/embed/panel``: the learner's status in the course's network, the call to join, unread messages, open help
requests in their languages and the next meeting, small enough for an iframe in a course page.

An iframe inside an LMS is a third-party context: browsers keep our ``SameSite=Lax`` session cookie out of it, and
many drop third-party cookies altogether. So the panel does not use the session. The launch that leads to it
(LTI, or the XBlock's LTI launch) signs a short-lived panel token naming the person and the course, and every
link out of the panel opens mentorNET in a new window through ``/embed/open``, which signs the person in there
(first party) with a second token that works for 15 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from network_service import page_cache
from network_service.accounts.models import Person
from network_service.accounts.sessions import VIA_PANEL
from network_service.db import session
from network_service.networks import navigation
from network_service.networks.models import Membership, MembershipStatus, Network

bp = Blueprint("embed", __name__)

PANEL_SALT = "mentornet-embed-panel"
OPEN_SALT = "mentornet-embed-open"
PANEL_SECONDS = 8 * 3600  # a course page stays open for a while
OPEN_SECONDS = 15 * 60
# The panel may be framed by any https page (an LMS's course pages live on hosts we cannot list): it shows only
# what its token allows, and every action opens a new top-level window.
FRAME_ANCESTORS = "https: http://localhost:* http://127.0.0.1:*"


def _signer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=salt)


def panel_url(person: Person, course_key: str | None = None) -> str:
    """The panel for ``person`` (and the network of ``course_key`` when it is linked)."""
    token = _signer(PANEL_SALT).dumps({"p": person.id, "c": course_key})
    return url_for("embed.panel", t=token)


def _open_url(person: Person, path: str) -> str:
    return url_for("embed.open_window", t=_signer(OPEN_SALT).dumps({"p": person.id, "n": path}))


@dataclass(frozen=True)
class PanelNetwork:
    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class NextMeeting:
    title: str
    starts_at: object


@dataclass
class NetworkCard:
    network: PanelNetwork
    status: str  # "active" | "invited"
    unread: int
    help_open: int
    next_meeting: NextMeeting | None
    open_url: str
    join_url: str | None


def _networks_for(person: Person, course_key: str | None) -> tuple[tuple[PanelNetwork, str], ...]:
    """The person's networks (active or invited, by name; only the course's network when the course is linked),
    kept per person and course until a membership, network or course link changes (page_cache.STRUCTURE)."""

    def compute():
        query = (
            sa.select(Network.id, Network.slug, Network.name, Membership.status)
            .join(Membership, Membership.network_id == Network.id)
            .where(
                Membership.person_id == person.id,
                Membership.status.in_([MembershipStatus.active, MembershipStatus.invited]),
            )
            .order_by(Network.name)
        )
        if course_key:
            from network_service.courses.models import CourseLink

            linked = sa.select(CourseLink.network_id).where(CourseLink.course_key == course_key)
            query = query.where(sa.or_(~linked.exists(), Membership.network_id.in_(linked.scalar_subquery())))
        return tuple(
            (PanelNetwork(id, slug, name), status.value) for id, slug, name, status in session.execute(query)
        )

    # the person's memberships, the networks and the course links: no other person's rows
    return page_cache.cached(
        "embed_networks",
        (person.id, course_key),
        page_cache.of_person(page_cache.STRUCTURE, person.id),
        compute,
    )


def _next_meeting(person: Person, network: PanelNetwork) -> NextMeeting | None:
    from network_service.meetings.operations import next_meeting

    def compute():
        row = next_meeting(session.get(Network, network.id), person)
        return None if row is None else NextMeeting(row.meeting.title, row.meeting.starts_at)

    # "Not over yet" changes with the clock: kept a minute at most.
    return page_cache.cached(
        "embed_next_meeting",
        (person.id, network.id),
        (page_cache.STRUCTURE, page_cache.MEETINGS),
        compute,
        max_age=60.0,
    )


def _card(person: Person, network: PanelNetwork, status: str) -> NetworkCard:
    active = status == MembershipStatus.active.value

    def row() -> Network:  # only when a count has to be made again
        return session.get(Network, network.id)

    return NetworkCard(
        network=network,
        status=status,
        # The same counts as the network's section badges (and kept with them).
        unread=navigation.badge(person, network.id, "conversations", row) if active else 0,
        help_open=navigation.badge(person, network.id, "help", row) if active else 0,
        next_meeting=_next_meeting(person, network) if active else None,
        open_url=_open_url(person, f"/networks/{network.slug}"),
        join_url=None if active else _open_url(person, f"/networks/{network.slug}/join"),
    )


@bp.get("/embed/panel")
def panel():
    g.frame_ancestors = FRAME_ANCESTORS
    try:
        claims = _signer(PANEL_SALT).loads(request.args.get("t", ""), max_age=PANEL_SECONDS)
        # The memberships come only when a count has to be made again (the permission checks ask for them).
        person = session.get(Person, int(claims["p"]), options=[sa.orm.lazyload(Person.memberships)])
    except (BadSignature, KeyError, TypeError, ValueError):
        person = None
    if person is None:
        response = current_app.make_response(
            (render_template("embed/panel.html", person=None, cards=[]), 200)
        )
    else:
        cards = [_card(person, network, status) for network, status in _networks_for(person, claims.get("c"))]
        response = current_app.make_response(
            render_template(
                "embed/panel.html",
                person=person,
                cards=cards,
                home_url=_open_url(person, "/"),
            )
        )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/embed/open")
def open_window():
    """Opened in a new top-level window from the panel: sign the person in here, then go to the page."""
    from network_service.security import sign_in

    try:
        claims = _signer(OPEN_SALT).loads(request.args.get("t", ""), max_age=OPEN_SECONDS)
        person = session.get(Person, int(claims["p"]))
        path = str(claims.get("n") or "/")
    except (BadSignature, KeyError, TypeError, ValueError):
        person, path = None, "/"
    if person is None:
        return redirect(url_for("accounts.sign_in") + "?" + urlencode({"next": "/"}), 303)
    if not path.startswith("/") or path.startswith("//"):
        path = "/"
    sign_in(person, via=VIA_PANEL)
    return redirect(path, 303)
