"""Deep Linking 2.0: an instructor picks what to place; the platform gets signed ltiResourceLink items."""

from __future__ import annotations

import jwt
import pytest

from lti_bridge.lti.launch import CLAIM
from tests.helpers import COURSE

pytest_plugins = ("tests.lti_platform",)

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
RETURN_URL = "https://lms.example.test/deep-link/return?course=7"


def _settings(**overrides):
    settings = {
        "deep_link_return_url": RETURN_URL,
        "accept_types": ["ltiResourceLink", "link"],
        "accept_presentation_document_targets": ["iframe", "window"],
        "accept_multiple": False,
        "data": "opaque-platform-data-123",
    }
    settings.update(overrides)
    return settings


def _deep_link_launch(client, platform, settings=None, **claims):
    query = platform.begin_login(client)
    token = platform.id_token(
        query["nonce"],
        message_type="LtiDeepLinkingRequest",
        resource_link=platform.DROP,
        **{
            DL + "deep_linking_settings": settings if settings is not None else _settings(),
            CLAIM + "context": {"id": COURSE, "title": "Mentoring migrants"},
            CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
        },
        **claims,
    )
    return client.post("/lti/launch", data={"id_token": token, "state": query["state"]})


def _choice(html: str) -> str:
    return html.split('name="choice" value="')[1].split('"')[0]


def _verify(client, token: str, platform) -> dict:
    keys = client.get("/lti/jwks").get_json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in keys if k["kid"] == kid))
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=platform.issuer)


def test_instructor_picks_the_network_and_the_platform_gets_a_signed_resource_link(
    client, registered, run, world
):
    page = _deep_link_launch(client, registered)
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    assert "Test Network" in html and "Join the mentor network (for learners who passed)" in html
    assert "frame-ancestors https://lms.example.test" in page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in page.headers

    answer = client.post("/lti/deep-link", data={"choice": _choice(html), "target": "network"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_data(as_text=True)
    assert f'action="{RETURN_URL}"'.replace("&", "&amp;") in body or f'action="{RETURN_URL}"' in body
    assert "form-action 'self' https://lms.example.test" in answer.headers["Content-Security-Policy"]
    token = body.split('name="JWT" value="')[1].split('"')[0]

    claims = _verify(client, token, registered)
    assert claims["iss"] == registered.client_id
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[CLAIM + "version"] == "1.3.0"
    assert claims[CLAIM + "deployment_id"] == "deployment-1"
    assert claims[DL + "data"] == "opaque-platform-data-123"
    assert claims["nonce"] and claims["exp"] - claims["iat"] == 300
    [item] = claims[DL + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["title"] == "Test Network"
    assert item["url"] == "http://localhost/networks/test-net"


def test_the_completion_gate_carries_its_custom_parameters(client, registered, run, world):
    html = _deep_link_launch(client, registered).get_data(as_text=True)
    answer = client.post("/lti/deep-link", data={"choice": _choice(html), "target": "completion_gate"})
    token = answer.get_data(as_text=True).split('name="JWT" value="')[1].split('"')[0]
    [item] = _verify(client, token, registered)[DL + "content_items"]
    assert item["url"] == "http://localhost/lti/launch"
    assert item["custom"] == {"mentornet_completion": "passed", "mentornet_course": COURSE}


def test_several_items_only_when_the_platform_accepts_several(client, registered, run, world):
    html = _deep_link_launch(client, registered).get_data(as_text=True)
    refused = client.post("/lti/deep-link", data={"choice": _choice(html), "target": ["network", "home"]})
    assert refused.status_code == 422 and "Choose one item" in refused.get_data(as_text=True)

    html = _deep_link_launch(client, registered, settings=_settings(accept_multiple=True)).get_data(
        as_text=True
    )
    assert 'type="checkbox"' in html
    answer = client.post("/lti/deep-link", data={"choice": _choice(html), "target": ["network", "home"]})
    token = answer.get_data(as_text=True).split('name="JWT" value="')[1].split('"')[0]
    assert [i["title"] for i in _verify(client, token, registered)[DL + "content_items"]] == [
        "Test Network",
        "My mentor networks",
    ]


def test_items_come_from_our_list_never_from_the_form(client, registered, run, world):
    html = _deep_link_launch(client, registered).get_data(as_text=True)
    response = client.post(
        "/lti/deep-link", data={"choice": _choice(html), "target": "https://evil.example/phish"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize("choice", ["", "forged.choice.value"])
def test_a_forged_or_missing_choice_is_refused(client, choice):
    response = client.post("/lti/deep-link", data={"choice": choice, "target": "home"})
    assert response.status_code == 400
    assert "Open the mentorNET picker again" in response.get_data(as_text=True)


def test_an_unlinked_course_offers_home_and_the_gate(client, registered, run):
    html = _deep_link_launch(client, registered).get_data(as_text=True)
    assert 'value="network"' not in html and 'value="home"' in html and 'value="completion_gate"' in html


@pytest.mark.parametrize(
    "settings, words",
    [
        (_settings(deep_link_return_url=""), "deep_link_return_url"),
        (_settings(deep_link_return_url="javascript:alert(1)"), "deep_link_return_url"),
        (_settings(accept_types=["file"]), "accept_types"),
    ],
)
def test_a_deep_linking_request_without_a_usable_return_or_type_is_refused(
    client, registered, run, settings, words
):
    response = _deep_link_launch(client, registered, settings=settings)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'data-lti-check="deep_linking_settings"' in body and words in body


def test_a_resource_link_launch_lands_on_the_page_it_was_made_for(client, platform, run, world):
    run(lambda: platform.register(trust_email=True))
    query = platform.begin_login(client, target_link_uri="http://localhost/networks/test-net")
    token = platform.id_token(
        query["nonce"],
        email="coord@example.org",
        **{CLAIM + "target_link_uri": "http://localhost/networks/test-net"},
    )
    response = client.post("/lti/launch", data={"id_token": token, "state": query["state"]})
    assert response.status_code == 303 and response.headers["Location"] == "/networks/test-net"
