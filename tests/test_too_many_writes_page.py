"""The page of a form refused by a per-person rate limit (429, errors._too_many_writes_page): every kept field
with its own form's label, visible and editable, in the form's order; "Send again" posts them with a fresh CSRF
token to the same address (behind a path prefix too) and succeeds once the budget is back.

Each test builds an app with the limits on (``limited_app``) and binds it to the test's transaction
(``db.bound_to``), so the network it writes to is rolled back like any other test's data."""

from __future__ import annotations

import datetime as dt
import time
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from network_service.db import db, session
from tests import helpers

ADDRESS = {"REMOTE_ADDR": "198.51.100.23"}
PREFIX = "http://localhost/mentornet/"


class _Form(HTMLParser):
    """The kept form of the page (the one posting to ``action``): its controls, labels and legends."""

    def __init__(self, action: str):
        super().__init__()
        self.action = action
        self.inside = False
        self.attrs: dict = {}  # of the <form> tag itself
        self.controls: list[dict] = []  # in document order: {tag, type, id, name, value, checked, options}
        self.labels: dict[str, str] = {}  # for -> text
        self.legends: list[str] = []
        self._label_for = None
        self._text: list[str] = []
        self._collect = None  # "label", "legend", "textarea", "option"
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("action") == self.action:
            self.inside, self.attrs = True, attrs
        if not self.inside:
            return
        if tag == "input":
            self.controls.append({**attrs, "tag": "input", "checked": "checked" in attrs})
        elif tag == "textarea":
            self.controls.append({"tag": "textarea", **attrs})
            self._collect, self._text = "textarea", []
        elif tag == "select":
            self._select = {"tag": "select", "options": [], **attrs}
            self.controls.append(self._select)
        elif tag == "option":
            self._select["options"].append({"value": attrs.get("value"), "selected": "selected" in attrs})
            self._collect, self._text = "option", []
        elif tag == "label":
            self._label_for, self._collect, self._text = attrs.get("for"), "label", []
        elif tag == "legend":
            self._collect, self._text = "legend", []

    def handle_data(self, data):
        if self._collect:
            self._text.append(data)

    def handle_endtag(self, tag):
        if not self.inside:
            return
        text = "".join(self._text)
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._collect == "textarea":
            self.controls[-1]["value"] = text.removeprefix("\n")  # as a browser reads it (HTML drops it)
        elif tag == "option" and self._collect == "option":
            self._select["options"][-1]["label"] = text.strip()
        elif tag == "label" and self._collect == "label":
            self.labels[self._label_for] = " ".join(text.split())
        elif tag == "legend" and self._collect == "legend":
            self.legends.append(" ".join(text.split()))
        if tag in {"textarea", "option", "label", "legend"}:
            self._collect = None

    def label_of(self, name: str) -> str:
        """The text of the <label for> of the one visible control named ``name``."""
        [control] = [c for c in self.controls if c.get("name") == name and c.get("type") != "hidden"]
        assert control.get("id"), control
        return self.labels[control["id"]]

    def control(self, name: str) -> dict:
        [control] = [c for c in self.controls if c.get("name") == name]
        return control

    def data(self, **changes) -> MultiDict:
        """What the browser posts ("Send again"), with ``changes`` typed in first."""
        posted = []
        for control in self.controls:
            name = control.get("name")
            if not name:
                continue
            if control["tag"] == "select":
                chosen = [o["value"] for o in control["options"] if o["selected"]] or [
                    control["options"][0]["value"]
                ]
                posted += [(name, value) for value in chosen]
            elif control.get("type") in {"checkbox", "radio"}:
                if control["checked"]:
                    posted.append((name, control.get("value", "on")))
            else:
                posted.append((name, changes.pop(name, control.get("value", ""))))
        assert not changes, f"no such field on the page: {changes}"
        return MultiDict(posted)


def kept_form(html: str, action: str) -> _Form:
    form = _Form(action)
    form.feed(html)
    assert form.controls, f"no form posting to {action}"
    return form


@pytest.fixture
def limited(limited_app, db_connection):
    """An app with the limits on, in this test's transaction, with the test world (helpers.build_world)."""
    application = limited_app()
    with db.bound_to(application, db_connection):
        with application.test_request_context():
            world = helpers.build_world()
            session.commit()
        yield application, world


