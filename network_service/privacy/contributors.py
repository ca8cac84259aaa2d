"""What each module of the network service holds about a person, for the export and for erasure.

Kept here (not in each module) so the privacy rules can be read in one place; a module may register its own
instead with ``privacy.registry.register_exporter`` / ``register_eraser``. Plugins (``lti_bridge``) do.

Erasure policy (docs/privacy.md explains it for members):
- gone: the person row (name, e-mail, profile fields), sign-in and API tokens, sessions (signed-in devices), calendar feeds, memberships,
  invitations, agreement acceptances, RSVPs, meeting reminders, notifications and notification settings,
  consent records, blocks, help suggestions, Meta-Mentor nudges, e-mails addressed to them, their LTI
  identities and LMS roster entries, the identity and payload of their completion events;
- kept, shown as "former member": messages, help requests and responses, goals and updates, library
  resources and meetings they wrote or organised, unless they ask to delete their contributions too (then
  messages are emptied like a deletion and their earlier versions dropped, help requests, responses, goal
  updates and library resources with their files are deleted);
- gone too: their own network applications and guided starts, LMS coordinator grants, capstone launches and
  LTI logins in progress that name them; kept without them ("former member"): networks they started (the
  organisation's), partner and course-link requests, federation links and shares they asked, decided or made;
- pseudonymised: audit entries about them (actor/target replaced by a keyed pseudonym, their e-mail and
  name removed from the details); others' notifications and e-mails that name them ("former member");
- scrubbed last, everywhere: their e-mail address, name and identifiers in every free-text column of every
  table (anyone's texts, the public pages, the organisations' descriptions...) become "former member"
  (``privacy.scrubbing``: the columns come from the metadata, with a short list of exceptions).
"""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from network_service.accounts.models import ApiToken, DeviceSession, Person, SignInToken
from network_service.audit.models import AuditLog
from network_service.conversations.models import Channel, ChannelMember, Message, MessageRevision
from network_service.courses.models import CompletionEvent
from network_service.db import session, utcnow
from network_service.directory.models import DirectoryEntry
from network_service.federations.models import FederationLink, SharedChannel, SharedResource
from network_service.goals.models import Goal, GoalUpdate
from network_service.growth.models import CourseLinkRequest, NetworkApplication, NetworkPartner, NetworkStart
from network_service.help.models import HelpRequest, HelpResponse, HelpSuggestion
from network_service.insights.models import InsightCache, InsightNudge
from network_service.mail.models import OutboundEmail
from network_service.meetings.models import CalendarFeed, Meeting, MeetingReminder, Rsvp
from network_service.moderation.models import Block, Report
from network_service.networks.models import (
    Agreement,
    AgreementAcceptance,
    AgreementReminder,
    Invitation,
    Membership,
    Network,
)
from network_service.notifications.models import Notification, NotificationSetting
from network_service.privacy.models import ConsentRecord
from network_service.privacy.operations import contains_any, plain, row_dict, rows, scrub
from network_service.privacy.registry import register_eraser, register_exporter, register_identifiers
from network_service.privacy.scrubbing import like_escape, mentions, scrub_everywhere
from network_service.resources.models import Resource


def erased_event_id(event_id: str) -> str:
    """What an erased person's completion event id becomes: still unique and recognisable when the same event
    is delivered again (see courses.operations.record_completion), but no longer naming anyone."""
    return "erased:" + hashlib.sha256(event_id.encode()).hexdigest()


# -- accounts -------------------------------------------------------------------------------------------------------


def _export_accounts(person: Person) -> dict:
    return {
        "profile": row_dict(person),
        "sign_in_links": rows(sa.select(SignInToken).where(SignInToken.person_id == person.id)),
        "api_tokens": rows(sa.select(ApiToken).where(ApiToken.person_id == person.id)),
        # signed-in devices; the session id stays out (it is what the session cookie carries)
        "sessions": [
            row_dict(device, exclude={"id"})
            for device in session.scalars(
                sa.select(DeviceSession)
                .where(DeviceSession.person_id == person.id)
                .order_by(DeviceSession.created_at)
            )
        ],
    }


register_exporter("accounts", _export_accounts)


