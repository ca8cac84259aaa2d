"""Per-person limits on the writes that notify or mail other people (help requests and answers, invitations,
meetings, edits, channels, resources, goals): over HTTP on the pages and in the API, and a walk over every
write endpoint so that a new one that sends notifications or mail cannot come without a limit unnoticed.

The limits are off in the test suite's shared app; each test here builds its own app with them on."""

from __future__ import annotations

import ast
import inspect
import pathlib
import secrets
import textwrap

import pytest
import sqlalchemy as sa

from network_service import security

PACKAGE = pathlib.Path(security.__file__).parent
SENDERS = {"notify", "queue_mail"}  # notifications.operations.notify, mail.operations.queue_mail
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Writes that send notifications or mail and need no per-person limit, and why. Keep this list short.
UNLIMITED_SENDERS = {
    # Posts: limited in the operation, per person, page and API together (conversations.operations.FLOOD_LIMIT,
    # 20 a minute); the pages are also limited before any work (conversations.views.POST_RATE_LIMIT).
    ("api_conversations.ChannelMessages", "POST"): "FLOOD_LIMIT",
    ("api_conversations.Replies", "POST"): "FLOOD_LIMIT",
    ("api_conversations.Direct", "POST"): "FLOOD_LIMIT",
    # A role change notifies the one member concerned; only coordinators may, once per change.
    ("networks.appoint", "POST"): "coordinators, one member",
    ("api_networks.Member", "PATCH"): "coordinators, one member",
    # Reminders and nudges are capped in the operation, per member (REMIND_AGAIN_AFTER; NUDGE_DAYS, 14 days).
    ("organise.remind", "POST"): "REMIND_AGAIN_AFTER",
    ("api_networks.AgreementReminders", "POST"): "REMIND_AGAIN_AFTER",
    ("insights.nudge", "POST"): "NUDGE_DAYS",
    ("api_insights.Nudges", "POST"): "NUDGE_DAYS",
    # Forwarding a report: moderators only, once per report (reports themselves are limited).
    ("moderation.forward", "POST"): "moderators, once per report",
    ("api_moderation.ReportForward", "POST"): "moderators, once per report",
    # Decisions on something that was asked (each once, and asking is limited): an application, a partnership,
    # a federation link (accept, end); a new network or a course link (site administrators only).
    ("growth.decide_application", "POST"): "once per application",
    ("api_growth.ApplicationDecision", "POST"): "once per application",
    ("growth.decide_partner", "POST"): "once per partner request",
    ("api_growth.PartnerDecision", "POST"): "once per partner request",
    ("federations.accept", "POST"): "once per link",
    ("api_federations.Accept", "POST"): "once per link",
    ("federations.end", "POST"): "once per link",
    ("api_federations.Link", "DELETE"): "once per link",
    ("growth.decide_start", "POST"): "site administrators",
    # Linking a course invites the learners whose pass was already recorded, once each (coordinators).
    ("courses.network_courses", "POST"): "recorded passes, once each",
    ("courses.unlinked_passes", "POST"): "recorded passes, once each",
    ("growth.decide_course_request", "POST"): "site administrators",
}


def _called_names(node: ast.AST) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            if isinstance(call.func, ast.Name):
                names.add(call.func.id)
            elif isinstance(call.func, ast.Attribute):
                names.add(call.func.attr)
    return names


