"""End to end with lti1p3platform 0.1.8's own platform classes as the peer: not our platform core built on the
library (lti_bridge/platform, which closes its gaps), but the library's ``Registration``,
``LTI1P3PlatformConfAbstract``, ``OIDCLoginAbstract`` and ``LTIAdvantageMessageLaunchAbstract`` with only their
abstract methods filled in (the adapters the library bundles for Django and FastAPI do the same), served over
HTTP on 127.0.0.1. mentorNET runs over HTTP on its own database (tests.live); a ``requests.Session`` is the
browser. Tested: a resource link launch, and a Deep Linking round trip whose answer the library itself checks
(``validate_deeplinking_resp``, which fetches our key set)."""

from __future__ import annotations

import html
import json
import re
import threading
from html import unescape
from urllib.parse import urlencode, urljoin

import pytest
import requests
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as LibraryRequest
from werkzeug.serving import make_server
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from lti_bridge.lti.models import LtiContext, LtiIdentity
from lti_bridge.lti.registrations import add_platform
from network_service.db import session
from tests.helpers import COURSE
from tests.live import live_service

CLIENT_ID = "lti1p3platform-client"
DEPLOYMENT_ID = "lti1p3platform-deployment"
LEARNER = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
INSTRUCTOR = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]


class Browser(requests.Session):
    """Browsers send ``Secure`` cookies to http://127.0.0.1 (a secure context); requests does not."""

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        for cookie in self.cookies:
            if cookie.domain == "127.0.0.1":
                cookie.secure = False
        return response


# -- the library's classes, abstract methods filled in ---------------------------------------------------


class PeerRequest(LibraryRequest):
    def build_metadata(self, request: Request):
        return {
            "method": request.method,
            "form_data": request.form.to_dict(),
            "get_data": request.args.to_dict(),
            "headers": dict(request.headers),
            "content_type": request.content_type,
            "path": request.path,
            "json": None,
        }


class PeerPlatformConf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs):
        self.registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs) -> Registration:
        return self.registration


class PeerOIDCLogin(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str):
        return redirect(url, 302)


class PeerMessageLaunch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data, **kwargs):
        fields = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(launch_data[name])}">'
            for name in ("id_token", "state")
        )
        return Response(
            f'<form method="post" action="{html.escape(launch_data["launch_url"])}">{fields}</form>'
            "<script>document.forms[0].submit()</script>",
            mimetype="text/html",
        )


class Lti1p3Platform:
    """A platform made of the library's classes: its launch button, its OIDC authorisation endpoint (which
    answers the auto-posting launch form), its key set, and its deep linking return endpoint."""

    def __init__(self, tool_base_url: str):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self.registration = (
            Registration()
            .set_iss(self.base_url)
            .set_client_id(CLIENT_ID)
            .set_deployment_id(DEPLOYMENT_ID)
            .set_oidc_login_url(f"{tool_base_url}/lti/login")
            .set_launch_url(f"{tool_base_url}/lti/launch")
            .set_deeplink_launch_url(f"{tool_base_url}/lti/launch")
            .set_tool_key_set_url(f"{tool_base_url}/lti/jwks")
            .set_platform_public_key(public_pem)
            .set_platform_private_key(private_pem)
        )
        self.launches: dict[
            str, dict
        ] = {}  # lti_message_hint -> what the launch is (the platform's own state)
        self.returned: list[list[dict]] = []  # content items the library accepted
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def conf(self) -> PeerPlatformConf:
        return PeerPlatformConf(registration=self.registration)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        if request.path == "/jwks":
            conf = self.conf()
            conf.get_registration()
            return Response(json.dumps(conf.get_jwks()), mimetype="application/json")
        if request.path == "/start":  # the course's launch button
            hint = request.args["hint"]
            self.launches[hint] = request.args.to_dict()
            login = PeerOIDCLogin(PeerRequest(request), self.conf())
            login.set_lti_message_hint(hint=hint)
            if request.args.get("kind") == "deep_linking":
                login.set_deeplinking_launch_url()
            return login.initiate_login(request.args["user"])
        if request.path == "/auth":  # the OIDC authorisation endpoint the tool redirects the browser to
            wanted = self.launches[request.args["lti_message_hint"]]
            launch = PeerMessageLaunch(PeerRequest(request), self.conf())
            roles = INSTRUCTOR if wanted.get("role") == "instructor" else LEARNER
            launch.set_user_data(request.args["login_hint"], roles, "Ada Peer", wanted.get("email"))
            launch.set_launch_context_claim(COURSE, context_title="Mentoring migrants")
            if wanted.get("kind") == "deep_linking":
                launch.set_dl(f"{self.base_url}/deep-link-return", title="Add a tool")
            else:
                launch.set_resource_link_claim(wanted["hint"], title="mentorNET")
            return launch.lti_launch()
        if request.path == "/deep-link-return":
            conf = self.conf()
            conf.get_registration()
            items = conf.validate_deeplinking_resp({"JWT": request.form["JWT"]})
            self.returned.append(items)
            return Response(json.dumps(items), mimetype="application/json")
        return Response("not found", status=404)


