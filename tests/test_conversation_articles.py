"""The cache of rendered messages (conversations.views.articles): what every plain reader sees is rendered once
per process; each change to a message shows at once; what is personal is never taken from it."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.conversations import operations
from network_service.conversations.models import Channel, Message
from network_service.conversations.views import articles
from network_service.db import session
from network_service.fragments import FragmentCache
from network_service.moderation import operations as moderation
from tests.conv_helpers import EMAILS, build_cast, network, person
from tests.helpers import sign_in_as


@pytest.fixture
def cast(run, world):
    articles.clear()
    yield run(build_cast, world)
    articles.clear()


def channel_url(cast) -> str:
    return f"/networks/{cast.slug}/conversations/c/{cast.general}"


def reader(client, run, label: str):
    other = client.application.test_client()
    sign_in_as(other, run, EMAILS[label])
    return other


def post(run, cast, label: str, body: str, parent_id: int | None = None) -> int:
    def write():
        channel = session.scalar(
            sa.select(Channel).where(Channel.network_id == cast.network_id, Channel.slug == cast.general)
        )
        parent = session.get(Message, parent_id) if parent_id else None
        return operations.post_message(channel, actor=person(label), body=body, parent=parent).id

    return run(write)


def article(html: str, message_id: int) -> str:
    start = html.index(f'id="m{message_id}"')
    return html[start : html.index("</article>", start)]


def test_a_plain_reader_is_served_from_the_cache(client, run, cast):
    message_id = post(run, cast, "experienced", "Welcome to the channel")
    novice = reader(client, run, "novice")
    first = novice.get(channel_url(cast)).get_data(as_text=True)
    assert len(articles) == 1
    hits = []
    original = articles.get
    articles.get = lambda key: hits.append(key) or original(key)
    try:
        second = novice.get(channel_url(cast)).get_data(as_text=True)
    finally:
        del articles.get
    assert len(hits) == 1 and len(articles) == 1
    assert article(first, message_id) == article(second, message_id)
    assert "Welcome to the channel" in second and "Report" in second


def test_new_edited_deleted_and_hidden_messages_show_at_once(client, run, cast):
    first = post(run, cast, "experienced", "First version")
    novice = reader(client, run, "novice")
    assert "First version" in novice.get(channel_url(cast)).get_data(as_text=True)

    second = post(run, cast, "office", "A new thread")
    assert "A new thread" in novice.get(channel_url(cast)).get_data(as_text=True)

    run(
        lambda: operations.edit_message(
            session.get(Message, first), actor=person("experienced"), body="Edited"
        )
    )
    html = article(novice.get(channel_url(cast)).get_data(as_text=True), first)
    assert "Edited" in html and "First version" not in html and "(edited)" in html

    post(run, cast, "office", "A reply", parent_id=first)
    html = article(novice.get(channel_url(cast)).get_data(as_text=True), first)
    assert "1 reply" in html

    run(lambda: moderation.hide_message(session.get(Message, second), actor=person("coordinator")))
    html = article(novice.get(channel_url(cast)).get_data(as_text=True), second)
    assert "Hidden by a moderator." in html and "A new thread" not in html
    run(
        lambda: moderation.hide_message(
            session.get(Message, second), actor=person("coordinator"), hidden=False
        )
    )
    html = article(novice.get(channel_url(cast)).get_data(as_text=True), second)
    assert "A new thread" in html and "Hidden by a moderator." not in html

    run(lambda: operations.delete_message(session.get(Message, first), actor=person("experienced")))
    html = article(novice.get(channel_url(cast)).get_data(as_text=True), first)
    assert "Message deleted." in html and "Edited" not in html and "Report" not in html


def test_a_renamed_author_shows_at_once(client, run, cast):
    message_id = post(run, cast, "experienced", "Hello")
    novice = reader(client, run, "novice")
    assert "Eva Experienced" in article(novice.get(channel_url(cast)).get_data(as_text=True), message_id)

    def rename():
        person("experienced").display_name = "Eva Renamed"

    run(rename)
    html = article(novice.get(channel_url(cast)).get_data(as_text=True), message_id)
    assert "Eva Renamed" in html and "Eva Experienced" not in html


def test_a_blocked_author_stays_collapsed_for_the_one_who_blocked(client, run, cast):
    message_id = post(run, cast, "experienced", "Something annoying")
    office = reader(client, run, "office")
    novice = reader(client, run, "novice")
    assert "<details" not in article(office.get(channel_url(cast)).get_data(as_text=True), message_id)
    run(lambda: moderation.block(network(cast), person("experienced"), actor=person("novice")))
    assert "Message from someone you blocked" in article(
        novice.get(channel_url(cast)).get_data(as_text=True), message_id
    )
    # the others still see it plainly, from the cache
    assert "<details" not in article(office.get(channel_url(cast)).get_data(as_text=True), message_id)


def test_authors_and_moderators_get_their_own_buttons(client, run, cast):
    message_id = post(run, cast, "experienced", "My message")
    hidden_id = post(run, cast, "experienced", "My hidden message")
    run(lambda: moderation.hide_message(session.get(Message, hidden_id), actor=person("coordinator")))
    novice = reader(client, run, "novice")
    plain = novice.get(channel_url(cast)).get_data(as_text=True)
    assert "Edit" not in article(plain, message_id) and "My hidden message" not in plain

    author = reader(client, run, "experienced")
    own = author.get(channel_url(cast)).get_data(as_text=True)
    assert "Edit" in article(own, message_id) and "Delete" in article(own, message_id)
    assert "Report" not in article(own, message_id)
    assert "My hidden message" in article(own, hidden_id)  # the author still sees a hidden text

    coordinator = reader(client, run, "coordinator")
    moderated = coordinator.get(channel_url(cast)).get_data(as_text=True)
    assert "Hide" in article(moderated, message_id) and "Delete" in article(moderated, message_id)
    assert "Show again" in article(moderated, hidden_id)


def test_each_language_has_its_own_articles(client, run, cast):
    message_id = post(run, cast, "experienced", "Hallo")
    office = reader(client, run, "office")
    assert "Report" in article(office.get(channel_url(cast)).get_data(as_text=True), message_id)

    def german():
        session.scalar(sa.select(Person).where(Person.email == EMAILS["novice"])).locale = "de"

    run(german)
    novice = reader(client, run, "novice")
    html = article(novice.get(channel_url(cast)).get_data(as_text=True), message_id)
    assert "Melden" in html and "Report" not in html


def test_the_cache_drops_the_least_recently_used():
    cache = FragmentCache(size=2)
    cache.put(("a",), "A")
    cache.put(("b",), "B")
    assert cache.get(("a",)) == "A"
    cache.put(("c",), "C")
    assert cache.get(("b",)) is None and cache.get(("a",)) == "A" and cache.get(("c",)) == "C"


def test_the_cache_keeps_to_its_byte_budget():
    cache = FragmentCache(size=100, max_bytes=5000)
    for number in range(10):
        cache.put(("k", number), "x" * 1000)
    assert 1 <= len(cache) <= 4 and cache.bytes <= 5000
    assert cache.get(("k", 9)) == "x" * 1000 and cache.get(("k", 0)) is None
    cache.put(("k", 9), "y")  # replaced: its bytes are given back
    assert cache.get(("k", 9)) == "y" and cache.bytes <= 5000


_OLD_FORM = (
    '{% from "macros.html" import field, form_errors, error_summary %}'
    '<h2>{{ _("New thread") }}</h2>\n    {{ error_summary(form) }}\n    {{ form_errors(form) }}\n'
    '    <form method="post" novalidate class="conv-form">\n      {{ form.csrf_token }}\n'
    '      {{ field(form.body) }}\n      <button type="submit">{{ _("Send") }}</button>\n    </form>'
)


def _form_part(html: str) -> str:
    start = html.index("<h2>", html.index('class="network-nav"'))
    part = html[start : html.index("</form>", start) + len("</form>")]
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1*", part)


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_kept_new_thread_form_is_the_form_the_template_rendered(client, app, run, cast, language):
    """The empty "New thread" form of a GET is rendered once per language and kept with the CSRF token put in
    afterwards: the same HTML as the form rendered in the page before (session 6), with the session's own token,
    which a post then takes."""
    from flask import render_template_string

    from network_service.conversations.forms import MessageForm
    from network_service.conversations.views import _thread_forms

    _thread_forms.clear()
    headers = {"Accept-Language": language}
    with app.test_request_context(headers=headers):
        before = _form_part(
            '<nav class="network-nav"></nav>' + render_template_string(_OLD_FORM, form=MessageForm())
        )
    novice = reader(client, run, "novice")
    first = novice.get(channel_url(cast), headers=headers).get_data(as_text=True)
    second = novice.get(channel_url(cast), headers=headers).get_data(as_text=True)
    assert len(_thread_forms) == 1
    assert _form_part(first) == _form_part(second) == before
    assert ("Senden" if language == "de" else "Send") in before
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', second.split("<h2>")[1]).group(1)
    response = novice.post(channel_url(cast), data={"csrf_token": token, "body": "With the kept form"})
    assert response.status_code == 303