def _sending_functions() -> set[str]:
    """The names of the functions of network_service that call notify or queue_mail, directly or through
    other functions of the package (by name: a name shared by a sender and another function counts as a
    sender, which errs on the side of asking for a limit)."""
    calls: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        views = "api" in path.parts or path.name.endswith("views.py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module-level functions: a method's name (get, post, run) says too little
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if views and not node.name.startswith("_"):
                    continue  # a view is what is judged; its private helpers are what it may call
                calls.setdefault(node.name, set()).update(_called_names(node))
    senders = set(SENDERS)
    while True:
        more = {name for name, called in calls.items() if name not in senders and called & senders}
        if not more:
            return senders
        senders |= more


def _handlers(application, endpoint: str, methods: set[str]):
    view = application.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    if view_class is not None:  # the API's MethodViews
        for method in methods:
            handler = getattr(view_class, method.lower(), None)
            if handler is not None:
                yield method, inspect.unwrap(handler)
        return
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    for method in methods:
        yield method, view


def _sends(function, senders: set[str]) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return _called_names(tree) & senders


def _unlimited_senders(application) -> dict[tuple[str, str], set[str]]:
    senders = _sending_functions()
    known = application.extensions["mentornet.limited_endpoints"]
    found = {}
    for rule in application.url_map.iter_rules():
        methods = (rule.methods or set()) & WRITE_METHODS
        limited = known.get(rule.endpoint, ())
        for method, handler in _handlers(application, rule.endpoint, methods):
            if limited is None or method in limited:
                continue
            sends = _sends(handler, senders)
            if sends:
                found[(rule.endpoint, method)] = sends
    return found


def test_every_write_that_notifies_or_mails_is_limited(limited_app):
    found = _unlimited_senders(limited_app())
    unexplained = {key: sorted(calls) for key, calls in found.items() if key not in UNLIMITED_SENDERS}
    assert not unexplained, f"limit these writes (or explain them in UNLIMITED_SENDERS): {unexplained}"
    stale = set(UNLIMITED_SENDERS) - set(found)
    assert not stale, f"these are limited now, or send nothing: drop them from UNLIMITED_SENDERS: {stale}"


@pytest.fixture
def two_people(limited_app):
    """An app with the limits on and two people, each with a signed-in client and an API token (committed for
    real: this app is outside the test transaction; removed afterwards)."""
    from network_service.accounts.models import ApiToken, DeviceSession, Person
    from network_service.accounts.operations import create_api_token, get_or_create_person
    from network_service.audit.models import AuditLog
    from network_service.db import session
    from tests.helpers import act_as_person, csrf_from

    application = limited_app()
    emails = [f"writer-{secrets.token_hex(4)}@example.org" for _ in range(2)]
    with application.app_context():
        people = [get_or_create_person(email, display_name="Writer")[0] for email in emails]
        tokens = [create_api_token(person, "tests")[1] for person in people]
        ids = [person.id for person in people]
        session.commit()
    clients = []
    for person_id, token in zip(ids, tokens, strict=True):
        client = application.test_client()
        act_as_person(client, person_id)
        clients.append((client, csrf_from(client.get("/profile").get_data(as_text=True)), token))
    yield clients
    with application.app_context():
        made = sa.select(ApiToken.id).where(ApiToken.person_id.in_(ids)).scalar_subquery()
        session.execute(  # their tokens' audit entries: a later test counting them must not find these
            sa.delete(AuditLog).where(AuditLog.target_type == "apitoken", AuditLog.target_id.in_(made))
        )
        session.execute(sa.delete(ApiToken).where(ApiToken.person_id.in_(ids)))
        session.execute(sa.delete(DeviceSession).where(DeviceSession.person_id.in_(ids)))
        session.execute(sa.delete(Person).where(Person.id.in_(ids)))
        session.commit()


ADDRESS = {"REMOTE_ADDR": "198.51.100.9"}  # everyone from one address (an office): the budgets are per person


def test_help_requests_share_one_budget_per_person_on_the_page_and_in_the_api(two_people):
    (client, csrf, token), (other, other_csrf, _other_token) = two_people
    body = "I need help with my first mentoring conversation.\nWhere do I start?"

    def page(client, csrf):  # to a network that does not exist: counted, nothing written
        return client.post(
            "/networks/no-such-network/help/new",
            data={"csrf_token": csrf, "title": "First conversation", "body": body},
            environ_base=ADDRESS,
        )

    def api(token):
        return client.application.test_client().post(
            "/api/v1/networks/no-such-network/help-requests",
            json={"title": "First conversation", "body": body},
            headers={"Authorization": f"Bearer {token}"},
            environ_base=ADDRESS,
        )

    statuses = [page(client, csrf).status_code for _ in range(5)] + [api(token).status_code for _ in range(5)]
    assert 429 not in statuses, statuses  # 10 an hour: 5 on the page and 5 in the API

    refused = page(client, csrf)  # the 11th, on the page
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.mimetype == "text/html" and refused.headers["Cache-Control"] == "no-store"
    html = refused.get_data(as_text=True)
    assert "You can send it again in" in html
    assert "Where do I start?" in html  # what was typed is kept, ready to send again
    assert 'name="title" value="First conversation"' in html
    kept_form = html.split('action="/networks/no-such-network/help/new"', 1)[1].split("</form>", 1)[0]
    assert kept_form.count('name="csrf_token"') == 1  # the page's own token; the posted one is not echoed

    in_api = api(token)  # the same person through the API: the same budget
    assert in_api.status_code == 429 and in_api.mimetype == "application/problem+json"
    assert in_api.json["status"] == 429 and int(in_api.headers["Retry-After"]) > 0

    assert page(other, other_csrf).status_code == 404  # someone else at the same address has their own


def test_a_made_up_bearer_header_on_a_page_buys_no_fresh_budget(two_people):
    """Found by the review of session 12: a page's limit is checked before its view signs anyone in, and the
    key read any bearer header first: a new made-up one with each form post was a new budget each time."""
    (client, csrf, _token), _other = two_people
    statuses = [
        client.post(
            "/networks/no-such-network/help/new",
            data={"csrf_token": csrf, "title": "Spam", "body": "Spam"},
            headers={"Authorization": f"Bearer made-up-{number}"},
            environ_base=ADDRESS,
        ).status_code
        for number in range(11)
    ]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429, statuses


def test_a_made_up_bearer_header_on_a_chat_post_buys_no_fresh_budget(two_people):
    """The same for posting in a channel (30 a minute per person, security.api_rate_key)."""
    (client, csrf, _token), _other = two_people
    statuses = [
        client.post(
            "/networks/no-such-network/conversations/c/general",
            data={"csrf_token": csrf, "body": "Spam"},
            headers={"Authorization": f"Bearer made-up-{number}"},
            environ_base=ADDRESS,
        ).status_code
        for number in range(31)
    ]
    assert 429 not in statuses[:30] and statuses[30] == 429, statuses


def test_send_again_keeps_the_path_prefix(two_people):
    """Behind a path prefix (ProxyFix x_prefix sets SCRIPT_NAME), "Send again" posts to the prefixed address."""
    (client, csrf, _token), _other = two_people
    for _ in range(11):
        refused = client.post(
            "/networks/no-such-network/help/new",
            data={"csrf_token": csrf, "title": "First conversation", "body": "Where do I start?\nHelp."},
            base_url="http://localhost/mentornet/",
            environ_base=ADDRESS,
        )
    assert refused.status_code == 429
    assert 'action="/mentornet/networks/no-such-network/help/new"' in refused.get_data(as_text=True)


def test_invitations_allow_a_cohort_and_then_stop(two_people):
    from network_service.networks.views import INVITE_RATE_LIMIT

    assert INVITE_RATE_LIMIT.startswith("150 per hour")  # a course cohort of 50 to 100 in an hour
    (client, csrf, token), _other = two_people
    api = client.application.test_client()

    def page():
        return client.post(
            "/networks/no-such-network/invite",
            data={"csrf_token": csrf, "email": "new@example.org"},
            environ_base=ADDRESS,
        ).status_code

    def by_api():
        return api.post(
            "/api/v1/networks/no-such-network/invitations",
            json={"email": "new@example.org"},
            headers={"Authorization": f"Bearer {token}"},
            environ_base=ADDRESS,
        ).status_code

    statuses = [page() for _ in range(100)] + [by_api() for _ in range(50)]
    assert 429 not in statuses
    assert by_api() == 429 and page() == 429


@pytest.mark.parametrize(
    ("path", "api_path", "method", "allowed"),
    [
        ("/networks/no-such-network/meetings/new", "/api/v1/networks/no-such-network/meetings", "post", 30),
        ("/networks/no-such-network/conversations/messages/1/edit", "/api/v1/messages/1", "patch", 60),
    ],
)
def test_meetings_and_edits_are_limited_per_person(two_people, path, api_path, method, allowed):
    (client, csrf, token), _other = two_people
    api = client.application.test_client()
    half = allowed // 2
    statuses = [
        client.post(path, data={"csrf_token": csrf, "body": "x"}, environ_base=ADDRESS).status_code
        for _ in range(half)
    ]
    statuses += [
        getattr(api, method)(
            api_path, json={"body": "x"}, headers={"Authorization": f"Bearer {token}"}, environ_base=ADDRESS
        ).status_code
        for _ in range(allowed - half)
    ]
    assert 429 not in statuses, statuses
    assert client.post(path, data={"csrf_token": csrf, "body": "x"}, environ_base=ADDRESS).status_code == 429


def test_making_api_tokens_on_the_page_is_limited_per_person(two_people):
    """No mail, but each token is a credential: 10 an hour per person (accounts.views.NEW_CREDENTIAL_RATE_LIMIT),
    besides the cap on live tokens (the fixture's token is one: the tenth post meets the cap, 409)."""
    from network_service.accounts.models import DeviceSession
    from network_service.db import session

    (client, csrf, _token), (other, other_csrf, _other_token) = two_people
    sids = []
    for browser in (client, other):
        with browser.session_transaction() as cookie:
            sids.append(cookie["sid"])
    with client.application.app_context():  # as after a sign-in link (the fixture's sessions are the tests')
        session.execute(sa.update(DeviceSession).where(DeviceSession.id.in_(sids)).values(via="link"))
        session.commit()

    def once(client) -> str:  # the one-time value of the form as the devices page shows it (none: no form)
        from tests.helpers import token_form_once

        return token_form_once(client.get("/profile/sessions", environ_base=ADDRESS).get_data(as_text=True))

    def make(client, csrf, name, once=""):
        return client.post(
            "/profile/tokens/new",
            data={"csrf_token": csrf, "name": name, "once": once},
            environ_base=ADDRESS,
        )

    statuses, other_tab = [], ""
    for number in range(10):
        shown = once(client)
        if number == 8:
            other_tab = once(client)  # the form in another tab, before the last place is taken
        statuses.append(make(client, csrf, f"script {number}", shown or other_tab).status_code)
    assert statuses == [200] * 9 + [409], statuses
    refused = make(client, csrf, "one more script")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    html = refused.get_data(as_text=True)
    assert 'value="one more script"' in html  # the person's own form comes back, ready to send again
    assert "new-token-secret" not in html
    assert make(other, other_csrf, "their script", once(other)).status_code == 200  # same address, own budget


def test_only_the_persons_own_forms_come_back_on_a_refusal(limited_app):
    """The sign-in form (and an LTI launch, whose body is a credential) is not one of them: a refused post gets
    the plain page, which repeats nothing that was posted."""
    from tests.helpers import csrf_from

    client = limited_app().test_client()
    csrf = csrf_from(client.get("/sign-in").get_data(as_text=True))
    answers = [
        client.post("/sign-in", data={"csrf_token": csrf, "email": "someone-else@example.org"})
        for _ in range(6)
    ]
    assert [answer.status_code for answer in answers[:5]].count(429) == 0 and answers[5].status_code == 429
    html = answers[5].get_data(as_text=True)
    assert "Too Many Requests" in html and "someone-else@example.org" not in html
