"""LTI Dynamic Registration against a platform stand-in on 127.0.0.1 that serves an OpenID configuration and a
registration endpoint as LTI-DR 1.0 describes."""

from __future__ import annotations

import datetime as dt
import json
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lti_bridge.lti.dynamic import new_registration_url
from lti_bridge.lti.models import LtiPlatform, LtiRegistrationCode
from network_service.audit.models import AuditLog
from network_service.db import session, utcnow
from tests.helpers import assert_ok

TOKEN = "reg-token-123"


class RegistrationPlatform:
    """Serves /openid-configuration and /register; answers with a client id and a deployment id."""

    def __init__(self):
        self.issuer_override: str | None = None
        self.deployment_id: str | None = "dep-7"
        self.registrations: list[dict] = []
        self.authorizations: list[str] = []
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def configuration_url(self) -> str:
        return f"{self.base_url}/mod/lti/openid-configuration.php"

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        if request.path == "/mod/lti/openid-configuration.php":
            body = {
                "issuer": self.issuer_override or self.base_url,
                "authorization_endpoint": f"{self.base_url}/auth",
                "token_endpoint": f"{self.base_url}/token",
                "jwks_uri": f"{self.base_url}/certs",
                "registration_endpoint": f"{self.base_url}/register",
                "scopes_supported": ["openid", "https://purl.imsglobal.org/spec/lti-ags/scope/score"],
                "response_types_supported": ["id_token"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": ["sub", "iss", "name", "email"],
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "moodle",
                    "version": "4.5",
                    "messages_supported": [
                        {"type": "LtiResourceLinkRequest"},
                        {"type": "LtiDeepLinkingRequest"},
                    ],
                },
            }
            return Response(json.dumps(body), content_type="application/json")
        if request.path == "/register" and request.method == "POST":
            self.authorizations.append(request.headers.get("Authorization", ""))
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return Response(
                    json.dumps({"error": "invalid_token"}), status=401, content_type="application/json"
                )
            sent = request.get_json()
            self.registrations.append(sent)
            answer = dict(sent, client_id="moodle-client-42")
            tool = dict(sent["https://purl.imsglobal.org/spec/lti-tool-configuration"])
            if self.deployment_id:
                tool["deployment_id"] = self.deployment_id
            answer["https://purl.imsglobal.org/spec/lti-tool-configuration"] = tool
            return Response(json.dumps(answer), content_type="application/json")
        return Response("not found", status=404)

    def stop(self):
        self._server.shutdown()


@pytest.fixture
def lms():
    server = RegistrationPlatform()
    yield server
    server.stop()


@pytest.fixture
def code(run):
    url = run(new_registration_url, None)
    return parse_qs(urlsplit(url).query)["code"][0]


def _register_path(code: str, lms: RegistrationPlatform, token: str = TOKEN) -> str:
    return "/lti/register?" + urlencode(
        {"code": code, "openid_configuration": lms.configuration_url, "registration_token": token}
    )


def _confirm(client, code, lms, token=TOKEN):
    return client.post(
        "/lti/register",
        data={"code": code, "openid_configuration": lms.configuration_url, "registration_token": token},
    )


def _platforms(run):
    return run(lambda: list(session.scalars(sa.select(LtiPlatform))))


def test_register_url_from_the_command_line_is_single_use_and_expires(mentornet, run):
    out = assert_ok(mentornet("lti", "register-url"))
    url = out.strip().splitlines()[0]
    assert "/lti/register?code=" in url
    entry = run(lambda: session.scalars(sa.select(LtiRegistrationCode)).one())
    assert dt.timedelta(days=6, hours=23) < entry.expires_at - utcnow() <= dt.timedelta(days=7)


def test_opening_the_url_in_a_browser_explains_where_to_paste_it(client, code):
    response = client.get(f"/lti/register?code={code}")
    assert response.status_code == 200
    assert "paste it into your learning platform" in response.get_data(as_text=True)


@pytest.mark.parametrize("bad", ["", "not-a-code"])
def test_unknown_code_is_refused(client, lms, bad):
    response = client.get(_register_path(bad, lms))
    assert response.status_code == 410
    assert "not known" in response.get_data(as_text=True)