# -- networks -------------------------------------------------------------------------------------------------------


def _export_networks(person: Person) -> dict:
    pid = person.id
    memberships = []
    # in the order they were made (without ORDER BY, PostgreSQL's order changed from one export to the next)
    for membership in session.scalars(
        sa.select(Membership).where(Membership.person_id == pid).order_by(Membership.id)
    ):
        entry = row_dict(membership)
        entry["network"] = {"slug": membership.network.slug, "name": membership.network.name}
        memberships.append(entry)
    acceptances = []
    for acceptance, agreement in session.execute(
        sa.select(AgreementAcceptance, Agreement)
        .join(Agreement, Agreement.id == AgreementAcceptance.agreement_id)
        .where(AgreementAcceptance.person_id == pid)
        .order_by(AgreementAcceptance.id)
    ):
        entry = row_dict(acceptance)
        entry["agreement"] = {"title": agreement.title, "version": getattr(agreement, "version", None)}
        acceptances.append(entry)
    return {
        "memberships": memberships,
        "invitations": rows(sa.select(Invitation).where(Invitation.person_id == pid)),
        "invitations_sent": rows(sa.select(Invitation).where(Invitation.invited_by_id == pid)),
        "agreement_acceptances": acceptances,
        "agreement_reminders": rows(sa.select(AgreementReminder).where(AgreementReminder.person_id == pid)),
        "agreements_published": rows(sa.select(Agreement).where(Agreement.published_by_id == pid)),
    }


def _erase_networks(erasure) -> None:
    email = erasure.email
    if email:
        # a network whose public contact is this person's own address loses it (the coordinator sets another)
        result = session.execute(
            sa.update(Network)
            .where(sa.func.lower(Network.contact_email) == email.lower())
            .values(contact_email="")
            .execution_options(synchronize_session=False)
        )
        erasure.count("network_contacts", result.rowcount)
        result = session.execute(
            sa.update(DirectoryEntry)
            .where(sa.func.lower(DirectoryEntry.contact_email) == email.lower())
            .values(contact_email="")
            .execution_options(synchronize_session=False)
        )
        erasure.count("directory_contacts", result.rowcount)
    for model in (Membership, Invitation, AgreementAcceptance, AgreementReminder):
        result = session.execute(
            sa.delete(model)
            .where(model.person_id == erasure.person.id)
            .execution_options(synchronize_session=False)
        )
        erasure.count(model.__tablename__, result.rowcount)


register_exporter("networks", _export_networks)
register_eraser("networks", _erase_networks, order=50)


# -- conversations --------------------------------------------------------------------------------------------------


def _export_conversations(person: Person) -> dict:
    pid = person.id
    messages = []
    for message, channel in session.execute(
        sa.select(Message, Channel)
        .join(Channel, Channel.id == Message.channel_id)
        .where(Message.author_id == pid)
        .order_by(Message.id)
    ):
        entry = row_dict(message)
        entry["channel"] = {"id": channel.id, "kind": channel.kind.value, "name": channel.name}
        messages.append(entry)
    return {
        "messages_written": messages,
        "channel_memberships": rows(sa.select(ChannelMember).where(ChannelMember.person_id == pid)),
        "channels_created": rows(sa.select(Channel).where(Channel.created_by_id == pid)),
        # earlier texts of their own messages (edited or deleted, by them or by a moderator); not the texts of
        # others' messages they deleted as a moderator (MessageRevision.editor_id): those words are not theirs
        "message_versions_replaced": rows(
            sa.select(MessageRevision)
            .join(Message, Message.id == MessageRevision.message_id)
            .where(Message.author_id == pid)
            .order_by(MessageRevision.id)
        ),
    }


