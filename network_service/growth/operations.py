"""Applications, partner organisations, the guided start of a network, course-link requests, promotion figures.

Plain functions: they check permissions, flush, and leave the commit to the request.
"""

from __future__ import annotations

import io
import re
import typing

import sqlalchemy as sa
from flask_babel import gettext as _

from network_service.accounts.models import Person
from network_service.accounts.operations import normalise_email
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, NotFound
from network_service.growth import permissions
from network_service.growth.models import (
    ApplicationStatus,
    CourseLinkRequest,
    CourseLinkRequestStatus,
    GrowthSetting,
    NetworkApplication,
    NetworkPartner,
    NetworkStart,
    PartnerStatus,
    StartStatus,
)
from network_service.mail.operations import queue_mail
from network_service.markup import MAX_MARKDOWN_CHARS, refuse_html_in_markdown
from network_service.networks import roadmap
from network_service.networks.models import (
    Level,
    Membership,
    MembershipStatus,
    Network,
    Organisation,
    Origin,
    Role,
)
from network_service.networks.operations import (
    _SLUG,
    create_network,
    create_organisation,
    invite_person,
    people_in_roles,
    send_invitation,
)
from network_service.notifications.operations import notify, register_kind
from network_service.urls import public_url

MAX_MOTIVATION = 2000
MAX_EXPERIENCE = 2000
MAX_MESSAGE = 2000
MAX_LANGUAGES = 10
MAX_INVITATIONS = 50

register_kind(
    "growth.application",
    lambda p: _(
        "%(name)s applies to join %(network)s.", name=p.get("name", ""), network=p.get("network_name", "")
    ),
)
register_kind(
    "growth.application_accepted",
    lambda p: _("Your application to %(network)s is accepted: join now.", network=p.get("network_name", "")),
)
register_kind(
    "growth.application_declined",
    lambda p: _("Your application to %(network)s was declined.", network=p.get("network_name", "")),
)
register_kind(
    "growth.partner_request",
    lambda p: _(
        "%(organisation)s asks to join %(network)s as a partner organisation.",
        organisation=p.get("organisation", ""),
        network=p.get("network_name", ""),
    ),
)
register_kind(
    "growth.partner_decided",
    lambda p: (
        _("%(organisation)s is now a partner of %(network)s.", **_names(p))
        if p.get("accepted")
        else _("%(network)s declined the partnership with %(organisation)s.", **_names(p))
    ),
)
register_kind(
    "growth.course_link_decided",
    lambda p: (
        _(
            "The course %(course)s is linked to %(network)s.",
            course=p.get("course", ""),
            network=p.get("network_name", ""),
        )
        if p.get("approved")
        else _("The request to link %(course)s was declined.", course=p.get("course", ""))
    ),
)
register_kind(
    "growth.start_decided",
    lambda p: (
        _("You may start the network %(network)s now.", network=p.get("network_name", ""))
        if p.get("approved")
        else _(
            "Your request to start the network %(network)s was declined.", network=p.get("network_name", "")
        )
    ),
)


def _names(p: dict) -> dict:
    return {"organisation": p.get("organisation", ""), "network": p.get("network_name", "")}


def _text(
    value: str | None,
    field: str,
    maximum: int,
    *,
    required: bool = False,
    label: str = "",
    markdown: bool = False,
) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(label or _("This field is required."), field=field)
    if len(value) > maximum:
        raise InvalidInput(_("Keep this to %(max)s characters or fewer.", max=maximum), field=field)
    if markdown:
        refuse_html_in_markdown(value, field)
    return value


def _website(value: str | None) -> str:
    value = _text(value, "website", 300)
    if value and not value.lower().startswith(("https://", "http://")):
        raise InvalidInput(_("Give the website's full address, starting with https://."), field="website")
    return value


def clean_languages(languages) -> list[str]:
    if isinstance(languages, str):
        languages = languages.split(",")
    cleaned: list[str] = []
    for language in languages or []:
        if not isinstance(language, str):
            raise InvalidInput(_("List languages as words, like Arabic, German."), field="languages")
        language = language.strip()
        if not language:
            continue
        if len(language) > 40:
            raise InvalidInput(_("A language name has at most 40 characters."), field="languages")
        if language.lower() not in {known.lower() for known in cleaned}:
            cleaned.append(language)
    if len(cleaned) > MAX_LANGUAGES:
        raise InvalidInput(_("List at most %(max)s languages.", max=MAX_LANGUAGES), field="languages")
    return cleaned


