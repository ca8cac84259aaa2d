"""provision_graduate: every completion ends in at most one invitation, and every event is kept."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from markupsafe import escape

from network_service.accounts.models import Person
from network_service.audit.models import AuditLog
from network_service.courses import operations as courses
from network_service.courses.models import CompletionEvent, CompletionRule, CompletionStatus
from network_service.db import session
from network_service.errors import Conflict, InvalidInput
from network_service.networks.models import Invitation, Membership, MembershipStatus, Network, Origin
from tests.helpers import COURSE, mails

GRADUATE = {"email": "Grace@Example.org", "name": "Grace Graduate", "username": "grace"}


def provision(event_id="evt-1", identity=GRADUATE, course=COURSE, **kwargs):
    return courses.provision_graduate(course, identity, event_id=event_id, source="test", **kwargs)


def test_graduate_is_invited_once_with_graduate_origin(world, ctx):
    result = provision()
    assert not result.duplicate
    assert result.status == CompletionStatus.invited
    membership = session.scalar(
        sa.select(Membership).where(Membership.person_id == result.invitation.person_id)
    )
    assert membership.status == MembershipStatus.invited
    assert membership.origin == Origin.graduate
    [mail] = mails(to="grace@example.org")
    assert mail.kind == "invitation"
    assert "Test Network" in mail.subject
    assert "/invitations/" in mail.body_text


def test_same_completion_event_twice_invites_once(world, ctx):
    first = provision("evt-1")
    second = provision("evt-1")
    assert second.duplicate and second.invitation is None
    assert second.event.id == first.event.id
    assert len(mails(to="grace@example.org")) == 1
    assert session.scalar(sa.select(sa.func.count(CompletionEvent.id))) == 1


def test_second_event_for_same_graduate_sends_nothing(world, ctx):
    provision("evt-1")
    again = provision("evt-2", kind="certificate")
    assert not again.duplicate
    assert again.status == CompletionStatus.already_member
    assert again.invitation is None
    assert len(mails(to="grace@example.org")) == 1
    assert session.scalar(sa.select(sa.func.count(CompletionEvent.id))) == 2


def test_existing_active_member_is_not_invited_again(world, ctx):
    result = provision("evt-9", identity={"email": "mentor@example.org"})
    assert result.status == CompletionStatus.already_member
    assert mails(to="mentor@example.org") == []


def test_event_for_unlinked_course_is_kept_and_replayable(world, ctx):
    result = provision("evt-x", course="course-v1:Other+X+1")
    assert result.status == CompletionStatus.unknown_course
    assert mails() == []
    network = session.get(Network, world.network_id)
    courses.link_course("course-v1:Other+X+1", network, actor=None)
    invitation = courses.process_completion(result.event)
    assert invitation is not None and result.event.status == CompletionStatus.invited
    assert len(mails(to="grace@example.org")) == 1


def test_event_without_email_is_kept_as_unknown_identity(world, ctx):
    result = provision("evt-anon", identity={"account": {"name": "anon-1234"}})
    assert result.status == CompletionStatus.unknown_identity
    assert result.event.identity == {"account": {"name": "anon-1234"}}
    assert mails() == []


@pytest.mark.parametrize(
    ("rule", "min_grade", "kwargs", "expected"),
    [
        (CompletionRule.certificate, None, {"kind": "passed"}, CompletionStatus.not_passing),
        (CompletionRule.certificate, None, {"kind": "certificate"}, CompletionStatus.invited),
        (CompletionRule.min_grade, 0.8, {"grade": 0.79, "kind": "grade"}, CompletionStatus.not_passing),
        (CompletionRule.min_grade, 0.8, {"grade": 0.8, "kind": "grade"}, CompletionStatus.invited),
        (CompletionRule.passed, None, {"is_passing": False}, CompletionStatus.not_passing),
    ],
)
def test_course_link_rule_decides(world, ctx, rule, min_grade, kwargs, expected):
    network = session.get(Network, world.network_id)
    courses.link_course(COURSE, network, actor=None, rule=rule, min_grade=min_grade)
    assert provision("evt-rule", **kwargs).status == expected


def test_failure_while_acting_keeps_the_event_and_writes_nothing_else(world, ctx, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("mail template exploded")

    monkeypatch.setattr(courses, "send_invitation", broken)
    result = provision("evt-broken")
    assert result.status == CompletionStatus.failed
    assert "mail template exploded" in result.event.outcome_detail
    session.commit()
    assert session.scalar(sa.select(CompletionEvent).where(CompletionEvent.event_id == "evt-broken"))
    assert session.scalars(sa.select(Invitation)).all() == []

    monkeypatch.undo()
    invitation = courses.process_completion(result.event)
    assert invitation is not None and result.event.status == CompletionStatus.invited


def test_event_needs_an_id(world, ctx):
    with pytest.raises(InvalidInput) as error:
        provision(event_id="  ")
    assert error.value.field == "event_id"


def test_course_cannot_be_linked_to_two_networks(world, ctx):
    from network_service.networks.operations import create_network, get_organisation_by_name

    other = create_network("other-net", "Other", get_organisation_by_name("Test Org"))
    with pytest.raises(Conflict):
        courses.link_course(COURSE, other, actor=None)


def test_min_grade_rule_needs_a_grade(world, ctx):
    network = session.get(Network, world.network_id)
    with pytest.raises(InvalidInput) as error:
        courses.link_course(COURSE, network, actor=None, rule=CompletionRule.min_grade, min_grade=None)
    assert error.value.field == "min_grade"


def test_replay_acts_on_waiting_events_only(world, ctx):
    waiting = provision("evt-early", course="course-v1:Late+L+1")
    provision("evt-done")  # already invited: replay must leave it alone
    network = session.get(Network, world.network_id)
    assert courses.replay_completions() == {"unknown_course": 1}
    courses.link_course("course-v1:Late+L+1", network, actor=None)
    assert courses.replay_completions("course-v1:Late+L+1") == {"already_member": 1}
    assert waiting.event.status == CompletionStatus.already_member  # grace was invited by evt-done
    assert len(mails(to="grace@example.org")) == 1


def test_invitation_speaks_the_graduates_language_when_the_platform_says_it(world, ctx):
    provision("evt-de", identity={**GRADUATE, "locale": "de-DE"})
    [mail] = mails(to="grace@example.org")
    assert "Einladung" in mail.subject or "Glückwunsch" in mail.subject
    provision("evt-xx", identity={"email": "x@example.org", "locale": "xx"})
    assert "Congratulations" in mails(to="x@example.org")[0].subject


def test_a_pass_stored_without_email_is_acted_on_when_it_comes_again_with_one(world, ctx):
    first = provision("evt-anon-1", identity={"username": "grace"})
    assert first.status == CompletionStatus.unknown_identity
    again = provision("evt-anon-1", identity={"username": "grace", "email": "grace@example.org"})
    assert again.duplicate and again.invitation is not None
    assert again.event.status == CompletionStatus.invited
    assert again.event.identity == {"username": "grace", "email": "grace@example.org"}
    assert len(mails(to="grace@example.org")) == 1
    assert provision("evt-anon-1", identity=GRADUATE).invitation is None  # and only once


def _store(event_id, email, course=COURSE, **kwargs):
    identity = {"email": email, "name": email.split("@")[0].title()} if email else {"username": "anon"}
    event, _new = courses.record_completion(
        event_id=event_id, source="test", course_key=course, identity=identity, **kwargs
    )
    return event


def _outcomes(run):
    return run(
        lambda: {
            event.event_id: (event.status, event.person_id is not None)
            for event in session.scalars(sa.select(CompletionEvent))
        }
    )


def test_a_batch_of_mixed_events_ends_as_one_by_one_would(world, run):
    """The drain's batch of new graduates is a shortcut: each event ends as it would on its own."""
    run(
        lambda: [
            _store("new-1", "ada@example.org"),
            _store("new-2", "bea@example.org"),
            _store("twice-a", "cy@example.org"),
            _store("twice-b", "CY@example.org"),  # the same address again, in the same batch
            _store("member", "mentor@example.org"),  # already an active member
            _store("unlinked", "dan@example.org", course="course-v1:Other+X+1"),
            _store("failing", "eve@example.org", is_passing=False),
            _store("no-email", None),
            _store("new-3", "fay@example.org"),
        ]
    )
    assert run(lambda: courses.process_received(limit=20)) == 9
    outcomes = _outcomes(run)
    assert outcomes == {
        "new-1": (CompletionStatus.invited, True),
        "new-2": (CompletionStatus.invited, True),
        "twice-a": (CompletionStatus.invited, True),
        "twice-b": (CompletionStatus.already_member, True),
        "member": (CompletionStatus.already_member, True),
        "unlinked": (CompletionStatus.unknown_course, False),
        "failing": (CompletionStatus.not_passing, False),
        "no-email": (CompletionStatus.unknown_identity, False),
        "new-3": (CompletionStatus.invited, True),
    }

    def check():
        for address in ("ada@example.org", "bea@example.org", "cy@example.org", "fay@example.org"):
            [mail] = mails(to=address)
            assert mail.kind == "invitation" and "/invitations/" in mail.body_text
            membership = session.scalar(
                sa.select(Membership).join(Membership.person).where(sa.text("person.email = :e")),
                {"e": address},
            )
            assert (membership.status, membership.origin) == (MembershipStatus.invited, Origin.graduate)
        assert mails(to="mentor@example.org") == []
        sent = session.scalar(
            sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.action == "invitation.send")
        )
        assert sent == 4

    run(check)