def signed_in(application, person_id: int, base_url: str = "http://localhost/"):
    client = application.test_client()
    helpers.act_as_person(client, person_id)
    token = helpers.csrf_from(client.get("/profile", base_url=base_url).get_data(as_text=True))
    return client, token


def earlier_token(application, client) -> str:
    """A valid CSRF token of ``client``'s session signed a minute ago: it differs from any the page can make now,
    so a page that echoed the posted token would show this one."""
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class _Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 60

    with client.session_transaction() as flask_session:
        raw = flask_session["csrf_token"]
    secret = application.config.get("WTF_CSRF_SECRET_KEY") or application.secret_key
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token", signer=_Earlier).dumps(raw)


def spend(client, token: str, path: str, times: int) -> None:
    """Spend ``times`` of the person's budget on ``path`` (a network that does not exist: counted, nothing
    written)."""
    statuses = [
        client.post(path, data={"csrf_token": token}, environ_base=ADDRESS).status_code for _ in range(times)
    ]
    assert 429 not in statuses, statuses


def test_a_refused_meeting_keeps_each_field_with_its_label_and_sends_again(limited):
    from network_service.meetings.models import Meeting
    from network_service.meetings.views import MEETING_RATE_LIMIT

    application, world = limited
    allowed = int(MEETING_RATE_LIMIT.split()[0])
    client, token = signed_in(application, world.coordinator_id, PREFIX)
    spend(client, token, "/networks/no-such-network/meetings/new", allowed)
    day = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    description = "Bring your questions about housing.\nWe meet in the small room."
    posted_token = earlier_token(application, client)
    refused = client.post(
        "/networks/test-net/meetings/new",
        data={
            "csrf_token": posted_token,
            "title": "Exchange on housing",
            "description": description,
            "date": day,
            "start_time": "18:00",
            "end_time": "19:30",
            "timezone": "Europe/Berlin",
            "timezone_other": "",
            "online_url": "https://meet.example.org/housing",
            "place": "",
        },
        base_url=PREFIX,
        environ_base=ADDRESS,
    )
    assert refused.status_code == 429 and refused.headers["Cache-Control"] == "no-store"
    html = refused.get_data(as_text=True)
    action = "/mentornet/networks/test-net/meetings/new"  # the path prefix is kept
    page = kept_form(html, action)

    # each field with the form's own label (MeetingForm), by <label for> on its own control
    assert page.label_of("title") == "Title"
    assert page.label_of("description") == "What is it about? (optional)"
    assert page.label_of("date") == "Date"
    assert page.label_of("start_time") == "Starts at"
    assert page.label_of("end_time") == "Ends at"
    assert page.label_of("timezone") == "Time zone"
    assert page.label_of("online_url") == "Meeting link"
    assert page.label_of("place") == "Place"
    assert not [text for text in page.labels.values() if text.startswith("What you wrote")]  # none generic
    # in the form's order
    names = [c["name"] for c in page.controls if c.get("name") not in {None, "csrf_token"}]
    assert names == [
        "title",
        "description",
        "date",
        "start_time",
        "end_time",
        "timezone",
        "timezone_other",
        "online_url",
        "place",
    ]
    # short values are visible and editable (a text input, not hidden, not read-only); long or multi-line ones
    # in a text area; the time zone a list with the chosen one selected
    title = page.control("title")
    assert title["tag"] == "input" and title["type"] == "text" and title["value"] == "Exchange on housing"
    assert "readonly" not in title and "disabled" not in title
    assert page.control("start_time")["type"] == "time" and page.control("start_time")["value"] == "18:00"
    assert page.control("description")["tag"] == "textarea"
    assert page.control("description")["value"] == description
    assert [o["value"] for o in page.control("timezone")["options"] if o["selected"]] == ["Europe/Berlin"]
    hidden = [c["name"] for c in page.controls if c.get("type") == "hidden"]
    assert hidden == ["csrf_token"]  # nothing else goes back unseen
    fresh = page.control("csrf_token")["value"]
    assert fresh and fresh != posted_token and posted_token not in html  # never the posted token

    # sent again at once: the token is valid (the CSRF check comes first: 400), the limit still applies
    path = action.removeprefix("/mentornet")  # the test client puts the prefix (SCRIPT_NAME) back
    again = client.post(path, data=page.data(), base_url=PREFIX, environ_base=ADDRESS)
    assert again.status_code == 429

    # once the budget is back, "Send again" with the title changed on this page plans the meeting
    application.extensions["mentornet.limiter"].reset()
    sent = client.post(
        path,
        data=page.data(title="Exchange on housing, second round"),
        base_url=PREFIX,
        environ_base=ADDRESS,
    )
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    with application.app_context():
        meeting = session.scalar(sa.select(Meeting))
        assert meeting.title == "Exchange on housing, second round"
        assert meeting.description == description
        assert meeting.timezone == "Europe/Berlin"