@pytest.fixture(scope="module")
def tool(tmp_path_factory):
    with live_service(tmp_path_factory.mktemp("lti1p3platform-peer"), smtp_running=False) as live:
        yield live


@pytest.fixture(scope="module")
def peer(tool):
    platform = Lti1p3Platform(tool.base_url)
    with tool.app.app_context():
        add_platform(
            platform.base_url,
            CLIENT_ID,
            [DEPLOYMENT_ID],
            f"{platform.base_url}/auth",
            f"{platform.base_url}/token",
            f"{platform.base_url}/jwks",
            trust_email=True,
        )
        session.commit()
    yield platform
    platform.stop()


def _form(response) -> tuple[str, dict[str, str]]:
    action = unescape(re.search(r'<form[^>]*action="([^"]+)"', response.text).group(1))
    fields = {
        unescape(n): unescape(v) for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', response.text)
    }
    return action, fields


def _launch_form(browser: requests.Session, peer, **start) -> tuple[str, dict[str, str]]:
    """The course's button → our /lti/login → the library's authorisation endpoint → its launch form."""
    button = browser.get(f"{peer.base_url}/start?{urlencode(start)}", allow_redirects=False, timeout=10)
    assert button.status_code == 302
    login = browser.get(button.headers["Location"], allow_redirects=False, timeout=10)
    assert login.status_code == 302, login.text
    form = browser.get(login.headers["Location"], allow_redirects=False, timeout=10)
    assert form.status_code == 200, form.text
    return _form(form)


def test_a_learner_launched_by_the_librarys_platform_arrives_signed_in(tool, peer):
    user = Browser()
    action, fields = _launch_form(user, peer, hint="link-1", user="peer-learner", email="peer@example.org")
    assert action == f"{tool.base_url}/lti/launch" and set(fields) == {"id_token", "state"}
    state_cookie = {c.name: c.value for c in user.cookies if c.name == "mentornet_lti_state"}
    landed = user.post(action, data=fields, timeout=10)
    assert landed.status_code == 200 and landed.url.rstrip("/") == tool.base_url
    assert "Sign out" in landed.text
    with tool.app.app_context():
        identity = session.scalar(sa.select(LtiIdentity).where(LtiIdentity.sub == "peer-learner"))
        context = session.scalar(
            sa.select(LtiContext).where(
                LtiContext.context_id == COURSE, LtiContext.title == "Mentoring migrants"
            )
        )
        assert identity.person_id is not None and identity.email_claimed == "peer@example.org"
        assert context is not None
    # the same form again, with a copy of the state cookie it was posted with, is refused: the nonce is spent
    replay = Browser()
    replay.cookies.update(state_cookie)
    again = replay.post(action, data=fields, timeout=10)
    assert again.status_code == 401 and 'data-lti-check="nonce"' in again.text, again.text
    assert "Sign out" not in again.text


