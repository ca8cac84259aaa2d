"""A person with data in every table that can point at a person, for the export and erasure tests."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from network_service.accounts.models import ApiToken, DeviceSession, Person, SignInToken
from network_service.audit.operations import record
from network_service.conversations.models import ChannelKind, MessageRevision
from network_service.conversations.operations import create_channel, open_direct, post_message
from network_service.courses.models import CompletionEvent, CompletionStatus
from network_service.db import session, utcnow
from network_service.directory.models import DirectoryEntry, EntryKind
from network_service.goals.models import Goal, GoalUpdate
from network_service.help.models import HelpRequest, HelpResponse, HelpSuggestion
from network_service.insights.models import InsightCache, InsightNudge
from network_service.mail.operations import queue_mail
from network_service.meetings.models import (
    CalendarFeed,
    Meeting,
    MeetingReminder,
    ReminderKind,
    Rsvp,
    RsvpAnswer,
)
from network_service.moderation.models import Block, Report, ReportReason
from network_service.networks.models import AgreementReminder, Invitation, Network, Role
from network_service.networks.operations import current_agreement
from network_service.notifications.models import EmailFrequency, Notification, NotificationSetting
from network_service.privacy.models import ConsentRecord
from network_service.resources.models import Resource, ResourceKind
from tests.helpers import add_member

EMAIL = "zelda.quixote@example.org"
NAME = "Zelda Quixoté"  # not ASCII: SQLite keeps it JSON-escaped
LTI_SUB = "lti-sub-7f3a9c1e"
LMS_USERNAME = "zquixote77"
XAPI_ACCOUNT = "xapi-acct-zq-5521"
DM_BODY = "Private words nobody else may read 81c3"
GROUP_BODY = "Private group words for the few 5d2e"


@dataclasses.dataclass
class Everything:
    person_id: int
    network_id: int
    dm_channel_id: int
    group_channel_id: int
    dm_message_id: int
    resource_path: str | None


def build_everything(world, upload_dir) -> Everything:
    from network_service.resources.storage import path_of

    network = session.get(Network, world.network_id)
    coordinator = session.get(Person, world.coordinator_id)
    mentor = session.get(Person, world.mentor_id)
    person = add_member(network, EMAIL, NAME, Role.mentor)
    person.bio = "I mentor in Bologna."
    person.region = "Bologna"
    pid, now = person.id, utcnow()
    later = now + dt.timedelta(days=3)

    session.add(SignInToken(person_id=pid, token_hash="a" * 64, expires_at=later))
    session.add(ApiToken(person_id=pid, name="my script", token_hash="b" * 64))
    session.add(
        DeviceSession(
            id="zelda-device-1",
            person_id=pid,
            created_at=now,
            last_seen_at=now,
            browser="Firefox",
            system="Linux",
        )
    )
    session.add(CalendarFeed(person_id=pid, network_id=network.id, token_hash="c" * 64))
    network.contact_email = EMAIL
    session.add(
        DirectoryEntry(
            kind=EntryKind.organisation,
            name="Quixote Help",
            name_key="quixote help",
            country="IT",
            contact_email=EMAIL,
        )
    )
    agreement = current_agreement(network)
    session.add(AgreementReminder(agreement_id=agreement.id, person_id=pid, sequence=1, sent_at=now))
    session.add(
        Invitation(
            network_id=network.id, person_id=pid, invited_by_id=pid, token_hash="d" * 64, expires_at=later
        )
    )
    agreement.published_by_id = pid

    # conversations: an open thread, a private group, a direct conversation, an edit
    channel = create_channel(network, actor=coordinator, name="General talk")
    thread = post_message(channel, actor=person, body="Hello from the new mentor")
    session.add(MessageRevision(message_id=thread.id, body="Helo from the new mentor", editor_id=pid))
    group = create_channel(
        network, actor=person, name="Bologna circle", kind=ChannelKind.private, member_ids=[mentor.id]
    )
    post_message(group, actor=person, body=GROUP_BODY)
    direct = open_direct(network, actor=person, person_ids=[mentor.id])
    dm = post_message(direct, actor=person, body=DM_BODY)
    post_message(
        direct, actor=mentor, body="Thanks, Zelda Quixoté!"
    )  # others may write the name: kept, theirs
    thread.deleted_by_id = pid
    thread.hidden_by_id = pid
    # moderation
    session.add(
        Report(
            network_id=network.id,
            reporter_id=pid,
            message_id=thread.id,
            person_id=pid,
            reason=ReportReason.spam,
            handled_by_id=pid,
            snapshot_body=f"Hello from the new mentor, {NAME} ({EMAIL})",  # the reported text, kept as evidence
            snapshot_at=now,
        )
    )
    thanks = post_message(channel, actor=mentor, body="Welcome! Write to me any time.")
    session.add(
        Report(  # another's message reported by them, whose kept text names them
            network_id=network.id,
            reporter_id=pid,
            message_id=thanks.id,
            person_id=mentor.id,
            reason=ReportReason.other,
            snapshot_body=f"Welcome, {NAME}! Write to me any time.",
            snapshot_at=now,
        )
    )
    session.add(Block(blocker_id=pid, blocked_id=mentor.id))
    session.add(Block(blocker_id=mentor.id, blocked_id=pid))

    # help
    request = HelpRequest(
        network_id=network.id,
        author_id=pid,
        topic="Housing question",
        body="Where to look?",
        resolved_by_id=pid,
    )
    session.add(request)
    session.flush()
    session.add(HelpResponse(request_id=request.id, author_id=pid, body="I can help"))
    session.add(HelpSuggestion(request_id=request.id, person_id=pid, score=1.0, reasons=[]))
    # goals
    goal = Goal(
        network_id=network.id,
        title="Meet monthly",
        owner_id=pid,
        created_by_id=pid,
        target_value=12,
        unit="meetings",
    )
    session.add(goal)
    session.flush()
    session.add(GoalUpdate(goal_id=goal.id, author_id=pid, value=1, note="First one"))
    # resources: a file on disk
    stored = "e" * 32
    upload_dir.mkdir(parents=True, exist_ok=True)
    path = path_of(stored)
    path.write_bytes(b"my notes\n")
    session.add(
        Resource(
            network_id=network.id,
            kind=ResourceKind.file,
            title="My notes",
            stored_name=stored,
            original_filename="notes.txt",
            content_type="text/plain",
            size=9,
            sha256="f" * 64,
            created_by_id=pid,
        )
    )
    # meetings
    meeting = Meeting(
        network_id=network.id,
        title="Monthly",
        starts_at=later,
        ends_at=later + dt.timedelta(hours=1),
        timezone="UTC",
        organiser_id=pid,
    )
    session.add(meeting)
    session.flush()
    session.add(Rsvp(meeting_id=meeting.id, person_id=pid, answer=RsvpAnswer.yes))
    session.add(MeetingReminder(meeting_id=meeting.id, person_id=pid, kind=ReminderKind.day, sent_at=now))
    # notifications, consent, insights
    session.add(NotificationSetting(person_id=pid, email_frequency=EmailFrequency.daily))
    session.add(
        Notification(
            person_id=pid,
            network_id=network.id,
            actor_id=pid,
            kind="help.matched",
            params={"author": NAME},
            url="/",
        )
    )
    session.add(ConsentRecord(person_id=pid, purpose="profile_sharing", given=True, text_version="2026-11"))
    session.add(InsightNudge(network_id=network.id, person_id=pid, sent_by_id=pid))
    session.add(
        InsightCache(
            network_id=network.id,
            computed_at=now - dt.timedelta(days=3650),
            data={"quiet": [{"person_id": pid, "name": NAME}]},
        )
    )
    queue_mail("sign_in", EMAIL, "sign_in", person=person, link="http://x/sign-in/t", minutes=30)
    # completion events: an Open edX pass (username) and an xAPI statement (account name)
    session.add(
        CompletionEvent(
            event_id=f"openedx-reconcile:course-v1:X+Y+Z:{LMS_USERNAME}",
            source="openedx",
            course_key="course-v1:X+Y+Z",
            identity={"platform": "openedx", "username": LMS_USERNAME, "email": EMAIL, "name": NAME},
            payload={"user": {"pii": {"username": LMS_USERNAME, "email": EMAIL}}},
            person_id=pid,
            network_id=network.id,
            status=CompletionStatus.invited,
        )
    )
    session.add(
        CompletionEvent(
            event_id="xapi-stmt-0001",
            source="xapi",
            course_key="course-v1:X+Y+Z",
            identity={"platform": "xapi", "account": {"homePage": "https://lms", "name": XAPI_ACCOUNT}},
            payload={"actor": {"account": {"name": XAPI_ACCOUNT}, "name": NAME}},
            person_id=pid,
            status=CompletionStatus.already_member,
        )
    )
    # audit: the person acts, and is acted on
    record("profile.update", actor=person, target=person, email=EMAIL)
    record("membership.role", actor=coordinator, target=person, name=NAME)
    record("invitation.send", actor=coordinator, network=network, invitee=NAME)  # names them only in details
    session.add(
        Notification(
            person_id=coordinator.id,
            network_id=network.id,
            actor_id=mentor.id,
            kind="help.matched",
            params={"author": "Mina", "topic": f"Lunch with {NAME}"},
            url="/",
        )
    )
    started = _growth_and_federations(world, person)
    _lti(person, started)
    session.flush()
    return Everything(pid, network.id, direct.id, group.id, dm.id, str(path))


STARTED_SLUG = "quixote-mentors"
APPLICATION_TEXT = f"Write to me at {EMAIL}, I am {NAME}"


def _growth_and_federations(world, person) -> Network:
    """The person starts a network (guided start, a course-link request, an invitation), applies to another,
    asks for a partnership, decides others' application and partner request, brings their network into a
    federation and shares a channel and a resource with it: every step through the modules' operations."""
    from network_service.federations import operations as federations
    from network_service.growth import operations as growth
    from network_service.networks.operations import create_network

    network = session.get(Network, world.network_id)
    coordinator = session.get(Person, world.coordinator_id)
    mentor = session.get(Person, world.mentor_id)
    # the guided start: the network they started stays (it belongs to the organisation), the start goes
    start = growth.begin_start(person)
    organisation = growth.save_organisation(start, person, name="Quixote Association", country="IT")
    growth.save_network(
        start, person, name="Quixote Mentors", slug=STARTED_SLUG, description=f"Started by {NAME}"
    )
    started = growth.save_agreement(start, person, title="Our agreement", body="Be kind.")
    growth.save_course(start, person, course_key="course-v1:Q+Mentors+2026", title="Mentoring")
    growth.save_invitations(start, person, "friend.of.zelda@example.net")
    add_member(started, "coord@example.org", "Carla Coordinator", Role.coordinator)  # not the only one
    # their own application to a third network (still open: pending_person_id is theirs too)
    other = create_network("other-net", "Other Network", network.organisation, coordinator=coordinator)
    other.accepts_applications = True
    growth.apply(
        other, person, motivation=APPLICATION_TEXT, languages=["it"], region="Bologna", experience=NAME
    )
    # someone else's application to their network, which names them; they decide it
    started.accepts_applications = True
    theirs = growth.apply(started, mentor, motivation=f"{NAME} told me to apply")
    growth.decide_application(theirs, person, accept=False, message=f"Ask me: {EMAIL}")
    # partner requests: theirs (decided by someone else), and one they decide
    asked = growth.request_partnership(network, person, organisation=organisation, message=APPLICATION_TEXT)
    growth.decide_partner(asked, coordinator, accept=True, message=f"Welcome, {NAME}")
    offered = growth.request_partnership(started, coordinator, organisation=network.organisation)
    growth.decide_partner(offered, person, accept=True, message=f"Yes. {NAME}")
    # federation: their network asks to join test-net (as a federation), then shares with it
    link = federations.request_to_join(started, network.slug, actor=person)
    federations.accept_link(link, actor=coordinator)
    open_channel = create_channel(started, actor=person, name="Quixote open talk")
    federations.share_channel(started, open_channel.id, network.id, actor=person)
    resource = Resource(
        network_id=started.id,
        kind=ResourceKind.link,
        title="Our guide",
        url="https://example.org/guide",
        created_by_id=person.id,
    )
    session.add(resource)
    session.flush()
    federations.share_resource(started, resource.id, network.id, actor=person)
    return started


