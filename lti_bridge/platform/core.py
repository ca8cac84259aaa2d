"""Platform-side LTI 1.3 on lti1p3platform 0.1.8, with the library's gaps closed. No web framework here.

A caller (an XBlock handler, a Flask view) turns its request into a plain dict, calls one function or service
method, and turns the result (``LaunchForm``, ``lti1p3platform.response.Response``) into its own response.
Refusals raise ``AuthRequestRefused`` / ``AccessTokenRefused`` naming the check that failed; they are meant for
the tool's administrator and the log, not for learners, so they are not translated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import math
import threading
import time
import typing as t
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlencode, urlsplit

import jwt
from jwcrypto.jwk import JWK
from lti1p3platform.exceptions import LineItemNotFoundException, LtiException, LtiServiceException
from lti1p3platform.ltiplatform import AccessTokenResponse, LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.response import Response
from lti1p3platform.score import UPDATE_SCORE_STATUSCODE, ActivityProgress, GradeProgress
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService

from lti_bridge.platform.keys import PlatformKey

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ALL_SCOPES = frozenset(
    {SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE, SCOPE_NRPS}
)
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"

ACCESS_TOKEN_SECONDS = 3600
ASSERTION_MAX_SECONDS = (
    600  # a client assertion living longer than this is refused (its jti is kept that long)
)
HINT_SECONDS = 600  # from the login initiation to the authorisation request
LEEWAY = 5


class AuthRequestRefused(Exception):
    """The tool's OIDC authorisation request failed ``check``; no id_token is signed."""

    def __init__(self, check: str, message: str):
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message


class AccessTokenRefused(Exception):
    """The client-credentials request failed ``check`` (RFC 6749 error ``error``)."""

    def __init__(self, check: str, message: str, error: str = "invalid_client"):
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message
        self.error = error