def test_expired_code_is_refused(client, run, lms, code):
    run(
        lambda: session.execute(
            sa.update(LtiRegistrationCode).values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    )
    assert client.get(_register_path(code, lms)).status_code == 410
    assert _confirm(client, code, lms).status_code == 410
    assert _platforms(run) == []


def test_dynamic_registration_end_to_end(client, run, lms, code):
    page = client.get(_register_path(code, lms))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert lms.base_url in html and "moodle" in html
    # The platform frames this page: exactly its origin may, and no X-Frame-Options contradicts it.
    assert f"frame-ancestors {lms.base_url}" in page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in page.headers
    assert lms.registrations == []  # showing the page registers nothing

    done = _confirm(client, code, lms)
    assert done.status_code == 200, done.get_data(as_text=True)
    html = done.get_data(as_text=True)
    assert "moodle-client-42" in html and "js/lti-close.js" in html and "data-lti-registration-done" in html

    assert lms.authorizations == [f"Bearer {TOKEN}"]
    sent = lms.registrations[0]
    assert sent["initiate_login_uri"].endswith("/lti/login")
    assert sent["redirect_uris"] == [sent["initiate_login_uri"].replace("/login", "/launch")]
    assert sent["jwks_uri"].endswith("/lti/jwks")
    assert sent["token_endpoint_auth_method"] == "private_key_jwt"
    types = [m["type"] for m in sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]["messages"]]
    assert types == ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"]
    assert sent["scope"] == "https://purl.imsglobal.org/spec/lti-ags/scope/score"  # only what it supports

    (platform,) = _platforms(run)
    assert (platform.issuer, platform.client_id, platform.deployment_ids) == (
        lms.base_url,
        "moodle-client-42",
        ["dep-7"],
    )
    assert (platform.oidc_auth_url, platform.token_url, platform.jwks_url) == (
        f"{lms.base_url}/auth",
        f"{lms.base_url}/token",
        f"{lms.base_url}/certs",
    )
    assert platform.registered_via == "dynamic" and platform.product == "moodle"
    assert platform.trust_email is False
    assert run(
        lambda: session.scalar(sa.select(AuditLog.id).where(AuditLog.action == "lti.platform.register"))
    )

    # The code is spent: the same URL cannot register a second platform.
    again = _confirm(client, code, lms)
    assert again.status_code == 410
    assert len(_platforms(run)) == 1


def test_issuer_of_another_host_is_refused_and_the_code_stays_usable(client, run, lms, code):
    lms.issuer_override = "https://moodle.example.org"
    response = client.get(_register_path(code, lms))
    assert response.status_code == 400
    assert 'data-lti-check="issuer"' in response.get_data(as_text=True)
    assert _confirm(client, code, lms).status_code == 400
    assert lms.registrations == [] and _platforms(run) == []

    lms.issuer_override = None
    assert _confirm(client, code, lms).status_code == 200
    assert len(_platforms(run)) == 1


def test_rejected_registration_token_stores_nothing(client, run, lms, code):
    response = _confirm(client, code, lms, token="wrong")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'data-lti-check="registration_token"' in body and "HTTP 401" in body
    assert _platforms(run) == []
    assert run(lambda: session.scalar(sa.select(LtiRegistrationCode.used_at))) is None


def test_unreachable_configuration_is_a_clear_refusal(client, run, code):
    path = "/lti/register?" + urlencode({"code": code, "openid_configuration": "http://127.0.0.1:9/openid"})
    response = client.get(path)
    assert response.status_code == 400
    assert "could not read the platform" in response.get_data(as_text=True)


def test_plain_http_configuration_off_this_machine_is_refused(client, code):
    path = "/lti/register?" + urlencode(
        {"code": code, "openid_configuration": "http://lms.example.org/openid"}
    )
    response = client.get(path)
    assert response.status_code == 400
    assert "https://" in response.get_data(as_text=True)


def test_a_platform_without_deployment_is_told_how_to_add_one(client, run, lms, code):
    lms.deployment_id = None
    response = _confirm(client, code, lms)
    assert response.status_code == 200
    assert "add-deployment" in response.get_data(as_text=True)
    (platform,) = _platforms(run)
    assert platform.deployment_ids == []


def test_site_admin_makes_a_registration_url_on_the_admin_page(client, run, lms, world):
    from network_service.accounts.models import Person
    from tests.helpers import csrf_from, sign_in_as

    def make_admin():
        admin = Person(email="root@example.org", display_name="Root", is_site_admin=True)
        session.add(admin)

    run(make_admin)
    sign_in_as(client, run, "root@example.org")
    page = client.get("/lti/admin")
    assert page.status_code == 200
    made = client.post("/lti/admin", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    html = made.get_data(as_text=True)
    assert made.status_code == 200
    url = (
        html.split('id="registration-url" type="text" readonly value="')[1]
        .split('"')[0]
        .replace("&amp;", "&")
    )
    code = parse_qs(urlsplit(url).query)["code"][0]
    assert _confirm(client, code, lms).status_code == 200
    assert "moodle-client-42" in client.get("/lti/admin").get_data(as_text=True)


def test_admin_page_is_for_site_admins_only(client, run, world):
    from tests.helpers import sign_in_as

    assert client.get("/lti/admin").status_code in (302, 303)
    sign_in_as(client, run, "coord@example.org")
    assert client.get("/lti/admin").status_code == 403
    assert client.post("/lti/admin").status_code in (400, 403)
    assert run(lambda: session.scalar(sa.select(sa.func.count(LtiRegistrationCode.id)))) == 0