# -- applications ------------------------------------------------------------------------------------------


def set_accepts_applications(network: Network, actor: Person | None, accepts: bool) -> None:
    if not permissions.can_manage_applications(actor, network):
        raise Forbidden(_("Only the coordinator or the network office can see and decide applications."))
    network.accepts_applications = bool(accepts)
    session.flush()
    record("network.applications", actor=actor, target=network, network=network, accepts=bool(accepts))


def open_application(network: Network, person: Person) -> NetworkApplication | None:
    return session.scalar(
        sa.select(NetworkApplication).where(
            NetworkApplication.network_id == network.id, NetworkApplication.pending_person_id == person.id
        )
    )


def apply(
    network: Network,
    person: Person | None,
    *,
    motivation: str,
    languages=(),
    region: str = "",
    experience: str = "",
) -> NetworkApplication:
    """An experienced mentor asks to join; the network office and the coordinators are notified."""
    if person is None:
        raise Forbidden(_("Sign in first."))
    if not network.accepts_applications:
        raise Forbidden(_("This network does not take applications. Contact its office instead."))
    membership = session.scalar(
        sa.select(Membership).where(Membership.network_id == network.id, Membership.person_id == person.id)
    )
    if membership is not None and membership.status in (MembershipStatus.active, MembershipStatus.suspended):
        raise Conflict(_("You are already a member of this network."))
    if membership is not None and membership.status == MembershipStatus.invited:
        raise Conflict(_("You are already invited to this network: accept the invitation to join."))
    motivation = _text(
        motivation,
        "motivation",
        MAX_MOTIVATION,
        required=True,
        label=_("Tell the network why you want to join."),
    )
    experience = _text(experience, "experience", MAX_EXPERIENCE)
    region = _text(region, "region", 120)
    languages = clean_languages(languages)
    if open_application(network, person) is not None:
        raise Conflict(_("You have already applied to this network. The office will answer you."))
    application = NetworkApplication(
        network=network,
        person=person,
        pending_person_id=person.id,
        motivation=motivation,
        experience=experience,
        region=region,
        languages=languages,
    )
    try:
        with session.begin_nested():
            session.add(application)
            session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("You have already applied to this network. The office will answer you.")) from None
    record("application.create", actor=person, target=application, network=network)
    notify(
        people_in_roles(network, permissions.DECIDERS),
        "growth.application",
        url=f"/networks/{network.slug}/applications",
        network=network,
        actor=person,
        name=person.name_or_email,
        network_name=network.name,
    )
    return application


def get_application(network: Network, application_id: int) -> NetworkApplication:
    application = session.get(NetworkApplication, application_id)
    if application is None or application.network_id != network.id:
        raise NotFound(_("There is no such request."))
    return application


def list_applications(
    network: Network, viewer: Person | None, status: ApplicationStatus | None = ApplicationStatus.pending
) -> list[NetworkApplication]:
    if not permissions.can_manage_applications(viewer, network):
        raise Forbidden(_("Only the coordinator or the network office can see and decide applications."))
    query = sa.select(NetworkApplication).where(NetworkApplication.network_id == network.id)
    if status is not None:
        query = query.where(NetworkApplication.status == status)
    return list(
        session.scalars(query.order_by(NetworkApplication.created_at.desc(), NetworkApplication.id.desc()))
    )


class ApplicationCard(typing.NamedTuple):
    """What the home page shows of one of the person's own applications (networks.operations ``home_summary``)."""

    status: str  # ApplicationStatus's value
    network_name: str
    slug: str