def test_a_refused_help_request_keeps_its_choices_readable_and_sends_again(limited):
    from network_service.help.models import HelpRequest
    from network_service.help.views import HELP_REQUEST_RATE_LIMIT

    application, world = limited
    allowed = int(HELP_REQUEST_RATE_LIMIT.split()[0])
    client, token = signed_in(application, world.mentor_id)
    spend(client, token, "/networks/no-such-network/help/new", allowed)
    body = "I accompany a family to the foreigners' office next week and need someone who knows the forms."
    refused = client.post(
        "/networks/test-net/help/new",
        data=MultiDict(
            [
                ("csrf_token", token),
                ("topic", "Appointment at the office"),
                ("body", body),
                ("languages", "Italian"),
                ("languages", "Arabic"),
                ("other_languages", "Tigrinya"),
                ("region", "Milano"),
                ("tags", "housing, forms"),
                ("urgency", "high"),
            ]
        ),
        environ_base=ADDRESS,
    )
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    page = kept_form(html, "/networks/test-net/help/new")
    assert page.label_of("topic") == "What do you need help with?"
    assert page.label_of("body") == "Details (optional)"
    assert page.label_of("other_languages") == "Other languages"
    assert page.label_of("region") == "Region or city (optional)"
    assert page.label_of("tags") == "Topics (optional)"
    assert page.label_of("urgency") == "How urgent is it?"
    # the languages: one ticked box each, labelled with the language, in a group named by the form's label
    assert "Languages" in page.legends
    boxes = [c for c in page.controls if c.get("name") == "languages"]
    assert [(box["value"], box["checked"], page.labels[box["id"]]) for box in boxes] == [
        ("Italian", True, "Italian"),
        ("Arabic", True, "Arabic"),
    ]
    # the urgency: the form's own choices, translated labels, the chosen one selected
    options = page.control("urgency")["options"]
    assert [o["value"] for o in options if o["selected"]] == ["high"]
    assert {o["label"] for o in options} >= {"High: within two days", "Urgent: today"}
    topic = page.control("topic")
    assert topic["tag"] == "input" and topic["value"] == "Appointment at the office"
    assert page.control("body")["tag"] == "textarea" and page.control("body")["value"] == body
    assert [c["name"] for c in page.controls if c.get("type") == "hidden"] == ["csrf_token"]

    application.extensions["mentornet.limiter"].reset()  # a fresh budget, as when the hour has passed
    sent = client.post("/networks/test-net/help/new", data=page.data(region="Torino"), environ_base=ADDRESS)
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    with application.app_context():
        created = session.scalar(sa.select(HelpRequest))
        assert created.topic == "Appointment at the office" and created.body == body
        assert created.region == "Torino" and created.urgency.value == "high"
        assert set(created.languages) >= {"Italian", "Arabic", "Tigrinya"}