def test_a_batch_that_collides_with_another_writer_falls_back_to_one_by_one(world, run, monkeypatch):
    """Someone else creates one of the batch's people between the lookup and the write: the batch is undone
    and every event is acted on alone, so each graduate still ends with exactly one invitation."""
    run(lambda: [_store(f"race-{n}", f"racer{n}@example.org") for n in range(4)])
    real_write = courses._write_graduates
    collided = []

    def write_after_a_rival(candidates, links):
        # a rival row for one of the addresses, written inside the batch's SAVEPOINT just before the batch
        email = next(iter(candidates))
        collided.append(email)
        session.execute(sa.insert(Person).values(email=email, display_name="", languages=[], expertise=[]))
        return real_write(candidates, links)

    monkeypatch.setattr(courses, "_write_graduates", write_after_a_rival)
    assert run(lambda: courses.process_received(limit=20)) == 4
    assert collided
    assert set(_outcomes(run).values()) == {(CompletionStatus.invited, True)}
    for n in range(4):
        assert len(run(lambda n=n: mails(to=f"racer{n}@example.org"))) == 1


def _rows_of(email: str, name: str) -> dict[str, list[dict]]:
    """Every row the invitation of ``email`` wrote, with what differs from graduate to graduate (ids, times,
    the secret link, the address and the name) replaced by placeholders."""
    person = session.scalar(sa.select(Person).where(Person.email == email))
    invitation = session.scalar(sa.select(Invitation).where(Invitation.person_id == person.id))

    def plain(row, *, drop=("id", "created_at")) -> dict:
        values = {
            column.key: getattr(row, column.key) for column in row.__table__.columns if column.key not in drop
        }
        for key, value in values.items():
            if isinstance(value, str):
                value = re.sub(r"/invitations/[\w-]+", "/invitations/TOKEN", value)
                value = value.replace(email, "EMAIL").replace(str(escape(name)), "NAME").replace(name, "NAME")
            elif isinstance(value, dict):
                value = {k: "PERSON" if v == person.id else v for k, v in value.items()}
            values[key] = "PERSON" if key.endswith("person_id") and value == person.id else value
        return values

    lifetime = invitation.expires_at - invitation.created_at
    return {
        "person": [plain(person)],
        "membership": [
            plain(membership)
            for membership in session.scalars(sa.select(Membership).where(Membership.person_id == person.id))
        ],
        "invitation": [
            {
                **plain(invitation, drop=("id", "created_at", "expires_at", "token_hash")),
                "days": lifetime.days,
            }
        ],
        "outbound_email": [
            plain(mail, drop=("id", "created_at", "next_attempt_at")) for mail in mails(to=email)
        ],
        "audit_log": [
            {**plain(entry, drop=("id", "at", "target_id")), "target_id": entry.target_id == invitation.id}
            for entry in session.scalars(
                sa.select(AuditLog).where(
                    AuditLog.target_type == "invitation", AuditLog.target_id == invitation.id
                )
            )
        ],
    }