def decide_application(
    application: NetworkApplication,
    actor: Person | None,
    *,
    accept: bool,
    level: Level = Level.experienced,
    message: str = "",
) -> NetworkApplication:
    """Accepting sends the applicant an invitation (as a mentor of ``level``): they join by accepting the
    network's agreement, like everyone else. Declining tells them why, when a message is given."""
    network = application.network
    if not permissions.can_manage_applications(actor, network):
        raise Forbidden(_("Only the coordinator or the network office can see and decide applications."))
    message = _text(message, "message", MAX_MESSAGE)
    if application.status != ApplicationStatus.pending:
        raise Conflict(_("This has already been decided."))
    person = application.person
    application.status = ApplicationStatus.accepted if accept else ApplicationStatus.declined
    application.pending_person_id = None
    application.decided_by_id = actor.id
    application.decided_at = utcnow()
    application.decision_message = message
    if accept:
        application.level = Level(level).value
        send_invitation(
            network, person, new_person=False, actor=actor, level=Level(level), origin=Origin.applied
        )
    session.flush()
    record(
        "application.accept" if accept else "application.decline",
        actor=actor,
        target=application,
        network=network,
        level=application.level,
    )
    notify(
        [person],
        "growth.application_accepted" if accept else "growth.application_declined",
        url=f"/networks/{network.slug}/join" if accept else f"/n/{network.slug}",
        network=network,
        actor=actor,
        email=False,  # the applicant hears by the mails below, not a third one
        network_name=network.name,
    )
    # An accepted applicant gets the invitation's mail (its link joins); the decision's own mail only carries
    # a personal message when the office wrote one. A declined applicant gets the decision's mail.
    if not accept or message:
        queue_mail(
            "application_decided",
            person.email,
            "application_decided",
            locale=person.locale,
            person=person,
            network=network,
            accepted=accept,
            message=message,
            link=public_url(f"/networks/{network.slug}/join"),
        )
    return application


def withdraw_application(application: NetworkApplication, person: Person | None) -> NetworkApplication:
    if person is None or application.person_id != person.id:
        raise Forbidden(_("Only the applicant can withdraw an application."))
    if application.status != ApplicationStatus.pending:
        raise Conflict(_("This has already been decided."))
    application.status = ApplicationStatus.withdrawn
    application.pending_person_id = None
    session.flush()
    record("application.withdraw", actor=person, target=application, network=application.network)
    return application


# -- partner organisations ----------------------------------------------------------------------------------


def request_partnership(
    network: Network,
    actor: Person | None,
    *,
    organisation: Organisation | None = None,
    new_name: str = "",
    country: str = "",
    website: str = "",
    message: str = "",
) -> NetworkPartner:
    """An organisation's representative asks that it join ``network`` as a partner. The organisation is one the
    actor coordinates a network of, or a new one they name (created now)."""
    if actor is None:
        raise Forbidden(_("Sign in first."))
    message = _text(message, "message", MAX_MESSAGE)
    website = _website(website)
    if organisation is not None:
        if organisation.id not in {o.id for o in permissions.coordinated_organisations(actor)} and not (
            actor.is_site_admin
        ):
            raise Forbidden(_("You can only speak for an organisation whose network you coordinate."))
    elif (new_name or "").strip():
        organisation = create_organisation(new_name, country or None, actor=actor, website=website)
    else:
        raise InvalidInput(_("Choose your organisation or give its name."), field="organisation")
    if organisation.id == network.organisation_id:
        raise Conflict(_("This organisation runs the network already."), field="organisation")
    partner = session.scalar(
        sa.select(NetworkPartner).where(
            NetworkPartner.network_id == network.id, NetworkPartner.organisation_id == organisation.id
        )
    )
    if partner is not None and partner.status != PartnerStatus.declined:
        raise Conflict(
            _("This organisation has already asked, or is a partner already."), field="organisation"
        )
    if partner is None:
        partner = NetworkPartner(network=network, organisation=organisation)
        session.add(partner)
    partner.status = PartnerStatus.requested
    partner.message, partner.requested_by_id = message, actor.id
    partner.decided_by_id, partner.decided_at, partner.decision_message = None, None, ""
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("This organisation has already asked, or is a partner already.")) from None
    record("partner.request", actor=actor, target=partner, network=network, organisation_id=organisation.id)
    notify(
        people_in_roles(network, {Role.coordinator}),
        "growth.partner_request",
        url=f"/networks/{network.slug}/partners",
        network=network,
        actor=actor,
        organisation=organisation.name,
        network_name=network.name,
    )
    return partner


def get_partner(network: Network, partner_id: int) -> NetworkPartner:
    partner = session.get(NetworkPartner, partner_id)
    if partner is None or partner.network_id != network.id:
        raise NotFound(_("There is no such request."))
    return partner