class ScoreInvalid(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# -- one-time values -----------------------------------------------------------------------------------------


class ReplayGuard(t.Protocol):
    def spend(self, value: str, expires_at: float) -> bool:
        """True the first time ``value`` is spent (kept until ``expires_at``), False every later time."""


class MemoryReplayGuard:
    """One process's memory. Enough for one worker and for tests; several workers need a shared store."""

    def __init__(self) -> None:
        self._spent: dict[str, float] = {}
        self._lock = threading.Lock()

    def spend(self, value: str, expires_at: float) -> bool:
        now = time.time()
        with self._lock:
            for old in [key for key, until in self._spent.items() if until < now]:
                del self._spent[old]
            if value in self._spent:
                return False
            self._spent[value] = max(expires_at, now)
            return True


# -- the registration of one tool ----------------------------------------------------------------------------


class ToolRegistration(Registration):
    """lti1p3platform's Registration plus what it lacks: the tool's redirect URIs and scopes, and a real kid."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        deployment_id: str,
        key: PlatformKey,
        oidc_login_url: str,
        launch_url: str,
        redirect_uris: Iterable[str] = (),
        tool_jwks_url: str | None = None,
        tool_key_set: dict | None = None,
        scopes: Iterable[str] = (),
    ):
        self.key = key
        self.redirect_uris = tuple(dict.fromkeys([*redirect_uris] or [launch_url]))
        self.scopes = frozenset(scopes) & ALL_SCOPES
        self.set_iss(issuer).set_client_id(client_id).set_deployment_id(deployment_id)
        self.set_oidc_login_url(oidc_login_url).set_launch_url(launch_url)
        self.set_platform_private_key(key.private_pem).set_platform_public_key(key.public_pem)
        if tool_jwks_url:
            self.set_tool_key_set_url(tool_jwks_url)
        if tool_key_set:
            self.set_tool_key_set(tool_key_set)

    def get_kid(self) -> str:
        return self.key.kid

    def get_jwks(self) -> list[dict[str, t.Any]]:
        return [self.key.public_jwk()]


class DictRequest(Request):
    """lti1p3platform's request metadata from plain values (what a framework adapter would build)."""

    def __init__(
        self,
        *,
        method: str = "GET",
        query: Mapping[str, t.Any] | None = None,
        form: Mapping[str, t.Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: t.Any = None,
        path: str = "/",
    ):
        super().__init__(
            {"method": method, "query": query, "form": form, "headers": headers, "json": json, "path": path}
        )

    def build_metadata(self, request: t.Any) -> TRequest:
        return {
            "method": request["method"].upper(),
            "get_data": dict(request["query"] or {}),
            "form_data": dict(request["form"] or {}),
            "headers": {k.title(): v for k, v in (request["headers"] or {}).items()},
            "content_type": (request["headers"] or {}).get("Content-Type"),
            "path": request["path"],
            "json": request["json"],
        }


class PlatformConfig(LTI1P3PlatformConfAbstract):
    """The platform's view of one tool registration, with a checked access-token endpoint (gaps 2 and 3)."""

    def init_platform_config(
        self,
        *,
        registration: ToolRegistration,
        token_url: str,
        replay_guard: ReplayGuard,
        token_audiences: Iterable[str] = (),
    ) -> None:
        self._registration = registration
        self.token_url = token_url
        self.replay_guard = replay_guard
        self.token_audiences = {token_url, *token_audiences}

    def get_registration_by_params(self, **kwargs: t.Any) -> ToolRegistration:
        return self._registration

    def get_tool_public_key(self) -> bytes:
        """The tool's key named by the assertion's kid; a tool that names none (pylti1p3 sends no kid) is
        accepted only when its key set holds exactly one RSA signing key."""
        header = self._jwt.get("header") or {}
        if not header.get("kid"):
            keys = [
                key
                for key in self.get_tool_key_set().get("keys", [])
                if key.get("kty") == "RSA"
                and key.get("use", "sig") == "sig"
                and key.get("alg", "RS256") == "RS256"
            ]
            if len(keys) != 1:
                raise LtiException(
                    "the assertion names no kid and the tool's key set has not exactly one key"
                )
            return JWK.from_json(json.dumps(keys[0])).export_to_pem()
        return super().get_tool_public_key()

    @property
    def registration(self) -> ToolRegistration:
        return self._registration

    def get_access_token(self, token_request_data: dict[str, t.Any]) -> AccessTokenResponse:
        """Client credentials with a signed JWT (1EdTech Security Framework 4.1), every claim checked."""
        registration = self._registration
        data = {key: token_request_data.get(key) for key in ("grant_type", "client_assertion_type", "scope")}
        assertion = token_request_data.get("client_assertion")
        if data["grant_type"] != "client_credentials":
            raise AccessTokenRefused(
                "grant_type", "grant_type must be client_credentials", "unsupported_grant_type"
            )
        if data["client_assertion_type"] != CLIENT_ASSERTION_TYPE:
            raise AccessTokenRefused(
                "client_assertion_type", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}"
            )
        if not isinstance(assertion, str) or not assertion:
            raise AccessTokenRefused("client_assertion", "client_assertion is missing")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as exc:
            raise AccessTokenRefused("client_assertion", f"not a JWT: {exc}") from exc
        if header.get("alg") != "RS256":
            raise AccessTokenRefused("alg", "the client assertion must be signed with RS256")
        try:
            self.validate_jwt_format(assertion)
            public_key = self.get_tool_public_key()
        except (LtiException, AssertionError) as exc:
            raise AccessTokenRefused("kid", f"no key of the tool matches the assertion's kid: {exc}") from exc
        client_id = registration.get_client_id()
        try:
            claims = jwt.decode(
                assertion,
                public_key,
                algorithms=["RS256"],
                audience=sorted(self.token_audiences),
                issuer=client_id,
                leeway=LEEWAY,
                options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
            )
        except jwt.InvalidAudienceError as exc:
            raise AccessTokenRefused(
                "aud", f"the assertion's aud must be the token URL {self.token_url}"
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise AccessTokenRefused("iss", "the assertion's iss must be the tool's client id") from exc
        except jwt.ExpiredSignatureError as exc:
            raise AccessTokenRefused("exp", "the client assertion has expired") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AccessTokenRefused(exc.claim, f"the client assertion has no {exc.claim} claim") from exc
        except jwt.PyJWTError as exc:
            raise AccessTokenRefused("signature", f"the client assertion does not verify: {exc}") from exc
        if claims.get("sub") != client_id:
            raise AccessTokenRefused("sub", "the assertion's sub must be the tool's client id")
        exp = float(claims["exp"])
        if exp - time.time() > ASSERTION_MAX_SECONDS:
            raise AccessTokenRefused(
                "exp", f"a client assertion may live at most {ASSERTION_MAX_SECONDS} seconds"
            )
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise AccessTokenRefused("jti", "the assertion's jti must be a non-empty string")
        if not self.replay_guard.spend(f"{client_id}:{jti}", exp + LEEWAY):
            raise AccessTokenRefused("jti", "this client assertion was used before (replayed jti)")
        requested = str(data["scope"] or "").split()
        granted = [scope for scope in dict.fromkeys(requested) if scope in registration.scopes]
        if requested and not granted:
            raise AccessTokenRefused(
                "scope", "none of the requested scopes is granted to this tool", "invalid_scope"
            )
        scopes = " ".join(granted)
        now = int(time.time())
        token = registration.key.sign(
            {
                "iss": registration.get_iss(),
                "sub": client_id,
                "aud": self.token_url,
                "iat": now,
                "exp": now + ACCESS_TOKEN_SECONDS,
                "scopes": scopes,
            }
        )
        return {
            "access_token": token,
            "token_type": "bearer",  # nosec B105 (the OAuth 2 token type, not a password)
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": scopes,
        }

    def validate_token(
        self, token: str, allowed_scopes: list[str] | None = None, audience: str | None = None
    ) -> bool:
        """True when ``token`` is ours, for this tool, unexpired, and holds one of ``allowed_scopes``.

        Unlike the library, ``allowed_scopes`` is what *this endpoint* accepts (never "any scope of the service"),
        and an empty list grants nothing.
        """
        registration = self._registration
        try:
            claims = registration.key.verify(
                token,
                audience=self.token_url,
                issuer=registration.get_iss(),
                options={"require": ["iss", "sub", "exp", "scopes"]},
            )
        except jwt.PyJWTError:
            return False
        if claims.get("sub") != registration.get_client_id():
            return False
        held = set(str(claims.get("scopes") or "").split()) & registration.scopes
        return bool(held & set(allowed_scopes or ()))


# -- the launch ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LaunchForm:
    """The auto-submitted form that carries the id_token to the tool."""

    action: str
    fields: dict[str, str]


class MessageLaunch(LTIAdvantageMessageLaunchAbstract):
    """A resource-link launch whose id_token goes only to a registered redirect URI (gap 1)."""

    def validate_preflight_response(self, preflight_response: dict[str, t.Any]) -> None:
        super().validate_preflight_response(preflight_response)
        registration = t.cast(ToolRegistration, self._registration)
        if preflight_response.get("redirect_uri") not in registration.redirect_uris:
            raise AuthRequestRefused(
                "redirect_uri", "the redirect_uri is not one of the tool's registered redirect URIs"
            )

    def render_launch_form(self, launch_data: dict[str, t.Any], **kwargs: t.Any) -> LaunchForm:
        return LaunchForm(
            action=launch_data["launch_url"],
            fields={"id_token": launch_data["id_token"], "state": launch_data["state"]},
        )


@dataclasses.dataclass
class LaunchUser:
    sub: str
    roles: list[str]
    name: str | None = None
    email: str | None = None
    username: str | None = None


def check_auth_request(
    registration: ToolRegistration,
    params: Mapping[str, t.Any],
    *,
    login_hint: str,
    lti_message_hint: str | None = None,
) -> None:
    """Everything the platform checks in the tool's OIDC authorisation request before it signs anything."""
    expected = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
    }
    for name, value in expected.items():
        if params.get(name) != value:
            raise AuthRequestRefused(name, f"{name} must be {value}")
    if params.get("client_id") != registration.get_client_id():
        raise AuthRequestRefused("client_id", "the client_id is not the tool's")
    if params.get("redirect_uri") not in registration.redirect_uris:
        raise AuthRequestRefused(
            "redirect_uri", "the redirect_uri is not one of the tool's registered redirect URIs"
        )
    for name in ("nonce", "state"):
        value = params.get(name)
        if not isinstance(value, str) or not value or len(value) > 1024:
            raise AuthRequestRefused(name, f"the request has no usable {name}")
    if params.get("login_hint") != login_hint:
        raise AuthRequestRefused("login_hint", "the login_hint is not the signed-in user")
    if lti_message_hint is not None and params.get("lti_message_hint") != lti_message_hint:
        raise AuthRequestRefused(
            "lti_message_hint", "the lti_message_hint is not the one this login started with"
        )


def build_launch(
    registration: ToolRegistration,
    params: Mapping[str, t.Any],
    *,
    user: LaunchUser,
    resource_link: dict[str, str],
    context: dict[str, t.Any] | None = None,
    custom: dict[str, str] | None = None,
    launch_presentation: dict[str, str] | None = None,
    target_link_uri: str | None = None,
    extra_claims: dict[str, t.Any] | None = None,
) -> LaunchForm:
    """Sign the id_token for a checked authorisation request (call ``check_auth_request`` first)."""
    config = _LaunchConfig(registration=registration)
    launch = MessageLaunch(DictRequest(query=dict(params)), config)
    launch.set_user_data(user.sub, user.roles, user.name, user.email, user.username)
    launch.set_resource_link_claim(
        resource_link["id"], resource_link.get("description"), resource_link.get("title")
    )
    if context:
        launch.set_launch_context_claim(
            context["id"], context.get("type"), context.get("title"), context.get("label")
        )
    if custom:
        launch.set_custom_parameters_claim(custom)
    if launch_presentation:
        launch.set_launch_presentation_claim(
            launch_presentation.get("document_target"), launch_presentation.get("return_url")
        )
    if target_link_uri:
        launch.set_launch_url(target_link_uri)
    if extra_claims:
        launch.set_extra_claims(extra_claims)
    return launch.lti_launch()


class _LaunchConfig(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, *, registration: ToolRegistration) -> None:
        self._registration = registration

    def get_registration_by_params(self, **kwargs: t.Any) -> ToolRegistration:
        return self._registration


def login_initiation_url(
    registration: ToolRegistration,
    *,
    login_hint: str,
    lti_message_hint: str,
    target_link_uri: str | None = None,
) -> str:
    """The tool's OIDC login URL with iss, login_hint, target_link_uri, lti_message_hint, client_id, deployment."""
    params = {
        "iss": registration.get_iss(),
        "login_hint": login_hint,
        "target_link_uri": target_link_uri or registration.get_launch_url(),
        "lti_message_hint": lti_message_hint,
        "client_id": registration.get_client_id(),
        "lti_deployment_id": registration.get_deployment_id(),
    }
    url = registration.get_oidc_login_url() or ""
    return f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params)}"