def _lti(person, started) -> None:
    try:
        from lti_bridge.capstone.operations import add_tool, launch_for
        from lti_bridge.lti.models import (
            LtiContext,
            LtiIdentity,
            LtiNonce,
            LtiPlatform,
            LtiRegistrationCode,
            LtiRosterEntry,
            LtiScoreReport,
        )
        from lti_bridge.lti.roles import INSTRUCTOR, ROLES, apply_launch_roles
    except ImportError:  # the bridge is not installed
        return
    from types import SimpleNamespace

    from network_service.courses.operations import link_course

    platform = LtiPlatform(
        issuer="https://lms.example.org",
        client_id="c1",
        oidc_auth_url="https://lms/a",
        token_url="https://lms/t",
        jwks_url="https://lms/j",
    )
    session.add(platform)
    session.flush()
    session.add(LtiIdentity(platform_id=platform.id, sub=LTI_SUB, person_id=person.id, email_claimed=EMAIL))
    session.add(
        LtiRegistrationCode(
            code_hash="9" * 64, created_by_id=person.id, expires_at=utcnow() + dt.timedelta(days=1)
        )
    )
    context = LtiContext(platform_id=platform.id, context_id="ctx1", course_key="https://lms#ctx1")
    session.add(context)
    session.flush()
    session.add(LtiRosterEntry(context_id=context.id, sub=LTI_SUB, name=NAME, email=EMAIL, roles=["Learner"]))
    session.add(LtiScoreReport(context_id=context.id, sub=LTI_SUB, reported_at=utcnow()))
    # a login in progress keeps the login request's parameters (the LMS's hint names the person)
    session.add(
        LtiNonce(
            value="n" * 32,
            state_hash="7" * 64,
            platform_id=platform.id,
            expires_at=utcnow() + dt.timedelta(minutes=5),
            login_params={"iss": platform.issuer, "login_hint": LTI_SUB, "lti_message_hint": EMAIL},
        )
    )
    # an LMS instructor of a course linked to their network: a coordinator grant
    link_course(context.course_key, started, actor=None)
    launch = SimpleNamespace(claims={ROLES: [INSTRUCTOR]})
    assert apply_launch_roles(launch, person, context) is not None
    # the capstone tool launched them (an opaque sub per tool)
    tool = add_tool(
        "quixote-capstone",
        "course-v1:Q+Mentors+2026",
        login_url="https://tool.example.org/login",
        launch_url="https://tool.example.org/launch",
        jwks_url="https://tool.example.org/jwks",
        redirect_uris=[],
    )
    launch_for(tool, person)