def _erase_conversations(erasure) -> None:
    pid = erasure.person.id
    # A one-to-one conversation is found again by "<id>-<id>"; a later account with a reused id must not be.
    for channel in session.scalars(
        sa.select(Channel)
        .join(ChannelMember, ChannelMember.channel_id == Channel.id)
        .where(ChannelMember.person_id == pid, Channel.direct_key.is_not(None))
    ):
        if str(pid) in channel.direct_key.split("-"):
            channel.direct_key = None
    if erasure.delete_contributions:
        own = sa.select(Message.id).where(Message.author_id == pid)
        session.execute(
            sa.delete(MessageRevision)
            .where(MessageRevision.message_id.in_(own))
            .execution_options(synchronize_session=False)
        )
        result = session.execute(
            sa.update(Message)
            .where(Message.author_id == pid)
            .values(body="", deleted_at=sa.func.coalesce(Message.deleted_at, utcnow()))
            .execution_options(synchronize_session=False)
        )
        erasure.count("messages_deleted", result.rowcount)
    session.execute(
        sa.delete(ChannelMember)
        .where(ChannelMember.person_id == pid)
        .execution_options(synchronize_session=False)
    )


register_exporter("conversations", _export_conversations)
register_eraser("conversations", _erase_conversations)


# -- help -----------------------------------------------------------------------------------------------------------


def _export_help(person: Person) -> dict:
    pid = person.id
    return {
        "requests_written": rows(sa.select(HelpRequest).where(HelpRequest.author_id == pid)),
        "responses_written": rows(sa.select(HelpResponse).where(HelpResponse.author_id == pid)),
        "suggested_to_you": rows(sa.select(HelpSuggestion).where(HelpSuggestion.person_id == pid)),
    }


def _erase_help(erasure) -> None:
    pid = erasure.person.id
    session.execute(
        sa.delete(HelpSuggestion)
        .where(HelpSuggestion.person_id == pid)
        .execution_options(synchronize_session=False)
    )
    if erasure.delete_contributions:
        result = session.execute(
            sa.delete(HelpResponse)
            .where(HelpResponse.author_id == pid)
            .execution_options(synchronize_session=False)
        )
        erasure.count("help_responses_deleted", result.rowcount)
        result = session.execute(
            sa.delete(HelpRequest)
            .where(HelpRequest.author_id == pid)
            .execution_options(synchronize_session=False)
        )
        erasure.count("help_requests_deleted", result.rowcount)


register_exporter("help", _export_help)
register_eraser("help", _erase_help)


# -- goals ----------------------------------------------------------------------------------------------------------


def _export_goals(person: Person) -> dict:
    pid = person.id
    return {
        "goals_created_or_owned": rows(
            sa.select(Goal).where(sa.or_(Goal.created_by_id == pid, Goal.owner_id == pid))
        ),
        "progress_updates_written": rows(sa.select(GoalUpdate).where(GoalUpdate.author_id == pid)),
    }


def _erase_goals(erasure) -> None:
    if erasure.delete_contributions:
        result = session.execute(
            sa.delete(GoalUpdate)
            .where(GoalUpdate.author_id == erasure.person.id)
            .execution_options(synchronize_session=False)
        )
        erasure.count("goal_updates_deleted", result.rowcount)


register_exporter("goals", _export_goals)
register_eraser("goals", _erase_goals)


# -- resources ------------------------------------------------------------------------------------------------------


def _export_resources(person: Person) -> dict:
    return {"resources_added": rows(sa.select(Resource).where(Resource.created_by_id == person.id))}


def _resource_files(person: Person):
    from network_service.resources.storage import path_of

    for resource in session.scalars(
        sa.select(Resource).where(Resource.created_by_id == person.id, Resource.stored_name.is_not(None))
    ):
        name = (resource.original_filename or resource.stored_name).replace("/", "_")
        yield f"{resource.id}-{name}", path_of(resource.stored_name)


def _erase_resources(erasure) -> None:
    if not erasure.delete_contributions:
        return  # the shared library keeps them, "added by a former member"
    from network_service.resources.storage import delete_after_commit

    own = list(session.scalars(sa.select(Resource).where(Resource.created_by_id == erasure.person.id)))
    for resource in own:
        delete_after_commit(resource.stored_name)
        session.delete(resource)
    erasure.count("resources_deleted", len(own))


register_exporter("resources", _export_resources, files=_resource_files)
register_eraser("resources", _erase_resources)


# -- meetings -------------------------------------------------------------------------------------------------------


