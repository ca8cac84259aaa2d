"""HTML in member-written Markdown is refused with a clear message, on every page and API operation that takes
Markdown, and nothing is saved; bracketed words (``Dear <name>,``), autolinks and HTML in code are accepted
(docs/security.md, "Input"). Pages and the API are used over real HTTP (``http_client``)."""

from __future__ import annotations

import datetime as dt
import html as html_lib
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from network_service.accounts.operations import get_or_create_person
from network_service.conversations.models import Channel, Message, MessageRevision
from network_service.db import session
from network_service.directory.models import DirectoryEntry, NetworkPublicPage
from network_service.errors import InvalidInput
from network_service.goals.models import Goal, GoalUpdate
from network_service.help.models import HelpRequest, HelpResponse
from network_service.markup import html_in_markdown, html_refusal, refuse_html_in_markdown, render_markdown
from network_service.meetings.models import Meeting
from network_service.networks.models import Agreement, Network
from network_service.resources.models import Resource
from tests.conv_helpers import EMAILS, bearer_for, build_cast
from tests.helpers import csrf_from, sign_in_as

API = "/api/v1"
SCRIPT = "Hello <script>alert(1)</script>"
ACCEPTED = "Dear <name>,\n\nshow it as code: `<script>alert(1)</script>` and read <https://example.org>."

# -- the detector -----------------------------------------------------------------------------------------------

ALLOWED = [
    "Dear <name>,",
    "<Ana Silva>",
    "From: <Ana Silva>\nDate: Monday",
    "a <3 b",
    "I <3 you, 1 < 2 and 3 > 2, a<b",
    "<https://example.org>",
    "<http://example.org/path?a=1&b=2>",
    "<ana@example.org>",
    "<Ana.Silva@example.org>",
    "`<script>`",
    "`<script>alert(1)</script>`",
    "Use ``<b>`` for bold in HTML",
    "```\n<script>alert(1)</script>\n<div>x</div>\n```",
    "~~~html\n<iframe src=x></iframe>\n~~~",
    "    <script>alert(1)</script>",
    "\\<script>alert(1)\\</script>",
    "\\<svg/onload=alert(1)>",
    "<name>",
    "<Name> and <first name>",
    "<foo-bar>",
    "<text>",
    "<Ana Silva>\nuse `<b>` for bold",
    "-> arrows <- and <=>",
    "<scr\nipt>",
    "Please send the form to <address> before <time>.",
    "The <title> of the meeting, in <section> 2",
    "Fill in the <form>, then press <button>",
    "<address>\nBerlin",
    "<Image of me> and <Title of your talk>",
    "<Address of the office>\n<Input your name>",
    "",
    "plain text without brackets",
]

REFUSED = [
    ("<script>alert(1)</script>", ["<script>"]),
    ("Hello <script>alert(1)</script>", ["<script>"]),
    ("<SCRIPT>alert(1)</SCRIPT>", ["<script>"]),
    ("<style>body{}</style>", ["<style>"]),
    ("<iframe src=https://e.org></iframe>", ["<iframe>"]),
    ('<img src=x onerror="alert(1)">', ["<img>"]),
    ("look <img src=x onerror=alert(1)>", ["<img>"]),
    ("<svg onload=alert(1)>", ["<svg>"]),
    ("<svg/onload=alert(1)>", ["<svg>"]),
    ("text <img/src=x> more", ["<img>"]),
    ("<math><mi>x</mi></math>", ["<math>"]),
    ("<a href=https://example.org>link</a>", ["<a>"]),
    ("some <b>bold</b> and <i>italic</i>", ["<b>", "<i>"]),
    ("<p>paragraph</p>", ["<p>"]),
    ("</p>", ["<p>"]),
    ("<div>\nblock\n</div>", ["<div>"]),
    ("<span>x</span>", ["<span>"]),
    ("line<br>break", ["<br>"]),
    ("line<br/>break", ["<br>"]),
    ('<form action="x"><input name=y><button>go</button></form>', ["<form>", "<input>", "<button>"]),
    ("<object data=x></object>", ["<object>"]),
    ("<embed src=x>", ["<embed>"]),
    ('<link rel="stylesheet" href="x">', ["<link>"]),
    ('<meta http-equiv="refresh" content="0">', ["<meta>"]),
    ("<base href=https://evil.example>", ["<base>"]),
    ("<video src=x></video>", ["<video>"]),
    ("<audio src=x></audio>", ["<audio>"]),
    ("<source src=x>", ["<source>"]),
    ("<template><p>x</p></template>", ["<template>", "<p>"]),
    ("<table><tr><td>x</td></tr></table>", ["<table>", "<tr>", "<td>"]),
    ("<!-- a comment -->", ["<!-- -->"]),
    ("text <!-- hidden --> text", ["<!-- -->"]),
    ("<?php echo 1; ?>", ["<? ?>"]),
    ("<![CDATA[x]]>", ["<![CDATA[ ]]>"]),
    ("<!DOCTYPE html>", ["<!DOCTYPE>"]),
    ("Dear <name>,\n<script>alert(1)</script>", ["<script>"]),
    ("<Ana Silva>\nuse `<b>` and <i>x</i>", ["<i>"]),
    ("- item <em>one</em>", ["<em>"]),
    ("> quote <u>x</u>", ["<u>"]),
    ("| a | <b>x</b> |\n|---|---|\n| 1 | 2 |", ["<b>"]),
    ("[text <b>x</b>](https://example.org)", ["<b>"]),
    ("**bold** <marquee>old</marquee>", ["<marquee>"]),
    ("<title>x</title>", ["<title>"]),
    ("Send it to <address> and </address>", ["<address>"]),
    ('<address class="x">Berlin', ["<address>"]),
    ("<time datetime=2026-01-01>", ["<time>"]),
    ("before <time> then <script>x</script>", ["<script>"]),
]