def list_partners(
    network: Network, viewer: Person | None, *, everything: bool = False
) -> list[NetworkPartner]:
    """Accepted partners (anyone may see them); with ``everything``, requests too (coordinators only)."""
    query = sa.select(NetworkPartner).join(Organisation).where(NetworkPartner.network_id == network.id)
    if everything:
        if not permissions.can_decide_partners(viewer, network):
            raise Forbidden(_("Only the coordinator can see and decide partner requests."))
    else:
        query = query.where(NetworkPartner.status == PartnerStatus.accepted)
    return list(session.scalars(query.order_by(Organisation.name)))


def decide_partner(
    partner: NetworkPartner, actor: Person | None, *, accept: bool, message: str = ""
) -> NetworkPartner:
    network = partner.network
    if not permissions.can_decide_partners(actor, network):
        raise Forbidden(_("Only the coordinator can see and decide partner requests."))
    message = _text(message, "message", MAX_MESSAGE)
    if partner.status != PartnerStatus.requested:
        raise Conflict(_("This has already been decided."))
    partner.status = PartnerStatus.accepted if accept else PartnerStatus.declined
    partner.decided_by_id, partner.decided_at, partner.decision_message = actor.id, utcnow(), message
    session.flush()
    record("partner.accept" if accept else "partner.decline", actor=actor, target=partner, network=network)
    if partner.requested_by is not None:
        notify(
            [partner.requested_by],
            "growth.partner_decided",
            url=f"/n/{network.slug}",
            network=network,
            actor=actor,
            organisation=partner.organisation.name,
            network_name=network.name,
            accepted=accept,
        )
    return partner


# -- site settings and course-link requests -----------------------------------------------------------------

START_POLICIES = ("open", "approval")


def start_policy() -> str:
    value = session.scalar(sa.select(GrowthSetting.value).where(GrowthSetting.key == "start_policy"))
    return value if value in START_POLICIES else "open"


def set_start_policy(actor: Person | None, policy: str) -> None:
    if not permissions.can_manage_site(actor):
        raise Forbidden(_("Only site administrators can do this."))
    if policy not in START_POLICIES:
        raise InvalidInput(_("Choose open or approval."), field="policy")
    setting = session.get(GrowthSetting, "start_policy") or GrowthSetting(key="start_policy")
    setting.value = policy
    session.add(setting)
    session.flush()
    record("growth.start_policy", actor=actor, policy=policy)


def request_course_link(
    network: Network, actor: Person | None, course_key: str, title: str = ""
) -> CourseLinkRequest:
    from network_service.courses.models import CourseLink

    if not permissions.can_request_course_link(actor, network):
        raise Forbidden(_("Only the coordinator can ask to link a course."))
    course_key = _text(
        course_key,
        "course_key",
        255,
        required=True,
        label=_("Give the course key, like course-v1:Org+Course+Run."),
    )
    title = _text(title, "title", 255)
    linked = session.scalar(sa.select(CourseLink).where(CourseLink.course_key == course_key))
    if linked is not None:
        raise Conflict(
            _("This course is linked already.")
            if linked.network_id == network.id
            else _("This course is already linked to another network."),
            field="course_key",
        )
    pending = session.scalar(
        sa.select(CourseLinkRequest.id).where(
            CourseLinkRequest.network_id == network.id,
            CourseLinkRequest.course_key == course_key,
            CourseLinkRequest.status == CourseLinkRequestStatus.pending,
        )
    )
    if pending is not None:
        raise Conflict(_("You have already asked to link this course."), field="course_key")
    link_request = CourseLinkRequest(
        network=network, course_key=course_key, title=title, requested_by_id=actor.id
    )
    session.add(link_request)
    session.flush()
    record(
        "course_link_request.create", actor=actor, target=link_request, network=network, course_key=course_key
    )
    return link_request


def course_link_requests(
    viewer: Person | None, *, network: Network | None = None, status: CourseLinkRequestStatus | None = None
) -> list[CourseLinkRequest]:
    if network is None:
        if not permissions.can_manage_site(viewer):
            raise Forbidden(_("Only site administrators can do this."))
    elif not permissions.can_request_course_link(viewer, network):
        raise Forbidden(_("Only the coordinator can ask to link a course."))
    query = sa.select(CourseLinkRequest)
    if network is not None:
        query = query.where(CourseLinkRequest.network_id == network.id)
    if status is not None:
        query = query.where(CourseLinkRequest.status == status)
    return list(session.scalars(query.order_by(CourseLinkRequest.id.desc())))