@pytest.mark.parametrize("locale", ["", "de-DE"])
def test_a_batch_writes_the_rows_one_by_one_would(world, run, locale, monkeypatch):
    """The batch writes its rows with Core statements, the single event through the ORM and the operations
    every invitation uses: both must leave the same rows behind, column by column."""

    def store(event_id, email):
        identity = {"email": email, "name": f" Grad <{email[:3]}> & Co ", "locale": locale}
        courses.record_completion(event_id=event_id, source="test", course_key=COURSE, identity=identity)

    run(lambda: [store("batch-1", "ada@example.org"), store("batch-2", "bea@example.org")])
    assert run(lambda: courses.process_received(limit=20)) == 2  # the batch
    run(lambda: store("alone", "cy@example.org"))
    with monkeypatch.context() as patched:  # the way every other case takes (a person who exists, ...)
        patched.setattr(courses, "_invite_new_graduates", lambda events: events)
        assert run(lambda: courses.process_received(limit=1)) == 1  # one by one

    def compare():
        alone = _rows_of("cy@example.org", "Grad <cy@> & Co")
        assert len(alone["outbound_email"]) == len(alone["audit_log"]) == 1
        assert alone["person"][0]["display_name"] == "NAME"  # stripped
        assert (
            alone
            == _rows_of("ada@example.org", "Grad <ada> & Co")
            == _rows_of("bea@example.org", "Grad <bea> & Co")
        )
        event = session.scalar(sa.select(CompletionEvent).where(CompletionEvent.event_id == "batch-1"))
        person = session.scalar(sa.select(Person).where(Person.email == "ada@example.org"))
        assert (event.status, event.person_id, event.network_id) == (
            CompletionStatus.invited,
            person.id,
            world.network_id,
        )

    run(compare)