@pytest.mark.parametrize("source", ALLOWED)
def test_bracketed_words_autolinks_and_code_are_not_html(source):
    assert html_in_markdown(source) == []
    refuse_html_in_markdown(source, "body")  # does not raise


@pytest.mark.parametrize(("source", "found"), REFUSED)
def test_real_html_is_found_and_named(source, found):
    assert html_in_markdown(source) == found


def test_many_bracketed_lines_are_read_in_linear_time_without_recursion():
    """A text of bracketed words, one a line, up to the length limit (each line once started a block read again:
    a RecursionError, so a 500, after seconds of CPU)."""
    from network_service.markup import MAX_MARKDOWN_CHARS

    lines = "<xy>\n" * (MAX_MARKDOWN_CHARS // 5)
    assert html_in_markdown(lines) == []
    assert html_in_markdown(lines + "<b>x</b>") == ["<b>"]
    assert html_in_markdown("<ab c>\n" * (MAX_MARKDOWN_CHARS // 7)) == []


def test_none_is_no_html():
    assert html_in_markdown(None) == [] and html_refusal(None) is None


def test_the_refusal_names_at_most_three_findings_and_the_field(app):
    with app.test_request_context(), pytest.raises(InvalidInput) as caught:
        refuse_html_in_markdown("<b>1</b> <i>2</i> <u>3</u> <s>4</s> <b>again</b>", "note")
    assert caught.value.field == "note" and caught.value.status == 422
    assert caught.value.detail.endswith("Found: <b>, <i>, <u>, …")
    assert "Markdown" in caught.value.detail and "backticks" in caught.value.detail


def test_rendering_still_shows_code_as_text():
    html = str(render_markdown(ACCEPTED))
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in html
    assert "Dear &lt;name&gt;," in html and "<script" not in html


# -- the world: a network with its roles (tests/conv_helpers.py), signed in over real HTTP -----------------------


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


@pytest.fixture
def browser(http_client, run, cast):
    """A person's browser over real HTTP: ``browser("coordinator")``."""

    def make(label: str):
        client = http_client()
        sign_in_as(client, run, EMAILS[label])
        return client

    return make


class _Forms(HTMLParser):
    """The fields of every form on a page, with the values the page gives them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "fields": {}})
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    fields[name] = a.get("value", "y")
                return
            fields[name] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and (self._select not in fields or "selected" in a):
            fields[self._select] = a.get("value", "")

    def handle_data(self, data):
        if self._textarea:
            self.forms[-1]["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def submit(client, page: str, field: str, value: str, /, post_to: str | None = None, **more):
    """Fill ``field`` of the form on ``page`` that has it (keeping what the page filled in) and post it."""
    response = client.get(page)
    assert response.status_code == 200, page
    parser = _Forms()
    parser.feed(response.get_data(as_text=True))
    form = next(f for f in parser.forms if field in f["fields"] and "csrf_token" in f["fields"])
    data = {**form["fields"], field: value, **more}
    return client.post(post_to or form["action"] or page, data=data)


def assert_refused_on_page(response, field: str, typed: str, found: str) -> None:
    """422, the message next to ``field``, and what was typed still in the form."""
    text = response.get_data(as_text=True)
    assert response.status_code == 422, text
    assert f'id="{field}-error"' in text, text
    assert "HTML is not used here" in text and f"Found: {html_lib.escape(found)}" in text
    assert html_lib.escape(typed, quote=False) in text  # the typed text is kept


def assert_refused_by_api(response, field: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json
    assert field in body.get("errors", {}), body
    assert "HTML is not used here" in body["detail"] and "<script>" in body["detail"]


def count(run, model) -> int:
    return run(lambda: session.scalar(sa.select(sa.func.count()).select_from(model)))


def api(client, run, label: str, method: str, path: str, body: dict):
    return client.open(f"{API}{path}", method, json=body, headers=bearer_for(run, label))


# -- conversations -------------------------------------------------------------------------------------------


def _general(cast) -> str:
    return f"/networks/{cast.slug}/conversations/c/{cast.general}"


def test_conversations_refuse_html_on_pages_and_in_the_api(browser, http_client, run, cast):
    mina = browser("novice")
    before = count(run, Message)
    assert_refused_on_page(submit(mina, _general(cast), "body", SCRIPT), "body", SCRIPT, "<script>")
    raw = http_client()
    assert_refused_by_api(
        api(
            raw,
            run,
            "novice",
            "POST",
            f"/networks/{cast.slug}/channels/{cast.general}/messages",
            {"body": SCRIPT},
        ),
        "body",
    )
    assert count(run, Message) == before

    accepted = submit(mina, _general(cast), "body", ACCEPTED)
    assert accepted.status_code == 303
    page = mina.get(_general(cast)).get_data(as_text=True)
    assert "Dear &lt;name&gt;," in page and "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in page
    root_id = run(lambda: session.scalar(sa.select(sa.func.max(Message.id))))

    # a reply (page and API) and an edit (page and API)
    thread = f"/networks/{cast.slug}/conversations/threads/{root_id}"
    assert_refused_on_page(submit(mina, thread, "body", "<b>yes</b>"), "body", "<b>yes</b>", "<b>")
    assert_refused_by_api(
        api(raw, run, "novice", "POST", f"/messages/{root_id}/replies", {"body": SCRIPT}), "body"
    )
    assert count(run, Message) == before + 1
    edit = f"/networks/{cast.slug}/conversations/messages/{root_id}/edit"
    assert_refused_on_page(submit(mina, edit, "body", SCRIPT), "body", SCRIPT, "<script>")
    assert_refused_by_api(api(raw, run, "novice", "PATCH", f"/messages/{root_id}", {"body": SCRIPT}), "body")
    assert run(lambda: session.get(Message, root_id).body) == ACCEPTED
    assert count(run, MessageRevision) == 0


def test_a_direct_message_with_html_opens_no_conversation(browser, http_client, run, cast):
    mina = browser("novice")
    channels, messages = count(run, Channel), count(run, Message)
    response = submit(
        mina, f"/networks/{cast.slug}/conversations/direct/new?to={cast.ids['meta_mentor']}", "body", SCRIPT
    )
    assert_refused_on_page(response, "body", SCRIPT, "<script>")
    body = {"person_ids": [cast.ids["meta_mentor"]], "body": SCRIPT}
    assert_refused_by_api(
        api(http_client(), run, "novice", "POST", f"/networks/{cast.slug}/direct", body), "body"
    )
    assert (count(run, Channel), count(run, Message)) == (channels, messages)


# -- help ----------------------------------------------------------------------------------------------------


def test_help_requests_and_answers_refuse_html(browser, http_client, run, cast):
    mina = browser("novice")
    raw = http_client()
    before = count(run, HelpRequest)
    new = f"/networks/{cast.slug}/help/new"
    response = submit(mina, new, "body", SCRIPT, topic="School enrolment", action="check")
    assert_refused_on_page(response, "body", SCRIPT, "<script>")
    body = {"topic": "School enrolment", "body": SCRIPT}
    assert_refused_by_api(
        api(raw, run, "novice", "POST", f"/networks/{cast.slug}/help-requests", body), "body"
    )
    assert count(run, HelpRequest) == before

    created = api(
        raw, run, "novice", "POST", f"/networks/{cast.slug}/help-requests", {"topic": "x", "body": ACCEPTED}
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    request_id = created.json["id"]
    edit = f"/networks/{cast.slug}/help/{request_id}/edit"
    assert_refused_on_page(submit(mina, edit, "body", SCRIPT), "body", SCRIPT, "<script>")
    patch = api(
        raw, run, "novice", "PATCH", f"/networks/{cast.slug}/help-requests/{request_id}", {"body": SCRIPT}
    )
    assert_refused_by_api(patch, "body")
    assert run(lambda: session.get(HelpRequest, request_id).body) == ACCEPTED

    eva = browser("experienced")
    page = f"/networks/{cast.slug}/help/{request_id}"
    response = submit(eva, page, "body", SCRIPT, post_to=f"{page}/respond")
    assert_refused_on_page(response, "body", SCRIPT, "<script>")
    answer = api(
        raw,
        run,
        "experienced",
        "POST",
        f"/networks/{cast.slug}/help-requests/{request_id}/responses",
        {"body": SCRIPT},
    )
    assert_refused_by_api(answer, "body")
    assert count(run, HelpResponse) == 0
    accepted = submit(eva, page, "body", ACCEPTED, post_to=f"{page}/respond")
    assert accepted.status_code == 303, accepted.get_data(as_text=True)
    assert count(run, HelpResponse) == 1


# -- resources -----------------------------------------------------------------------------------------------


def test_resources_refuse_html_in_notes_and_descriptions(browser, http_client, run, cast):
    mina = browser("novice")
    raw = http_client()
    base = f"/networks/{cast.slug}/resources"
    response = submit(mina, f"{base}/new/note", "body", SCRIPT, title="A note")
    assert_refused_on_page(response, "body", SCRIPT, "<script>")
    response = submit(
        mina, f"{base}/new/link", "description", SCRIPT, title="A link", url="https://example.org"
    )
    assert_refused_on_page(response, "description", SCRIPT, "<script>")
    note = {"kind": "note", "title": "A note", "body": SCRIPT}
    assert_refused_by_api(api(raw, run, "novice", "POST", f"/networks/{cast.slug}/resources", note), "body")
    link = {"kind": "link", "title": "A link", "url": "https://example.org", "body": SCRIPT}
    assert_refused_by_api(api(raw, run, "novice", "POST", f"/networks/{cast.slug}/resources", link), "body")
    upload = raw.open(
        f"{API}/networks/{cast.slug}/resources/upload",
        "POST",
        data={"file": (_BytesFile(b"hello"), "hello.txt"), "description": SCRIPT},
        headers=bearer_for(run, "novice"),
    )
    assert_refused_by_api(upload, "description")
    assert count(run, Resource) == 0

    created = api(raw, run, "novice", "POST", f"/networks/{cast.slug}/resources", {**note, "body": ACCEPTED})
    assert created.status_code == 201, created.get_data(as_text=True)
    resource_id = created.json["id"]
    edit = f"{base}/{resource_id}/edit"
    assert_refused_on_page(submit(mina, edit, "body", SCRIPT), "body", SCRIPT, "<script>")
    patch = api(
        raw, run, "novice", "PATCH", f"/networks/{cast.slug}/resources/{resource_id}", {"body": SCRIPT}
    )
    assert_refused_by_api(patch, "body")
    assert run(lambda: session.get(Resource, resource_id).body) == ACCEPTED
    page = mina.get(f"{base}/{resource_id}").get_data(as_text=True)
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in page


class _BytesFile:
    def __init__(self, data: bytes):
        self._data = data

    def read(self) -> bytes:
        return self._data


# -- goals ---------------------------------------------------------------------------------------------------


def test_goals_and_progress_notes_refuse_html(browser, http_client, run, cast):
    carla = browser("coordinator")
    raw = http_client()
    base = f"/networks/{cast.slug}/goals"
    response = submit(
        carla, f"{base}/new", "description", SCRIPT, title="Ten mentors", target_value="10", unit="mentors"
    )
    assert_refused_on_page(response, "description", SCRIPT, "<script>")
    goal = {
        "title": "Ten mentors",
        "description": SCRIPT,
        "owner_id": cast.ids["coordinator"],
        "target_value": 10,
        "unit": "mentors",
    }
    assert_refused_by_api(
        api(raw, run, "coordinator", "POST", f"/networks/{cast.slug}/goals", goal), "description"
    )
    assert count(run, Goal) == 0

    created = api(
        raw, run, "coordinator", "POST", f"/networks/{cast.slug}/goals", {**goal, "description": ACCEPTED}
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    goal_id = created.json["id"]
    response = submit(carla, f"{base}/{goal_id}", "note", SCRIPT, value="2")
    assert_refused_on_page(response, "note", SCRIPT, "<script>")
    update = {"value": 2, "note": SCRIPT}
    assert_refused_by_api(
        api(raw, run, "coordinator", "POST", f"/networks/{cast.slug}/goals/{goal_id}/updates", update), "note"
    )
    assert count(run, GoalUpdate) == 0
    edit = api(
        raw, run, "coordinator", "PATCH", f"/networks/{cast.slug}/goals/{goal_id}", {"description": SCRIPT}
    )
    assert_refused_by_api(edit, "description")
    assert_refused_on_page(
        submit(carla, f"{base}/{goal_id}/edit", "description", SCRIPT), "description", SCRIPT, "<script>"
    )
    assert run(lambda: session.get(Goal, goal_id).description) == ACCEPTED


# -- meetings ------------------------------------------------------------------------------------------------


def test_meetings_refuse_html_in_the_description(browser, http_client, run, cast):
    carla = browser("coordinator")
    raw = http_client()
    day = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    response = submit(
        carla,
        f"/networks/{cast.slug}/meetings/new",
        "description",
        SCRIPT,
        title="Monthly exchange",
        date=day,
        start_time="18:00",
        end_time="19:00",
        timezone="UTC",
        place="Community centre",
    )
    assert_refused_on_page(response, "description", SCRIPT, "<script>")
    meeting = {
        "title": "Monthly exchange",
        "description": SCRIPT,
        "starts_at": f"{day}T18:00:00",
        "ends_at": f"{day}T19:00:00",
        "timezone": "UTC",
        "place": "Community centre",
    }
    assert_refused_by_api(
        api(raw, run, "coordinator", "POST", f"/networks/{cast.slug}/meetings", meeting), "description"
    )
    assert count(run, Meeting) == 0
    created = api(
        raw,
        run,
        "coordinator",
        "POST",
        f"/networks/{cast.slug}/meetings",
        {**meeting, "description": ACCEPTED},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    meeting_id = created.json["id"]
    edit = api(
        raw,
        run,
        "coordinator",
        "PATCH",
        f"/networks/{cast.slug}/meetings/{meeting_id}",
        {"description": SCRIPT},
    )
    assert_refused_by_api(edit, "description")
    response = submit(carla, f"/networks/{cast.slug}/meetings/{meeting_id}/edit", "description", SCRIPT)
    assert_refused_on_page(response, "description", SCRIPT, "<script>")
    assert run(lambda: session.get(Meeting, meeting_id).description) == ACCEPTED


def test_text_saved_before_the_rule_does_not_block_changing_other_fields(http_client, run, cast):
    """HTML saved before session 11 (a help request's body, a meeting's description) stays until its field is
    changed: a PATCH of another field, or the same text sent again, is accepted; a new text with HTML is not."""
    raw = http_client()
    created = api(
        raw, run, "novice", "POST", f"/networks/{cast.slug}/help-requests", {"topic": "Forms", "body": "x"}
    )
    request_id = created.json["id"]
    old = "Line one<br>line two, <b>urgent</b>"
    run(lambda: setattr(session.get(HelpRequest, request_id), "body", old))
    url = f"/networks/{cast.slug}/help-requests/{request_id}"
    assert api(raw, run, "novice", "PATCH", url, {"urgency": "high"}).status_code == 200
    assert api(raw, run, "novice", "PATCH", url, {"body": old, "region": "Berlin"}).status_code == 200
    assert_refused_by_api(api(raw, run, "novice", "PATCH", url, {"body": old + " " + SCRIPT}), "body")
    assert run(lambda: session.get(HelpRequest, request_id).body) == old

    day = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    meeting = {
        "title": "Monthly exchange",
        "starts_at": f"{day}T18:00:00",
        "ends_at": f"{day}T19:00:00",
        "timezone": "UTC",
        "place": "Community centre",
    }
    meeting_id = api(raw, run, "coordinator", "POST", f"/networks/{cast.slug}/meetings", meeting).json["id"]
    run(lambda: setattr(session.get(Meeting, meeting_id), "description", old))
    url = f"/networks/{cast.slug}/meetings/{meeting_id}"
    assert api(raw, run, "coordinator", "PATCH", url, {"place": "Room 2"}).status_code == 200
    assert_refused_by_api(api(raw, run, "coordinator", "PATCH", url, {"description": SCRIPT}), "description")
    assert run(lambda: session.get(Meeting, meeting_id).place) == "Room 2"


# -- the agreement, the network's description, its public page, the directory --------------------------------


def test_the_agreement_refuses_html_in_its_text_and_change_note(browser, http_client, run, cast):
    carla = browser("coordinator")
    raw = http_client()
    before = count(run, Agreement)
    publish = f"/networks/{cast.slug}/agreement/publish"
    assert_refused_on_page(submit(carla, publish, "body", SCRIPT, title="Rules"), "body", SCRIPT, "<script>")
    response = submit(carla, publish, "change_note", "<b>new</b>", title="Rules", body="1. Be kind.")
    assert_refused_on_page(response, "change_note", "<b>new</b>", "<b>")
    body = {"title": "Rules", "body": SCRIPT}
    assert_refused_by_api(
        api(raw, run, "coordinator", "POST", f"/networks/{cast.slug}/agreements", body), "body"
    )
    body = {"title": "Rules", "body": "1. Be kind.", "change_note": SCRIPT}
    assert_refused_by_api(
        api(raw, run, "coordinator", "POST", f"/networks/{cast.slug}/agreements", body), "change_note"
    )
    assert count(run, Agreement) == before


def test_the_network_description_refuses_html(browser, http_client, run, cast):
    carla = browser("coordinator")
    before = run(lambda: session.get(Network, cast.network_id).description)
    settings = f"/networks/{cast.slug}/settings"
    assert_refused_on_page(submit(carla, settings, "description", SCRIPT), "description", SCRIPT, "<script>")
    response = api(
        http_client(), run, "coordinator", "PATCH", f"/networks/{cast.slug}/settings", {"description": SCRIPT}
    )
    assert_refused_by_api(response, "description")
    assert run(lambda: session.get(Network, cast.network_id).description) == before
    assert submit(carla, settings, "description", ACCEPTED).status_code == 303
    assert run(lambda: session.get(Network, cast.network_id).description) == ACCEPTED


def test_the_public_page_and_directory_suggestions_refuse_html(browser, http_client, run, cast):
    carla = browser("coordinator")
    pages = count(run, NetworkPublicPage)
    response = submit(
        carla, f"/networks/{cast.slug}/public-page", "how_to_join", SCRIPT, public="y", country="DE"
    )
    assert_refused_on_page(response, "how_to_join", SCRIPT, "<script>")
    assert count(run, NetworkPublicPage) == pages

    entries = count(run, DirectoryEntry)
    visitor = http_client()
    response = submit(visitor, "/directory/suggest", "description", SCRIPT, name="Casa Aperta", country="IT")
    assert_refused_on_page(response, "description", SCRIPT, "<script>")
    suggestion = {"name": "Casa Aperta", "country": "IT", "description": SCRIPT}
    response = visitor.open(f"{API}/directory/suggestions", "POST", json=suggestion)
    assert_refused_by_api(response, "description")
    assert count(run, DirectoryEntry) == entries


# -- starting a network (growth): its description and its first agreement ---------------------------------------


def test_starting_a_network_refuses_html_in_its_description_and_agreement(http_client, run, cast):
    run(lambda: get_or_create_person("founder@example.org", display_name="Fatima Founder"))
    founder = http_client()
    sign_in_as(founder, run, "founder@example.org")
    intro = founder.get("/start").get_data(as_text=True)
    assert founder.post("/start", data={"csrf_token": csrf_from(intro)}).status_code == 303
    response = submit(founder, "/start/organisation", "name", "Neue Nachbarn e.V.", country="DE")
    assert response.status_code == 303, response.get_data(as_text=True)
    networks = count(run, Network)
    response = submit(
        founder, "/start/network", "description", SCRIPT, name="Leipzig Mentors", slug="leipzig-mentors"
    )
    assert_refused_on_page(response, "description", SCRIPT, "<script>")
    response = submit(
        founder, "/start/network", "description", ACCEPTED, name="Leipzig Mentors", slug="leipzig-mentors"
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    response = submit(founder, "/start/agreement", "body", SCRIPT, title="Our rules")
    assert_refused_on_page(response, "body", SCRIPT, "<script>")
    assert count(run, Network) == networks
    response = submit(founder, "/start/agreement", "body", "1. Be kind.", title="Our rules")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert count(run, Network) == networks + 1
    assert run(
        lambda: session.scalar(sa.select(Network.description).where(Network.slug == "leipzig-mentors"))
    ) == (ACCEPTED)
