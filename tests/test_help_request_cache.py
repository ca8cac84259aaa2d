"""The help request page kept in the page cache (help.views.show): a repeated page runs no matching, and every
change that alters it (an answer, an edit, a resolution, members notified here or for another request, a profile,
the clock) shows at once, in the page of whoever made it and of everyone else."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network_service import page_cache
from network_service.accounts.models import Person
from network_service.db import session, utcnow
from network_service.help import matching
from network_service.help import operations as ops
from network_service.help import views as help_views
from network_service.help.models import HelpRequest, HelpSuggestion
from tests.helpers import csrf_from, share_profile, sign_in_as, without_csrf_tokens
from tests.test_help import new_request, person, roles  # noqa: F401  (the fixture)


@pytest.fixture
def cache_on(app, page_cache_on):
    before = app.config.get("HELP_NOTIFY_COUNT")
    app.config["HELP_NOTIFY_COUNT"] = 1  # one member notified on creation: others remain to be suggested
    yield
    app.config["HELP_NOTIFY_COUNT"] = before


@pytest.fixture
def rankings(monkeypatch):
    """The rankings run (each call of matching.rank)."""
    calls = []
    original = matching.rank

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(matching, "rank", counting)
    return calls


def page_path(request_id: int, *, next_: bool = True) -> str:
    return f"/networks/test-net/help/{request_id}" + ("?next=1" if next_ else "")


def get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def section(html: str, heading: str) -> str:
    """The list after ``heading`` (up to the next heading or form)."""
    start = html.index(heading)
    ends = [i for i in (html.find("<h3>", start + 1), html.find("<form", start + 1)) if i > 0]
    return html[start : min(ends) if ends else len(html)]


def names(html: str) -> list[str]:
    return re.findall(r"<li><strong>([^<]+)</strong>", html)


@pytest.fixture
def asked(run, roles, cache_on):  # noqa: F811
    """An open request of the novice mentor (Arabic), one member notified."""
    return run(lambda: new_request(roles, email="mentor@example.org", topic="Arabic at the Jobcenter").id)


def test_a_repeated_page_runs_no_matching_and_each_viewer_gets_their_own_token(client, run, asked, rankings):
    sign_in_as(client, run, "coord@example.org")
    get(client, page_path(asked))  # shows the message "You are signed in" (above the kept part)
    assert len(rankings) == 1
    first = get(client, page_path(asked))
    assert len(rankings) == 1 and "Next suggestions" in first
    again = get(client, page_path(asked))
    assert len(rankings) == 1 and without_csrf_tokens(again) == without_csrf_tokens(first)
    # the Meta-Mentor has the coordinator's permissions: the same page, with the token of their own session,
    # which their form posts with
    client.post("/sign-out", data={"csrf_token": csrf_from(again)})
    sign_in_as(client, run, "meta@example.org")
    theirs = get(client, page_path(asked))
    assert len(rankings) == 1 and csrf_from(theirs) != csrf_from(first)
    assert "\x00" not in theirs
    response = client.post(
        f"/networks/test-net/help/{asked}/notify", data={"csrf_token": csrf_from(theirs), "count": 1}
    )
    assert response.status_code == 303


def test_each_set_of_permissions_has_its_own_page(client, run, asked):
    sign_in_as(client, run, "mentor@example.org")  # the author: may edit
    assert ">Edit</a>" in get(client, page_path(asked))
    client.post("/sign-out", data={"csrf_token": csrf_from(get(client, page_path(asked)))})
    sign_in_as(client, run, "expert@example.org")  # another mentor: may answer, sees no suggestions
    html = get(client, page_path(asked))
    assert ">Edit</a>" not in html and "Who was asked" not in html and "Post answer" in html


def test_the_authors_answer_shows_at_once(client, run, asked, rankings):
    sign_in_as(client, run, "mentor@example.org")
    html = get(client, page_path(asked))
    assert "No answer yet." in html
    response = client.post(
        f"/networks/test-net/help/{asked}/respond",
        data={"csrf_token": csrf_from(html), "body": "Found someone myself", "action": "check"},
    )
    assert response.status_code == 303
    html = get(client, page_path(asked))
    assert "Found someone myself" in html and "No answer yet." not in html


def test_an_answer_by_someone_else_shows_at_once(client, run, asked):
    sign_in_as(client, run, "coord@example.org")
    assert "No answer yet." in get(client, page_path(asked))
    run(lambda: ops.respond(session.get(HelpRequest, asked), person("expert@example.org"), "Try the office"))
    html = get(client, page_path(asked))
    assert "Try the office" in html and "Answers (1)" in html


def test_an_edit_shows_at_once(client, run, asked):
    sign_in_as(client, run, "mentor@example.org")
    assert "Arabic at the Jobcenter" in get(client, page_path(asked))
    run(
        lambda: ops.update_request(
            session.get(HelpRequest, asked),
            person("mentor@example.org"),
            topic="Arabic at the Bürgeramt",
            body="The appointment moved to Friday.",
            region="Wedding",
        )
    )
    html = get(client, page_path(asked))
    assert "Arabic at the Bürgeramt" in html and "Arabic at the Jobcenter" not in html
    assert "The appointment moved to Friday." in html and "<dd>Wedding</dd>" in html


def test_a_resolution_shows_at_once(client, run, asked):
    sign_in_as(client, run, "coord@example.org")
    html = get(client, page_path(asked))
    assert "Mark as resolved" in html and "Next suggestions" in html
    response = client.post(
        f"/networks/test-net/help/{asked}/resolve", data={"csrf_token": csrf_from(html), "status": "resolved"}
    )
    assert response.status_code == 303
    html = get(client, page_path(asked))
    assert "Mark as resolved" not in html and "Next suggestions" not in html
    assert '<span class="badge">resolved</span>' in html


def test_members_notified_here_move_from_the_suggestions_to_the_asked(client, run, asked):
    sign_in_as(client, run, "coord@example.org")
    html = get(client, page_path(asked))
    first_candidate = names(section(html, "Next suggestions"))[0]
    assert first_candidate not in names(section(html, "Who was asked"))
    response = client.post(
        f"/networks/test-net/help/{asked}/notify", data={"csrf_token": csrf_from(html), "count": 1}
    )
    assert response.status_code == 303
    html = get(client, page_path(asked))
    assert first_candidate in names(section(html, "Who was asked"))
    assert first_candidate not in names(section(html, "Next suggestions"))


def test_members_notified_for_another_request_rank_lower_at_once(client, run, asked, roles, app):  # noqa: F811
    """The rotation: a member asked for another request gets the fairness penalty on this page at once."""
    sign_in_as(client, run, "coord@example.org")
    html = section(get(client, page_path(asked)), "Next suggestions")
    assert "was asked" not in html
    candidate = names(html)[0]
    app.config["HELP_NOTIFY_COUNT"] = 0

    def asked_elsewhere():
        other = new_request(roles, email="coord@example.org", topic="Another request")
        member = session.scalar(sa.select(Person).where(Person.display_name == candidate))
        session.add(
            HelpSuggestion(request=other, person_id=member.id, score=1.0, reasons=[], notified_at=utcnow())
        )

    run(asked_elsewhere)
    html = section(get(client, page_path(asked)), "Next suggestions")
    line = html[html.index(f"<strong>{candidate}</strong>") :]
    assert "was asked once in the last 14 days" in line[: line.index("</li>")]


def test_a_profile_change_shows_in_the_reasons_at_once(client, run, asked):
    people = ("expert@example.org", "asker@example.org", "office@example.org", "meta@example.org")
    run(
        lambda: share_profile(*(person(email) for email in people))
    )  # matched on their profile (they said yes)
    sign_in_as(client, run, "coord@example.org")
    html = section(get(client, page_path(asked)), "Next suggestions")
    assert "knows about jobcenter" not in html.casefold()

    def expertise():
        for email in people:
            person(email).expertise = ["Jobcenter"]

    run(expertise)
    assert "knows about jobcenter" in section(get(client, page_path(asked)), "Next suggestions").casefold()


def test_what_follows_the_clock_is_kept_at_most_a_minute(client, run, asked, rankings, monkeypatch):
    """A sign-in (not a change of any domain) makes a member recently active: shown within a minute."""
    sign_in_as(client, run, "coord@example.org")
    get(client, page_path(asked))
    get(client, page_path(asked))
    assert len(rankings) == 1
    now = page_cache.time.monotonic()
    monkeypatch.setattr(page_cache.time, "monotonic", lambda: now + help_views.CANDIDATES_MAX_AGE + 1)
    get(client, page_path(asked))
    assert len(rankings) == 2
    # the page without the candidates follows no clock: kept for the page cache's usual time
    get(client, page_path(asked, next_=False))
    monkeypatch.setattr(page_cache.time, "monotonic", lambda: now + 2 * help_views.CANDIDATES_MAX_AGE + 2)
    get(client, page_path(asked, next_=False))
    assert len(rankings) == 2


def test_only_the_candidates_are_ranked_again_once_they_expire(client, run, asked, rankings, monkeypatch):
    """The rest of the page follows no clock: when the candidates are a minute old, they alone are made again
    (the page's other parts, its statements and its template, are kept)."""
    rendered = []
    real_content = help_views._content
    monkeypatch.setattr(help_views, "_content", lambda *a, **k: rendered.append(1) or real_content(*a, **k))
    sign_in_as(client, run, "coord@example.org")
    first = get(client, page_path(asked))
    assert (len(rendered), len(rankings)) == (1, 1)
    now = page_cache.time.monotonic()
    monkeypatch.setattr(page_cache.time, "monotonic", lambda: now + help_views.CANDIDATES_MAX_AGE + 1)
    again = get(client, page_path(asked))
    assert (len(rendered), len(rankings)) == (1, 2)
    assert section(again, "Next suggestions") == section(first, "Next suggestions")
    assert "\x00" not in again


def test_an_unknown_request_is_not_found_and_a_new_one_is_found_at_once(client, run, asked, roles):  # noqa: F811
    sign_in_as(client, run, "coord@example.org")
    missing = run(lambda: session.scalar(sa.select(sa.func.max(HelpRequest.id)))) + 1
    assert client.get(page_path(missing)).status_code == 404
    created = run(lambda: new_request(roles, email="coord@example.org", topic="Next one").id)
    assert created == missing
    assert "Next one" in get(client, page_path(created))


def test_the_kept_inputs_rank_as_the_exact_ranking_does(run, roles, cache_on, app):  # noqa: F811
    """matching.rank with the network's members and counts kept (page_cache.kept; this request's own answers
    taken out of its responders' load) ranks as with them read afresh, also after writes."""
    app.config["HELP_NOTIFY_COUNT"] = 2

    def build():
        first = new_request(roles, email="mentor@example.org", topic="School enrolment", tags=["school"])
        second = new_request(
            roles, email="coord@example.org", topic="Jobcenter letters", languages=["German"]
        )
        third = new_request(roles, email="asker@example.org", topic="Housing", languages=[])
        for request, email in ((first, "expert@example.org"), (second, "expert@example.org"),
                               (first, "office@example.org"), (third, "meta@example.org")):  # fmt: skip
            ops.respond(request, person(email), "I can help.")
        return [first.id, second.id, third.id]

    ids = run(build)

    def compare():
        for request_id in ids:
            request = session.get(HelpRequest, request_id)
            exclude = set(
                session.scalars(
                    sa.select(HelpSuggestion.person_id).where(HelpSuggestion.request_id == request_id)
                )
            )
            matching.kept_inputs(request.network_id)
            assert matching.kept_inputs(request.network_id).kept  # kept from the call before
            for limit in (1, 3, None):
                kept = matching.rank(request, limit=limit, exclude=exclude)
                app.config["PAGE_CACHE"] = False
                try:
                    exact = matching.rank(request, limit=limit, exclude=exclude)
                finally:
                    app.config["PAGE_CACHE"] = True
                assert [(s.person_id, s.score, s.reasons) for s in kept] == [
                    (s.person_id, s.score, s.reasons) for s in exact
                ], (request_id, limit)

    run(compare)
    run(lambda: ops.notify_more(session.get(HelpRequest, ids[1]), person("coord@example.org"), 2))
    run(lambda: ops.resolve(session.get(HelpRequest, ids[2]), person("asker@example.org")))
    run(lambda: ops.respond(session.get(HelpRequest, ids[0]), person("meta@example.org"), "Me too."))
    run(compare)
