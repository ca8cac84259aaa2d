"""Meetings: time zones, validation, answers, notifications, reminders, permissions and statement counts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from network_service.db import db, session, utcnow
from network_service.errors import Forbidden, InvalidInput
from network_service.meetings import display, operations
from network_service.meetings.models import Meeting, MeetingReminder, ReminderKind, Rsvp, RsvpAnswer
from network_service.meetings.timezones import to_utc
from network_service.networks.models import Membership, MembershipStatus
from network_service.networks.operations import get_network
from network_service.networks.roadmap import checkpoints
from network_service.notifications.models import EmailFrequency, Notification, NotificationSetting
from tests.helpers import csrf_from, mails, sign_in_as
from tests.meetings_support import ROLES, bearer, build_meetings_world, person, plan, token_for

API = "/api/v1"
UTC = dt.UTC


@pytest.fixture
def mw(run):
    return run(build_meetings_world)


def notified(run, kind: str) -> set[str]:
    return set(
        run(
            lambda: [
                n.person.email
                for n in session.scalars(sa.select(Notification).where(Notification.kind == kind))
            ]
        )
    )


def answer(run, meeting_id: int, email: str, value: str, now=None):
    run(lambda: operations.set_rsvp(session.get(Meeting, meeting_id), person(email), value, now=now))


# --- time zones -----------------------------------------------------------------------------------------------


def test_wall_clock_time_becomes_utc_across_daylight_saving():
    winter = to_utc(dt.datetime(2026, 1, 15, 18, 0), "Europe/Berlin")
    summer = to_utc(dt.datetime(2026, 7, 15, 18, 0), "Europe/Berlin")
    assert winter == dt.datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
    assert summer == dt.datetime(2026, 7, 15, 16, 0, tzinfo=UTC)
    # Clocks go back on 25 October 2026: 02:30 happens twice; the first one is meant.
    assert to_utc(dt.datetime(2026, 10, 25, 2, 30), "Europe/Berlin") == dt.datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_a_time_skipped_when_clocks_go_forward_is_refused(ctx):
    with pytest.raises(InvalidInput) as error:
        to_utc(dt.datetime(2026, 3, 29, 2, 30), "Europe/Berlin", "starts_at")
    assert error.value.field == "starts_at"
    assert "does not exist" in error.value.detail


def test_viewer_sees_their_own_zone_and_the_organisers_between_the_two_dst_changes(mw, ctx):
    # 20 March 2026: the USA already changed to summer time (8 March), Europe not yet (29 March): 5 hours apart.
    meeting = operations.create_meeting(
        get_network("test-net"),
        operations.MeetingInput(
            title="Planning",
            description="",
            starts_at=dt.datetime(2026, 3, 20, 18, 0),
            ends_at=dt.datetime(2026, 3, 20, 19, 30),
            timezone="Europe/Berlin",
            online_url="https://meet.example.org/p",
        ),
        actor=person(ROLES["coordinator"]),
        now=dt.datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert meeting.starts_at == dt.datetime(2026, 3, 20, 17, 0, tzinfo=UTC)
    viewer = person(ROLES["novice"])
    viewer.timezone = "America/New_York"
    when = display.when(meeting, viewer)
    assert "1:00\u202fPM" in when.text or "1:00 PM" in when.text
    assert "2:30" in when.text
    assert when.zone_text == "New York time"
    assert re.search(r"6:00.PM Berlin time", when.other_zone_text)
    assert when.start_iso == "2026-03-20T17:00:00+00:00"
    viewer.timezone = None  # no zone of their own: the meeting's, without a second one
    when = display.when(meeting, viewer)
    assert re.search(r"6:00.PM", when.text) and when.other_zone_text == ""


def test_page_shows_time_element_and_the_organisers_zone(client, run, mw):
    def setup():
        person(ROLES["novice"]).timezone = "Europe/London"
        return plan(timezone="Europe/Berlin").id

    meeting_id = run(setup)
    sign_in_as(client, run, ROLES["novice"])
    page = client.get(f"/networks/test-net/meetings/{meeting_id}").get_data(as_text=True)
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:]+\+00:00">', page)
    assert "London time" in page and "Berlin time" in page


# --- creating, validation ---------------------------------------------------------------------------------------


def form_data(page: str, **overrides) -> dict:
    day = (utcnow() + dt.timedelta(days=5)).date().isoformat()
    data = {
        "csrf_token": csrf_from(page),
        "title": "Exchange on housing",
        "description": "Bring your questions.",
        "date": day,
        "start_time": "18:00",
        "end_time": "19:30",
        "timezone": "Europe/Berlin",
        "timezone_other": "",
        "online_url": "https://meet.example.org/housing",
        "place": "",
    }
    data.update(overrides)
    return data


def test_the_form_starts_in_the_zone_the_network_meets_in_when_the_organiser_set_none(client, run, mw):
    def no_zone_of_my_own():
        person(ROLES["coordinator"]).timezone = None

    run(no_zone_of_my_own)
    sign_in_as(client, run, ROLES["coordinator"])
    selected = re.compile(r'<option selected value="([^"]+)"')
    page = client.get("/networks/test-net/meetings/new").get_data(as_text=True)
    assert selected.findall(page) == ["UTC"]  # nothing to go by: the site default
    run(lambda: plan(starts_in=dt.timedelta(days=-20), timezone="Asia/Tokyo"))
    run(lambda: plan(starts_in=dt.timedelta(days=5), timezone="America/Sao_Paulo"))
    page = client.get("/networks/test-net/meetings/new").get_data(as_text=True)
    assert selected.findall(page) == ["America/Sao_Paulo"]  # the latest meeting's zone, offered and chosen
    # the organiser's own zone still comes first
    run(lambda: setattr(person(ROLES["coordinator"]), "timezone", "Europe/Rome"))
    page = client.get("/networks/test-net/meetings/new").get_data(as_text=True)
    assert selected.findall(page) == ["Europe/Rome"]


def test_experienced_mentor_plans_a_meeting_and_active_members_are_told(client, run, mw):
    def invite_someone():
        network = get_network("test-net")
        session.add(
            Membership(
                network=network, person=person("othercoord@example.org"), status=MembershipStatus.invited
            )
        )
        session.add(
            NotificationSetting(
                person_id=person(ROLES["novice"]).id, email_frequency=EmailFrequency.immediately
            )
        )

    run(invite_someone)
    sign_in_as(client, run, ROLES["experienced"])
    page = client.get("/networks/test-net/meetings/new").get_data(as_text=True)
    assert 'value="Europe/Berlin"' in page
    response = client.post(
        "/networks/test-net/meetings/new", data=form_data(page, timezone="UTC", timezone_other="Europe/Rome")
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    meeting = run(lambda: session.scalar(sa.select(Meeting)))
    assert meeting.timezone == "Europe/Rome" and meeting.title == "Exchange on housing"
    assert meeting.organiser_id == run(lambda: person(ROLES["experienced"]).id)
    assert meeting.ends_at - meeting.starts_at == dt.timedelta(minutes=90)
    assert notified(run, "meetings.new") == {
        ROLES["coordinator"],
        ROLES["meta_mentor"],
        ROLES["office"],
        ROLES["novice"],
    }  # not the organiser, not the invitee, not other networks
    [mail] = run(lambda: mails(to=ROLES["novice"], kind="notification.meetings.new"))
    assert "New meeting in Test Network: Exchange on housing" in mail.body_text
    assert run(lambda: mails(to=ROLES["coordinator"], kind="notification.meetings.new")) == []


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"end_time": "17:00"}, "end_time", "end after it starts"),
        ({"date": "2020-01-01"}, "start_time", "has passed"),
        ({"online_url": "", "place": ""}, "place", "a meeting link, a place, or both"),
        ({"online_url": "javascript:alert(1)"}, "online_url", "https://"),
        ({"online_url": "ftp://files.example.org/x"}, "online_url", "https://"),
        ({"title": "x" * 201}, "title", "200"),
        ({"title": "   "}, "title", "title"),
        ({"timezone": "UTC", "timezone_other": "Mars/Olympus"}, "timezone_other", "Europe/Berlin"),
        ({"timezone": "Not/AZone"}, "timezone", "Not a valid choice"),
        ({"description": "x" * 20_001}, "description", "20000"),
        ({"start_time": "25:00"}, "start_time", "Not a valid time"),
        ({"place": "p" * 301}, "place", "300"),
    ],
)
def test_invalid_meeting_form_is_422_with_the_error_at_the_field_and_saves_nothing(
    client, run, mw, overrides, field, message
):
    sign_in_as(client, run, ROLES["coordinator"])
    page = client.get("/networks/test-net/meetings/new").get_data(as_text=True)
    response = client.post("/networks/test-net/meetings/new", data=form_data(page, **overrides))
    body = response.get_data(as_text=True)
    assert response.status_code == 422, body
    assert f'id="{field}-error"' in body, body
    error = body.split(f'id="{field}-error"', 1)[1].split("</p>", 1)[0]
    assert message.lower() in error.lower().replace("20,000", "20000"), error
    assert "Please correct the marked fields" in body
    assert run(lambda: session.scalar(sa.select(sa.func.count(Meeting.id)))) == 0


@pytest.mark.parametrize(("start", "end", "minutes"), [("20:00", "00:30", 270), ("23:30", "00:00", 30)])
def test_a_meeting_past_midnight_ends_the_next_day(client, run, mw, start, end, minutes):
    sign_in_as(client, run, ROLES["coordinator"])
    page = client.get("/networks/test-net/meetings/new").get_data(as_text=True)
    assert "counts as the next day" in page
    response = client.post(
        "/networks/test-net/meetings/new", data=form_data(page, start_time=start, end_time=end)
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    meeting = run(lambda: session.scalar(sa.select(Meeting)))
    assert meeting.ends_at - meeting.starts_at == dt.timedelta(minutes=minutes)
    edit = client.get(f"/networks/test-net/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert f'value="{end}"' in edit
    response = client.post(
        f"/networks/test-net/meetings/{meeting.id}/edit",
        data=form_data(edit, title="Renamed", start_time=start, end_time=end),
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    meeting = run(lambda: session.get(Meeting, meeting.id))
    assert meeting.ends_at - meeting.starts_at == dt.timedelta(minutes=minutes)  # the edit form keeps it


def test_script_in_the_description_is_not_executed(client, run, mw):
    meeting_id = run(
        lambda: plan(description="`<script>alert(1)</script>` [x](javascript:alert(2)) **ok**").id
    )
    sign_in_as(client, run, ROLES["novice"])
    page = client.get(f"/networks/test-net/meetings/{meeting_id}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert 'href="javascript' not in page
    assert "<strong>ok</strong>" in page


def test_meeting_in_the_dst_gap_is_refused_by_the_form(client, run, mw):
    sign_in_as(client, run, ROLES["coordinator"])
    page = client.get("/networks/test-net/meetings/new").get_data(as_text=True)
    # Pick the next spring-forward night in Berlin that lies in the future.
    year = utcnow().year + 1
    last_sunday = max(d for d in (dt.date(year, 3, day) for day in range(25, 32)) if d.weekday() == 6)
    data = form_data(page, date=last_sunday.isoformat(), start_time="02:15", end_time="03:30")
    response = client.post("/networks/test-net/meetings/new", data=data)
    assert response.status_code == 422
    assert "does not exist in Europe/Berlin" in response.get_data(as_text=True)


# --- RSVP, changes, cancellation ---------------------------------------------------------------------------------


def test_rsvp_is_saved_replaced_and_names_of_yes_and_maybe_are_shown(client, run, mw):
    meeting_id = run(lambda: plan().id)
    answer(run, meeting_id, ROLES["meta_mentor"], "maybe")
    answer(run, meeting_id, ROLES["office"], "no")
    sign_in_as(client, run, ROLES["novice"])
    url = f"/networks/test-net/meetings/{meeting_id}"
    page = client.get(url).get_data(as_text=True)
    response = client.post(url + "/rsvp", data={"csrf_token": csrf_from(page), "answer": "yes"})
    assert response.status_code == 303
    client.post(url + "/rsvp", data={"csrf_token": csrf_from(page), "answer": "maybe"})
    client.post(url + "/rsvp", data={"csrf_token": csrf_from(page), "answer": "yes"})
    rows = run(
        lambda: [
            (r.person.email, r.answer)
            for r in session.scalars(sa.select(Rsvp).where(Rsvp.meeting_id == meeting_id))
        ]
    )
    assert sorted(rows) == sorted(
        [
            (ROLES["novice"], RsvpAnswer.yes),
            (ROLES["meta_mentor"], RsvpAnswer.maybe),
            (ROLES["office"], RsvpAnswer.no),
        ]
    )
    page = client.get(url).get_data(as_text=True)
    assert "Mina Mentor" in page and "Marco Meta" in page
    assert "Olga Office" not in page  # "no" answers are not listed
    assert 'aria-pressed="true"' in page
    bad = client.post(url + "/rsvp", data={"csrf_token": csrf_from(page), "answer": "perhaps"})
    assert bad.status_code == 422
    assert (
        run(
            lambda: session.scalar(
                sa.select(Rsvp.answer)
                .join(Rsvp.person)
                .where(Rsvp.meeting_id == meeting_id, Rsvp.person_id == person(ROLES["novice"]).id)
            )
        )
        == RsvpAnswer.yes
    )


def test_rsvp_without_csrf_is_refused(client, run, mw):
    meeting_id = run(lambda: plan().id)
    sign_in_as(client, run, ROLES["novice"])
    response = client.post(f"/networks/test-net/meetings/{meeting_id}/rsvp", data={"answer": "yes"})
    assert response.status_code in (302, 303, 400)
    assert run(lambda: session.scalar(sa.select(sa.func.count(Rsvp.id)))) == 0


def test_no_rsvp_to_a_cancelled_or_past_meeting(mw, ctx):
    now = utcnow()
    meeting = plan(starts_in=dt.timedelta(hours=2))
    with pytest.raises(InvalidInput):
        operations.set_rsvp(meeting, person(ROLES["novice"]), "yes", now=now + dt.timedelta(hours=5))
    operations.cancel_meeting(meeting, actor=person(ROLES["coordinator"]))
    with pytest.raises(InvalidInput):
        operations.set_rsvp(meeting, person(ROLES["novice"]), "yes")


def test_changing_time_or_place_tells_who_answered_yes_or_maybe(client, run, mw):
    meeting_id = run(lambda: plan(organiser=ROLES["experienced"]).id)
    answer(run, meeting_id, ROLES["novice"], "yes")
    answer(run, meeting_id, ROLES["office"], "maybe")
    answer(run, meeting_id, ROLES["meta_mentor"], "no")
    sign_in_as(client, run, ROLES["experienced"])
    url = f"/networks/test-net/meetings/{meeting_id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'value="Monthly exchange"' in page
    fields = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', page))
    data = form_data(
        page,
        date=fields["date"],
        start_time=fields["start_time"],
        end_time=fields["end_time"],
        title="Monthly exchange (new title)",
        online_url="https://meet.example.org/exchange",
    )
    assert client.post(url, data=data).status_code == 303
    assert notified(run, "meetings.changed") == set()  # a new title alone is no reason to disturb anyone
    assert run(lambda: session.get(Meeting, meeting_id).sequence) == 1
    data["place"] = "Community centre, Room 2"
    assert client.post(url, data=data).status_code == 303
    assert notified(run, "meetings.changed") == {ROLES["novice"], ROLES["office"]}
    meeting = run(lambda: session.get(Meeting, meeting_id))
    assert meeting.sequence == 2 and meeting.place == "Community centre, Room 2"


def test_cancelling_tells_who_answered_yes_or_maybe_and_blocks_further_changes(client, run, mw):
    meeting_id = run(lambda: plan().id)
    answer(run, meeting_id, ROLES["novice"], "yes")
    answer(run, meeting_id, ROLES["office"], "no")
    sign_in_as(client, run, ROLES["meta_mentor"])
    url = f"/networks/test-net/meetings/{meeting_id}/cancel"
    page = client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_from(page), "reason": "Too few people available"})
    assert response.status_code == 303
    assert notified(run, "meetings.cancelled") == {ROLES["novice"]}
    meeting = run(lambda: session.get(Meeting, meeting_id))
    assert (
        meeting.is_cancelled and meeting.cancel_reason == "Too few people available" and meeting.sequence == 1
    )
    page = client.get(f"/networks/test-net/meetings/{meeting_id}").get_data(as_text=True)
    assert "This meeting is cancelled." in page and "Too few people available" in page
    assert 'name="answer"' not in page
    again = client.post(url, data={"csrf_token": csrf_from(page)})
    assert again.status_code == 422


def test_organiser_who_left_can_no_longer_edit(mw, ctx):
    meeting = plan(organiser=ROLES["experienced"])
    session.scalar(
        sa.select(Membership).where(Membership.person_id == person(ROLES["experienced"]).id)
    ).status = MembershipStatus.left
    session.flush()
    with pytest.raises(Forbidden):
        operations.cancel_meeting(meeting, actor=person(ROLES["experienced"]))


# --- reminders ----------------------------------------------------------------------------------------------------


def test_reminders_24h_and_1h_go_once_to_yes_and_maybe_across_runs(run, mw):
    now = dt.datetime(2030, 5, 4, 12, 0, tzinfo=UTC)
    start = now + dt.timedelta(hours=30)
    meeting_id = run(lambda: plan(now=now, starts_in=dt.timedelta(hours=30)).id)
    other_id = run(lambda: plan(now=now, starts_in=dt.timedelta(hours=30), title="Cancelled one").id)
    for email, value in [(ROLES["novice"], "yes"), (ROLES["office"], "maybe"), (ROLES["meta_mentor"], "no")]:
        answer(run, meeting_id, email, value, now=now)
        answer(run, other_id, email, value, now=now)
    run(
        lambda: operations.cancel_meeting(
            session.get(Meeting, other_id), actor=person(ROLES["coordinator"]), now=now
        )
    )

    assert run(operations.send_reminders, now=start - dt.timedelta(hours=25)) == 0
    assert run(operations.send_reminders, now=start - dt.timedelta(hours=23, minutes=55)) == 2
    assert run(operations.send_reminders, now=start - dt.timedelta(hours=23, minutes=50)) == 0  # a second run
    assert run(operations.send_reminders, now=start - dt.timedelta(hours=2)) == 0
    assert run(operations.send_reminders, now=start - dt.timedelta(minutes=58)) == 2
    assert run(operations.send_reminders, now=start - dt.timedelta(minutes=55)) == 0
    assert run(operations.send_reminders, now=start + dt.timedelta(minutes=5)) == 0

    reminders = run(
        lambda: sorted((r.person_id, r.kind) for r in session.scalars(sa.select(MeetingReminder)))
    )
    novice, office = run(lambda: (person(ROLES["novice"]).id, person(ROLES["office"]).id))
    assert reminders == sorted(
        [
            (novice, ReminderKind.day),
            (novice, ReminderKind.hour),
            (office, ReminderKind.day),
            (office, ReminderKind.hour),
        ]
    )
    assert (
        run(
            lambda: session.scalar(
                sa.select(sa.func.count(Notification.id)).where(Notification.kind == "meetings.reminder")
            )
        )
        == 4
    )
    assert notified(run, "meetings.reminder") == {ROLES["novice"], ROLES["office"]}


def test_a_reminder_another_process_already_sent_is_not_sent_again(run, mw):
    now = dt.datetime(2030, 5, 4, 12, 0, tzinfo=UTC)
    meeting_id = run(lambda: plan(now=now, starts_in=dt.timedelta(hours=20)).id)
    answer(run, meeting_id, ROLES["novice"], "yes", now=now)
    answer(run, meeting_id, ROLES["office"], "yes", now=now)

    def other_process_claims_novice():
        session.add(
            MeetingReminder(
                meeting_id=meeting_id,
                person_id=person(ROLES["novice"]).id,
                kind=ReminderKind.day,
                sent_at=now,
            )
        )

    run(other_process_claims_novice)
    assert run(operations.send_reminders, now=now) == 1
    assert notified(run, "meetings.reminder") == {ROLES["office"]}


def test_moving_a_meeting_resets_its_reminders(run, mw):
    now = dt.datetime(2030, 5, 4, 12, 0, tzinfo=UTC)
    meeting_id = run(lambda: plan(now=now, starts_in=dt.timedelta(hours=20)).id)
    answer(run, meeting_id, ROLES["novice"], "yes", now=now)
    assert run(operations.send_reminders, now=now) == 1

    def move():
        meeting = session.get(Meeting, meeting_id)
        data = operations.MeetingInput(
            title=meeting.title,
            description=meeting.description,
            starts_at=meeting.starts_at + dt.timedelta(days=2),
            ends_at=meeting.ends_at + dt.timedelta(days=2),
            timezone=meeting.timezone,
            online_url=meeting.online_url,
            place=meeting.place,
        )
        operations.update_meeting(meeting, data, actor=person(ROLES["coordinator"]), now=now)

    run(move)
    assert run(operations.send_reminders, now=now + dt.timedelta(days=2)) == 1


def test_the_reminder_job_is_registered(app):
    from network_service.jobs import jobs_of

    job = jobs_of(app)["meetings.remind"]
    assert job.every == dt.timedelta(minutes=5)


# --- lists, badge, next meeting, roadmap ------------------------------------------------------------------------


def test_list_shows_upcoming_and_past_and_the_badge_counts_unanswered(client, run, mw):
    def setup():
        past = plan(title="Kick-off", now=utcnow() - dt.timedelta(days=10), starts_in=dt.timedelta(days=1))
        soon = plan(title="Soon")
        later = plan(title="Later", starts_in=dt.timedelta(days=9))
        operations.set_rsvp(later, person(ROLES["novice"]), "no")
        return past.id, soon.id

    run(setup)
    sign_in_as(client, run, ROLES["novice"])
    page = client.get("/networks/test-net/meetings").get_data(as_text=True)
    upcoming, past = page.split("Past meetings", 1)
    assert upcoming.index("Soon") < upcoming.index("Later") and "Kick-off" in past
    assert re.search(r'Meetings <span class="badge badge-count">1<', page)


def test_upcoming_list_pages_with_a_cursor(client, run, mw):
    run(lambda: [plan(title=f"Meeting {i:02d}", starts_in=dt.timedelta(days=1, hours=i)) for i in range(55)])
    sign_in_as(client, run, ROLES["novice"])
    page = client.get("/networks/test-net/meetings").get_data(as_text=True)
    assert "Meeting 49" in page and "Meeting 50" not in page
    after = re.search(r'href="(/networks/test-net/meetings\?after=[^"]+)"', page).group(1)
    second = client.get(after.replace("&amp;", "&")).get_data(as_text=True)
    assert "Meeting 50" in second and "Meeting 54" in second and "Meeting 49" not in second
    assert client.get("/networks/test-net/meetings?after=nonsense").status_code == 422


def test_next_meeting_skips_cancelled_and_past(mw, ctx):
    network = get_network("test-net")
    viewer = person(ROLES["novice"])
    assert operations.next_meeting(network, viewer) is None
    first = plan(title="First", starts_in=dt.timedelta(days=1))
    plan(title="Second", starts_in=dt.timedelta(days=2))
    operations.cancel_meeting(first, actor=person(ROLES["coordinator"]))
    assert operations.next_meeting(network, viewer).meeting.title == "Second"
    assert operations.next_meeting(network, person(ROLES["outsider"])) is None


def test_first_meeting_held_needs_an_ended_meeting_with_two_yes(mw, ctx):
    network = get_network("test-net")
    checkpoint = next(c for c in checkpoints() if c.key == "meetings.first_held")
    assert checkpoint.phase.value == "sustain"
    now = utcnow()
    meeting = plan(now=now - dt.timedelta(days=5), starts_in=dt.timedelta(days=1))
    operations.set_rsvp(meeting, person(ROLES["novice"]), "yes", now=now - dt.timedelta(days=5))
    assert not checkpoint.reached(network)
    operations.set_rsvp(meeting, person(ROLES["office"]), "yes", now=now - dt.timedelta(days=5))
    assert checkpoint.reached(network)
    meeting.cancelled_at = now
    session.flush()
    assert not checkpoint.reached(network)
    upcoming = plan()
    for email in (ROLES["novice"], ROLES["office"]):
        operations.set_rsvp(upcoming, person(email), "yes")
    assert not checkpoint.reached(network)  # not over yet


# --- permissions: web ---------------------------------------------------------------------------------------------

ALL = ["coordinator", "meta_mentor", "office", "experienced", "novice", "admin", "outsider"]
CREATORS = {"coordinator", "meta_mentor", "office", "experienced", "admin"}
EDITORS = {"coordinator", "meta_mentor", "admin"}  # plus the organiser (office here)
MEMBERS = {"coordinator", "meta_mentor", "office", "experienced", "novice", "admin"}


@pytest.mark.parametrize("role", ALL)
def test_web_permissions_for_every_page(client, run, mw, role):
    meeting_id = run(lambda: plan(organiser=ROLES["office"]).id)
    sign_in_as(client, run, ROLES[role])
    base = "/networks/test-net/meetings"
    expect_member = 200 if role in MEMBERS else 403
    assert client.get(base).status_code == expect_member
    assert client.get(f"{base}/{meeting_id}").status_code == expect_member
    assert client.get(f"{base}/{meeting_id}.ics").status_code == expect_member
    assert client.get(f"{base}/calendar").status_code == expect_member
    assert client.get(f"{base}/new").status_code == (200 if role in CREATORS else 403)
    can_edit = role in EDITORS or role == "office"
    assert client.get(f"{base}/{meeting_id}/edit").status_code == (200 if can_edit else 403)
    assert client.get(f"{base}/{meeting_id}/cancel").status_code == (200 if can_edit else 403)
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    rsvp = client.post(f"{base}/{meeting_id}/rsvp", data={"csrf_token": token, "answer": "yes"})
    assert rsvp.status_code == (303 if role in MEMBERS else 403)
    created = client.post(f"{base}/new", data=form_data(f'name="csrf_token" value="{token}"'))
    assert created.status_code == (303 if role in CREATORS else 403)
    cancelled = client.post(f"{base}/{meeting_id}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == (303 if can_edit else 403)
    feed = client.post(f"{base}/calendar", data={"csrf_token": token, "scope": "network", "action": "create"})
    assert feed.status_code == expect_member
    counts = run(
        lambda: (
            session.scalar(sa.select(sa.func.count(Meeting.id))),
            session.scalar(sa.select(sa.func.count(Rsvp.id))),
        )
    )
    assert counts == ((2 if role in CREATORS else 1), (1 if role in MEMBERS else 0))


def test_anonymous_is_sent_to_sign_in_everywhere(client, run, mw):
    meeting_id = run(lambda: plan().id)
    base = "/networks/test-net/meetings"
    for path in [
        base,
        f"{base}/new",
        f"{base}/{meeting_id}",
        f"{base}/{meeting_id}/edit",
        f"{base}/{meeting_id}/cancel",
        f"{base}/{meeting_id}.ics",
        f"{base}/calendar",
    ]:
        response = client.get(path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], path
    assert client.post(f"{base}/{meeting_id}/rsvp", data={"answer": "yes"}).status_code in (302, 400)
    assert run(lambda: session.scalar(sa.select(sa.func.count(Rsvp.id)))) == 0


# --- permissions: API -------------------------------------------------------------------------------------------


def api_body(**overrides):
    start = (utcnow() + dt.timedelta(days=4)).replace(microsecond=0, tzinfo=None)
    body = {
        "title": "API meeting",
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
        "timezone": "Europe/Rome",
        "place": "Via Roma 1, Bologna",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("role", ALL)
def test_api_permissions_for_every_endpoint(client, run, mw, role):
    meeting_id = run(lambda: plan(organiser=ROLES["office"]).id)
    headers = bearer(token_for(run, ROLES[role]))
    base = f"{API}/networks/test-net/meetings"
    member = role in MEMBERS
    can_edit = role in EDITORS or role == "office"
    assert client.get(base, headers=headers).status_code == (200 if member else 403)
    assert client.get(f"{base}/{meeting_id}", headers=headers).status_code == (200 if member else 403)
    created = client.post(base, json=api_body(), headers=headers)
    assert created.status_code == (201 if role in CREATORS else 403), created.get_json()
    rsvp = client.put(f"{base}/{meeting_id}/rsvp", json={"answer": "maybe"}, headers=headers)
    assert rsvp.status_code == (200 if member else 403)
    patched = client.patch(f"{base}/{meeting_id}", json={"title": "Renamed"}, headers=headers)
    assert patched.status_code == (200 if can_edit else 403)
    cancelled = client.post(f"{base}/{meeting_id}/cancel", json={"reason": "Storm"}, headers=headers)
    assert cancelled.status_code == (200 if can_edit else 403)
    feed = client.post(f"{API}/networks/test-net/calendar-feed", headers=headers)
    assert feed.status_code == (201 if member else 403)
    assert client.delete(f"{API}/networks/test-net/calendar-feed", headers=headers).status_code == (
        204 if member else 403
    )
    mine = client.post(f"{API}/me/calendar-feed", headers=headers)
    assert mine.status_code == 201 and mine.get_json()["webcal"].startswith("webcal://")
    assert client.delete(f"{API}/me/calendar-feed", headers=headers).status_code == 204


def test_api_without_credentials_is_401(client, run, mw):
    meeting_id = run(lambda: plan().id)
    base = f"{API}/networks/test-net/meetings"
    for method, path in [
        ("get", base),
        ("post", base),
        ("get", f"{base}/{meeting_id}"),
        ("patch", f"{base}/{meeting_id}"),
        ("post", f"{base}/{meeting_id}/cancel"),
        ("put", f"{base}/{meeting_id}/rsvp"),
        ("post", f"{API}/me/calendar-feed"),
        ("delete", f"{API}/networks/test-net/calendar-feed"),
    ]:
        assert getattr(client, method)(path, json={}).status_code == 401, path


def test_api_create_and_update_speak_local_time_and_validate(client, run, mw):
    headers = bearer(token_for(run, ROLES["coordinator"]))
    base = f"{API}/networks/test-net/meetings"
    response = client.post(
        base, json=api_body(starts_at="2031-07-01T18:00:00", ends_at="2031-07-01T19:00:00"), headers=headers
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["starts_at"].startswith("2031-07-01T16:00:00") and body["timezone"] == "Europe/Rome"
    # Moving to another zone keeps the wall-clock time the organiser planned.
    moved = client.patch(
        f"{base}/{body['id']}", json={"timezone": "Europe/London"}, headers=headers
    ).get_json()
    assert moved["starts_at"].startswith("2031-07-01T17:00:00") and moved["sequence"] == 1
    for bad, field in [
        ({"ends_at": "2031-07-01T17:00:00"}, "ends_at"),
        ({"timezone": "Nowhere/Town"}, "timezone"),
        ({"online_url": "javascript:alert(1)", "place": ""}, "online_url"),
        ({"place": ""}, "place"),
        ({"title": 12}, "title"),
        ({"surprise": True}, "surprise"),
        ({"starts_at": "2031-07-01"}, "starts_at"),  # a date without a time of day is not midnight
        ({"ends_at": "2031-07-01 "}, "ends_at"),
    ]:
        data = api_body(starts_at="2031-07-01T18:00:00", ends_at="2031-07-01T19:00:00")
        data.update(bad)
        problem = client.post(base, json=data, headers=headers)
        assert problem.status_code == 422, (bad, problem.get_json())
        assert field in problem.get_json().get("errors", {}), problem.get_json()
    listing = client.get(base, headers=headers).get_json()
    assert [m["title"] for m in listing["items"]] == ["API meeting"] and listing["next_cursor"] is None
    answered = client.put(f"{base}/{body['id']}/rsvp", json={"answer": "yes"}, headers=headers).get_json()
    assert answered["my_answer"] == "yes" and answered["yes_count"] == 1
    assert (
        client.put(f"{base}/{body['id']}/rsvp", json={"answer": "perhaps"}, headers=headers).status_code
        == 422
    )
    assert client.get(f"{base}/999999", headers=headers).status_code == 404


def test_a_meeting_is_not_reachable_through_another_network(client, run, mw):
    meeting_id = run(lambda: plan().id)
    headers = bearer(token_for(run, ROLES["outsider"]))
    # The outsider is a member of other-net, but the meeting belongs to test-net.
    assert client.get(f"{API}/networks/other-net/meetings/{meeting_id}", headers=headers).status_code == 404


# --- statement counts ---------------------------------------------------------------------------------------------


def count_statements(app, action) -> int:
    statements = []

    def listener(*_args, **_kwargs):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def add_meetings(run, count: int, start_index: int):
    def create():
        for i in range(start_index, start_index + count):
            meeting = plan(
                title=f"M{i}", starts_in=dt.timedelta(days=1, minutes=i), organiser=ROLES["experienced"]
            )
            operations.set_rsvp(meeting, person(ROLES["novice"]), "yes")
            past = plan(
                title=f"P{i}", now=utcnow() - dt.timedelta(days=20), starts_in=dt.timedelta(days=1, minutes=i)
            )
            operations.set_rsvp(past, person(ROLES["office"]), "maybe", now=utcnow() - dt.timedelta(days=20))

    run(create)


def test_list_page_and_api_list_run_a_fixed_number_of_statements(app, client, run, mw):
    sign_in_as(client, run, ROLES["novice"])
    headers = bearer(token_for(run, ROLES["novice"]))
    add_meetings(run, 4, 0)
    small_page = count_statements(app, lambda: client.get("/networks/test-net/meetings"))
    client.get(f"{API}/networks/test-net/meetings", headers=headers)  # the token notes its use (every 5 min)
    small_api = count_statements(
        app, lambda: client.get(f"{API}/networks/test-net/meetings", headers=headers)
    )
    add_meetings(run, 16, 4)
    page = client.get("/networks/test-net/meetings").get_data(as_text=True)
    assert "M19" in page
    assert count_statements(app, lambda: client.get("/networks/test-net/meetings")) == small_page
    assert (
        count_statements(app, lambda: client.get(f"{API}/networks/test-net/meetings", headers=headers))
        == small_api
    )


def test_demo_seeds_a_past_and_two_upcoming_meetings(mw, ctx):
    from network_service.meetings.demo import seed_demo

    people = {
        "Coordinator": person(ROLES["coordinator"]),
        "Meta-Mentor": person(ROLES["meta_mentor"]),
        "Network office": person(ROLES["office"]),
        "Experienced mentor": person(ROLES["experienced"]),
        "Novice mentor": person(ROLES["novice"]),
    }
    network = get_network("test-net")
    past, online, in_person = seed_demo(network, people)
    assert past.ends_at < utcnow() < online.starts_at < in_person.starts_at
    assert online.online_url and in_person.place and not in_person.online_url
    assert operations.first_meeting_held(network)
    assert operations.next_meeting(network, people["Novice mentor"]).meeting.id == online.id


def test_reminder_wording_says_how_soon(run, mw):
    from network_service.notifications.operations import title_of

    now = dt.datetime(2030, 5, 4, 12, 0, tzinfo=UTC)
    day_id = run(lambda: plan(now=now, starts_in=dt.timedelta(hours=20), title="Day one").id)
    hour_id = run(lambda: plan(now=now, starts_in=dt.timedelta(minutes=40), title="Hour one").id)
    for meeting_id in (day_id, hour_id):
        answer(run, meeting_id, ROLES["novice"], "yes", now=now)
    assert run(operations.send_reminders, now=now) == 2
    titles = run(
        lambda: sorted(
            title_of(n)
            for n in session.scalars(sa.select(Notification).where(Notification.kind == "meetings.reminder"))
        )
    )
    assert titles == [
        "Reminder: Day one takes place in less than 24 hours",
        "Reminder: Hour one starts in less than an hour",
    ]