def person_tables(metadata) -> dict[str, list[str]]:
    """Every table with a column that refers to person.id, and those columns."""
    found: dict[str, list[str]] = {}
    for table in metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == "person" for fk in column.foreign_keys):
                found.setdefault(table.name, []).append(column.name)
    return found


def rows_pointing_at(connection, metadata, person_id: int) -> dict[str, int]:
    counts = {}
    for name, columns in person_tables(metadata).items():
        table = metadata.tables[name]
        condition = sa.or_(*[table.c[c] == person_id for c in columns])
        counts[name] = connection.execute(
            sa.select(sa.func.count()).select_from(table).where(condition)
        ).scalar()
    return counts


# -- every free-text column ----------------------------------------------------------------------------------------

IDENTIFIERS = (EMAIL, NAME, LTI_SUB, LMS_USERNAME, XAPI_ACCOUNT)


def mention_for(column) -> str:
    """The person's name and address, or what of them fits in ``column``."""
    length = getattr(column.type, "length", None)
    for text in (f"{NAME} {EMAIL}", EMAIL, NAME):
        if not length or len(text) <= length:
            return text
    raise AssertionError(f"{column.table.name}.{column.name} is too short for a name: add it to NOT_SCRUBBED")


def _holds_identifier(value) -> bool:
    import json

    text = (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)).lower()
    return any(needle.lower() in text for needle in IDENTIFIERS)


