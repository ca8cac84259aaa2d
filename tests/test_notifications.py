"""Notifications: the page, the header count, settings, digests on a controlled clock, one-click unsubscribe
over real SMTP, and the JSON API. Each person only ever sees and changes their own."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask_babel import gettext as _
from itsdangerous import URLSafeSerializer
from sqlalchemy import event

from network_service.accounts.models import Person
from network_service.accounts.operations import create_api_token, get_or_create_person
from network_service.audit.models import AuditLog
from network_service.db import db, session
from network_service.jobs import jobs_of
from network_service.mail import operations as mail_ops
from network_service.networks.models import Level, Network, Role
from network_service.notifications import operations as ops
from network_service.notifications.models import EmailFrequency, Notification, NotificationSetting
from network_service.notifications.operations import notify, register_kind
from tests.helpers import add_member, csrf_from, link_in, mails, path_of, sign_in_as
from tests.smtp import SmtpServer, html_of, text_of

API = "/api/v1"
UTC = dt.UTC
# Monday 30 November 2026; digests go out from 07:00 (NOTIFICATION_DIGEST_HOUR) in the member's time zone.
MONDAY = dt.datetime(2026, 11, 30, tzinfo=UTC)

register_kind("test.note", lambda p: _("Hello %(name)s,", name=p["who"]))
register_kind("test.plain", lambda p: f"Note {p['n']}")


def at(day: dt.datetime, hour: int, minute: int = 0) -> dt.datetime:
    return day.replace(hour=hour, minute=minute)


def _note(person_id: int, *, when: dt.datetime | None = None, n: int = 1, url: str = "/networks/test-net"):
    """One notification for the person, at ``when`` (the test's clock), in the test network."""
    person = session.get(Person, person_id)
    network = session.scalar(sa.select(Network).where(Network.slug == "test-net"))
    [created] = notify([person], "test.plain", url=url, network=network, n=n)
    if when is not None:
        created.created_at = when
    session.flush()
    return created


def note(run, person_id, **kwargs) -> int:
    return run(lambda: _note(person_id, **kwargs).id)


def set_frequency(run, person_id: int, frequency: EmailFrequency):
    run(lambda: ops.set_frequency(session.get(Person, person_id), frequency, actor=None))


def digests(run, email: str) -> list:
    return run(lambda: [(m.subject, m.body_text, m.body_html, m.headers) for m in mails(to=email)])


def digest_mails(run, email: str) -> list:
    return run(lambda: [m.body_text for m in mails(to=email, kind="notification.digest")])


@pytest.fixture
def smtp(app):
    server = SmtpServer().start()
    app.config["SMTP_URL"] = server.url
    yield server
    app.config["SMTP_URL"] = None
    server.stop()


# -- notify and the mail headers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "", "x/y"]
)
def test_notify_refuses_links_that_leave_the_service(world, ctx, url):
    with pytest.raises(ValueError):
        notify([session.get(Person, world.mentor_id)], "test.plain", url=url, n=1)


@pytest.mark.parametrize("headers", [{"From": "x@example.org"}, {"Subject": "x"}, {"X-Evil": "a\r\nBcc: b"}])
def test_queue_mail_refuses_headers_the_transport_writes_or_line_breaks(ctx, headers):
    with pytest.raises(ValueError):
        mail_ops.queue_mail(
            "t", "a@example.org", "sign_in", headers=headers, person=None, link="x", minutes=1
        )


def test_the_jobs_are_registered(app):
    assert {"notifications.digest", "notifications.prune"} <= set(jobs_of(app))


# -- the page, opening, mark all read, the header count ---------------------------------------------------------


def test_page_lists_own_notifications_newest_first_with_network_time_and_unread_marked_in_words(
    client, run, world
):
    first = note(run, world.mentor_id, n=1)
    note(run, world.mentor_id, n=2)
    note(run, world.meta_mentor_id, n=99)  # someone else's
    run(lambda: ops.mark_read(session.get(Person, world.mentor_id), first))
    sign_in_as(client, run, "mentor@example.org")

    page = client.get("/notifications").get_data(as_text=True)

    assert page.index("Note 2") < page.index("Note 1")
    assert "Note 99" not in page
    assert page.count('class="badge notification-new"') == 1  # the unread one says "New" in words
    assert "Test Network" in page
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT', page)
    assert "<h1>Notifications</h1>" in page
    # the header: a visible count and accessible wording
    assert '<span aria-hidden="true">(1)</span>' in page
    assert '<span class="visually-hidden">(1 unread)</span>' in page


