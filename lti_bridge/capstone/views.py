"""``/lti/platform/...``: the bridge as the LTI 1.3 platform of capstone tools (launch, authorise, token, JWKS,
AGS). Views translate HTTP to ``lti_bridge.platform.core`` calls; the rules live in ``operations``."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlsplit

import jwt
from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from lti1p3platform.exceptions import LineItemNotFoundException, LtiServiceException
from lti1p3platform.score import UpdateScoreStatus

from lti_bridge.capstone import operations
from lti_bridge.capstone.models import CapstoneTool
from lti_bridge.platform.core import (
    AccessTokenRefused,
    AuthRequestRefused,
    DictRequest,
    LaunchUser,
    PlatformConfig,
    ScopedGradesService,
    build_launch,
    check_auth_request,
    launch_form_html,
    login_initiation_url,
    read_message_hint,
    sign_message_hint,
)
from network_service.db import session
from network_service.security import current_person, login_required
from network_service.urls import public_url

log = logging.getLogger(__name__)
bp = Blueprint("lti_platform", __name__, url_prefix="/lti/platform")

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
COURSE_OFFERING = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"


def _base() -> str:
    return public_url().rstrip("/")


def _lineitems_url(tool: CapstoneTool) -> str:
    return f"{_base()}/lti/platform/ags/{tool.name}/lineitems"


def _lineitem_url(tool: CapstoneTool) -> str:
    return f"{_base()}/lti/platform/ags/{tool.name}/lineitem"


def _will_write() -> None:
    """These GET requests write (a learner's sub, a spent nonce). On SQLite a GET begins a deferred read
    transaction (network_service.db), which fails at once when it later writes beside another writer: end it, so
    the writes begin their own ``BEGIN IMMEDIATE`` transaction."""
    if request.method == "GET" and session.get_bind().dialect.name == "sqlite":
        session.commit()


def _config(tool: CapstoneTool) -> PlatformConfig:
    return PlatformConfig(
        registration=operations.registration(tool, _base()),
        token_url=f"{_base()}/lti/platform/token",
        replay_guard=operations.DatabaseReplayGuard(),
    )


@bp.get("/launch/<name>")
@login_required
def launch(name: str):
    """A signed-in learner starts the capstone tool: the OIDC third-party login at the tool."""
    tool = operations.get_tool(name)
    _will_write()
    sub = operations.launch_for(tool, current_person()).sub
    registration = operations.registration(tool, _base())
    hint = sign_message_hint(
        registration.key,
        client_id=tool.client_id,
        login_hint=sub,
        authorize_url=f"{_base()}/lti/platform/authorize",
        resource=tool.name,
    )
    return redirect(login_initiation_url(registration, login_hint=sub, lti_message_hint=hint), 303)


@bp.route("/authorize", methods=["GET", "POST"])
@login_required
def authorize():
    """The tool's authorisation request: every check, then the id_token posted to its redirect URI."""
    params = request.values.to_dict()
    _will_write()
    tool = operations.tool_by_client_id(str(params.get("client_id") or ""))
    try:
        if tool is None:
            raise AuthRequestRefused("client_id", "no capstone tool has this client id")
        registration = operations.registration(tool, _base())
        hint = read_message_hint(
            registration.key, str(params.get("lti_message_hint") or ""), client_id=tool.client_id
        )
        person = current_person()
        sub = operations.launch_for(tool, person).sub
        if hint.get("sub") != sub or hint.get("r") != tool.name:
            raise AuthRequestRefused(
                "lti_message_hint", "the login was started by another person or for another tool"
            )
        check_auth_request(
            registration, params, login_hint=sub, lti_message_hint=params.get("lti_message_hint")
        )
        if not operations.DatabaseReplayGuard().spend(
            f"nonce:{tool.id}:{params['nonce']}", time.time() + 3600
        ):
            raise AuthRequestRefused("nonce", "this nonce was used before")
        form = build_launch(
            registration,
            params,
            user=LaunchUser(sub=sub, roles=[LEARNER], name=person.display_name or None, email=person.email),
            resource_link={"id": f"capstone-{tool.name}", "title": tool.name},
            context={"id": tool.course_key, "type": [COURSE_OFFERING]},
            extra_claims={
                AGS_CLAIM: {
                    "scope": list(operations.SCOPES),
                    "lineitems": _lineitems_url(tool),
                    "lineitem": _lineitem_url(tool),
                }
            },
        )
    except AuthRequestRefused as exc:
        log.warning("capstone authorisation refused at %s: %s", exc.check, exc.message)
        page = render_template(
            "lti/refused.html",
            title=_("The LTI login was refused"),
            message=exc.message,  # for the tool's administrator (the page says so), like the tool side's checks
            check=exc.check,
            platform=None,
        )
        return page, 400
    target = urlsplit(form.action)
    g.form_action = (
        f"{target.scheme}://{target.netloc}"  # the page posts to the tool's registered redirect URI
    )
    page = launch_form_html(
        form,
        title=_("Open"),
        button=_("Open"),
        script_src=url_for("web.static", filename="js/lti-autosubmit.js"),
    )
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/token")
def token():
    """OAuth2 client credentials with a signed JWT (the tool's key set), for AGS."""
    assertion = request.form.get("client_assertion", "")
    try:
        claimed = jwt.decode(assertion, options={"verify_signature": False}) if assertion else {}
    except jwt.PyJWTError:
        claimed = {}
    tool = operations.tool_by_client_id(str(claimed.get("iss") or "")) if isinstance(claimed, dict) else None
    if tool is None:
        return jsonify(error="invalid_client", error_description="unknown client"), 401
    try:
        answer = _config(tool).get_access_token(request.form.to_dict())
    except AccessTokenRefused as exc:
        log.warning("capstone token refused for %s at %s: %s", tool.name, exc.check, exc.message)
        return jsonify(
            error=exc.error, error_description=exc.message
        ), 400 if exc.error != "invalid_client" else 401
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/jwks")
def jwks():
    return jsonify(operations.platform_key().jwks())


class CapstoneGrades(ScopedGradesService):
    """One line item per tool: the capstone's grade."""

    tool: CapstoneTool

    def _lineitem(self) -> dict:
        return {
            "id": _lineitem_url(self.tool),
            "label": self.tool.name,
            "scoreMaximum": 1,
            "resourceLinkId": f"capstone-{self.tool.name}",
        }

    def _check(self, line_item_id: str) -> None:
        if line_item_id != "lineitem":
            raise LineItemNotFoundException(line_item_id)

    def known_user(self, user_id: str) -> bool:
        return operations.launched(self.tool, user_id) is not None

    def find_lineitems(self, page=1, limit=None, **filters):
        return {"content": [self._lineitem()] if page == 1 else [], "has_next": False}

    def find_lineitem(self, line_item_id):
        self._check(line_item_id)
        return self._lineitem()

    def create_lineitem(self, creation_data):
        raise LtiServiceException("Line items of a capstone are fixed", 403)

    def update_lineitem(self, update_data):
        raise LtiServiceException("Line items of a capstone are fixed", 403)

    def delete_lineitem(self, line_item_id):
        raise LtiServiceException("Line items of a capstone are fixed", 403)

    def update_score(self, line_item_id, score):
        self._check(line_item_id)
        operations.record_score(self.tool, dict(score))
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id, page=1, limit=None, user_id=None):
        self._check(line_item_id)
        return {"content": [], "has_next": False}