def write_everywhere() -> list[str]:
    """Write the person's name and address into every column the erasure scrubs (privacy.scrubbing), in one row
    of each table: the first that does not hold one of their identifiers already (an LTI subject the LTI eraser
    looks up stays as it is). Returns the tables that have no row (the caller adds one first)."""
    from network_service.privacy.scrubbing import is_json, scrubbed_columns

    empty = []
    for column in scrubbed_columns():
        table = column.table
        keys = list(table.primary_key.columns)
        found = session.execute(sa.select(*keys, column).order_by(*keys)).all()
        if not found:
            empty.append(table.name)
            continue
        row = next((r for r in found if not _holds_identifier(r[-1])), None)
        if row is None:
            continue  # every row holds one of the person's identifiers already
        value, text = row[-1], mention_for(column)
        if is_json(column):
            if isinstance(value, dict):
                new = {**value, "mention": text}
            elif isinstance(value, list):
                new = [*value, text]
            else:
                new = [text]
        else:
            length = getattr(column.type, "length", None)
            joined = f"{value} {text}" if value else text
            new = joined if not length or len(joined) <= length else text
        session.execute(
            table.update().where(*[key == row[i] for i, key in enumerate(keys)]).values({column.name: new})
        )
    return sorted(set(empty))


HOW_TO_JOIN = f"Ask {NAME} (write to {EMAIL.upper()}) before the first meeting."  # any case


def fill_empty_tables(network_id: int) -> None:
    """A row in each table ``build_everything`` leaves empty and whose text the erasure scrubs: the network's
    public page (shown to anyone at /n/<slug>), a job's outcome, a library tag, the bridge's source and cursor."""
    from network_service.directory.models import NetworkPublicPage
    from network_service.jobs import JobRun
    from network_service.resources.models import ResourceTag

    session.add(NetworkPublicPage(network_id=network_id, public=True, how_to_join=HOW_TO_JOIN, services=[]))
    session.add(JobRun(name="mail.drain", last_outcome="3 sent"))
    resource = session.scalar(sa.select(Resource).order_by(Resource.id))
    session.add(ResourceTag(resource_id=resource.id, tag="housing"))
    try:
        from lti_bridge.models import CompletionSource, ReconcileCursor, SourceKind
    except ImportError:
        return
    session.add(
        CompletionSource(name="Our LMS", kind=list(SourceKind)[0], username="lms", secret_hash="8" * 64)
    )
    session.add(ReconcileCursor(course_key="course-v1:X+Y+Z", next_url="https://lms/api?page=2"))
    session.flush()