def test_a_field_the_form_does_not_know_gets_a_generic_label_and_a_choice_it_cannot_name_is_not_resent(
    limited,
):
    """A name posted outside the form class (a field a template adds by hand) is shown, editable, with a
    generic label; a choice the view fills in with ids (the goal's responsible member) cannot be named on this
    page, so it is not sent again unseen: the page says so."""
    from network_service.errors import MAX_KEPT_FIELD_CHARS
    from network_service.goals.views import GOAL_RATE_LIMIT

    application, world = limited
    allowed = int(GOAL_RATE_LIMIT.split()[0])
    client, token = signed_in(application, world.coordinator_id)
    spend(client, token, "/networks/no-such-network/goals/new", allowed)
    refused = client.post(
        "/networks/test-net/goals/new",
        data={
            "csrf_token": token,
            "title": "Train new mentors",
            "target_value": "12",
            "unit": "mentors trained",
            "owner_id": str(world.meta_mentor_id),
            "status": "open",
            "made_up": "typed into a field the form does not have",
            "made_up_too": "and another one",
            "description": "x" * (MAX_KEPT_FIELD_CHARS + 1),  # longer than any form takes: not kept
        },
        environ_base=ADDRESS,
    )
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    page = kept_form(html, "/networks/test-net/goals/new")
    assert page.label_of("title") == "Title"
    assert page.label_of("target_value") == "Target"
    assert page.control("target_value")["type"] == "number"
    assert page.label_of("unit") == "What is counted"
    assert page.label_of("status") == "Status"
    assert page.label_of("made_up") == "What you wrote (1)"
    assert page.label_of("made_up_too") == "What you wrote (2)"
    assert page.control("made_up")["value"] == "typed into a field the form does not have"
    assert not [c for c in page.controls if c.get("name") == "owner_id"]
    assert not [c for c in page.controls if c.get("name") == "description"] and "x" * 1000 not in html
    assert "Responsible member: this choice is not kept." in html
    assert [c["name"] for c in page.controls if c.get("type") == "hidden"] == ["csrf_token"]


def test_every_kept_page_endpoint_declares_its_form(limited_app):
    """A page listed with keep_form_when_limited must say which form it builds (security.keeps_form), or its
    refused fields would all carry the generic label."""
    application = limited_app()
    kept = application.extensions["mentornet.kept_form_endpoints"]
    pages = sorted(endpoint for endpoint in kept if not endpoint.startswith("api_"))
    assert "help.new" in pages and "meetings.new" in pages
    undeclared = [
        endpoint
        for endpoint in pages
        if not hasattr(application.view_functions[endpoint], "mentornet_kept_form")
    ]
    assert not undeclared, f"declare their forms with security.keeps_form: {undeclared}"