def decide_course_link(
    link_request: CourseLinkRequest, actor: Person | None, *, approve: bool
) -> CourseLinkRequest:
    """A site admin approves (the course is linked, earlier graduates are invited) or declines."""
    from network_service.courses.operations import link_course, replay_completions

    if not permissions.can_manage_site(actor):
        raise Forbidden(_("Only site administrators can link a course to a network."))
    if link_request.status != CourseLinkRequestStatus.pending:
        raise Conflict(_("This has already been decided."))
    network = link_request.network
    if approve:
        link_course(link_request.course_key, network, actor=actor, title=link_request.title)
        replay_completions(link_request.course_key)
    link_request.status = CourseLinkRequestStatus.approved if approve else CourseLinkRequestStatus.declined
    link_request.decided_by_id, link_request.decided_at = actor.id, utcnow()
    session.flush()
    record(
        "course_link_request.approve" if approve else "course_link_request.decline",
        actor=actor,
        target=link_request,
        network=network,
    )
    if link_request.requested_by is not None:
        notify(
            [link_request.requested_by],
            "growth.course_link_decided",
            url=f"/networks/{network.slug}/courses",
            network=network,
            actor=actor,
            course=link_request.course_key,
            network_name=network.name,
            approved=approve,
        )
    return link_request


# -- the guided start of a network ---------------------------------------------------------------------------

STEPS = ("organisation", "network", "agreement", "course", "invitations")


def current_start(person: Person) -> NetworkStart | None:
    """The person's start in progress (not finished, not declined), if any."""
    return session.scalar(
        sa.select(NetworkStart)
        .where(
            NetworkStart.person_id == person.id,
            NetworkStart.status.notin_([StartStatus.done, StartStatus.declined]),
        )
        .order_by(NetworkStart.id.desc())
        .limit(1)
    )


def begin_start(person: Person | None) -> NetworkStart:
    if person is None:
        raise Forbidden(_("Sign in first."))
    start = current_start(person)
    if start is None:
        start = NetworkStart(person=person, step="organisation", data={}, status=StartStatus.draft)
        session.add(start)
        session.flush()
        record("network_start.begin", actor=person, target=start)
    return start


def get_start(start_id: int, viewer: Person | None) -> NetworkStart:
    start = session.get(NetworkStart, start_id)
    if start is None or viewer is None or (start.person_id != viewer.id and not viewer.is_site_admin):
        raise NotFound(_("There is no such request."))
    return start


def reached_steps(start: NetworkStart) -> list[str]:
    """The steps one may open: every step up to the furthest one reached."""
    furthest = (start.data or {}).get("reached", "organisation")
    index = STEPS.index(furthest) if furthest in STEPS else 0
    if start.network_id is None:  # until the network exists, its later steps wait
        index = min(index, STEPS.index("agreement"))
    return list(STEPS[: index + 1])


def _advance(start: NetworkStart, step: str) -> None:
    data = dict(start.data or {})
    if STEPS.index(step) > STEPS.index(data.get("reached", "organisation")):
        data["reached"] = step
    start.data = data
    start.step = step


def _require_owner(start: NetworkStart, actor: Person | None) -> None:
    if actor is None or start.person_id != actor.id:
        raise Forbidden(_("Only the person who started this can continue it."))
    if start.status in (StartStatus.done, StartStatus.declined):
        raise Conflict(_("This start is finished."))


def go_to(start: NetworkStart, actor: Person | None, step: str) -> None:
    _require_owner(start, actor)
    if step not in reached_steps(start):
        raise InvalidInput(_("Finish the earlier steps first."), field="step")
    start.step = step
    session.flush()


def save_organisation(
    start: NetworkStart,
    actor: Person | None,
    *,
    organisation_id: int | None = None,
    name: str = "",
    country: str = "",
    city: str = "",
    website: str = "",
) -> Organisation:
    _require_owner(start, actor)
    if start.network_id is not None:
        raise Conflict(
            _("The network exists already. Change its details in its settings."), field="organisation"
        )
    if organisation_id:
        mine = {o.id: o for o in permissions.coordinated_organisations(actor)}
        if organisation_id not in mine:
            raise Forbidden(_("You can only speak for an organisation whose network you coordinate."))
        organisation = mine[organisation_id]
    elif start.organisation is not None and start.organisation.name.lower() == (name or "").strip().lower():
        organisation = start.organisation  # back, then next again with the same new organisation
    else:
        city = _text(city, "city", 120)
        website = _website(website)
        organisation = create_organisation(name, country or None, actor=actor, city=city, website=website)
    start.organisation = organisation
    _advance(start, "network")
    session.flush()
    return organisation