# -- a signed lti_message_hint: lets one LMS-wide authorisation URL route to the block that started the login


def sign_message_hint(
    key: PlatformKey,
    *,
    client_id: str,
    login_hint: str,
    authorize_url: str,
    resource: str,
    seconds: int = HINT_SECONDS,
    extra: dict[str, t.Any] | None = None,
) -> str:
    """An lti_message_hint the platform can trust when it comes back: who, which resource, where to authorise."""
    now = int(time.time())
    claims = {
        "aud": client_id,
        "sub": login_hint,
        "h": authorize_url,
        "r": resource,
        "iat": now,
        "exp": now + seconds,
    }
    return key.sign({**(extra or {}), **claims})


def read_message_hint(key: PlatformKey, hint: str, *, client_id: str) -> dict[str, t.Any]:
    """The hint's claims when this platform signed it for ``client_id`` and it has not expired."""
    try:
        claims = key.verify(
            hint or "", audience=client_id, leeway=LEEWAY, options={"require": ["exp", "sub", "h"]}
        )
    except jwt.PyJWTError as exc:
        raise AuthRequestRefused(
            "lti_message_hint", f"the lti_message_hint is not ours or expired: {exc}"
        ) from exc
    return claims


def route_authorization(key: PlatformKey, params: Mapping[str, t.Any], *, client_id: str) -> str:
    """Where the LMS-wide authorisation URL sends the browser: the block's own handler named in the signed hint."""
    claims = read_message_hint(key, str(params.get("lti_message_hint") or ""), client_id=client_id)
    target = str(claims["h"])
    return f"{target}{'&' if urlsplit(target).query else '?'}{urlencode(dict(params))}"