def _export_meetings(person: Person) -> dict:
    pid = person.id
    return {
        "rsvps": rows(sa.select(Rsvp).where(Rsvp.person_id == pid)),
        "meetings_organised": rows(sa.select(Meeting).where(Meeting.organiser_id == pid)),
        "reminders": rows(sa.select(MeetingReminder).where(MeetingReminder.person_id == pid)),
        "calendar_feeds": rows(sa.select(CalendarFeed).where(CalendarFeed.person_id == pid)),
    }


def _erase_meetings(erasure) -> None:
    for model in (Rsvp, MeetingReminder, CalendarFeed):
        result = session.execute(
            sa.delete(model)
            .where(model.person_id == erasure.person.id)
            .execution_options(synchronize_session=False)
        )
        erasure.count(model.__tablename__, result.rowcount)


register_exporter("meetings", _export_meetings)
register_eraser("meetings", _erase_meetings)


# -- notifications and mail -----------------------------------------------------------------------------------------


def _export_notifications(person: Person) -> dict:
    pid = person.id
    return {
        "settings": rows(sa.select(NotificationSetting).where(NotificationSetting.person_id == pid)),
        "notifications": rows(sa.select(Notification).where(Notification.person_id == pid)),
    }


def _export_mail(person: Person) -> dict:
    if not person.email:
        return {"emails_to_you": []}
    return {
        "emails_to_you": [
            # mails carrying sign-in or invitation links are listed without their text: the links are secrets
            row_dict(
                mail, exclude=("headers", "body_html") + (_LINK_MAIL if mail.kind.startswith(_SECRET) else ())
            )
            for mail in session.scalars(
                sa.select(OutboundEmail).where(
                    sa.func.lower(OutboundEmail.to_address) == person.email.lower()
                )
            )
        ]
    }


_SECRET = ("sign_in", "invitation")
_LINK_MAIL = ("body_text",)


def _erase_notifications(erasure) -> None:
    pid = erasure.person.id
    for model in (Notification, NotificationSetting):
        session.execute(
            sa.delete(model).where(model.person_id == pid).execution_options(synchronize_session=False)
        )
    # others' notifications about something the person did carry their name in ``params``
    needles = erasure.needles()
    about = sa.or_(Notification.actor_id == pid, *mentions(Notification.params, needles))
    for notification in session.scalars(sa.select(Notification).where(about)):
        notification.params = scrub(dict(notification.params or {}), needles, erasure.placeholder)


def _erase_mail(erasure) -> None:
    needles = erasure.needles()
    if erasure.email:
        result = session.execute(
            sa.delete(OutboundEmail)
            .where(sa.func.lower(OutboundEmail.to_address) == erasure.email.lower())
            .execution_options(synchronize_session=False)
        )
        erasure.count("emails_deleted", result.rowcount)
    # mails to others that name the person ("Mina invited you"): the name goes, the mail stays
    if not needles:
        return
    about = sa.or_(
        *[
            column.ilike(f"%{like_escape(needle)}%", escape="\\")
            for needle in needles
            for column in (OutboundEmail.subject, OutboundEmail.body_text, OutboundEmail.body_html)
        ]
    )
    for mail in session.scalars(sa.select(OutboundEmail).where(about)):
        mail.subject = scrub(mail.subject, needles, erasure.placeholder)
        mail.body_text = scrub(mail.body_text, needles, erasure.placeholder)
        mail.body_html = scrub(mail.body_html, needles, erasure.placeholder)
        erasure.count("emails_scrubbed", 1)


register_exporter("notifications", _export_notifications)
register_exporter("mail", _export_mail)
register_eraser("notifications", _erase_notifications)
register_eraser("mail", _erase_mail)


# -- moderation and insights ----------------------------------------------------------------------------------------


def _export_moderation(person: Person) -> dict:
    pid = person.id
    return {
        # not the reported text: it is someone else's (kept as evidence for the moderators)
        "reports_filed": [
            row_dict(report, exclude=("snapshot_body",))
            for report in session.scalars(sa.select(Report).where(Report.reporter_id == pid))
        ],
        "people_blocked": rows(sa.select(Block).where(Block.blocker_id == pid)),
    }


