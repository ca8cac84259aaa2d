"""Networks, roles, agreements and invitations, through their operations."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.audit.models import AuditLog
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, LinkInvalid
from network_service.networks import operations as ops
from network_service.networks import organise
from network_service.networks.models import Invitation, Level, Membership, MembershipStatus, Network, Role
from tests.helpers import link_in, mails


def _token_of_last_invitation(email: str) -> str:
    return link_in(mails(to=email, kind="invitation")[-1].body_text, "/invitations/").rsplit("/", 1)[1]


@pytest.fixture
def net(world, ctx):
    return session.get(Network, world.network_id)


def person(id_):
    return session.get(Person, id_)


def test_network_starts_with_agreement_version_one_and_an_active_coordinator(net, world):
    agreement = ops.current_agreement(net)
    assert agreement.version == 1 and agreement.body
    [coordinator] = organise.members_page(net, person(world.coordinator_id), role=Role.coordinator)[0]
    assert coordinator.status == MembershipStatus.active


@pytest.mark.parametrize("slug", ["", "-dash", "dash-", "with space", "x" * 65, "ümlaut"])
def test_network_address_must_be_a_simple_slug(ctx, slug):
    organisation = ops.create_organisation("Slug Org")
    with pytest.raises(InvalidInput) as error:
        ops.create_network(slug, "Name", organisation)
    assert error.value.field == "slug"


def test_organisation_country_is_a_two_letter_code(ctx):
    with pytest.raises(InvalidInput) as error:
        ops.create_organisation("Bad Country", "Germany")
    assert error.value.field == "country"
    assert ops.create_organisation("Good Country", "de").country == "DE"


def test_members_are_listed_by_name_and_hidden_from_outsiders(net, world):
    rows, _next = organise.members_page(net, person(world.mentor_id))
    names = [m.person.display_name.lower() for m in rows]
    assert names == sorted(names) and {m.role for m in rows} == {
        Role.coordinator,
        Role.meta_mentor,
        Role.mentor,
    }
    outsider, _ = ops.get_or_create_person("outsider@example.org")
    with pytest.raises(Forbidden):
        organise.members_page(net, outsider)
    with pytest.raises(Forbidden):  # invitees: only for those who may invite
        organise.members_page(net, person(world.mentor_id), status=MembershipStatus.invited)


def test_invitation_then_acceptance_makes_an_active_member_who_accepted_the_agreement(net, world):
    invitation = ops.invite_person(
        net, "New@Example.org", actor=person(world.coordinator_id), display_name="Nia"
    )
    assert invitation.person.email == "new@example.org"
    token = _token_of_last_invitation("new@example.org")
    membership = ops.accept_invitation(token, agreement_version=1, accept=True)
    assert membership.status == MembershipStatus.active and membership.joined_at is not None
    assert ops.has_accepted(membership.person, ops.current_agreement(net))
    actions = session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert "invitation.send" in actions and "invitation.accept" in actions


def test_acceptance_requires_a_yes_to_the_agreement(net, world):
    ops.invite_person(net, "n@example.org", actor=person(world.coordinator_id), display_name="N")
    token = _token_of_last_invitation("n@example.org")
    with pytest.raises(InvalidInput) as error:
        ops.accept_invitation(token, agreement_version=1, accept=False)
    assert error.value.field == "accept_agreement"


def test_acceptance_of_an_outdated_agreement_version_is_refused(net, world):
    ops.invite_person(net, "n@example.org", actor=person(world.coordinator_id), display_name="N")
    token = _token_of_last_invitation("n@example.org")
    ops.publish_agreement(net, "Rules v2", "Be kind.", actor=person(world.meta_mentor_id))
    with pytest.raises(Conflict) as error:
        ops.accept_invitation(token, agreement_version=1, accept=True)
    assert error.value.field == "agreement_version"
    assert ops.accept_invitation(token, agreement_version=2, accept=True).is_active


def test_invitation_link_works_once(net, world):
    ops.invite_person(net, "n@example.org", actor=person(world.coordinator_id), display_name="N")
    token = _token_of_last_invitation("n@example.org")
    ops.accept_invitation(token, agreement_version=1, accept=True)
    with pytest.raises(LinkInvalid, match="already been accepted"):
        ops.accept_invitation(token, agreement_version=1, accept=True)


def test_expired_and_unknown_invitation_links_are_refused(net, world):
    invitation = ops.invite_person(net, "n@example.org", actor=person(world.coordinator_id), display_name="N")
    token = _token_of_last_invitation("n@example.org")
    invitation.expires_at = utcnow() - dt.timedelta(seconds=1)
    with pytest.raises(LinkInvalid, match="expired"):
        ops.check_invitation(token)
    with pytest.raises(LinkInvalid, match="not known"):
        ops.check_invitation("not-a-real-token-at-all")


def test_reinviting_retires_the_earlier_link(net, world):
    coordinator = person(world.coordinator_id)
    ops.invite_person(net, "n@example.org", actor=coordinator, display_name="N")
    first = _token_of_last_invitation("n@example.org")
    ops.invite_person(net, "n@example.org", actor=coordinator)
    second = _token_of_last_invitation("n@example.org")
    with pytest.raises(LinkInvalid, match="newer invitation"):
        ops.check_invitation(first)
    assert ops.check_invitation(second)
    assert session.scalar(sa.select(sa.func.count(Membership.id)).where(Membership.network_id == net.id)) == 4


def test_inviting_an_active_member_is_a_conflict(net, world):
    with pytest.raises(Conflict):
        ops.invite_person(net, "mentor@example.org", actor=person(world.coordinator_id))


def test_mentors_cannot_invite_and_only_coordinators_invite_into_roles(net, world):
    with pytest.raises(Forbidden):
        ops.invite_person(net, "x@example.org", actor=person(world.mentor_id))
    with pytest.raises(Forbidden):
        ops.invite_person(net, "x@example.org", actor=person(world.meta_mentor_id), role=Role.office)
    invitation = ops.invite_person(net, "x@example.org", actor=person(world.meta_mentor_id))
    assert invitation.person.email == "x@example.org"
    assert session.scalars(sa.select(Invitation)).all()


def test_coordinator_appoints_a_meta_mentor_and_others_cannot(net, world):
    mentor = person(world.mentor_id)
    with pytest.raises(Forbidden):
        ops.appoint(net, mentor, actor=person(world.meta_mentor_id), role=Role.meta_mentor)
    membership = ops.appoint(
        net, mentor, actor=person(world.coordinator_id), role=Role.meta_mentor, level=Level.experienced
    )
    assert (membership.role, membership.level) == (Role.meta_mentor, Level.experienced)
    entry = session.scalar(sa.select(AuditLog).where(AuditLog.action == "membership.appoint"))
    assert entry.detail["before"] == {"role": "mentor", "level": "novice"}


def test_the_last_coordinator_cannot_step_down(net, world):
    coordinator = person(world.coordinator_id)
    with pytest.raises(Conflict):
        ops.appoint(net, coordinator, actor=coordinator, role=Role.mentor)
    ops.appoint(net, person(world.meta_mentor_id), actor=coordinator, role=Role.coordinator)
    assert ops.appoint(net, coordinator, actor=coordinator, role=Role.mentor).role == Role.mentor


def test_site_admin_may_act_in_any_network(net, world):
    from network_service.accounts.operations import add_site_admin

    admin = add_site_admin("root@example.org")
    assert ops.invite_person(net, "y@example.org", actor=admin, role=Role.office)


def test_new_agreement_version_only_from_coordinator_or_meta_mentor(net, world):
    with pytest.raises(Forbidden):
        ops.publish_agreement(net, "v2", "text", actor=person(world.mentor_id))
    with pytest.raises(InvalidInput):
        ops.publish_agreement(net, "v2", "  ", actor=person(world.coordinator_id))
    assert ops.publish_agreement(net, "v2", "text", actor=person(world.coordinator_id)).version == 2
    assert ops.current_agreement(net).version == 2


def test_permission_follows_a_role_change_in_the_same_session(net, world):
    from network_service.networks import permissions

    meta = person(world.meta_mentor_id)
    assert not permissions.can_appoint(meta, net)
    ops.appoint(net, meta, actor=person(world.coordinator_id), role=Role.coordinator)
    assert permissions.can_appoint(meta, net)


def _invite_days_ago(net, world, email, days):
    invitation = ops.invite_person(net, email, actor=person(world.coordinator_id), display_name="N")
    invitation.created_at = utcnow() - dt.timedelta(days=days)
    session.flush()
    return invitation


def test_reminders_go_out_after_three_and_ten_days_once_each(net, world):
    _invite_days_ago(net, world, "slow@example.org", 4)
    assert ops.send_invitation_reminders() == 1
    assert ops.send_invitation_reminders() == 0  # the second reminder is due on day 10
    assert ops.send_invitation_reminders(utcnow() + dt.timedelta(days=6, minutes=1)) == 1
    assert ops.send_invitation_reminders(utcnow() + dt.timedelta(days=9)) == 0
    reminders = mails(to="slow@example.org", kind="invitation_reminder")
    assert len(reminders) == 2 and "Reminder" in reminders[0].subject
    assert reminders[0].body_html and "Read the agreement and join" in reminders[0].body_html


def test_every_link_of_an_invitation_works_until_one_is_used(net, world):
    _invite_days_ago(net, world, "slow@example.org", 4)
    first = _token_of_last_invitation("slow@example.org")
    ops.send_invitation_reminders()
    reminder_link = link_in(mails(kind="invitation_reminder")[-1].body_text, "/invitations/").rsplit("/", 1)[
        1
    ]
    assert ops.check_invitation(first).id == ops.check_invitation(reminder_link).id
    ops.accept_invitation(reminder_link, agreement_version=1, accept=True)
    with pytest.raises(LinkInvalid, match="already been accepted"):
        ops.check_invitation(first)


def test_no_reminder_for_accepted_revoked_or_expired_invitations(net, world):
    accepted = _invite_days_ago(net, world, "a@example.org", 4)
    ops.accept_invitation(_token_of_last_invitation("a@example.org"), agreement_version=1, accept=True)
    _invite_days_ago(net, world, "r@example.org", 4)
    ops.invite_person(net, "r@example.org", actor=person(world.coordinator_id))  # retires the first one
    expired = _invite_days_ago(net, world, "e@example.org", 40)
    expired.expires_at = utcnow() - dt.timedelta(days=1)
    session.flush()
    assert accepted.accepted_at is not None
    assert ops.send_invitation_reminders() == 0


def test_graduate_invitations_last_thirty_days_and_personal_ones_fourteen(net, world):
    from network_service.networks.models import Origin

    graduate = ops.invite_person(net, "g@example.org", actor=None, origin=Origin.graduate)
    personal = ops.invite_person(net, "p@example.org", actor=person(world.coordinator_id))
    assert round((graduate.expires_at - graduate.created_at).total_seconds() / 86400) == 30
    assert round((personal.expires_at - personal.created_at).total_seconds() / 86400) == 14


def test_reinviting_without_the_right_to_appoint_keeps_the_invited_role(net, world):
    from network_service.accounts.operations import add_site_admin

    ops.invite_person(net, "office@example.org", actor=add_site_admin("root@example.org"), role=Role.office)
    ops.invite_person(net, "next@example.org", actor=person(world.coordinator_id), role=Role.coordinator)
    ops.invite_person(net, "next@example.org", actor=person(world.meta_mentor_id))  # a fresh link, same role
    membership = session.scalar(sa.select(Membership).join(Person).where(Person.email == "next@example.org"))
    assert membership.role == Role.coordinator and membership.status == MembershipStatus.invited


def test_the_network_page_shows_leaders_and_newest_mentors_in_a_fixed_number_of_statements(
    client, run, world, app
):

    from network_service.networks.models import Network
    from tests.goals_roles import count_statements
    from tests.helpers import add_member, sign_in_as

    def add(first: int, last: int):
        def adding():
            network = session.get(Network, world.network_id)
            for n in range(first, last):
                add_member(network, f"crowd{n}@example.org", f"Crowd Member {n:03d}")

        run(adding)

    sign_in_as(client, run, "coord@example.org")
    add(0, 20)
    client.get("/networks/test-net")  # warm caches of templates
    with count_statements(app) as few:
        small = client.get("/networks/test-net").get_data(as_text=True)
    add(20, 100)
    with count_statements(app) as many:
        large = client.get("/networks/test-net").get_data(as_text=True)
    assert len(few) == len(many)
    assert "Members (103)" in large and "All members (103)" in large  # 100 + coordinator, Meta-Mentor, mentor
    assert "Crowd Member 099" in large and "Crowd Member 050" not in large  # the newest 12 only
    assert large.count('class="member"') == 2 + 12  # coordinator and Meta-Mentor, then the newest mentors
    assert "Crowd Member 019" in small