def test_deep_linking_round_trip_with_the_librarys_platform(tool, peer):
    instructor = Browser()
    action, fields = _launch_form(
        instructor,
        peer,
        hint="dl-1",
        kind="deep_linking",
        role="instructor",
        user="peer-instructor",
        email="teach@example.org",
    )
    picker = instructor.post(action, data=fields, timeout=10)
    assert picker.status_code == 200, picker.text
    assert "Add mentorNET to the course" in picker.text and "Test Network" in picker.text
    assert f"frame-ancestors {peer.base_url}" in picker.headers["Content-Security-Policy"]

    pick_action, pick_fields = _form(picker)
    answer = instructor.post(
        urljoin(picker.url, pick_action),
        data={"choice": pick_fields["choice"], "target": "network"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return_action, return_fields = _form(answer)
    assert return_action == f"{peer.base_url}/deep-link-return"

    # the library checks our response (signature with our key set fetched over HTTP, message type, item types)
    accepted = instructor.post(return_action, data={"JWT": return_fields["JWT"]}, timeout=10)
    assert accepted.status_code == 200, accepted.text
    [item] = accepted.json()
    assert item["type"] == "ltiResourceLink"
    assert item["url"].startswith(f"{tool.base_url}/") and "test-net" in item["url"]

    # the platform places that link; the course's instructor launches it and lands on the network's page, as
    # its coordinator (a learner who is no member would land there too, and be told it is not theirs)
    teacher = Browser()
    peer.registration.set_launch_url(item["url"])
    try:
        action, fields = _launch_form(
            teacher,
            peer,
            hint="placed-1",
            role="instructor",
            user="peer-instructor",
            email="teach@example.org",
        )
        landed = teacher.post(action, data=fields, timeout=10)
    finally:
        peer.registration.set_launch_url(f"{tool.base_url}/lti/launch")
    assert landed.status_code == 200 and landed.url == item["url"], (landed.status_code, landed.url)


def test_in_a_frame_of_the_platforms_page_the_whole_site_works_over_http(tool, peer):
    """The launch as a browser sends it from the course page's frame (Fetch Metadata, the platform's Origin):
    a frame session, and the site's pages in the frame signed in; the same browser's windows are not."""
    user = Browser()
    action, fields = _launch_form(user, peer, hint="framed-1", user="peer-framed", email="framed@example.org")
    in_frame = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Mode": "navigate"}
    launched = user.post(
        action,
        data=fields,
        headers={**in_frame, "Sec-Fetch-Site": "cross-site", "Origin": peer.base_url},
        allow_redirects=False,
        timeout=10,
    )
    assert launched.status_code == 303 and launched.headers["Location"].startswith("/lti/frame?t=")
    assert (
        "Partitioned" in launched.headers["Set-Cookie"]
        and "mentornet_session=" not in launched.headers["Set-Cookie"]
    )
    check = user.get(  # redirects one by one: the Browser makes the Secure cookies plain between requests
        tool.base_url + launched.headers["Location"],
        headers={**in_frame, "Sec-Fetch-Site": "cross-site"},
        allow_redirects=False,
        timeout=10,
    )
    assert check.status_code == 303 and check.headers["Location"] == "/"
    landed = user.get(f"{tool.base_url}/", headers={**in_frame, "Sec-Fetch-Site": "cross-site"}, timeout=10)
    assert landed.status_code == 200 and "Sign out" in landed.text
    assert f"frame-ancestors {peer.base_url}" in landed.headers["Content-Security-Policy"]
    profile = user.get(
        f"{tool.base_url}/profile", headers={**in_frame, "Sec-Fetch-Site": "same-origin"}, timeout=10
    )
    assert profile.status_code == 200 and "Sign out" in profile.text
    window = user.get(
        f"{tool.base_url}/profile", headers={"Sec-Fetch-Dest": "document"}, allow_redirects=False
    )
    assert window.status_code == 302 and "/sign-in" in window.headers["Location"]