def save_network(
    start: NetworkStart,
    actor: Person | None,
    *,
    name: str,
    slug: str,
    languages=(),
    region: str = "",
    description: str = "",
) -> NetworkStart:
    """Keep the network's details; the network is created with its agreement in the next step. Where the site
    requires approval, a site admin is asked first."""
    _require_owner(start, actor)
    if start.organisation_id is None:
        raise InvalidInput(_("Finish the earlier steps first."), field="step")
    if start.network_id is not None:
        raise Conflict(_("The network exists already. Change its details in its settings."))
    name = _text(name, "name", 200, required=True, label=_("Give the network a name."))
    slug = (slug or "").strip().lower()
    if not _SLUG.match(slug):
        raise InvalidInput(
            _("Use 1 to 64 lower-case letters, digits and hyphens for the address, like 'berlin-mentors'."),
            field="slug",
        )
    if session.scalar(sa.select(Network.id).where(Network.slug == slug)):
        raise Conflict(_("The address %(slug)s is taken.", slug=slug), field="slug")
    data = dict(start.data or {})
    data.update(
        name=name,
        slug=slug,
        languages=clean_languages(languages),
        region=_text(region, "region", 120),
        description=_text(description, "description", MAX_MARKDOWN_CHARS, markdown=True),
    )
    start.data = data
    if start.status == StartStatus.draft and start_policy() == "approval" and not actor.is_site_admin:
        start.status = StartStatus.awaiting_approval
        start.step = "network"
        session.flush()
        record("network_start.submit", actor=actor, target=start, slug=slug)
        return start
    _advance(start, "agreement")
    session.flush()
    return start


def pending_starts(viewer: Person | None) -> list[NetworkStart]:
    if not permissions.can_manage_site(viewer):
        raise Forbidden(_("Only site administrators can do this."))
    return list(
        session.scalars(
            sa.select(NetworkStart)
            .where(NetworkStart.status == StartStatus.awaiting_approval)
            .order_by(NetworkStart.id)
        )
    )


def decide_start(start: NetworkStart, actor: Person | None, *, approve: bool) -> NetworkStart:
    if not permissions.can_manage_site(actor):
        raise Forbidden(_("Only site administrators can do this."))
    if start.status != StartStatus.awaiting_approval:
        raise Conflict(_("This has already been decided."))
    start.status = StartStatus.approved if approve else StartStatus.declined
    if approve:
        _advance(start, "agreement")
    session.flush()
    record("network_start.approve" if approve else "network_start.decline", actor=actor, target=start)
    notify(
        [start.person],
        "growth.start_decided",
        url="/start",
        actor=actor,
        network_name=(start.data or {}).get("name", ""),
        approved=approve,
    )
    return start


def save_agreement(start: NetworkStart, actor: Person | None, *, title: str, body: str) -> Network:
    """Create the network with this text as version 1 of its agreement; the actor becomes its coordinator."""
    _require_owner(start, actor)
    if start.status == StartStatus.awaiting_approval:
        raise Forbidden(_("A site administrator has not approved this network yet."))
    if "agreement" not in reached_steps(start):
        raise InvalidInput(_("Finish the earlier steps first."), field="step")
    title = _text(title, "title", 200, required=True, label=_("Give the agreement a title."))
    body = _text(
        body,
        "body",
        MAX_MARKDOWN_CHARS,
        required=True,
        label=_("Write the text of the agreement."),
        markdown=True,
    )
    if start.network_id is not None:
        raise Conflict(_("The agreement is published. Later versions are made on the agreement page."))
    data = start.data or {}
    network = create_network(
        data["slug"],
        data["name"],
        start.organisation,
        actor=actor,
        coordinator=actor,
        agreement_body=body,
        description=data.get("description", ""),
    )
    network.languages = list(data.get("languages", []))
    network.region = data.get("region", "")
    from network_service.networks.operations import current_agreement

    current_agreement(network).title = title
    start.network = network
    _advance(start, "course")
    session.flush()
    record("network_start.network", actor=actor, target=start, network=network)
    return network


