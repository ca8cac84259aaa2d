"""Peer help through its operations, pages and JSON API: privacy screen, notifications, authorisation, metrics."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from network_service.accounts.models import Person
from network_service.accounts.operations import add_site_admin, create_api_token, get_or_create_person
from network_service.audit.models import AuditLog
from network_service.db import db, session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, NotFound
from network_service.help import operations as ops
from network_service.help.models import HelpRequest, HelpResponse, HelpStatus, HelpSuggestion
from network_service.networks.models import Level, Network, Role
from network_service.networks.operations import create_network, create_organisation
from network_service.networks.roadmap import checkpoints
from network_service.notifications.models import Notification
from tests.helpers import add_member, csrf_from, share_profile, sign_in_as

API = "/api/v1"
DEBUG = False
ROLES = ["anonymous", "outsider", "novice", "experienced", "office", "meta", "coordinator", "admin"]
EMAILS = {
    "outsider": "outsider@example.org",
    "novice": "mentor@example.org",
    "experienced": "expert@example.org",
    "office": "office@example.org",
    "meta": "meta@example.org",
    "coordinator": "coord@example.org",
    "admin": "root@example.org",
}


def _build_roles(world):
    network = session.get(Network, world.network_id)
    add_member(network, "office@example.org", "Olga Office", Role.office, Level.experienced)
    expert = add_member(network, "expert@example.org", "Esra Expert", Role.mentor, Level.experienced)
    expert.languages = ["Arabic", "German"]
    share_profile(expert)  # joined with the box ticked: matched on their languages
    other = create_network("other-net", "Other Network", create_organisation("Other Org"))
    add_member(other, "outsider@example.org", "Otto Outsider")
    add_site_admin("root@example.org")
    asker = add_member(network, "asker@example.org", "Ada Asker")
    asker.languages = ["Arabic"]
    session.flush()


@pytest.fixture
def roles(run, world):
    run(_build_roles, world)
    return world


def person(email):
    return session.scalar(sa.select(Person).where(Person.email == email))


def net(world):
    return session.get(Network, world.network_id)


def new_request(world, email="mentor@example.org", **fields):
    fields.setdefault("topic", "Who knows the school enrolment rules?")
    fields.setdefault("body", "A family I accompany wants to enrol two children mid-year.")
    fields.setdefault("languages", ["Arabic"])
    return ops.create_request(net(world), person(email), **fields)


# -- operations -----------------------------------------------------------------------------------------------


def test_asking_notifies_the_best_matches_and_records_why(roles, ctx, app):
    app.config["HELP_NOTIFY_COUNT"] = 2
    request = new_request(roles, email="coord@example.org")
    suggestions = session.scalars(
        sa.select(HelpSuggestion).where(HelpSuggestion.request_id == request.id)
    ).all()
    assert len(suggestions) == 2 and all(s.notified_at for s in suggestions)
    # the Arabic speakers come first: the novice mentor (Italian, Arabic) and the expert (Arabic, German)
    speakers = {person(e).id for e in ("mentor@example.org", "expert@example.org", "asker@example.org")}
    assert person("expert@example.org").id in {s.person_id for s in suggestions} <= speakers
    notes = session.scalars(sa.select(Notification).where(Notification.kind == "help.matched")).all()
    assert {n.person_id for n in notes} == {s.person_id for s in suggestions}
    assert notes[0].url == f"/networks/test-net/help/{request.id}"
    assert notes[0].params == {"author": "Carla Coordinator", "topic": request.topic}
    assert (
        session.scalar(
            sa.select(AuditLog.action).where(
                AuditLog.target_type == "helprequest", AuditLog.target_id == request.id
            )
        )
        == "help.create"
    )


def test_responses_set_first_response_once_and_notify_the_author(roles, ctx):
    request = new_request(roles)
    ops.respond(request, person("mentor@example.org"), "Some more detail from me.")  # the author's own note
    assert request.first_response_at is None and request.response_count == 1
    ops.respond(request, person("expert@example.org"), "Go to the school office first.")
    first = request.first_response_at
    assert first is not None
    ops.respond(request, person("meta@example.org"), "And bring the registration.")
    assert request.first_response_at == first and request.response_count == 3
    notes = session.scalars(
        sa.select(Notification).where(Notification.kind == "help.response").order_by(Notification.id)
    ).all()
    assert [n.person_id for n in notes] == [person("mentor@example.org").id] * 2


def test_resolution_notifies_responders_and_ends_answers(roles, ctx):
    request = new_request(roles)
    ops.respond(request, person("expert@example.org"), "Go to the school office first.")
    ops.resolve(request, person("mentor@example.org"))
    assert request.status == HelpStatus.resolved and request.resolved_by.email == "mentor@example.org"
    [note] = session.scalars(sa.select(Notification).where(Notification.kind == "help.resolved")).all()
    assert note.person_id == person("expert@example.org").id
    with pytest.raises(Conflict):
        ops.respond(request, person("meta@example.org"), "Late answer")
    with pytest.raises(Conflict):
        ops.resolve(request, person("mentor@example.org"), "closed")


def test_personal_data_needs_a_decision(roles, ctx):
    body = "Her number is 0151-2345678 and she lives in Hauptstraße 12."
    with pytest.raises(ops.PersonalDataFound) as error:
        new_request(roles, body=body)
    assert [f["kind"] for f in error.value.as_list()] == ["phone", "address"]
    masked = new_request(roles, body=body, mask=True)
    assert masked.masked and "0151" not in masked.body and "[phone number removed]" in masked.body
    kept = new_request(roles, body=body, confirm_no_personal_data=True)
    assert kept.body == body and not kept.masked
    audit = session.scalar(
        sa.select(AuditLog).where(
            AuditLog.action == "help.personal_data_confirmed", AuditLog.target_id == kept.id
        )
    )
    assert audit.detail == {"kinds": ["address", "phone"], "count": 2}


def test_colleagues_names_are_not_flagged(roles, ctx):
    request = new_request(roles, body="Marco Meta suggested I ask here; Frau Expert knows this.")
    assert not request.masked


def test_responses_are_scanned_too(roles, ctx):
    request = new_request(roles)
    with pytest.raises(ops.PersonalDataFound):
        ops.respond(request, person("expert@example.org"), "Write to ahmad@example.org")
    response = ops.respond(request, person("expert@example.org"), "Write to ahmad@example.org", mask=True)
    assert response.body == "Write to [e-mail address removed]" and response.masked


def test_editing_rescans_and_only_the_author_may(roles, ctx):
    request = new_request(roles)
    with pytest.raises(Forbidden):
        ops.update_request(request, person("coord@example.org"), topic="Changed")
    with pytest.raises(ops.PersonalDataFound):
        ops.update_request(request, person("mentor@example.org"), body="Call +49 30 1234567")
    ops.update_request(
        request, person("mentor@example.org"), topic="Enrolment mid-year", languages=["German"]
    )
    assert request.topic == "Enrolment mid-year" and [k.language for k in request.language_keys] == ["de"]
    ops.resolve(request, person("mentor@example.org"), "closed")
    with pytest.raises(Forbidden):
        ops.update_request(request, person("mentor@example.org"), topic="Again")


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"topic": ""}, "topic"),
        ({"topic": "x" * 201}, "topic"),
        ({"body": "x" * 20_001}, "body"),
        ({"urgency": "tomorrow"}, "urgency"),
        ({"languages": ["x" * 61]}, "languages"),
        ({"languages": [f"L{i}" for i in range(11)]}, "languages"),
        ({"languages": [1, 2]}, "languages"),
        ({"tags": 5}, "tags"),
        ({"region": "r" * 121}, "region"),
    ],
)
def test_bad_input_is_refused_with_the_field(roles, ctx, fields, field):
    with pytest.raises(InvalidInput) as error:
        new_request(roles, **fields)
    assert error.value.field == field


def test_metrics_and_the_roadmap_checkpoint(roles, ctx):
    network = net(roles)
    [checkpoint] = [c for c in checkpoints() if c.key == "help.answered"]
    assert not checkpoint.reached(network)
    answered = new_request(roles, topic="Answered quickly")
    ops.respond(answered, person("expert@example.org"), "Here is how.")
    answered.first_response_at = answered.created_at + dt.timedelta(hours=2)
    slow = new_request(roles, topic="Answered slowly")
    ops.respond(slow, person("expert@example.org"), "Sorry for the wait.")
    slow.first_response_at = slow.created_at + dt.timedelta(hours=72)
    ops.resolve(slow, person("mentor@example.org"))
    session.flush()
    assert checkpoint.reached(network)
    new_request(roles, topic="Not answered")
    session.flush()
    assert not checkpoint.reached(network)  # 2 of 3 = 67% < 80%
    metrics = ops.help_metrics(network, utcnow() - dt.timedelta(days=30))
    assert metrics["count"] == 3 and metrics["answered"] == 2
    assert metrics["answered_share"] == pytest.approx(2 / 3, abs=1e-3)
    assert metrics["median_hours_to_first_response"] == pytest.approx(37, abs=0.01)
    assert metrics["answered_within_48h_share"] == pytest.approx(1 / 3, abs=1e-3)
    assert metrics["resolved_share"] == pytest.approx(1 / 3, abs=1e-3)
    empty = ops.help_metrics(network, utcnow() + dt.timedelta(days=1))
    assert empty["count"] == 0 and empty["answered_share"] is None


# -- authorisation of the operations ----------------------------------------------------------------------------


def _who(role):
    return None if role == "anonymous" else person(EMAILS[role])


ASK = {"novice", "experienced", "office", "meta", "coordinator"}
RESOLVE_OTHERS = {"meta", "coordinator"}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_do_what(roles, ctx, role):
    actor = _who(role)
    network = net(roles)
    request = new_request(roles, email="asker@example.org")

    def allowed(call):
        try:
            call()
        except Forbidden:
            return False
        return True

    assert allowed(lambda: ops.list_requests(network, actor)) == (role not in {"anonymous", "outsider"})
    assert allowed(lambda: ops.get_request(network, request.id, actor)) == (
        role not in {"anonymous", "outsider"}
    )
    assert allowed(lambda: ops.create_request(network, actor, topic="My own question")) == (role in ASK)
    assert allowed(lambda: ops.respond(request, actor, "An answer")) == (role in ASK)
    assert allowed(lambda: ops.suggestions(request, actor)) == (role in RESOLVE_OTHERS | {"admin"})
    assert allowed(lambda: ops.page_suggestions(request, actor)) == (role in RESOLVE_OTHERS | {"admin"})
    assert allowed(lambda: ops.notify_more(request, actor, 1)) == (role in RESOLVE_OTHERS)
    assert allowed(lambda: ops.update_request(request, actor, topic="Edited")) is False  # not the author
    assert allowed(lambda: ops.resolve(request, actor)) == (role in RESOLVE_OTHERS)


def test_the_author_may_edit_resolve_see_and_extend_suggestions(roles, ctx):
    request = new_request(roles, email="office@example.org")
    author = person("office@example.org")
    ops.update_request(request, author, topic="Edited by author")
    ops.suggestions(request, author)
    ops.notify_more(request, author, 1)
    ops.resolve(request, author, "closed")
    assert request.status == HelpStatus.closed


def test_the_page_names_the_same_suggestions_as_the_orm_objects(roles, ctx, app, monkeypatch):
    """The request page's plain rows (``page_suggestions``) name the same people, when and why, in the same order
    as ``suggestions`` does with ORM objects (shown as the API shows them: ``shown_suggestion``), before and after
    more members are asked."""
    monkeypatch.setitem(app.config, "HELP_NOTIFY_COUNT", 1)
    request = new_request(roles, email="office@example.org", topic="Jobcenter letters", languages=["German"])
    author = person("office@example.org")

    def both():
        notified, candidates = ops.suggestions(request, author, more=3)
        rows, picks = ops.page_suggestions(request, author, more=3)
        shared = ops.sharing_among((s.person_id for s in notified), author)
        assert [
            (
                s.person_id,
                s.person.name_or_email,
                *ops.shown_suggestion(s.score, s.reasons, s.person_id in shared),
            )
            + (s.notified_at,)
            for s in notified
        ] == [(r.person_id, r.person.name_or_email, r.score, r.reasons, r.notified_at) for r in rows]
        assert [(p.name_or_email, s.person_id, s.score, s.reasons) for p, s in candidates] == [
            (p.name_or_email, s.person_id, s.score, s.reasons) for p, s in picks
        ]
        return notified, candidates

    notified, candidates = both()
    assert notified and candidates
    ops.notify_more(request, author, 1)
    assert len(both()[0]) == len(notified) + 1


def test_the_request_page_values_show_what_the_orm_request_shows(roles, ctx, app):
    """``request_page`` (plain values, one statement) carries what the page shows of ``get_request``'s ORM
    request, its people and answers, and the page renders the same from both: open with the next candidates,
    with an answer of a former member, and resolved."""
    from flask_babel import format_datetime

    from network_service.help import views as help_views
    from network_service.help.forms import NotifyMoreForm, ResponseForm

    app.config["HELP_NOTIFY_COUNT"] = 1
    network, coordinator = net(roles), person("coord@example.org")
    request = new_request(
        roles, body="**Bold** and a [link](https://example.org)", languages=["Arabic", "German"],
        region="Berlin", tags=["school enrolment", "housing"], urgency="urgent",
    )  # fmt: skip
    ops.respond(request, person("expert@example.org"), "I can *help*.")
    ops.respond(request, coordinator, "Me too.")
    ops.respond(request, person("office@example.org"), "Ask the office.")
    session.execute(
        sa.update(HelpResponse)
        .where(
            HelpResponse.request_id == request.id, HelpResponse.author_id == person("office@example.org").id
        )
        .values(author_id=None)
    )  # an erased author: "a former member"
    session.flush()

    def same(show_next):
        session.expire_all()
        orm = ops.get_request(network, request.id, coordinator)
        page = ops.request_page(network, request.id, coordinator)
        head = ops.request_head(network, request.id, coordinator)
        assert head.page == page and (head.id, head.author_id, head.status, head.topic) == (
            orm.id, orm.author_id, orm.status, orm.topic
        )  # fmt: skip
        for name in ("id", "network_id", "author_id", "topic", "body", "languages", "region", "tags",
                     "urgency", "status", "created_at", "first_response_at", "resolved_at", "masked", "is_open"):  # fmt: skip
            assert getattr(page, name) == getattr(orm, name), name
        for plain, entity in ((page.author, orm.author), (page.resolved_by, orm.resolved_by)):
            assert (plain and plain.name_or_email) == (entity and entity.name_or_email)
        assert [(r.id, r.author_id, r.author and r.author.name_or_email, r.body, r.created_at) for r in page.responses] == [
            (r.id, r.author_id, r.author and r.author.name_or_email, r.body, r.created_at) for r in orm.responses
        ]  # fmt: skip
        can = help_views._can(coordinator, head)
        html = help_views._content(network, page, coordinator, can, show_next=show_next)
        assert html == help_views._content(network, orm, coordinator, can, show_next=show_next)
        # the forms' parts kept per language (a page without input) render as the forms themselves do
        forms = {"response_form": ResponseForm(formdata=None), "notify_form": NotifyMoreForm(formdata=None)}
        assert html == help_views._content(network, page, coordinator, can, show_next=show_next, **forms)
        return html

    html = same(True)
    assert "Next suggestions" in html and "a former member" in html and "<strong>Bold</strong>" in html
    assert "Your answer" in html and "How many more members?" in html and help_views.help_forms
    when = (
        help_views._date_formatter()
    )  # the dates as the datetimeformat filter gives them, kept once formatted
    assert (
        when(request.created_at) == when(request.created_at) == format_datetime(request.created_at, "short")
    )
    assert "Show who would be asked next" in same(False)
    ops.resolve(request, coordinator)
    assert "Mark as resolved" not in same(True)
    with pytest.raises(NotFound):
        ops.request_page(network, request.id + 1000, coordinator)
    with pytest.raises(Forbidden):
        ops.request_page(network, request.id, person("outsider@example.org"))


# -- pages ----------------------------------------------------------------------------------------------------


def _page(client, path):
    response = client.get(path)
    return response, response.get_data(as_text=True)


def test_asking_through_the_page_with_the_privacy_choice(client, run, roles):
    sign_in_as(client, run, "mentor@example.org")
    response, html = _page(client, "/networks/test-net/help/new")
    assert response.status_code == 200 and re.search(r'<input checked[^>]*value="Arabic"', html)
    data = {
        "csrf_token": csrf_from(html),
        "topic": "Appointment at the Ausländerbehörde",
        "body": "Mrs Ahmadi needs someone to come along, call her on 0151-2345678.",
        "languages": ["Arabic"],
        "other_languages": "Dari",
        "region": "Berlin",
        "tags": "residence permit, appointments",
        "urgency": "urgent",
        "action": "check",
    }
    response = client.post("/networks/test-net/help/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This may contain personal data" in html and "0151-2345678" in html and "Ahmadi" in html
    assert 'value="mask"' in html and "I confirm this contains no personal data" in html
    # "post as written" without the tick is refused
    response = client.post("/networks/test-net/help/new", data=dict(data, action="confirm"))
    assert response.status_code == 422 and "tick the box" in response.get_data(as_text=True)
    assert run(lambda: session.scalar(sa.select(sa.func.count(HelpRequest.id)))) == 0
    response = client.post("/networks/test-net/help/new", data=dict(data, action="mask"))
    assert response.status_code == 303
    request = run(lambda: session.scalars(sa.select(HelpRequest)).one())
    assert request.masked and "0151" not in request.body and "Ahmadi" not in request.body
    assert request.languages == ["Arabic", "Dari"] and request.tags == ["residence permit", "appointments"]
    location = response.headers["Location"]
    response, html = _page(client, location)
    assert "[phone number removed]" in html and "Who was asked, and why" in html
    assert "speaks Arabic" in html  # the reasons, worded
    assert "Next suggestions" not in html  # the full matching runs only when asked for
    _response, html = _page(client, location + "?next=1")
    assert "Next suggestions" in html and "Ask more members" in html


def test_posting_as_written_with_the_tick(client, run, roles):
    sign_in_as(client, run, "mentor@example.org")
    _response, html = _page(client, "/networks/test-net/help/new")
    data = {
        "csrf_token": csrf_from(html),
        "topic": "Course at Via Roma 10 in our office",
        "urgency": "normal",
        "action": "confirm",
        "confirm_no_personal_data": "y",
    }
    assert client.post("/networks/test-net/help/new", data=data).status_code == 303
    request = run(lambda: session.scalars(sa.select(HelpRequest)).one())
    assert request.topic == data["topic"]
    actions = run(lambda: session.scalars(sa.select(AuditLog.action)).all())
    assert "help.personal_data_confirmed" in actions


def test_invalid_form_comes_back_with_errors(client, run, roles):
    sign_in_as(client, run, "mentor@example.org")
    _response, html = _page(client, "/networks/test-net/help/new")
    response = client.post(
        "/networks/test-net/help/new", data={"csrf_token": csrf_from(html), "topic": "", "urgency": "soon"}
    )
    html = response.get_data(as_text=True)
    assert (
        response.status_code == 422
        and "Say in a line what you need." in html
        and 'aria-invalid="true"' in html
    )


def test_answering_resolving_and_markdown_is_safe(client, run, roles):
    request_id = run(lambda: new_request(roles, body="**bold** `<script>alert(1)</script>`").id)
    sign_in_as(client, run, "expert@example.org")
    path = f"/networks/test-net/help/{request_id}"
    response, html = _page(client, path)
    assert "<strong>bold</strong>" in html and "<script>alert" not in html and "&lt;script&gt;" in html
    assert "Mark as resolved" not in html  # not the author, not a leader
    response = client.post(
        f"{path}/respond",
        data={"csrf_token": csrf_from(html), "body": "Write to a@example.org", "action": "check"},
    )
    assert response.status_code == 422 and "This may contain personal data" in response.get_data(as_text=True)
    response = client.post(
        f"{path}/respond", data={"csrf_token": csrf_from(html), "body": "", "action": "check"}
    )
    assert response.status_code == 422 and "Write your answer." in response.get_data(as_text=True)
    response = client.post(
        f"{path}/respond",
        data={"csrf_token": csrf_from(html), "body": "Ask the school office.", "action": "check"},
    )
    assert response.status_code == 303
    client.post("/sign-out", data={"csrf_token": csrf_from(html)})
    sign_in_as(client, run, "mentor@example.org")
    response, html = _page(client, path)
    assert "Ask the school office." in html and "Mark as resolved" in html
    response = client.post(f"{path}/resolve", data={"csrf_token": csrf_from(html), "status": "resolved"})
    assert response.status_code == 303
    assert run(lambda: session.get(HelpRequest, request_id).status) == HelpStatus.resolved
    response = client.post(f"{path}/resolve", data={"csrf_token": csrf_from(html), "status": "resolved"})
    assert response.status_code == 409


def test_list_filters_by_my_languages_and_the_badge_counts_them(client, run, roles):
    def seed():
        new_request(roles, email="coord@example.org", topic="In Arabic", languages=["Arabic"])
        new_request(roles, email="coord@example.org", topic="In Polish", languages=["Polish"])
        new_request(roles, email="coord@example.org", topic="For everyone", languages=[])
        new_request(
            roles, email="coord@example.org", topic="Polish or Arabic", languages=["Polish", "arabic "]
        )
        new_request(roles, email="coord@example.org", topic="Polish or Greek", languages=["Polish", "Greek"])
        ops.resolve(
            new_request(roles, email="coord@example.org", topic="Done already", languages=["Arabic"]),
            person("coord@example.org"),
        )

    run(seed)
    sign_in_as(client, run, "mentor@example.org")  # speaks Italian and Arabic
    _response, html = _page(client, "/networks/test-net/help")
    assert (
        "In Arabic" in html
        and "For everyone" in html
        and "Polish or Arabic" in html
        and "In Polish" not in html
        and "Polish or Greek" not in html
        and "Done already" not in html
    )
    assert '<span class="badge badge-count">3<' in html
    _response, html = _page(client, "/networks/test-net/help?scope=all")
    assert "In Polish" in html
    _response, html = _page(client, "/networks/test-net/help?scope=all&status=resolved")
    assert "Done already" in html and "In Polish" not in html
    _response, html = _page(client, "/networks/test-net/help?scope=all&urgency=urgent")
    assert "No requests match these filters." in html


def test_my_requests_page(client, run, roles):
    run(lambda: new_request(roles, topic="Mine"))
    run(lambda: new_request(roles, email="coord@example.org", topic="Not mine"))
    sign_in_as(client, run, "mentor@example.org")
    _response, html = _page(client, "/networks/test-net/help/mine")
    assert "Mine" in html and "Not mine" not in html


def _statements_for(client, path):
    count = []

    def listener(_conn, _cursor, statement, *_args):
        count.append(statement)

    with client.application.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200
    if DEBUG:
        print(path, *count, sep="\n---\n")
    return len(count)


def test_help_pages_run_the_same_statements_at_n_and_5n(client, run, roles, app):
    app.config["HELP_NOTIFY_COUNT"] = 1
    sign_in_as(client, run, "mentor@example.org")
    authors = ["coord@example.org", "mentor@example.org", "expert@example.org", "office@example.org"]

    def seed(count):
        mine = None
        for i in range(count):
            request = new_request(roles, email=authors[i % 4], topic=f"Request {i}", languages=["Arabic"])
            ops.respond(request, person(authors[(i + 1) % 4]), "An answer")
            if i % 4 == 1:
                mine = request.id  # the viewer's own: the page shows the suggestions too
        return mine

    pages = ("/networks/test-net/help", "/networks/test-net/help/mine")
    last = run(seed, 6)
    small = [
        _statements_for(client, p)
        for p in (*pages, f"/networks/test-net/help/{last}", f"/networks/test-net/help/{last}?next=1")
    ]
    last = run(seed, 24)
    run(lambda: [ops.respond(session.get(HelpRequest, last), person(a), "More") for a in authors * 2])
    run(lambda: ops.notify_more(session.get(HelpRequest, last), person("mentor@example.org"), 3))
    large = [
        _statements_for(client, p)
        for p in (*pages, f"/networks/test-net/help/{last}", f"/networks/test-net/help/{last}?next=1")
    ]
    assert small == large


# -- authorisation of every page --------------------------------------------------------------------------------


def _sign_in(client, run, role):
    if role != "anonymous":
        sign_in_as(client, run, EMAILS[role])


PAGE_VIEW = {"novice", "experienced", "office", "meta", "coordinator", "admin"}


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(client, run, roles, role):
    request_id = run(lambda: new_request(roles, email="asker@example.org").id)
    _sign_in(client, run, role)
    base = "/networks/test-net/help"
    for path in (base, f"{base}/mine", f"{base}/{request_id}"):
        response = client.get(path)
        if role == "anonymous":
            assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
        else:
            assert response.status_code == (200 if role in PAGE_VIEW else 403), (path, role)
    response = client.get(f"{base}/new")
    expected = 302 if role == "anonymous" else (200 if role in ASK else 403)
    assert response.status_code == expected
    assert client.get(f"{base}/{request_id}/edit").status_code == (302 if role == "anonymous" else 403)
    if role == "anonymous":
        return
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    response = client.post(
        f"{base}/{request_id}/respond", data={"csrf_token": token, "body": "Hi", "action": "check"}
    )
    assert response.status_code == (303 if role in ASK else 403), role
    response = client.post(f"{base}/{request_id}/notify", data={"csrf_token": token, "count": "1"})
    assert response.status_code == (303 if role in RESOLVE_OTHERS else 403), role
    response = client.post(f"{base}/{request_id}/resolve", data={"csrf_token": token, "status": "closed"})
    assert response.status_code == (303 if role in RESOLVE_OTHERS else 403), role
    html = client.get(f"{base}/{request_id}").get_data(as_text=True) if role in PAGE_VIEW else ""
    assert ("Who was asked, and why" in html) == (role in RESOLVE_OTHERS | {"admin"})


def test_forms_without_csrf_are_refused(client, run, roles):
    request_id = run(lambda: new_request(roles).id)
    sign_in_as(client, run, "expert@example.org")
    response = client.post(f"/networks/test-net/help/{request_id}/respond", data={"body": "Hi"})
    assert response.status_code in (400, 422)
    assert run(lambda: session.scalar(sa.select(sa.func.count(HelpResponse.id)))) == 0


# -- JSON API -------------------------------------------------------------------------------------------------


def _bearer(run, role):
    if role == "anonymous":
        return {}

    def create():
        account, _created = get_or_create_person(EMAILS[role])
        return create_api_token(account, "test")[1]

    return {"Authorization": f"Bearer {run(create)}"}


def test_api_create_with_findings_returns_a_problem_with_findings(client, run, roles):
    headers = _bearer(run, "novice")
    url = f"{API}/networks/test-net/help-requests"
    body = {
        "topic": "Help with a letter",
        "body": "She is at Via Roma 10, +39 333 1234567",
        "languages": ["Italian"],
    }
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert [f["kind"] for f in problem["findings"]] == ["address", "phone"]
    assert problem["findings"][0]["text"] == "Via Roma 10" and problem["findings"][0]["field"] == "body"
    response = client.post(url, json=dict(body, mask=True), headers=headers)
    assert response.status_code == 201
    created = response.get_json()
    assert created["masked"] and "[address removed]" in created["body"] and created["urgency"] == "normal"
    response = client.post(url, json=dict(body, confirm_no_personal_data=True), headers=headers)
    assert response.status_code == 201 and response.get_json()["body"] == body["body"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"topic": ""}, "topic"),
        ({"topic": "x" * 201}, "topic"),
        ({"topic": "ok", "urgency": "soon"}, "urgency"),
        ({"topic": "ok", "languages": "Arabic"}, "languages"),
        ({"topic": "ok", "languages": [1]}, "languages"),
        ({"topic": "ok", "mask": "perhaps"}, "mask"),
        ({"topic": "ok", "body": "x" * 20_001}, "body"),
        ({"topic": "ok", "unknown": 1}, "unknown"),
        ({}, "topic"),
    ],
)
def test_api_bad_input(client, run, roles, body, field):
    response = client.post(
        f"{API}/networks/test-net/help-requests", json=body, headers=_bearer(run, "novice")
    )
    assert response.status_code == 422
    assert field in response.get_json().get("errors", {}), response.get_json()


def test_api_flow_respond_resolve_suggestions_metrics(client, run, roles):
    author = _bearer(run, "novice")
    url = f"{API}/networks/test-net/help-requests"
    created = client.post(
        url, json={"topic": "Bank account", "languages": ["Arabic"]}, headers=author
    ).get_json()
    detail = f"{url}/{created['id']}"
    expert = _bearer(run, "experienced")
    response = client.post(f"{detail}/responses", json={"body": "Try the savings bank."}, headers=expert)
    assert response.status_code == 201
    response = client.post(f"{detail}/responses", json={"body": "Mail x@example.org"}, headers=expert)
    assert response.status_code == 422 and response.get_json()["findings"][0]["kind"] == "email"
    got = client.get(detail, headers=author).get_json()
    assert got["response_count"] == 1 and got["first_response_at"] and got["responses"][0]["author"]["id"]
    listed = client.get(f"{url}?status=open", headers=expert).get_json()
    assert [r["id"] for r in listed] == [created["id"]]
    suggestions = client.get(f"{detail}/suggestions", headers=author).get_json()
    assert suggestions["notified"] and suggestions["notified"][0]["reasons"][0]["text"]
    assert client.post(f"{detail}/suggestions", json={"count": 2}, headers=author).status_code == 200
    assert client.post(f"{detail}/suggestions", json={"count": 0}, headers=author).status_code == 422
    response = client.patch(detail, json={"topic": "Bank account for a newcomer"}, headers=author)
    assert response.status_code == 200 and response.get_json()["topic"] == "Bank account for a newcomer"
    response = client.patch(detail, json={"body": "Call 0151-2345678"}, headers=author)
    assert response.status_code == 422 and response.get_json()["findings"]
    response = client.post(f"{detail}/resolve", json={"status": "resolved"}, headers=author)
    assert response.status_code == 200 and response.get_json()["status"] == "resolved"
    metrics = client.get(f"{API}/networks/test-net/help-metrics?days=30", headers=_bearer(run, "meta"))
    assert metrics.status_code == 200 and metrics.get_json()["count"] == 1
    assert metrics.get_json()["resolved_share"] == 1.0
    assert (
        client.get(f"{API}/networks/test-net/help-metrics?days=0", headers=_bearer(run, "meta")).status_code
        == 422
    )


@pytest.mark.parametrize("role", ROLES)
def test_api_by_role(client, run, roles, role):
    request_id = run(lambda: new_request(roles, email="asker@example.org").id)
    headers = _bearer(run, role)
    url = f"{API}/networks/test-net/help-requests"
    detail = f"{url}/{request_id}"
    read = 401 if role == "anonymous" else (403 if role == "outsider" else 200)
    assert client.get(url, headers=headers).status_code == read
    assert client.get(detail, headers=headers).status_code == read
    write = 401 if role == "anonymous" else (201 if role in ASK else 403)
    assert client.post(url, json={"topic": "A question"}, headers=headers).status_code == write
    assert (
        client.post(f"{detail}/responses", json={"body": "An answer"}, headers=headers).status_code == write
    )
    assert client.patch(detail, json={"topic": "Changed"}, headers=headers).status_code == (
        401 if role == "anonymous" else 403
    )
    leaders = {"meta", "coordinator"}
    see = 401 if role == "anonymous" else (200 if role in leaders | {"admin"} else 403)
    assert client.get(f"{detail}/suggestions", headers=headers).status_code == see
    more = 401 if role == "anonymous" else (200 if role in leaders else 403)
    assert client.post(f"{detail}/suggestions", json={"count": 1}, headers=headers).status_code == more
    metrics = 401 if role == "anonymous" else (200 if role in leaders | {"admin"} else 403)
    assert client.get(f"{API}/networks/test-net/help-metrics", headers=headers).status_code == metrics
    resolve = 401 if role == "anonymous" else (200 if role in leaders else 403)
    assert client.post(f"{detail}/resolve", json={"status": "closed"}, headers=headers).status_code == resolve


def test_api_unknown_request_and_network(client, run, roles):
    headers = _bearer(run, "novice")
    assert client.get(f"{API}/networks/test-net/help-requests/999999", headers=headers).status_code == 404
    assert client.get(f"{API}/networks/nope/help-requests", headers=headers).status_code == 404


# -- demo -----------------------------------------------------------------------------------------------------


def test_demo_seeds_lively_requests(roles, ctx):
    from network_service.help.demo import seed_demo

    people = {
        "Coordinator": person("coord@example.org"),
        "Meta-Mentor": person("meta@example.org"),
        "Network office": person("office@example.org"),
        "Experienced mentor": person("expert@example.org"),
        "Novice mentor": person("mentor@example.org"),
    }
    seed_demo(net(roles), people)
    requests = session.scalars(sa.select(HelpRequest).order_by(HelpRequest.id)).all()
    statuses = [r.status for r in requests]
    assert HelpStatus.resolved in statuses and statuses.count(HelpStatus.open) >= 2
    urgent = [r for r in requests if r.urgency.value == "urgent"][0]
    assert urgent.is_open and urgent.response_count == 1 and {"Arabic", "German"} <= set(urgent.languages)