def test_the_labels_are_in_the_persons_language_and_the_wait_describes_the_button(limited):
    """The form's labels are translated when the page is drawn (lazy_gettext), not when the form class was
    defined; the wait in minutes is the paragraph under the one heading and the description of "Send again"."""
    from network_service.meetings.views import MEETING_RATE_LIMIT

    application, world = limited
    client, token = signed_in(application, world.coordinator_id)
    spend(client, token, "/networks/no-such-network/meetings/new", int(MEETING_RATE_LIMIT.split()[0]))
    refused = client.post(
        "/networks/test-net/meetings/new",
        data={"csrf_token": token, "title": "Austausch", "timezone": "Europe/Berlin"},
        headers={"Accept-Language": "de-DE,de;q=0.9"},
        environ_base=ADDRESS,
    )
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert '<html lang="de"' in html
    page = kept_form(html, "/networks/test-net/meetings/new")
    assert page.label_of("title") == "Titel" and page.label_of("timezone") == "Zeitzone"
    assert html.count("<h1") == 1
    kept = html.split('action="/networks/test-net/meetings/new"', 1)[1].split("</form>", 1)[0]
    button = kept.split("<button", 1)[1].split(">", 1)[0]
    assert 'aria-describedby="kept-wait"' in button
    # in minutes, rounded up (the page reckons a moment after the header: a second more may be a minute more)
    minutes = -(-int(refused.headers["Retry-After"]) // 60)
    wait = html.split('id="kept-wait">', 1)[1].split("</p>", 1)[0]
    assert f" {minutes} " in wait or f" {minutes + 1} " in wait, wait


def test_a_step_whose_form_depends_on_the_address_is_labelled_by_that_steps_form(limited):
    """growth.start_step builds one form per step (keeps_form with a function of the view's arguments); the
    organisation list is filled in by the view: its empty choice ("a new organisation") is nothing to keep."""
    from network_service.growth.views import START_STEP_RATE_LIMIT

    application, world = limited
    client, token = signed_in(application, world.coordinator_id)
    spend(
        client, token, "/start/organisation", int(START_STEP_RATE_LIMIT.split()[0])
    )  # no start yet: nothing
    refused = client.post(
        "/start/organisation",
        data={
            "csrf_token": token,
            "organisation": "",
            "name": "Mentors of Lyon",
            "country": "FR",
            "city": "",
        },
        environ_base=ADDRESS,
    )
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    page = kept_form(html, "/start/organisation")
    assert page.label_of("name") == "Or a new organisation: its name"
    assert page.label_of("country") == "Country (two letters, like DE)"
    assert page.label_of("city") == "City (optional)"
    assert not [c for c in page.controls if c.get("name") == "organisation"]
    assert "this choice is not kept" not in html


def test_the_button_a_help_form_was_posted_with_is_sent_again_hidden_not_shown_as_words(limited):
    """The help forms post the button that was pressed (name="action": check, mask or confirm; help/form.html,
    help/_findings.html, help/_request_content.html). Its value is not the person's words: the page re-sends it
    hidden, so "Send again" does what the button did (masks), and shows no "What you wrote" box for it."""
    from network_service.accounts.models import Person
    from network_service.help import operations as help_operations
    from network_service.help.models import HelpRequest, HelpResponse
    from network_service.help.views import HELP_REQUEST_RATE_LIMIT, HELP_RESPONSE_RATE_LIMIT
    from network_service.networks.models import Network

    application, world = limited
    client, token = signed_in(application, world.mentor_id)
    spend(client, token, "/networks/no-such-network/help/new", int(HELP_REQUEST_RATE_LIMIT.split()[0]))
    body = "Please call me at +39 347 123 4567 about the forms."
    refused = client.post(
        "/networks/test-net/help/new",
        data={"csrf_token": token, "topic": "Forms at the office", "body": body, "action": "mask"},
        environ_base=ADDRESS,
    )
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    page = kept_form(html, "/networks/test-net/help/new")
    [action] = [c for c in page.controls if c.get("name") == "action"]
    assert action["tag"] == "input" and action["type"] == "hidden" and action["value"] == "mask"
    assert not [label for label in page.labels.values() if label.startswith("What you wrote")]
    assert [c for c in page.controls if c.get("type") != "hidden"] == [
        page.control("topic"),
        page.control("body"),
    ]

    application.extensions["mentornet.limiter"].reset()  # a fresh budget, as when the hour has passed
    sent = client.post("/networks/test-net/help/new", data=page.data(), environ_base=ADDRESS)
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    with application.app_context():
        created = session.scalar(sa.select(HelpRequest))
        assert created.masked and "347 123 4567" not in created.body

    # an answer (help/_request_content.html, help/_findings.html) the same way
    with application.app_context():
        other = session.get(Person, world.meta_mentor_id)
        asked = help_operations.create_request(
            session.get(Network, world.network_id), other, topic="Someone to practise Italian with"
        )
        session.commit()
        path = f"/networks/test-net/help/{asked.id}/respond"
    spend(client, token, "/networks/no-such-network/help/1/respond", int(HELP_RESPONSE_RATE_LIMIT.split()[0]))
    refused = client.post(
        path,
        data={"csrf_token": token, "body": "Write to me: mina@example.org", "action": "mask"},
        environ_base=ADDRESS,
    )
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    page = kept_form(html, path)
    assert page.control("action")["type"] == "hidden" and page.control("action")["value"] == "mask"
    assert not [label for label in page.labels.values() if label.startswith("What you wrote")]
    assert page.control("body")["value"] == "Write to me: mina@example.org"
    application.extensions["mentornet.limiter"].reset()
    assert client.post(path, data=page.data(), environ_base=ADDRESS).status_code == 303
    with application.app_context():
        [answer] = session.scalars(sa.select(HelpResponse).where(HelpResponse.request_id == asked.id))
        assert "mina@example.org" not in answer.body


def test_the_kept_form_leaves_checking_to_the_server(limited):
    """The kept form's inputs keep their types (email, url, number, date): like the app's own forms it is
    ``novalidate``, so the server's translated messages, not the browser's, say what is wrong."""
    from network_service.goals.views import GOAL_RATE_LIMIT

    application, world = limited
    client, token = signed_in(application, world.coordinator_id)
    spend(client, token, "/networks/no-such-network/goals/new", int(GOAL_RATE_LIMIT.split()[0]))
    refused = client.post(
        "/networks/test-net/goals/new",
        data={"csrf_token": token, "title": "Train new mentors", "target_value": "twelve"},
        environ_base=ADDRESS,
    )
    assert refused.status_code == 429
    page = kept_form(refused.get_data(as_text=True), "/networks/test-net/goals/new")
    assert page.control("target_value")["type"] == "number"
    assert "novalidate" in page.attrs
