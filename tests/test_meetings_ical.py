"""iCalendar feeds and downloads: parsed back with icalendar, token lifecycle, window, statement counts."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import icalendar
import pytest
import sqlalchemy as sa

from network_service.db import session, utcnow
from network_service.meetings import ical, operations
from network_service.meetings.models import CalendarFeed, Meeting
from network_service.networks.models import Membership, MembershipStatus
from network_service.networks.operations import get_network
from network_service.tokens import hash_token
from tests.helpers import csrf_from, path_of, sign_in_as
from tests.meetings_support import ROLES, build_meetings_world, person, plan
from tests.test_meetings import count_statements

UTC = dt.UTC


@pytest.fixture
def mw(run):
    return run(build_meetings_world)


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.get_data())


def events(calendar) -> list:
    return list(calendar.walk("VEVENT"))


def feed_token(run, email: str, slug: str | None = None) -> str:
    return run(lambda: ical.create_feed(person(email), get_network(slug) if slug else None)[1])


def test_network_feed_parses_back_with_every_field(client, run, mw, app):
    def setup():
        online = plan(
            title="Online exchange",
            description="# Agenda\n\n1. **Housing** questions\n2. *News* & tips",
            starts_in=dt.timedelta(days=2),
        )
        in_person = plan(
            title="Picnic",
            online_url="",
            place="Park am Gleisdreieck, Berlin",
            starts_in=dt.timedelta(days=4),
        )
        operations.cancel_meeting(in_person, actor=person(ROLES["coordinator"]), reason="Rain")
        return online.id, in_person.id

    online_id, picnic_id = run(setup)
    token = feed_token(run, ROLES["novice"], "test-net")
    calendar = parse(client.get(f"/calendar/{token}.ics"))
    assert str(calendar["VERSION"]) == "2.0" and "mentorNET" in str(calendar["PRODID"])
    assert str(calendar["X-WR-CALNAME"]) == "Test Network meetings"
    by_uid = {str(e["UID"]): e for e in events(calendar)}
    host = urlsplit(app.config["BASE_URL"]).hostname
    online, picnic = by_uid[f"meeting-{online_id}@{host}"], by_uid[f"meeting-{picnic_id}@{host}"]
    meeting = run(lambda: session.get(Meeting, online_id))
    assert online.decoded("DTSTART") == meeting.starts_at and online.decoded(
        "DTSTART"
    ).utcoffset() == dt.timedelta(0)
    assert online.decoded("DTEND") == meeting.ends_at
    assert online.decoded("DTSTAMP").tzinfo is not None
    assert int(online["SEQUENCE"]) == 0 and str(online["STATUS"]) == "CONFIRMED"
    assert str(online["SUMMARY"]) == "Online exchange"
    assert str(online["URL"]) == "https://meet.example.org/exchange"
    assert str(online["LOCATION"]) == "https://meet.example.org/exchange"
    description = str(online["DESCRIPTION"])
    assert "Agenda" in description and "Housing questions" in description and "News & tips" in description
    assert "<" not in description and "*" not in description
    assert f"/networks/test-net/meetings/{online_id}" in description
    assert "X-MENTORNET-RSVP" not in online  # a network feed has no personal answers
    assert str(picnic["STATUS"]) == "CANCELLED" and int(picnic["SEQUENCE"]) == 1
    assert str(picnic["LOCATION"]) == "Park am Gleisdreieck, Berlin"
    assert "Rain" in str(picnic["DESCRIPTION"])
    assert str(picnic["URL"]).endswith(f"/networks/test-net/meetings/{picnic_id}")


def test_uid_is_stable_and_sequence_grows_with_changes(client, run, mw):
    meeting_id = run(lambda: plan().id)
    token = feed_token(run, ROLES["novice"], "test-net")
    first = events(parse(client.get(f"/calendar/{token}.ics")))[0]

    def change():
        meeting = session.get(Meeting, meeting_id)
        data = operations.MeetingInput(
            title="Renamed",
            description="",
            starts_at=meeting.starts_at + dt.timedelta(hours=1),
            ends_at=meeting.ends_at + dt.timedelta(hours=1),
            timezone=meeting.timezone,
            online_url=meeting.online_url,
            place="",
        )
        operations.update_meeting(meeting, data, actor=person(ROLES["coordinator"]))

    run(change)
    second = events(parse(client.get(f"/calendar/{token}.ics")))[0]
    assert str(second["UID"]) == str(first["UID"])
    assert int(second["SEQUENCE"]) == int(first["SEQUENCE"]) + 1
    assert second.decoded("DTSTART") - first.decoded("DTSTART") == dt.timedelta(hours=1)


def test_personal_feed_has_every_network_of_the_member_with_their_answers(client, run, mw):
    def setup():
        other_coordinator = "othercoord@example.org"
        a = plan(title="Test net yes")
        b = plan(title="Test net unanswered", starts_in=dt.timedelta(days=5))
        c = plan(slug="other-net", organiser=other_coordinator, title="Other net maybe")
        d = plan(
            slug="other-net",
            organiser=other_coordinator,
            title="Other net no",
            starts_in=dt.timedelta(days=6),
        )
        # The outsider joins test-net too.
        session.add(
            Membership(
                network=get_network("test-net"),
                person=person(ROLES["outsider"]),
                status=MembershipStatus.active,
            )
        )
        session.flush()
        me = person(ROLES["outsider"])
        operations.set_rsvp(a, me, "yes")
        operations.set_rsvp(c, me, "maybe")
        operations.set_rsvp(d, me, "no")
        return b.id

    run(setup)
    token = feed_token(run, ROLES["outsider"])
    found = {str(e["SUMMARY"]): e for e in events(parse(client.get(f"/calendar/{token}.ics")))}
    assert set(found) == {"Test net yes", "Test net unanswered", "Other net maybe", "Other net no"}
    expected = {
        "Test net yes": ("yes", "ACCEPTED"),
        "Test net unanswered": ("none", "NEEDS-ACTION"),
        "Other net maybe": ("maybe", "TENTATIVE"),
        "Other net no": ("no", "DECLINED"),
    }
    for summary, (rsvp, partstat) in expected.items():
        event = found[summary]
        assert str(event["X-MENTORNET-RSVP"]) == rsvp
        assert str(event["ATTENDEE"]) == "mailto:other@example.org"
        assert event["ATTENDEE"].params["PARTSTAT"] == partstat

    # Leaving a network takes its meetings out of the personal feed.
    def leave():
        session.scalar(
            sa.select(Membership).where(
                Membership.person_id == person(ROLES["outsider"]).id,
                Membership.network_id == get_network("other-net").id,
            )
        ).status = MembershipStatus.left

    run(leave)
    found = {str(e["SUMMARY"]) for e in events(parse(client.get(f"/calendar/{token}.ics")))}
    assert found == {"Test net yes", "Test net unanswered"}


def test_feed_window_is_the_last_90_days_and_the_future(client, run, mw):
    def setup():
        now = utcnow()
        plan(title="Long ago", now=now - dt.timedelta(days=200), starts_in=dt.timedelta(days=1))
        plan(title="Last month", now=now - dt.timedelta(days=40), starts_in=dt.timedelta(days=1))
        plan(title="Next year", starts_in=dt.timedelta(days=300))

    run(setup)
    token = feed_token(run, ROLES["novice"], "test-net")
    found = {str(e["SUMMARY"]) for e in events(parse(client.get(f"/calendar/{token}.ics")))}
    assert found == {"Last month", "Next year"}


def test_regenerating_revokes_the_old_address_and_revoking_ends_it(app, client, run, mw):
    run(lambda: plan())
    sign_in_as(client, run, ROLES["novice"])
    page = client.get("/networks/test-net/meetings/calendar").get_data(as_text=True)
    assert "Make my calendar address" in page
    created = client.post(
        "/networks/test-net/meetings/calendar",
        data={"csrf_token": csrf_from(page), "scope": "network", "action": "create"},
    )
    body = created.get_data(as_text=True)
    assert created.status_code == 200 and "shown only once" in body
    assert created.headers["Cache-Control"] == "no-store"
    https = body.split('id="feed-network-https" type="text" readonly value="', 1)[1].split('"', 1)[0]
    webcal = body.split('id="feed-network-webcal" type="text" readonly value="', 1)[1].split('"', 1)[0]
    assert https.startswith(app.config["BASE_URL"] + "/calendar/") and https.endswith(".ics")
    assert webcal == "webcal://" + https.split("://", 1)[1]
    first = path_of(https)
    assert len(events(parse(client.get(first)))) == 1
    token = first.removeprefix("/calendar/").removesuffix(".ics")
    stored = run(lambda: session.scalar(sa.select(CalendarFeed.token_hash)))
    assert stored == hash_token(token) and token not in stored  # only the hash is kept

    again = client.post(
        "/networks/test-net/meetings/calendar",
        data={"csrf_token": csrf_from(body), "scope": "network", "action": "create"},
    ).get_data(as_text=True)
    second = path_of(
        again.split('id="feed-network-https" type="text" readonly value="', 1)[1].split('"', 1)[0]
    )
    assert second != first
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200
    page = client.get("/networks/test-net/meetings/calendar").get_data(as_text=True)
    assert "shown only once" in page and token not in page  # never shown again
    response = client.post(
        "/networks/test-net/meetings/calendar",
        data={"csrf_token": csrf_from(page), "scope": "network", "action": "revoke"},
    )
    assert response.status_code == 303
    assert client.get(second).status_code == 410


def test_personal_and_network_addresses_are_separate(client, run, mw):
    personal = feed_token(run, ROLES["novice"])
    network = feed_token(run, ROLES["novice"], "test-net")
    run(lambda: ical.revoke_feed(person(ROLES["novice"]), get_network("test-net")))
    assert client.get(f"/calendar/{network}.ics").status_code == 410
    assert client.get(f"/calendar/{personal}.ics").status_code == 200


def test_network_feed_stops_when_the_membership_ends(client, run, mw):
    token = feed_token(run, ROLES["novice"], "test-net")
    assert client.get(f"/calendar/{token}.ics").status_code == 200

    def suspend():
        session.scalar(
            sa.select(Membership).where(Membership.person_id == person(ROLES["novice"]).id)
        ).status = MembershipStatus.suspended

    run(suspend)
    assert client.get(f"/calendar/{token}.ics").status_code == 410


def test_unknown_feed_token_is_410_and_not_a_calendar(client, run, mw):
    response = client.get("/calendar/not-a-real-token.ics")
    assert response.status_code == 410
    assert not response.headers["Content-Type"].startswith("text/calendar")


def test_outsider_cannot_make_an_address_for_another_network(run, mw, ctx):
    from network_service.errors import Forbidden

    with pytest.raises(Forbidden):
        ical.create_feed(person(ROLES["outsider"]), get_network("test-net"))


def test_single_meeting_download_is_a_calendar_with_the_answer(client, run, mw):
    def setup():
        meeting = plan(timezone="America/Sao_Paulo")
        operations.set_rsvp(meeting, person(ROLES["novice"]), "maybe")
        return meeting.id

    meeting_id = run(setup)
    sign_in_as(client, run, ROLES["novice"])
    response = client.get(f"/networks/test-net/meetings/{meeting_id}.ics")
    assert "attachment" in response.headers["Content-Disposition"]
    [event] = events(parse(response))
    assert str(event["X-MENTORNET-RSVP"]) == "maybe"
    assert event["ATTENDEE"].params["PARTSTAT"] == "TENTATIVE"
    assert event.decoded("DTSTART").utcoffset() == dt.timedelta(0)


def add_feed_meetings(run, count: int, start: int):
    def create():
        me = person(ROLES["novice"])
        for i in range(start, start + count):
            meeting = plan(title=f"F{i}", starts_in=dt.timedelta(days=1, minutes=i))
            operations.set_rsvp(meeting, me, "yes")
            plan(slug="other-net", organiser="othercoord@example.org", title=f"O{i}")

    run(create)


def test_feeds_run_a_fixed_number_of_statements(app, client, run, mw):
    personal = feed_token(run, ROLES["novice"])
    network = feed_token(run, ROLES["novice"], "test-net")
    add_feed_meetings(run, 3, 0)
    small = (
        count_statements(app, lambda: client.get(f"/calendar/{personal}.ics")),
        count_statements(app, lambda: client.get(f"/calendar/{network}.ics")),
    )
    add_feed_meetings(run, 12, 3)
    assert len(events(parse(client.get(f"/calendar/{personal}.ics")))) == 15
    large = (
        count_statements(app, lambda: client.get(f"/calendar/{personal}.ics")),
        count_statements(app, lambda: client.get(f"/calendar/{network}.ics")),
    )
    assert large == small


def test_feed_needs_no_session_and_sets_no_cookie(client, run, mw):
    run(lambda: plan())
    token = feed_token(run, ROLES["novice"], "test-net")
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "private, no-store"
    assert client.head(f"/calendar/{token}.ics").status_code == 200
