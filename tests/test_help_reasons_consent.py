"""A help request's "Who was asked, and why" keeps the reasons written when each member was asked ("speaks Arabic",
"works in Berlin"). A member who withdraws their consent to share their profile is shown without the reasons
drawn from it, on the page and in the API, as other members see only their name (docs/privacy.md). Found by
the audit of session 12: the stored reasons went on showing the languages and region of someone who said no."""

from __future__ import annotations

import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import create_api_token
from network_service.db import session
from network_service.help import operations as ops
from network_service.networks.models import Network
from network_service.privacy.operations import PROFILE_SHARING, set_consent
from tests.helpers import sign_in_as


def _person(email: str) -> Person:
    return session.scalar(sa.select(Person).where(Person.email == email))


def _reasons_on_page(client, world, request_id: int) -> str:
    response = client.get(f"/networks/{world.slug}/help/{request_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _mentor_in_api(client, run, world, request_id: int) -> dict:
    response = client.get(
        f"/api/v1/networks/{world.slug}/help-requests/{request_id}/suggestions",
        headers={
            "Authorization": f"Bearer {run(lambda: create_api_token(_person('coord@example.org'), 't')[1])}"
        },
    )
    assert response.status_code == 200, response.get_json()
    (mentor,) = [row for row in response.get_json()["notified"] if row["person"]["id"] == world.mentor_id]
    return mentor


def test_a_member_who_stops_sharing_is_shown_without_their_languages(client, run, world, app, monkeypatch):
    monkeypatch.setitem(
        app.config, "HELP_NOTIFY_COUNT", 5
    )  # whatever an earlier file left on the suite's app

    def ask():
        network = session.get(Network, world.network_id)
        request = ops.create_request(
            network,
            _person("coord@example.org"),
            topic="Who knows the school enrolment rules?",
            body="A family I accompany wants to enrol two children mid-year.",
            languages=["Arabic"],
        )
        return request.id

    request_id = run(ask)
    sign_in_as(client, run, "coord@example.org")
    assert "speaks Arabic" in _reasons_on_page(client, world, request_id)
    before = _mentor_in_api(client, run, world, request_id)
    assert "language" in [reason["code"] for reason in before["reasons"]]

    run(
        lambda: set_consent(
            _person("mentor@example.org"), PROFILE_SHARING, False, actor=_person("mentor@example.org")
        )
    )

    html = _reasons_on_page(client, world, request_id)
    assert "Mina Mentor" in html  # still listed as asked: only what came from her profile goes
    assert "speaks Arabic" not in html
    after = _mentor_in_api(client, run, world, request_id)
    assert not {"language", "expertise", "region"} & {reason["code"] for reason in after["reasons"]}
    # the score is that of the reasons shown: the stored score, less the points shown, would give the hidden ones
    assert after["score"] == sum(reason["points"] for reason in after["reasons"]) < before["score"]
