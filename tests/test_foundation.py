"""The shared pieces every domain module builds on: safe Markdown, the role rule, notify()."""

from __future__ import annotations

import pytest

from network_service.accounts.models import Person
from network_service.db import session
from network_service.markup import plain_text, render_markdown
from network_service.networks import permissions
from network_service.networks.models import Level, Network, Role
from network_service.notifications.models import EmailFrequency, Notification, NotificationSetting
from network_service.notifications.operations import notify, register_kind, title_of, unread_count
from tests.helpers import add_member, mails


@pytest.mark.parametrize(
    "source, forbidden",
    [
        ("<script>alert(1)</script>", "<script"),
        ("[x](javascript:alert(1))", 'href="javascript'),
        ('<img src=x onerror="alert(1)">', "<img"),
        ("[x](data:text/html;base64,PHNjcmlwdD4=)", 'href="data'),
        ('<a href="https://e.org" onclick="x()">y</a>', "<a "),
        ("<iframe src=https://e.org></iframe>", "<iframe"),
        ("<style>body{}</style>", "<style"),
    ],
)
def test_markdown_drops_script_and_dangerous_markup(source, forbidden):
    assert forbidden not in str(render_markdown(source))


def test_markdown_keeps_formatting_and_marks_links_as_user_content():
    html = str(render_markdown("# Title\n\n**bold** and [site](https://example.org)\n\n- one\n- two"))
    assert "<h3>Title</h3>" in html  # member headings never compete with the page's h1/h2
    assert "<strong>bold</strong>" in html
    assert 'rel="nofollow noopener noreferrer ugc"' in html
    assert "<li>one</li>" in html


def test_plain_text_for_previews():
    assert plain_text("**Hello** <b>there</b> & more") == "Hello <b>there</b> & more"
    assert plain_text("word " * 100, limit=20).endswith("…")
    assert len(plain_text("word " * 100, limit=20)) == 20


def test_has_role_counts_experienced_mentors_only_when_asked(world, ctx):
    network = session.get(Network, world.network_id)
    mentor = session.get(Person, world.mentor_id)
    expert = add_member(network, "expert@example.org", "Esra Expert", Role.mentor, Level.experienced)
    leaders = permissions.LEADERS
    assert not permissions.has_role(mentor, network, leaders, experienced_mentors=True)
    assert permissions.has_role(expert, network, leaders, experienced_mentors=True)
    assert not permissions.has_role(expert, network, leaders)
    admin = Person(email="root@example.org", display_name="Root", is_site_admin=True)
    session.add(admin)
    session.flush()
    assert permissions.has_role(admin, network, leaders)
    assert not permissions.has_role(admin, network, leaders, site_admin=False)
    assert not permissions.is_member(admin, network)
    assert permissions.is_member(mentor, network)


register_kind("test.ping", lambda p: f"{p['who']} pinged you")


def test_notify_creates_one_per_recipient_never_the_actor_and_mails_who_asked(world, ctx):
    network = session.get(Network, world.network_id)
    mentor = session.get(Person, world.mentor_id)
    meta = session.get(Person, world.meta_mentor_id)
    coordinator = session.get(Person, world.coordinator_id)
    session.add(NotificationSetting(person_id=meta.id, email_frequency=EmailFrequency.immediately))
    session.flush()

    created = notify(
        [mentor, meta, mentor, coordinator, None],
        "test.ping",
        url="/x",
        network=network,
        actor=coordinator,
        who="C",
    )

    assert sorted(n.person_id for n in created) == sorted([mentor.id, meta.id])
    assert title_of(created[0]) == "C pinged you"
    assert unread_count(mentor) == 1 and unread_count(coordinator) == 0
    meta_mail = mails(to=meta.email)
    assert len(meta_mail) == 1 and meta_mail[0].subject == "C pinged you"
    assert "/x" in meta_mail[0].body_text
    assert mails(to=mentor.email) == []  # the default is a daily digest
    assert session.query(Notification).filter_by(person_id=meta.id).one().mailed_at is not None


def test_notify_refuses_an_unknown_kind(world, ctx):
    with pytest.raises(ValueError):
        notify([], "no.such.kind", url="/")


def test_lists_split_on_the_comma_of_the_members_script():
    from network_service.text import split_list

    assert split_list("Arabic، German, English;Greek、 ") == ["Arabic", "German", "English", "Greek"]
    assert split_list("") == [] and split_list(None) == []