def test_header_shows_no_count_without_unread_and_nothing_for_anonymous(client, run, world):
    assert "/notifications" not in client.get("/").get_data(as_text=True)
    sign_in_as(client, run, "mentor@example.org")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/notifications"' in home and "unread" not in home


def test_opening_marks_read_and_goes_to_the_local_page(client, run, world):
    item = note(run, world.mentor_id, url="/networks/test-net?tab=help#x")
    sign_in_as(client, run, "mentor@example.org")
    token = csrf_from(client.get("/notifications").get_data(as_text=True))

    response = client.post(f"/notifications/{item}/open", data={"csrf_token": token})

    assert response.status_code == 303
    assert response.headers["Location"] == "/networks/test-net?tab=help#x"
    assert run(lambda: session.get(Notification, item).read_at) is not None
    assert "unread" not in client.get("/notifications").get_data(as_text=True)


def test_opening_a_stored_foreign_link_stays_on_the_site(client, run, world):
    item = note(run, world.mentor_id)
    run(lambda: setattr(session.get(Notification, item), "url", "//evil.example/phish"))
    sign_in_as(client, run, "mentor@example.org")
    token = csrf_from(client.get("/notifications").get_data(as_text=True))
    response = client.post(f"/notifications/{item}/open", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/notifications"


def test_opening_needs_the_csrf_token(client, run, world):
    item = note(run, world.mentor_id)
    sign_in_as(client, run, "mentor@example.org")
    response = client.post(f"/notifications/{item}/open", data={})
    assert response.status_code in (302, 303, 400)
    assert run(lambda: session.get(Notification, item).read_at) is None


@pytest.mark.parametrize(
    "email", ["coord@example.org", "meta@example.org", "admin@example.org", "outsider@example.org"]
)
def test_nobody_opens_another_persons_notification(client, run, world, email):
    item = note(run, world.mentor_id)
    run(lambda: setattr(get_or_create_person("admin@example.org")[0], "is_site_admin", True))
    run(lambda: get_or_create_person("outsider@example.org"))
    sign_in_as(client, run, email)
    token = csrf_from(client.get("/notifications").get_data(as_text=True))
    assert client.post(f"/notifications/{item}/open", data={"csrf_token": token}).status_code == 404
    assert run(lambda: session.get(Notification, item).read_at) is None


def test_anonymous_is_sent_to_sign_in(client, world):
    for path in ("/notifications", "/notifications/settings"):
        response = client.get(path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert client.post("/notifications/1/open").status_code in (302, 400)
    assert client.post("/notifications/read-all").status_code in (302, 400)


def test_mark_all_as_read_marks_only_mine(client, run, world):
    mine = [note(run, world.mentor_id, n=i) for i in range(3)]
    theirs = note(run, world.meta_mentor_id)
    sign_in_as(client, run, "mentor@example.org")
    page = client.get("/notifications").get_data(as_text=True)
    assert "Mark all as read" in page

    response = client.post("/notifications/read-all", data={"csrf_token": csrf_from(page)})

    assert response.status_code == 303
    assert run(lambda: [session.get(Notification, i).read_at is not None for i in mine]) == [True] * 3
    assert run(lambda: session.get(Notification, theirs).read_at) is None
    page = client.get("/notifications").get_data(as_text=True)
    assert "Mark all as read" not in page and "unread" not in page


def test_cursor_pagination_pages_through_everything_once(client, run, world):
    for i in range(ops.PAGE_SIZE + 5):
        note(run, world.mentor_id, n=i)
    sign_in_as(client, run, "mentor@example.org")

    first = client.get("/notifications").get_data(as_text=True)
    assert first.count("notification-open") == ops.PAGE_SIZE
    older = re.search(r'href="(/notifications\?before=\d+)"', first).group(1)
    second = client.get(older).get_data(as_text=True)
    assert second.count("notification-open") == 5
    assert "before=" not in second  # the last page offers no older one
    seen = re.findall(r"Note (\d+)", first + second)
    assert sorted(map(int, seen)) == list(range(ops.PAGE_SIZE + 5))
    assert client.get("/notifications?before=abc").status_code == 404


def test_empty_page_says_what_will_appear(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    assert "No notifications yet" in client.get("/notifications").get_data(as_text=True)


def _statements(app, client, path) -> int:
    count = 0

    def counter(*args):
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return count


def test_statement_count_of_the_page_does_not_grow_with_the_data(app, client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    for i in range(4):
        note(run, world.mentor_id, n=i)
    small = _statements(app, client, "/notifications")
    for i in range(16):
        note(run, world.mentor_id, n=i)
    assert _statements(app, client, "/notifications") == small


# -- settings ---------------------------------------------------------------------------------------------------


def test_settings_default_daily_save_weekly_and_audit(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    assert "/notifications/settings" in client.get("/profile").get_data(as_text=True)
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert re.search(r'<input checked id="email_frequency-1"[^>]*value="daily"', page)
    assert "<legend>" in page

    response = client.post(
        "/notifications/settings", data={"csrf_token": csrf_from(page), "email_frequency": "weekly"}
    )

    assert response.status_code == 303
    assert run(lambda: ops.frequency_of(session.get(Person, world.mentor_id))) == EmailFrequency.weekly
    entry = run(
        lambda: session.scalar(
            sa.select(AuditLog).where(AuditLog.action == "notifications.frequency_changed")
        )
    )
    assert entry.detail == {"before": "daily", "after": "weekly", "via": "settings"}


@pytest.mark.parametrize("value", ["", "hourly", "<script>x</script>", "daily" * 50])
def test_settings_refuse_other_values_with_the_error_next_to_the_field(client, run, world, value):
    sign_in_as(client, run, "mentor@example.org")
    page = client.get("/notifications/settings").get_data(as_text=True)
    response = client.post(
        "/notifications/settings", data={"csrf_token": csrf_from(page), "email_frequency": value}
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="email_frequency-error"' in body and "<script>x" not in body
    assert run(lambda: session.get(NotificationSetting, world.mentor_id)) is None


# -- immediate mail and digests ---------------------------------------------------------------------------------


def test_immediate_mail_carries_unsubscribe_link_and_headers(run, world):
    set_frequency(run, world.meta_mentor_id, EmailFrequency.immediately)
    note(run, world.meta_mentor_id)
    [(subject, text, html, headers)] = digests(run, "meta@example.org")
    assert subject == "Note 1"
    link = link_in(text, "/notifications/unsubscribe/")
    assert headers == {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert f'href="{link}"' in html and "Test Network" in text


def test_immediate_mail_is_in_the_members_language(run, world):
    run(lambda: setattr(session.get(Person, world.meta_mentor_id), "locale", "de"))
    set_frequency(run, world.meta_mentor_id, EmailFrequency.immediately)
    run(lambda: notify([session.get(Person, world.meta_mentor_id)], "test.note", url="/x", who="Carla"))
    [(subject, text, html, _headers)] = digests(run, "meta@example.org")
    assert subject == "Hallo Carla,"
    assert 'lang="de"' in html
    # the frame of the mail too, not only the notification's own words
    assert "Hallo Marco Meta," in text and "abbestellen" in text and "Hello" not in text


def test_daily_digest_once_per_day_from_seven_and_never_repeating(run, world):
    note(run, world.mentor_id, when=at(MONDAY, 2), n=1)  # Monday 02:00

    assert run(ops.send_due_digests, at(MONDAY, 6, 59)) == 0  # the day's digest starts at 07:00
    assert run(ops.send_due_digests, at(MONDAY, 7, 5)) == 1
    assert run(ops.send_due_digests, at(MONDAY, 7, 6)) == 0  # a second run the same hour sends nothing

    note(run, world.mentor_id, when=at(MONDAY, 9), n=2)
    assert run(ops.send_due_digests, at(MONDAY, 18)) == 0  # one per day
    assert run(ops.send_due_digests, at(MONDAY + dt.timedelta(days=1), 7)) == 1

    first, second = digest_mails(run, "mentor@example.org")
    assert "Note 1" in first and "Note 2" not in first
    assert "Note 2" in second and "Note 1" not in second  # nothing is repeated
    assert "Test Network" in first and "/notifications" in first
    assert (
        run(lambda: session.scalar(sa.select(sa.func.count()).where(Notification.mailed_at.is_(None)))) == 0
    )
    assert run(ops.send_due_digests, at(MONDAY + dt.timedelta(days=2), 7)) == 0  # nothing new: no mail


def test_a_notification_from_after_seven_waits_for_the_next_morning(run, world):
    note(run, world.mentor_id, when=at(MONDAY, 7, 30))
    assert run(ops.send_due_digests, at(MONDAY, 8)) == 0
    assert run(ops.send_due_digests, at(MONDAY, 23, 59)) == 0
    assert run(ops.send_due_digests, at(MONDAY + dt.timedelta(days=1), 7)) == 1


def test_weekly_digest_on_monday_morning_once_a_week(run, world):
    set_frequency(run, world.mentor_id, EmailFrequency.weekly)
    tuesday = MONDAY + dt.timedelta(days=1)
    next_monday = MONDAY + dt.timedelta(days=7)
    note(run, world.mentor_id, when=at(tuesday, 10), n=1)

    for day in range(1, 7):  # Tuesday to Sunday: nothing
        assert run(ops.send_due_digests, at(MONDAY + dt.timedelta(days=day), 12)) == 0
    assert run(ops.send_due_digests, at(next_monday, 6, 59)) == 0
    assert run(ops.send_due_digests, at(next_monday, 7)) == 1
    note(run, world.mentor_id, when=at(next_monday, 6), n=2)  # arrived late (e.g. a clock skew): waits
    assert run(ops.send_due_digests, at(next_monday + dt.timedelta(days=3), 12)) == 0
    assert run(ops.send_due_digests, at(next_monday + dt.timedelta(days=7), 7)) == 1
    first, second = digest_mails(run, "mentor@example.org")
    assert run(lambda: mails(to="mentor@example.org")[0].subject).startswith("Your weekly mentorNET summary")
    assert "Note 1" in first and "Note 2" in second and "Note 1" not in second


def test_digest_hour_is_in_the_members_time_zone(run, world):
    run(lambda: setattr(session.get(Person, world.mentor_id), "timezone", "Europe/Berlin"))
    note(run, world.mentor_id, when=at(MONDAY - dt.timedelta(days=1), 20))
    assert run(ops.send_due_digests, at(MONDAY, 5, 59)) == 0  # 06:59 in Berlin
    assert run(ops.send_due_digests, at(MONDAY, 6)) == 1  # 07:00 in Berlin


def test_immediate_then_digest_never_repeats(run, world):
    set_frequency(run, world.mentor_id, EmailFrequency.immediately)
    note(run, world.mentor_id, when=at(MONDAY, 1), n=1)
    set_frequency(run, world.mentor_id, EmailFrequency.daily)
    note(run, world.mentor_id, when=at(MONDAY, 2), n=2)

    assert run(ops.send_due_digests, at(MONDAY, 8)) == 1
    [immediate, digest] = run(lambda: [(m.kind, m.body_text) for m in mails(to="mentor@example.org")])
    assert immediate[0] == "notification.test.plain" and "Note 1" in immediate[1]
    assert "Note 2" in digest[1] and "Note 1" not in digest[1]


def test_read_notifications_are_not_mailed_in_a_digest(run, world):
    item = note(run, world.mentor_id, when=at(MONDAY, 1))
    run(lambda: ops.mark_read(session.get(Person, world.mentor_id), item, now=at(MONDAY, 2)))
    assert run(ops.send_due_digests, at(MONDAY, 8)) == 0
    assert digest_mails(run, "mentor@example.org") == []


def test_two_runs_claim_a_digest_once(run, world, ctx):
    period = ops.digest_period_start(EmailFrequency.daily, at(MONDAY, 8), dt.UTC, 7)
    assert period == at(MONDAY, 7)
    assert ops.claim_digest(world.mentor_id, period, at(MONDAY, 8)) is True
    assert ops.claim_digest(world.mentor_id, period, at(MONDAY, 8, 1)) is False
    assert ops.claim_digest(world.mentor_id, period + dt.timedelta(days=1), at(MONDAY, 8, 2)) is True


def test_a_claimed_period_sends_nothing_even_with_pending_notifications(run, world):
    """Another process claimed the digest a moment ago (and its mail is on its way): this run sends none."""
    note(run, world.mentor_id, when=at(MONDAY, 1))
    run(ops.claim_digest, world.mentor_id, at(MONDAY, 7), at(MONDAY, 7, 1))
    assert run(ops.send_due_digests, at(MONDAY, 7, 2)) == 0
    assert digest_mails(run, "mentor@example.org") == []


def test_never_and_no_email_get_no_digest(run, world):
    set_frequency(run, world.mentor_id, EmailFrequency.never)
    note(run, world.mentor_id, when=at(MONDAY, 1))

    def without_email():
        network = session.get(Network, world.network_id)
        person = add_member(network, "lti@example.org", "Lena LTI", Role.mentor, Level.novice)
        person.email = None
        session.flush()
        return person.id

    nomail = run(without_email)
    note(run, nomail, when=at(MONDAY, 1))
    assert run(ops.send_due_digests, at(MONDAY, 8)) == 0
    assert run(lambda: mails(kind="notification.digest")) == []


def test_digest_is_in_the_members_language_and_the_default_when_none(run, world):
    run(lambda: setattr(session.get(Person, world.mentor_id), "locale", "de"))
    run(lambda: setattr(session.get(Person, world.meta_mentor_id), "locale", None))
    for person_id in (world.mentor_id, world.meta_mentor_id):

        def greet(pid=person_id):
            person = session.get(Person, pid)
            [created] = notify([person], "test.note", url="/x", who="Carla")
            created.created_at = at(MONDAY, 1)

        run(greet)
    assert run(ops.send_due_digests, at(MONDAY, 8)) == 2
    [german] = digests(run, "mentor@example.org")
    assert "Hallo Mina Mentor," in german[1] and "Hallo Carla," in german[1]
    assert "Hallo" in german[2] and 'lang="de"' in german[2]
    [english] = digests(run, "meta@example.org")
    assert "Hello Marco Meta," in english[1] and "Hello Carla," in english[1]


def test_digest_groups_by_network_and_counts(run, world):
    def second_network():
        from network_service.networks.operations import create_network

        network = session.get(Network, world.network_id)
        other = create_network("other-net", "Another Network", network.organisation, coordinator=None)
        person = session.get(Person, world.mentor_id)
        [created] = notify([person], "test.plain", url="/y", network=other, n=7)
        created.created_at = at(MONDAY, 1)

    run(second_network)
    note(run, world.mentor_id, when=at(MONDAY, 1), n=1)
    note(run, world.mentor_id, when=at(MONDAY, 1), n=2)
    assert run(ops.send_due_digests, at(MONDAY, 8)) == 1
    [(subject, text, html, headers)] = digests(run, "mentor@example.org")
    assert subject == "Your daily mentorNET summary: 3 new notifications"
    assert (
        text.index("Another Network")
        < text.index("Note 7")
        < text.index("Test Network")
        < text.index("Note 1")
    )
    assert html.count("<h2") == 2
    assert "List-Unsubscribe" in headers


def test_old_read_notifications_are_pruned(run, world, app):
    now = at(MONDAY, 12)
    old_read = note(run, world.mentor_id, when=now - dt.timedelta(days=181))
    old_unread = note(run, world.mentor_id, when=now - dt.timedelta(days=400))
    recent_read = note(run, world.mentor_id, when=now - dt.timedelta(days=10))
    for item in (old_read, recent_read):
        run(lambda i=item: ops.mark_read(session.get(Person, world.mentor_id), i, now=now))
    assert run(ops.prune_read, now) == 1
    assert run(lambda: sorted(session.scalars(sa.select(Notification.id)))) == sorted(
        [old_unread, recent_read]
    )


# -- unsubscribing ----------------------------------------------------------------------------------------------


def test_unsubscribe_over_a_real_smtp_round_trip_with_one_click_post(client, run, world, smtp, ctx):
    note(run, world.mentor_id, when=at(MONDAY, 1))
    assert run(ops.send_due_digests, at(MONDAY, 8)) == 1
    assert mail_ops.deliver_due() >= 1
    [message] = [m for m in smtp.inbox.wait_for(1) if m["To"] == "mentor@example.org"]

    header = message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = header.strip("<>")
    assert link.startswith("http://localhost/notifications/unsubscribe/")
    assert link in text_of(message) and link in html_of(message)

    # a mail program's one-click POST: no session, no CSRF token
    response = client.post(path_of(link), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert run(lambda: ops.frequency_of(session.get(Person, world.mentor_id))) == EmailFrequency.never
    assert run(lambda: ops.frequency_of(session.get(Person, world.meta_mentor_id))) == EmailFrequency.daily


def test_unsubscribe_page_asks_first_then_the_button_unsubscribes(client, run, world):
    token = run(lambda: ops.unsubscribe_token(session.get(Person, world.meta_mentor_id)))
    page = client.get(f"/notifications/unsubscribe/{token}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    body = page.get_data(as_text=True)
    assert "meta@example.org" in body and '<form method="post">' in body
    assert run(lambda: ops.frequency_of(session.get(Person, world.meta_mentor_id))) == EmailFrequency.daily

    done = client.post(f"/notifications/unsubscribe/{token}")
    assert done.status_code == 200 and "stopped" in done.get_data(as_text=True)
    assert run(lambda: ops.frequency_of(session.get(Person, world.meta_mentor_id))) == EmailFrequency.never
    again = client.get(f"/notifications/unsubscribe/{token}").get_data(as_text=True)
    assert "already switched off" in again
    entry = run(
        lambda: session.scalar(
            sa.select(AuditLog).where(AuditLog.action == "notifications.frequency_changed")
        )
    )
    assert entry.actor_id is None and entry.detail["via"] == "unsubscribe_link"


def test_forged_or_damaged_unsubscribe_tokens_get_a_helpful_404(app, client, run, world):
    good = run(lambda: ops.unsubscribe_token(session.get(Person, world.mentor_id)))
    other_purpose = URLSafeSerializer(app.config["SECRET_KEY"], salt="something-else").dumps(
        {"p": world.meta_mentor_id}
    )
    wrong_key = URLSafeSerializer("not-the-key", salt="mentornet.notifications.unsubscribe").dumps(
        {"p": world.meta_mentor_id}
    )
    payload, _dot, signature = good.partition(".")
    swapped = URLSafeSerializer("x").dumps({"p": world.meta_mentor_id}).split(".")[0] + "." + signature
    for token in (good[:-3], other_purpose, wrong_key, swapped, "nonsense"):
        for method in (client.get, client.post):
            response = method(f"/notifications/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
            assert response.status_code == 404
            assert "whole address" in response.get_data(as_text=True)
    assert run(lambda: session.scalar(sa.select(sa.func.count()).select_from(NotificationSetting))) == 0


def test_mailbox_page_still_shows_mails_with_headers(client, run, world):
    set_frequency(run, world.mentor_id, EmailFrequency.immediately)
    note(run, world.mentor_id)
    page = client.get("/mailbox")
    assert page.status_code == 200 and "Note 1" in page.get_data(as_text=True)


# -- JSON API ---------------------------------------------------------------------------------------------------


def token_for(run, email: str) -> dict:
    def create():
        person, _created = get_or_create_person(email)
        return create_api_token(person, "test")[1]

    return {"Authorization": f"Bearer {run(create)}"}


def test_api_needs_credentials(client, world):
    for method, path in [
        ("get", "/notifications"),
        ("get", "/notifications/unread-count"),
        ("post", "/notifications/1/read"),
        ("post", "/notifications/read-all"),
        ("get", "/notifications/settings"),
        ("put", "/notifications/settings"),
    ]:
        response = getattr(client, method)(API + path)
        assert response.status_code == 401, path


def test_api_lists_own_notifications_with_a_cursor(client, run, world):
    for i in range(5):
        note(run, world.mentor_id, n=i)
    note(run, world.meta_mentor_id, n=99)
    auth = token_for(run, "mentor@example.org")

    first = client.get(f"{API}/notifications?limit=3", headers=auth).get_json()
    assert [item["title"] for item in first["items"]] == ["Note 4", "Note 3", "Note 2"]
    assert first["items"][0]["network"] == {"slug": "test-net", "name": "Test Network"}
    assert first["items"][0]["read"] is False
    second = client.get(f"{API}/notifications?limit=3&before={first['next_cursor']}", headers=auth).get_json()
    assert [item["title"] for item in second["items"]] == ["Note 1", "Note 0"]
    assert second["next_cursor"] is None
    assert client.get(f"{API}/notifications?limit=500", headers=auth).status_code == 422
    assert client.get(f"{API}/notifications?before=x", headers=auth).status_code == 422
    assert client.get(f"{API}/notifications/unread-count", headers=auth).get_json() == {"unread": 5}


@pytest.mark.parametrize("email", ["coord@example.org", "meta@example.org", "admin@example.org"])
def test_api_marking_someone_elses_notification_is_404(client, run, world, email):
    item = note(run, world.mentor_id)
    run(lambda: setattr(get_or_create_person("admin@example.org")[0], "is_site_admin", True))
    response = client.post(f"{API}/notifications/{item}/read", headers=token_for(run, email))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert run(lambda: session.get(Notification, item).read_at) is None


def test_api_marks_one_and_all_read(client, run, world):
    items = [note(run, world.mentor_id, n=i) for i in range(3)]
    theirs = note(run, world.meta_mentor_id)
    auth = token_for(run, "mentor@example.org")
    one = client.post(f"{API}/notifications/{items[0]}/read", headers=auth)
    assert one.status_code == 200 and one.get_json()["read"] is True
    assert client.post(f"{API}/notifications/read-all", headers=auth).get_json() == {"marked": 2}
    assert client.get(f"{API}/notifications/unread-count", headers=auth).get_json() == {"unread": 0}
    assert run(lambda: session.get(Notification, theirs).read_at) is None


def test_api_settings_get_and_put(client, run, world):
    auth = token_for(run, "mentor@example.org")
    assert client.get(f"{API}/notifications/settings", headers=auth).get_json() == {
        "email_frequency": "daily"
    }
    response = client.put(f"{API}/notifications/settings", json={"email_frequency": "never"}, headers=auth)
    assert response.status_code == 200 and response.get_json() == {"email_frequency": "never"}
    assert run(lambda: ops.frequency_of(session.get(Person, world.mentor_id))) == EmailFrequency.never
    for body in (
        {"email_frequency": "hourly"},
        {"email_frequency": 3},
        {},
        {"email_frequency": "daily", "x": 1},
    ):
        bad = client.put(f"{API}/notifications/settings", json=body, headers=auth)
        assert bad.status_code == 422, body
    assert (
        client.put(
            f"{API}/notifications/settings",
            data="email_frequency=daily",
            content_type="application/x-www-form-urlencoded",
            headers=auth,
        ).status_code
        == 415
    )
    assert run(lambda: ops.frequency_of(session.get(Person, world.mentor_id))) == EmailFrequency.never


def test_page_words_each_item_in_the_readers_language(client, run, world):
    run(lambda: setattr(session.get(Person, world.mentor_id), "locale", "de"))
    run(lambda: notify([session.get(Person, world.mentor_id)], "test.note", url="/x", who="Carla"))
    sign_in_as(client, run, "mentor@example.org")
    page = client.get("/notifications").get_data(as_text=True)
    assert "Hallo Carla," in page and 'lang="de"' in page
    assert page.count('id="csrf_token"') == 0  # one hidden token per form, no duplicate ids


@pytest.mark.parametrize("name", ["notifications.digest", "notifications.prune"])
def test_the_jobs_run_through_the_scheduler(app, run, world, name):
    from network_service.jobs import JobRun, run_job

    assert run(run_job, app, name, force=True) is True
    outcome = run(lambda: session.get(JobRun, name).last_outcome)
    assert not outcome.startswith("failed") and outcome


def test_a_long_digest_lists_the_first_fifty_counts_the_rest_and_marks_all_mailed(run, world):
    def many():
        person = session.get(Person, world.mentor_id)
        for i in range(ops.DIGEST_ITEMS + 2):
            [created] = notify([person], "test.plain", url="/x", n=i)
            created.created_at = at(MONDAY, 1)

    run(many)
    assert run(ops.send_due_digests, at(MONDAY, 8)) == 1
    [text] = digest_mails(run, "mentor@example.org")
    assert text.count("\n- Note ") == ops.DIGEST_ITEMS
    assert "and 2 more notifications" in text
    unmailed = sa.select(sa.func.count()).where(Notification.mailed_at.is_(None))
    assert run(lambda: session.scalar(unmailed)) == 0


def test_demo_sets_each_persons_choice_through_the_operations(run, world):
    from network_service.notifications.demo import seed_demo

    def seed():
        people = {"Meta-Mentor": session.get(Person, world.meta_mentor_id), "Coordinator": None}
        seed_demo(session.get(Network, world.network_id), people)

    run(seed)
    assert (
        run(lambda: ops.frequency_of(session.get(Person, world.meta_mentor_id))) == EmailFrequency.immediately
    )