def _grades(tool: CapstoneTool) -> CapstoneGrades:
    service = CapstoneGrades(
        DictRequest(
            method=request.method,
            query=request.args.to_dict(),
            headers={"Authorization": request.headers.get("Authorization", "")},
            json=request.get_json(silent=True),
            path=request.path,
        ),
        _config(tool),
        _lineitems_url(tool),
        _lineitem_url(tool),
        allow_creating_lineitems=False,
    )
    service.tool = tool
    return service


def _answer(result) -> Response:
    body = json.dumps(result.result) if result.result is not None else ""
    return Response(body, status=result.code, mimetype=result.media_type if body else None)


@bp.get("/ags/<name>/lineitems")
def lineitems(name: str):
    service = _grades(operations.get_tool(name))
    return _answer(service.handle_resp(service.handle_get_lineitems))


@bp.get("/ags/<name>/lineitem")
def lineitem(name: str):
    service = _grades(operations.get_tool(name))
    return _answer(service.handle_resp(service.handle_get_lineitem, line_item_id="lineitem"))


@bp.post("/ags/<name>/lineitem/scores")
def scores(name: str):
    service = _grades(operations.get_tool(name))
    return _answer(service.handle_resp(service.handle_update_score, line_item_id="lineitem"))


@bp.get("/ags/<name>/lineitem/results")
def results(name: str):
    service = _grades(operations.get_tool(name))
    return _answer(service.handle_resp(service.handle_get_results, line_item_id="lineitem"))