def save_course(
    start: NetworkStart, actor: Person | None, *, course_key: str, title: str = ""
) -> CourseLinkRequest | None:
    """Ask a site admin to link the MOOC course (an empty key skips the step)."""
    _require_owner(start, actor)
    if start.network is None:
        raise InvalidInput(_("Finish the earlier steps first."), field="step")
    link_request = None
    if (course_key or "").strip():
        link_request = request_course_link(start.network, actor, course_key, title)
    _advance(start, "invitations")
    session.flush()
    return link_request


_EMAIL_SPLIT = re.compile(r"[\s,;]+")


def save_invitations(start: NetworkStart, actor: Person | None, emails: str) -> int:
    """Invite the first members (one e-mail address per line, or separated by commas) and finish."""
    _require_owner(start, actor)
    if start.network is None or "invitations" not in reached_steps(start):
        raise InvalidInput(_("Finish the earlier steps first."), field="step")
    addresses = [a for a in _EMAIL_SPLIT.split(emails or "") if a]
    if len(addresses) > MAX_INVITATIONS:
        raise InvalidInput(_("Invite at most %(max)s people at once.", max=MAX_INVITATIONS), field="emails")
    cleaned = []
    for address in addresses:
        try:
            cleaned.append(normalise_email(address))
        except InvalidInput:
            raise InvalidInput(
                _("%(email)s is not an e-mail address.", email=address), field="emails"
            ) from None
    count = 0
    for address in dict.fromkeys(cleaned):
        if address == actor.email:
            continue
        invite_person(start.network, address, actor=actor)
        count += 1
    start.status = StartStatus.done
    session.flush()
    record("network_start.done", actor=actor, target=start, network=start.network, invited=count)
    return count


# -- promotion kit -------------------------------------------------------------------------------------------


def figures(network: Network) -> dict:
    """The public figures of the widget and flyer: active members, languages, meetings held."""
    from network_service.meetings.models import Meeting

    members = session.scalar(
        sa.select(sa.func.count(Membership.id)).where(
            Membership.network_id == network.id, Membership.status == MembershipStatus.active
        )
    )
    meetings = session.scalar(
        sa.select(sa.func.count(Meeting.id)).where(
            Meeting.network_id == network.id, Meeting.cancelled_at.is_(None), Meeting.ends_at < utcnow()
        )
    )
    return {"members": members or 0, "languages": list(network.languages or []), "meetings": meetings or 0}


def qr_svg(url: str) -> str:
    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, title=url
    )
    return buffer.getvalue().decode()


def qr_png(url: str) -> bytes:
    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


# -- roadmap checkpoints -------------------------------------------------------------------------------------


def _public_page_published(network: Network) -> bool:
    from network_service.directory.models import NetworkPublicPage

    return bool(
        session.scalar(sa.select(NetworkPublicPage.public).where(NetworkPublicPage.network_id == network.id))
    )


def _application_decided(network: Network) -> bool:
    return (
        session.scalar(
            sa.select(NetworkApplication.id)
            .where(
                NetworkApplication.network_id == network.id,
                NetworkApplication.status.in_([ApplicationStatus.accepted, ApplicationStatus.declined]),
            )
            .limit(1)
        )
        is not None
    )


def _has_partner(network: Network) -> bool:
    return (
        session.scalar(
            sa.select(NetworkPartner.id)
            .where(NetworkPartner.network_id == network.id, NetworkPartner.status == PartnerStatus.accepted)
            .limit(1)
        )
        is not None
    )


for _checkpoint in (
    roadmap.Checkpoint(
        "growth.public_page",
        roadmap.Phase.grow,
        5,
        lambda: _("The public page is published"),
        _public_page_published,
        lambda: _("Turn on the public page, so that people and organisations outside the network find it."),
    ),
    roadmap.Checkpoint(
        "growth.first_application",
        roadmap.Phase.grow,
        25,
        lambda: _("A first application to join is decided"),
        _application_decided,
        lambda: _("Accept applications from experienced mentors, and answer them on the applications page."),
    ),
    roadmap.Checkpoint(
        "growth.partner",
        roadmap.Phase.grow,
        35,
        lambda: _("A partner organisation joins"),
        _has_partner,
        lambda: _("Share the promotion kit with organisations that support migrants."),
    ),
):
    roadmap.register_checkpoint(_checkpoint)