def _erase_moderation(erasure) -> None:
    pid = erasure.person.id
    # The reported text of their messages goes (the reports about them go with the person row); others' reported
    # texts that name them keep their words but not the name.
    session.execute(
        sa.update(Report)
        .where(
            sa.or_(
                Report.person_id == pid,
                Report.message_id.in_(sa.select(Message.id).where(Message.author_id == pid)),
            )
        )
        .values(snapshot_body=None, snapshot_at=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.delete(Block)
        .where(sa.or_(Block.blocker_id == pid, Block.blocked_id == pid))
        .execution_options(synchronize_session=False)
    )


def _export_insights(person: Person) -> dict:
    return {"nudges_received": rows(sa.select(InsightNudge).where(InsightNudge.person_id == person.id))}


def _erase_insights(erasure) -> None:
    pid = erasure.person.id
    session.execute(
        sa.delete(InsightNudge)
        .where(InsightNudge.person_id == pid)
        .execution_options(synchronize_session=False)
    )
    # cached insights may list the person by name: drop those caches, they are recomputed on the next visit
    needles = erasure.needles()
    for cache in session.scalars(sa.select(InsightCache)):
        if contains_any(cache.data, needles) or contains_any(cache.data, [f'"person_id": {pid}']):
            session.delete(cache)


register_exporter("moderation", _export_moderation)
register_eraser("moderation", _erase_moderation)
register_exporter("insights", _export_insights)
register_eraser("insights", _erase_insights)


# -- courses (completion events) ------------------------------------------------------------------------------------


def _export_courses(person: Person) -> dict:
    return {
        "completion_events": rows(sa.select(CompletionEvent).where(CompletionEvent.person_id == person.id))
    }


def _identifiers_from_completions(person: Person) -> dict[str, list[str]]:
    """The LMS usernames and xAPI account names of the person's completion events, and the keyed pseudonyms
    of their usernames (which events older than the retention period keep instead: privacy.pseudonyms), so
    that the erasure also finds their events that name no person (a pass that did not meet the rule, one that
    expired)."""
    from network_service.privacy.pseudonyms import learner_pseudonym

    found: dict[str, list[str]] = {"username": [], "account_name": [], "learner_pseudonym": []}
    for identity in session.scalars(
        sa.select(CompletionEvent.identity).where(CompletionEvent.person_id == person.id)
    ):
        identity = identity or {}
        if identity.get("username"):
            found["username"].append(str(identity["username"]))
            if identity.get("platform"):
                pseudonym = learner_pseudonym(str(identity["platform"]), str(identity["username"]))
                found["learner_pseudonym"].append(pseudonym)
        if identity.get("pseudonym"):
            found["learner_pseudonym"].append(str(identity["pseudonym"]))
        account = identity.get("account")
        if isinstance(account, dict) and account.get("name"):
            found["account_name"].append(str(account["name"]))
    return found


def _erase_courses(erasure) -> None:
    pid = erasure.person.id
    needles = erasure.needles()
    identifiers = [n for n in needles if n != erasure.name or "@" in n]  # names alone are too common to match
    matches = [CompletionEvent.person_id == pid]
    for needle in identifiers:
        matches.append(CompletionEvent.event_id.ilike(f"%{like_escape(needle)}%", escape="\\"))
    matches.extend(mentions(CompletionEvent.identity, identifiers))
    events = list(session.scalars(sa.select(CompletionEvent).where(sa.or_(*matches))))
    for event in events:
        if not event.event_id.startswith("erased:"):
            event.event_id = erased_event_id(event.event_id)
        event.identity = {}
        event.payload = None
        event.outcome_detail = scrub(event.outcome_detail or "", needles, erasure.placeholder)
        event.person_id = None
    session.flush()
    if events:
        session.execute(
            sa.update(CompletionEvent)
            .where(CompletionEvent.id.in_([e.id for e in events]))
            .values(payload=sa.null())
            .execution_options(synchronize_session=False)
        )
    erasure.count("completion_events", len(events))


register_exporter("courses", _export_courses)
register_identifiers("courses", _identifiers_from_completions)
register_eraser("courses", _erase_courses, order=80)


# -- audit ----------------------------------------------------------------------------------------------------------


# Entries about a person that person is not told of: who blocked them (docs/conversations.md, "They are not
# told"). Their actor's export has them. (Reports are about the report, not the person: not in the reported
# person's export either.)
NOT_SHOWN_TO_TARGET = ("moderation.block", "moderation.unblock")


def _export_audit(person: Person) -> dict:
    pid = person.id
    return {
        "entries": rows(
            sa.select(AuditLog)
            .where(
                sa.or_(
                    AuditLog.actor_id == pid,
                    sa.and_(
                        AuditLog.target_type == "person",
                        AuditLog.target_id == pid,
                        AuditLog.action.not_in(NOT_SHOWN_TO_TARGET),
                    ),
                )
            )
            .order_by(AuditLog.id)
        )
    }


def _erase_audit(erasure) -> None:
    """Audit entries stay (they prove what happened) but no longer say who: the actor and a person target
    become the pseudonym, and the person's e-mail, name and identifiers leave the details."""
    pid = erasure.person.id
    needles = erasure.needles()
    matches = [AuditLog.actor_id == pid, sa.and_(AuditLog.target_type == "person", AuditLog.target_id == pid)]
    matches.extend(mentions(AuditLog.detail, needles))
    for entry in session.scalars(sa.select(AuditLog).where(sa.or_(*matches))):
        detail = scrub(dict(entry.detail or {}), needles, erasure.pseudonym)
        if entry.actor_id == pid:
            detail["actor"] = erasure.pseudonym
            entry.actor_id = None
        if entry.target_type == "person" and entry.target_id == pid:
            detail["target"] = erasure.pseudonym
            entry.target_id = None
        entry.detail = detail
        erasure.count("audit_entries_pseudonymised", 1)


register_exporter("audit", _export_audit)
register_eraser("audit", _erase_audit, order=90)


# -- growth: applications, partner requests, guided starts, course-link requests ------------------------------------


def _export_growth(person: Person) -> dict:
    pid = person.id
    return {
        "applications": rows(
            sa.select(NetworkApplication)
            .where(NetworkApplication.person_id == pid)
            .order_by(NetworkApplication.id)
        ),
        "applications_decided": [
            {
                "id": a.id,
                "network_id": a.network_id,
                "status": a.status.value,
                "decided_at": plain(a.decided_at),
            }
            for a in session.scalars(
                sa.select(NetworkApplication).where(NetworkApplication.decided_by_id == pid)
            )
        ],
        "partner_requests": rows(
            sa.select(NetworkPartner).where(NetworkPartner.requested_by_id == pid).order_by(NetworkPartner.id)
        ),
        "partner_requests_decided": [  # the requester's message is theirs, not the decider's
            row_dict(partner, exclude=("message",))
            for partner in session.scalars(
                sa.select(NetworkPartner)
                .where(NetworkPartner.decided_by_id == pid, NetworkPartner.requested_by_id != pid)
                .order_by(NetworkPartner.id)
            )
        ],
        "networks_started": rows(
            sa.select(NetworkStart).where(NetworkStart.person_id == pid).order_by(NetworkStart.id)
        ),
        "course_link_requests": rows(
            sa.select(CourseLinkRequest)
            .where(sa.or_(CourseLinkRequest.requested_by_id == pid, CourseLinkRequest.decided_by_id == pid))
            .order_by(CourseLinkRequest.id)
        ),
    }


def _erase_growth(erasure) -> None:
    """Their own applications and guided starts go (a network they started stays: it belongs to its
    organisation); partner and course-link requests are the organisations' records and stay, without them
    ("former member"); others' texts that name them or carry their address keep their words, not those."""
    pid = erasure.person.id
    for model, column in (
        (NetworkApplication, NetworkApplication.person_id),
        (NetworkStart, NetworkStart.person_id),
    ):
        result = session.execute(
            sa.delete(model).where(column == pid).execution_options(synchronize_session=False)
        )
        erasure.count(model.__tablename__, result.rowcount)
    for column in (
        NetworkApplication.decided_by_id,
        NetworkPartner.requested_by_id,
        NetworkPartner.decided_by_id,
        CourseLinkRequest.requested_by_id,
        CourseLinkRequest.decided_by_id,
    ):
        _forget_actor(erasure, column)
    if erasure.delete_contributions:
        session.execute(
            sa.update(NetworkPartner)
            .where(NetworkPartner.requested_by_id == pid)
            .values(message="")
            .execution_options(synchronize_session=False)
        )


def _forget_actor(erasure, column) -> None:
    """``column`` (who asked, decided, shared) no longer names the person: the record stays, "former member"."""
    result = session.execute(
        sa.update(column.class_)
        .where(column == erasure.person.id)
        .values({column.key: None})
        .execution_options(synchronize_session=False)
    )
    erasure.count(f"{column.class_.__tablename__}.{column.key}", result.rowcount)


register_exporter("growth", _export_growth)
register_eraser("growth", _erase_growth)


# -- federations ----------------------------------------------------------------------------------------------------


def _export_federations(person: Person) -> dict:
    pid = person.id
    return {
        "links_asked_or_accepted": rows(
            sa.select(FederationLink)
            .where(sa.or_(FederationLink.asked_by_id == pid, FederationLink.accepted_by_id == pid))
            .order_by(FederationLink.id)
        ),
        "channels_shared": rows(sa.select(SharedChannel).where(SharedChannel.shared_by_id == pid)),
        "resources_shared": rows(sa.select(SharedResource).where(SharedResource.shared_by_id == pid)),
    }


def _erase_federations(erasure) -> None:
    """Links and shares are the networks' decisions and stay; who asked, accepted or shared becomes empty."""
    for column in (
        FederationLink.asked_by_id,
        FederationLink.accepted_by_id,
        SharedChannel.shared_by_id,
        SharedResource.shared_by_id,
    ):
        _forget_actor(erasure, column)


register_exporter("federations", _export_federations)
register_eraser("federations", _erase_federations)


# -- privacy --------------------------------------------------------------------------------------------------------


def _export_privacy(person: Person) -> dict:
    return {
        "consent_records": rows(
            sa.select(ConsentRecord).where(ConsentRecord.person_id == person.id).order_by(ConsentRecord.id)
        )
    }


def _erase_privacy(erasure) -> None:
    session.execute(
        sa.delete(ConsentRecord)
        .where(ConsentRecord.person_id == erasure.person.id)
        .execution_options(synchronize_session=False)
    )


register_exporter("privacy", _export_privacy)
register_eraser("privacy", _erase_privacy)


def _erase_accounts(erasure) -> None:
    pid = erasure.person.id
    for model in (SignInToken, ApiToken, DeviceSession):  # deleting sessions signs out every device
        session.execute(
            sa.delete(model).where(model.person_id == pid).execution_options(synchronize_session=False)
        )


register_eraser("accounts", _erase_accounts, order=95)


# -- the page cache's versions --------------------------------------------------------------------------------------


def _erase_cache_versions(erasure) -> None:
    """The page cache's per-person versions (``structure@p:<id>``, ``notifications@p:<id>``, page_cache.py) hold
    only an internal id and a random number, but they go with the person. Deleting them must not let a stale
    kept value be served: a missing row reads as version 0, the version a value computed for this person before
    their first attributed write was stamped with. Such a value was also stamped with the domains' unattributed
    versions (``structure@``, ``notifications@``), which get a new random number here, in the same transaction
    (the DELETE of the person's row would change them at commit anyway); a row made again later gets a new
    random version too."""
    from network_service.page_cache import SCOPED_DOMAINS, UNATTRIBUTED, CacheVersion

    names = [f"{domain}@p:{erasure.person.id}" for domain in SCOPED_DOMAINS]
    result = session.execute(
        sa.delete(CacheVersion)
        .where(CacheVersion.name.in_(names))
        .execution_options(synchronize_session=False)
    )
    erasure.count("cache_versions", result.rowcount)
    session.execute(
        sa.update(CacheVersion)
        .where(CacheVersion.name.in_([domain + UNATTRIBUTED for domain in SCOPED_DOMAINS]))
        .values(token=secrets.randbits(62))
        .execution_options(synchronize_session=False)
    )


register_eraser("page_cache", _erase_cache_versions, order=96)


# -- every free-text column -----------------------------------------------------------------------------------------

# Last, after every module's eraser (plugins' too: they find rows by the identifiers this replaces).
register_eraser("text", scrub_everywhere, order=1000)
