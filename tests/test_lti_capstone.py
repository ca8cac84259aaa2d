"""The bridge as an LTI 1.3 platform for a graded capstone, against a tool nobody here wrote: pylti1p3's Flask
integration. The learner starts the tool from mentorNET; the tool posts an AGS score back; a pass provisions.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from html import unescape

import pytest
import requests
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask, jsonify
from flask.cli import ScriptInfo
from itsdangerous import URLSafeTimedSerializer
from werkzeug.serving import make_server

from lti_bridge.capstone.models import CapstoneLaunch
from lti_bridge.platform.keys import PlatformKey, generate_private_key_pem
from network_service.accounts.operations import get_or_create_person
from network_service.cli import main
from network_service.courses.models import CompletionEvent
from network_service.db import session
from network_service.embed.views import OPEN_SALT
from network_service.networks.models import Membership, MembershipStatus
from tests.helpers import COURSE
from tests.live import live_service

pylti1p3 = pytest.importorskip("pylti1p3")
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest  # noqa: E402
from pylti1p3.grade import Grade  # noqa: E402
from pylti1p3.tool_config import ToolConfDict  # noqa: E402

pytestmark = pytest.mark.live


class PyltiTool:
    """A capstone tool on pylti1p3 2.0 (Flask): OIDC login, launch, and an AGS score it posts at launch."""

    def __init__(self):
        self.key = PlatformKey(generate_private_key_pem())
        self.server = make_server("127.0.0.1", 0, None, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.score = 0.9
        self.results: list = []
        self.conf: ToolConfDict | None = None
        app = Flask("pylti1p3-tool")
        app.secret_key = "tool-secret"

        @app.route("/login", methods=["GET", "POST"])
        def login():
            target = FlaskRequest().get_param("target_link_uri")
            return FlaskOIDCLogin(FlaskRequest(), self.conf).redirect(target)

        @app.post("/launch")
        def launch():
            message = FlaskMessageLaunch(FlaskRequest(), self.conf)
            data = message.get_launch_data()
            grade = (
                Grade()
                .set_score_given(self.score)
                .set_score_maximum(1)
                .set_activity_progress("Completed")
                .set_grading_progress("FullyGraded")
                .set_timestamp(dt.datetime.now(dt.UTC).isoformat())
                .set_user_id(data["sub"])
            )
            answer = message.get_ags().put_grade(grade)
            self.results.append(answer)
            return jsonify(sub=data["sub"], email=data.get("email"), context=data[CONTEXT]["id"])

        @app.get("/jwks")
        def jwks():
            return jsonify(self.conf.get_jwks())

        self.server.app = app
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def configure(self, issuer: str, client_id: str) -> None:
        self.conf = ToolConfDict(
            {
                issuer: [
                    {
                        "default": True,
                        "client_id": client_id,
                        "auth_login_url": f"{issuer}/lti/platform/authorize",
                        "auth_token_url": f"{issuer}/lti/platform/token",
                        "key_set_url": f"{issuer}/lti/platform/jwks",
                        "key_set": None,
                        "deployment_ids": ["1"],
                    }
                ]
            }
        )
        self.conf.set_private_key(issuer, self.key.private_pem, client_id=client_id)
        self.conf.set_public_key(issuer, self.key.public_pem, client_id=client_id)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"


def _secure_for_localhost(browser: requests.Session) -> None:
    for cookie in browser.cookies:  # browsers send Secure cookies to http://127.0.0.1; requests does not
        cookie.secure = False


@pytest.fixture
def capstone(tmp_path):
    tool = PyltiTool()
    with live_service(tmp_path) as live:  # with the outbox worker writing beside the requests
        result = CliRunner().invoke(
            main,
            [
                "lti",
                "tool",
                "add",
                "capstone",
                "--course",
                COURSE,
                "--login-url",
                f"{tool.url}/login",
                "--launch-url",
                f"{tool.url}/launch",
                "--jwks-url",
                f"{tool.url}/jwks",
                "--pass-mark",
                "0.8",
            ],  # fmt: skip
            obj=ScriptInfo(create_app=lambda: live.app),
        )
        assert result.exit_code == 0, result.output
        client_id = re.search(r"Client id:\s+(\S+)", result.output).group(1)
        assert f"Issuer:            {live.base_url}" in result.output
        tool.configure(live.base_url, client_id)
        try:
            yield live, tool
        finally:
            tool.stop()


def _signed_in(live, email: str) -> requests.Session:
    with live.app.app_context():
        person, _created = get_or_create_person(email, display_name="Gina Graduate")
        session.commit()
        token = URLSafeTimedSerializer(live.app.secret_key, salt=OPEN_SALT).dumps({"p": person.id, "n": "/"})
    browser = requests.Session()
    assert browser.get(f"{live.base_url}/embed/open", params={"t": token}, timeout=30).status_code == 200
    _secure_for_localhost(browser)
    return browser


def _launch(live, browser: requests.Session) -> requests.Response:
    page = browser.get(f"{live.base_url}/lti/platform/launch/capstone", timeout=30)
    assert page.status_code == 200, page.text
    assert "data-autosubmit" in page.text and "lti-autosubmit.js" in page.text
    assert "form-action 'self' http://127.0.0.1:" in page.headers["Content-Security-Policy"]
    action = unescape(re.search(r'action="([^"]+)"', page.text).group(1))
    fields = {
        name: unescape(value) for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)
    }
    _secure_for_localhost(browser)
    return browser.post(action, data=fields, timeout=60)


def test_a_passing_score_from_the_tool_provisions_the_learner(capstone):
    live, tool = capstone
    browser = _signed_in(live, "grad@example.org")
    answer = _launch(live, browser)
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == "grad@example.org" and answer.json()["context"] == COURSE
    assert tool.results and tool.results[0]["body"] is None  # pylti1p3 raises on an error status
    with live.app.app_context():
        event = session.scalar(sa.select(CompletionEvent).where(CompletionEvent.source == "lti_platform_ags"))
        assert (
            event is not None and event.course_key == COURSE and event.identity["email"] == "grad@example.org"
        )
        membership = session.scalar(
            sa.select(Membership).join(Membership.person).where(Membership.status == MembershipStatus.invited)
        )
        assert membership is not None and membership.person.email == "grad@example.org"
        launch = session.scalar(sa.select(CapstoneLaunch))
        assert answer.json()["sub"] == launch.sub and launch.sub != str(launch.person_id)


def test_a_score_below_the_pass_mark_provisions_nobody(capstone):
    live, tool = capstone
    tool.score = 0.79
    answer = _launch(live, _signed_in(live, "grad@example.org"))
    assert answer.status_code == 200 and tool.results[0]["body"] is None  # pylti1p3 raises on an error status
    with live.app.app_context():
        assert session.scalar(sa.select(sa.func.count(CompletionEvent.id))) == 0


def test_a_replayed_authorisation_is_refused(capstone):
    live, tool = capstone
    browser = _signed_in(live, "grad@example.org")
    started = browser.get(f"{live.base_url}/lti/platform/launch/capstone", timeout=30)
    assert started.status_code == 200
    again = browser.get(started.url, timeout=30)  # the tool's authorisation request, a second time
    assert again.status_code == 400 and "nonce" in again.text


def test_a_stranger_cannot_use_someone_elses_authorisation_request(capstone):
    live, tool = capstone
    learner = _signed_in(live, "grad@example.org")
    started = learner.get(f"{live.base_url}/lti/platform/launch/capstone", timeout=30, allow_redirects=False)
    to_tool = learner.get(started.headers["Location"], timeout=30, allow_redirects=False)
    stranger = _signed_in(live, "stranger@example.org")
    refused = stranger.get(to_tool.headers["Location"], timeout=30)
    assert refused.status_code == 400 and "lti_message_hint" in refused.text


def test_tool_add_refuses_bad_values_and_lists_tools(mentornet):
    base = ["lti", "tool", "add"]
    urls = ["--login-url", "https://t.example/login", "--launch-url", "https://t.example/launch"]
    urls += ["--jwks-url", "https://t.example/jwks"]
    assert "small letters" in mentornet(*base, "Bad Name", "--course", COURSE, *urls).output
    assert "pass mark" in mentornet(*base, "ok", "--course", COURSE, *urls, "--pass-mark", "1.5").output
    assert (
        "https://"
        in mentornet(*base, "ok", "--course", COURSE, *urls[:2], "--launch-url", "x", *urls[4:]).output
    )
    added = mentornet(*base, "final-project", "--course", COURSE, *urls)
    assert added.exit_code == 0 and "/lti/platform/launch/final-project" in added.output
    assert mentornet(*base, "final-project", "--course", COURSE, *urls).exit_code == 1  # the name is taken
    listed = mentornet("lti", "tool", "list").output
    assert "final-project" in listed and COURSE in listed and "pass mark 0.7" in listed