def launch_form_html(form: LaunchForm, *, title: str, button: str, script_src: str | None = None) -> str:
    """A page that posts the form at once: by a script file when given (strict CSP), else inline; with a button
    for browsers without scripts."""
    fields = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in form.fields.items()
    )
    script = (
        f'<script src="{html.escape(script_src)}"></script>'
        if script_src
        else "<script>document.getElementById('lti-launch').submit();</script>"
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f'</head><body><form id="lti-launch" method="post" action="{html.escape(form.action)}" data-autosubmit>'
        f"{fields}"
        f'<button type="submit">{html.escape(button)}</button></form>{script}</body></html>'
    )


# -- scores (gap 4) ------------------------------------------------------------------------------------------

ACTIVITY_PROGRESS = frozenset(item.value for item in ActivityProgress)
GRADING_PROGRESS = frozenset(item.value for item in GradeProgress)


def _number(value: t.Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_score(score: t.Any, *, known_user: Callable[[str], bool] | None = None) -> dict[str, t.Any]:
    """A score as AGS 2.0 §3.4 defines it, or ``ScoreInvalid`` naming the first bad field."""
    if not isinstance(score, dict):
        raise ScoreInvalid("score", "the score must be a JSON object")
    user_id = score.get("userId")
    if not isinstance(user_id, str | int) or isinstance(user_id, bool) or not str(user_id).strip():
        raise ScoreInvalid("userId", "userId is required")
    user_id = str(user_id)
    if len(user_id) > 255:
        raise ScoreInvalid("userId", "userId is too long")
    if known_user is not None and not known_user(user_id):
        raise ScoreInvalid("userId", "userId is not a user this tool was launched for")
    timestamp = score.get("timestamp")
    try:
        when = dt.datetime.fromisoformat(timestamp) if isinstance(timestamp, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ScoreInvalid("timestamp", "timestamp must be an ISO 8601 date-time with a time zone")
    if score.get("activityProgress") not in ACTIVITY_PROGRESS:
        raise ScoreInvalid("activityProgress", f"activityProgress must be one of {sorted(ACTIVITY_PROGRESS)}")
    if score.get("gradingProgress") not in GRADING_PROGRESS:
        raise ScoreInvalid("gradingProgress", f"gradingProgress must be one of {sorted(GRADING_PROGRESS)}")
    clean: dict[str, t.Any] = {
        "userId": user_id,
        "timestamp": timestamp,
        "activityProgress": score["activityProgress"],
        "gradingProgress": score["gradingProgress"],
    }
    given, maximum = score.get("scoreGiven"), score.get("scoreMaximum")
    if given is not None:
        if not _number(given) or given < 0:
            raise ScoreInvalid("scoreGiven", "scoreGiven must be a number of 0 or more")
        if not _number(maximum) or maximum <= 0:
            raise ScoreInvalid(
                "scoreMaximum", "scoreMaximum must be a number above 0 when scoreGiven is given"
            )
        clean.update(scoreGiven=given, scoreMaximum=maximum)
    elif maximum is not None:
        raise ScoreInvalid("scoreGiven", "scoreMaximum without scoreGiven")
    comment = score.get("comment")
    if comment is not None:
        if not isinstance(comment, str) or len(comment) > 10_000:
            raise ScoreInvalid("comment", "comment must be a text")
        clean["comment"] = comment
    return clean


def completes(score: Mapping[str, t.Any], pass_mark: float) -> bool:
    """A completion signal: Completed, FullyGraded, and scoreGiven / scoreMaximum at or above the pass mark."""
    if score.get("activityProgress") != "Completed" or score.get("gradingProgress") != "FullyGraded":
        return False
    given, maximum = score.get("scoreGiven"), score.get("scoreMaximum")
    return _number(given) and _number(maximum) and maximum > 0 and given / maximum >= pass_mark


# -- services with per-endpoint scopes and integer pages (gaps 3 and 5) ---------------------------------------


def _bearer(service: t.Any) -> str:
    auth = str(service.request.headers.get("Authorization", "")).split()
    if len(auth) != 2 or auth[0].lower() != "bearer":
        raise LtiServiceException("Missing or invalid LTI 1.3 authentication token", 401)
    return auth[1]


def scoped(scopes: Iterable[str], methods: Iterable[str], accept: str | None = None):
    """Like lti1p3platform's ``authenticate``, but the token must hold one of *this endpoint's* scopes."""
    scopes, methods = list(scopes), set(methods)

    def wrapper(func):
        def inner(service, *args, **kwargs) -> Response:
            token = _bearer(service)
            if service.request.method not in methods:
                raise LtiServiceException(f"Method {service.request.method} not allowed", 405)
            if not service.platform_config.validate_token(token, scopes):
                raise LtiServiceException("The token does not grant this endpoint's scope", 403)
            response = func(service, *args, **kwargs)
            if accept:
                response.set_media_type(accept)
            return response

        return inner

    return wrapper


def _positive(params: Mapping[str, t.Any], name: str, default: int | None) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise LtiServiceException(f"{name} must be a whole number", 400) from None
    if value < 1:
        raise LtiServiceException(f"{name} must be 1 or more", 400)
    return value


def _paging(params: Mapping[str, t.Any], allowed: Iterable[str]) -> dict[str, t.Any]:
    query = {key: value for key, value in params.items() if key in set(allowed)}
    query["page"] = _positive(params, "page", 1)
    limit = _positive(params, "limit", None)
    if limit is not None:
        query["limit"] = limit
    return query


def _next_link(base: str, query: dict[str, t.Any]) -> str:
    return f"{base}?{urlencode({**query, 'page': query['page'] + 1})}"


LINEITEMS_MEDIA = "application/vnd.ims.lis.v2.lineitemcontainer+json"
LINEITEM_MEDIA = "application/vnd.ims.lis.v2.lineitem+json"
RESULTS_MEDIA = "application/vnd.ims.lis.v2.resultcontainer+json"
MEMBERS_MEDIA = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"


class ScopedGradesService(AssignmentsGradesService):
    """AGS with a scope per endpoint, validated scores and integer pages. Subclasses implement the storage
    methods of ``AssignmentsGradesService`` (find_lineitems, update_score, ...), and may override ``known_user``."""

    def known_user(self, user_id: str) -> bool:
        return True

    @scoped([SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY], ["GET"], LINEITEMS_MEDIA)
    def handle_get_lineitems(self) -> Response:
        query = _paging(self.request.get_data, ("limit", "resource_link_id", "resource_id", "tag"))
        page = self.find_lineitems(**query)
        if page.get("has_next"):
            page["next"] = _next_link(self.ags.lineitems_url, query)
        return Response(result=page, code=200, message="success")

    @scoped([SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY], ["GET"], LINEITEM_MEDIA)
    def handle_get_lineitem(self, line_item_id: str) -> Response:
        try:
            return Response(result=self.find_lineitem(line_item_id=line_item_id), code=200, message="success")
        except LineItemNotFoundException:
            return Response(result=None, code=404, message="Line item not found")

    @scoped([SCOPE_LINEITEM], ["POST"], LINEITEM_MEDIA)
    def handle_create_lineitem(self) -> Response:
        if not isinstance(self.request.json, dict):
            return Response(result=None, code=400, message="The line item must be a JSON object")
        return Response(result=self.create_lineitem(self.request.json), code=201, message="success")

    @scoped([SCOPE_LINEITEM], ["PUT"], LINEITEM_MEDIA)
    def handle_update_lineitem(self, line_item_id: str) -> Response:
        if not isinstance(self.request.json, dict):
            return Response(result=None, code=400, message="The line item must be a JSON object")
        try:
            updated = self.update_lineitem({**self.request.json, "id": line_item_id})
        except LineItemNotFoundException:
            return Response(result=None, code=404, message="Line item not found")
        return Response(result=updated, code=200, message="success")

    @scoped([SCOPE_LINEITEM], ["DELETE"])
    def handle_delete_lineitem(self, line_item_id: str) -> Response:
        try:
            self.delete_lineitem(line_item_id)
        except LineItemNotFoundException:
            return Response(result=None, code=404, message="Line item not found")
        return Response(result=None, code=204, message="success")

    @scoped([SCOPE_RESULT_READONLY], ["GET"], RESULTS_MEDIA)
    def handle_get_results(self, line_item_id: str) -> Response:
        query = _paging(self.request.get_data, ("limit", "user_id"))
        try:
            results = self.get_results(line_item_id, **query)
        except LineItemNotFoundException:
            return Response(result=None, code=404, message="Not found")
        if results.get("has_next"):
            results["next"] = _next_link(f"{self.ags.lineitems_url}/{line_item_id}/results", query)
        return Response(result=results, code=200, message="success")

    @scoped([SCOPE_SCORE], ["POST"], LINEITEM_MEDIA)
    def handle_update_score(self, line_item_id: str) -> Response:
        try:
            score = validate_score(self.request.json, known_user=self.known_user)
        except ScoreInvalid as exc:
            return Response(
                result={"error": exc.field, "message": exc.message}, code=400, message=exc.message
            )
        try:
            status = self.update_score(line_item_id, t.cast(t.Any, score))
        except LineItemNotFoundException:
            return Response(result=None, code=404, message="Not found")
        return Response(result=None, code=UPDATE_SCORE_STATUSCODE.get(status, 200), message=status.value)


class ScopedMembershipService(NamesRoleProvisioningService):
    """NRPS with its own scope and integer pages."""

    @scoped([SCOPE_NRPS], ["GET"], MEMBERS_MEDIA)
    def handle_get_members(self) -> Response:
        params = dict(self.request.get_data)
        query = _paging(params, ("limit", "role", "since"))
        self.request.request["get_data"] = {k: v for k, v in params.items() if k not in query} | query
        rlid = params.get("rlid")
        context = self.get_context_by_id()
        if rlid and not self.is_resource_link_valid(context.id, rlid):
            return Response(result=None, code=403, message="Access denied")
        from lti1p3platform.membership import ContextMembership
        from lti1p3platform.utils import dataclass_to_dict

        response = dataclass_to_dict(ContextMembership(id=self.nrps.context_memberships_url, context=context))
        members = self.get_member_data_page(**query)
        response["members"] = self.clean_members(members["content"])
        if "limit" in query and members.get("has_next"):
            response["next"] = _next_link(self.nrps.context_memberships_url, query)
        return Response(result=response, code=200, message="success")
