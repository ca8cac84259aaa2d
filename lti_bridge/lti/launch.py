"""Login initiation and launch validation: every check of the 1EdTech security framework, in a fixed order.

No Flask request objects here: the views pass in what the browser sent. A failed check raises ``LaunchRejected``
naming the check, so the page can tell an LMS administrator what to fix.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from lti_bridge.lti.models import LtiNonce, LtiPlatform
from lti_bridge.lti.platform_keys import KeySetUnavailable, PlatformKeyCache
from lti_bridge.lti.registrations import (
    LoginPlatform,
    forget_login_platforms,
    login_platforms,
    platforms_of,
)
from network_service.db import session, utcnow

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = CLAIM + "message_type"
VERSION = CLAIM + "version"
DEPLOYMENT_ID = CLAIM + "deployment_id"
RESOURCE_LINK = CLAIM + "resource_link"
TARGET_LINK_URI = CLAIM + "target_link_uri"

LOGIN_MINUTES = 10  # from the login redirect to the launch; the platform's sign-in page may sit in between
IAT_LEEWAY = 60  # seconds a platform's clock may run ahead of ours
EXP_LEEWAY = 5
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
SUPPORTED_MESSAGES = {RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST}
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


class LoginRefused(Exception):
    """The login initiation cannot go on; ``message`` says why, for the LMS administrator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class LaunchRejected(Exception):
    """A launch failed ``check`` (a short stable name) with an explanation for the LMS administrator."""

    def __init__(self, check: str, message: str, status: int = 401, platform: LtiPlatform | None = None):
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message
        self.status = status
        self.platform = platform
        self.spent_login_id: int | None = None  # the login whose nonce this launch already spent


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


@dataclasses.dataclass
class LoginRedirect:
    url: str
    state: str
    platform: LoginPlatform
    storage_target: str | None = None  # the platform's frame for LTI platform storage, when it offered one


# The login parameters kept to start the same login again in a new window (never lti_storage_target: a window
# of its own has no platform frame to store in).
RELAUNCH_PARAMS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "lti_message_hint",
    "client_id",
    "lti_deployment_id",
)
STORAGE_TARGET_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def storage_target_of(value: str | None) -> str | None:
    """A usable ``lti_storage_target``: ``_parent`` or a frame name (short, no odd characters), else None."""
    value = (value or "").strip()
    if not value or len(value) > 100 or not set(value) <= STORAGE_TARGET_CHARS:
        return None
    return value


def storage_proof(state: str) -> str:
    """The value the login stores in the platform's frame (LTI platform storage) under ``state_<state>``; the
    launch page reads it back from there. Only our origin can read the platform's storage for us, and only our
    own page may post the value (checked by the view), so it proves the launch runs in the login's browser."""
    return hmac.new(
        current_app.secret_key.encode("utf-8"), f"lti-storage:{state}".encode(), hashlib.sha256
    ).hexdigest()


def platform_origin(platform: LtiPlatform | LoginPlatform) -> str:
    """The origin platform storage messages must come from and go to: that of the platform's OIDC auth URL."""
    parts = urlsplit(platform.oidc_auth_url)
    return f"{parts.scheme}://{parts.netloc}"


def login_in_flight(state: str) -> LtiNonce | None:
    """The login behind ``state`` when it is known, unexpired and its nonce unspent."""
    if not state:
        return None
    login = session.scalar(sa.select(LtiNonce).where(LtiNonce.state_hash == state_hash(state)))
    if login is None or login.used_at is not None or login.expires_at <= utcnow():
        return None
    return login


def start_login(
    params: dict[str, str], redirect_uri: str, base_url: str, *, _retried: bool = False
) -> LoginRedirect:
    """OIDC third-party initiated login: pick the registration, issue state and nonce, build the redirect."""
    issuer = (params.get("iss") or "").strip()
    login_hint = params.get("login_hint") or ""
    target = params.get("target_link_uri") or ""
    client_id = (params.get("client_id") or "").strip()
    if not issuer:
        raise LoginRefused(_("The login request has no iss (issuer) parameter."))
    if not login_hint:
        raise LoginRefused(_("The login request has no login_hint parameter."))
    if not target:
        raise LoginRefused(_("The login request has no target_link_uri parameter."))
    if not _same_origin(target, base_url):
        raise LoginRefused(
            _(
                "The target_link_uri %(target)s is not an address of this mentorNET (%(base)s).",
                target=target,
                base=base_url,
            )
        )
    platforms = login_platforms(issuer)
    if client_id:
        platform = next((p for p in platforms if p.client_id == client_id), None)
        if platform is None:
            raise LoginRefused(
                _(
                    "No platform is registered with issuer %(issuer)s and client id %(client_id)s. An administrator "
                    "registers it with: mentornet lti platform add.",
                    issuer=issuer,
                    client_id=client_id,
                )
            )
    else:
        if not platforms:
            raise LoginRefused(
                _(
                    "No platform is registered with issuer %(issuer)s. An administrator registers it with: "
                    "mentornet lti platform add.",
                    issuer=issuer,
                )
            )
        if len(platforms) > 1:
            raise LoginRefused(
                _(
                    "Several registrations share the issuer %(issuer)s, and the login request does not say which "
                    "one (no client_id parameter). Configure the platform to send client_id with the login "
                    "request, or remove the registrations that are not used.",
                    issuer=issuer,
                )
            )
        platform = platforms[0]
    _forget_expired_logins()
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    storage_target = storage_target_of(params.get("lti_storage_target"))
    try:
        # One statement: a Core insert (no ORM object to build, track and flush).
        session.execute(
            _statements().insert_login,
            {
                "value": nonce,
                "state_hash": state_hash(state),
                "platform_id": platform.id,
                "expires_at": utcnow() + dt.timedelta(minutes=LOGIN_MINUTES),
                "storage_target": storage_target,
                "login_params": {key: str(params[key])[:2000] for key in RELAUNCH_PARAMS if params.get(key)},
            },
        )
    except IntegrityError:
        # The cached registration was removed by another process since: read the registrations again.
        session.rollback()
        forget_login_platforms()
        if _retried:
            raise
        return start_login(params, redirect_uri, base_url, _retried=True)
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": redirect_uri,
        "login_hint": login_hint,
        "state": state,
        "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    return LoginRedirect(_with_query(platform.oidc_auth_url, query), state, platform, storage_target)


def _same_origin(url: str, base_url: str) -> bool:
    target, base = urlsplit(url), urlsplit(base_url)
    return (target.scheme, target.netloc.lower()) == (base.scheme, base.netloc.lower())


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    return urlunsplit(parts._replace(query=urlencode(query + list(extra.items()))))


FORGET_EXPIRED_SECONDS = (
    60.0  # each process deletes the expired logins at most this often, not at every login
)
_forgotten_at: float | None = None


def _forget_expired_logins() -> None:
    """Delete the logins that expired long ago (their nonces can no longer be used anyway: the launch checks
    ``expires_at``). At most once a minute per process, so a login is one INSERT."""
    global _forgotten_at
    now = time.monotonic()
    if _forgotten_at is not None and now - _forgotten_at < FORGET_EXPIRED_SECONDS:
        return
    _forgotten_at = now
    session.execute(
        sa.delete(LtiNonce)
        .where(LtiNonce.expires_at < utcnow() - dt.timedelta(minutes=LOGIN_MINUTES))
        .execution_options(synchronize_session=False)
    )


@dataclasses.dataclass
class Launch:
    """A launch that passed every check."""

    platform: LtiPlatform
    claims: dict[str, Any]

    @property
    def sub(self) -> str:
        return self.claims["sub"]

    @property
    def email(self) -> str | None:
        email = self.claims.get("email")
        return email if isinstance(email, str) and 0 < len(email) <= 254 else None

    @property
    def name(self) -> str:
        name = self.claims.get("name")
        return name if isinstance(name, str) else ""


_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def _unverified_header(id_token: str) -> dict[str, Any]:
    """The token's header, unverified (``jwt.get_unverified_header``). PyJWT checks the whole token character by
    character in Python each time it reads one, and ``jwt.decode`` reads it again: a well-formed compact token
    (matched whole by a regular expression, segments of a possible base64url length) has its header read here;
    anything else is read by PyJWT, which raises its own errors."""
    if _COMPACT_JWS.fullmatch(id_token):
        segments = id_token.split(".")
        if all(len(segment) % 4 != 1 for segment in segments):
            try:
                header = json.loads(base64.urlsafe_b64decode(segments[0] + "=" * (-len(segments[0]) % 4)))
            except (ValueError, RecursionError):
                header = None
            # "b64" (RFC 7797) and a kid that is no string: PyJWT's reading decides.
            if isinstance(header, dict) and "b64" not in header and isinstance(header.get("kid", ""), str):
                return header
    return jwt.get_unverified_header(id_token)


def unverified_claims(id_token: str) -> dict[str, Any]:
    """The token's claims without any check: for the log of a rejected launch only."""
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def validate_launch(
    *,
    id_token: str,
    form_state: str,
    cookie_states: list[str],
    keys: PlatformKeyCache,
    stored_proof: str | None = None,
) -> Launch:
    """Check a launch in the order of the security framework; the first failure raises ``LaunchRejected``.

    ``stored_proof`` is the value our launch page read back from the platform's frame (LTI platform storage)
    in place of the state cookie, for browsers that drop third-party cookies."""
    # 1. state: the browser that posts the launch is the one that started the login.
    if stored_proof is not None:
        if not form_state or not hmac.compare_digest(
            stored_proof.encode(), storage_proof(form_state).encode()
        ):
            raise LaunchRejected(
                "state",
                _(
                    "The value kept in the platform's frame does not match this browser's login. Launch again."
                ),
                403,
            )
    elif not cookie_states:
        raise LaunchRejected(
            "state",
            _(
                "The browser did not send the login cookie. The browser may block cookies of sites embedded in "
                "other sites: open mentorNET in a new window (a setting of the link in the course), or allow "
                "its cookies."
            ),
            403,
        )
    elif not form_state or not any(
        hmac.compare_digest(s.encode(), form_state.encode()) for s in cookie_states
    ):
        raise LaunchRejected(
            "state", _("The state sent back does not match the one of this browser's login."), 403
        )
    # The login's columns and its registration, as the database holds it now: one statement.
    login = session.execute(_statements().login_by_state, {"hash": state_hash(form_state)}).first()
    if login is None or login.expires_at <= utcnow():
        raise LaunchRejected(
            "state",
            _("The login is unknown or older than %(minutes)s minutes. Launch again.", minutes=LOGIN_MINUTES),
            403,
        )
    if stored_proof is not None and login.storage_target is None:
        raise LaunchRejected(
            "state", _("This login did not use the platform's storage; launch again from your course."), 403
        )
    platform = login.LtiPlatform
    if not id_token:
        raise LaunchRejected("id_token", _("The launch has no id_token."), 400, platform)

    # 2. alg: RS256 only. 'none' and HS* (a shared secret, or our copy of the public key) are never accepted.
    try:
        header = _unverified_header(id_token)
    except jwt.PyJWTError:
        raise LaunchRejected("id_token", _("The id_token is not a JSON Web Token."), 400, platform) from None
    if header.get("alg") != "RS256":
        raise LaunchRejected(
            "alg",
            _("The id_token is signed with %(alg)s; only RS256 is accepted.", alg=header.get("alg")),
            401,
            platform,
        )

    # 3. kid: the key from the platform's JWKS (cached, refetched once when the kid is unknown).
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise LaunchRejected("kid", _("The id_token's header names no key (kid)."), 401, platform)
    try:
        key = keys.key_for(platform.jwks_url, kid)
    except KeySetUnavailable:
        raise LaunchRejected(
            "jwks",
            _(
                "The platform's key set at %(url)s could not be fetched, so the launch cannot be verified. Check "
                "the JWKS URL of the registration and that mentorNET can reach it.",
                url=platform.jwks_url,
            ),
            401,
            platform,
        ) from None
    if key is None:
        raise LaunchRejected(
            "kid",
            _("The key %(kid)s is not in the platform's key set at %(url)s.", kid=kid, url=platform.jwks_url),
            401,
            platform,
        )

    # 4. signature (claims are checked below, one by one, so the failure can be named)
    try:
        claims = jwt.decode(
            id_token,
            key=key.key,
            algorithms=["RS256"],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,
                "verify_jti": False,
                "require": [],
            },
        )
    except jwt.PyJWTError:
        raise LaunchRejected(
            "signature", _("The id_token's signature does not verify with the platform's key."), 401, platform
        ) from None

    # 5. iss
    if claims.get("iss") != platform.issuer:
        raise LaunchRejected(
            "iss",
            _(
                "The issuer %(iss)s is not the registered issuer %(registered)s.",
                iss=claims.get("iss"),
                registered=platform.issuer,
            ),
            401,
            platform,
        )

    # 6. aud and azp: for us, and for no one we do not trust.
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else audiences
    if not isinstance(audiences, list) or platform.client_id not in audiences:
        raise LaunchRejected(
            "aud",
            _("The id_token is not addressed to our client id %(client_id)s.", client_id=platform.client_id),
            401,
            platform,
        )
    if len(audiences) > 1:
        trusted = {other.client_id for other in platforms_of(platform.issuer)}
        untrusted = [aud for aud in audiences if aud not in trusted]
        if untrusted:
            raise LaunchRejected(
                "aud",
                _(
                    "The id_token is also addressed to %(audiences)s, which this tool does not trust.",
                    audiences=", ".join(map(str, untrusted)),
                ),
                401,
                platform,
            )
        if claims.get("azp") != platform.client_id:
            raise LaunchRejected(
                "azp",
                _(
                    "The id_token has several audiences, and its azp is not our client id %(client_id)s.",
                    client_id=platform.client_id,
                ),
                401,
                platform,
            )
    elif "azp" in claims and claims["azp"] != platform.client_id:
        raise LaunchRejected(
            "azp",
            _("The id_token's azp is not our client id %(client_id)s.", client_id=platform.client_id),
            401,
            platform,
        )

    # 7. exp and iat
    now = time.time()
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _is_number(exp) or exp + EXP_LEEWAY <= now:
        raise LaunchRejected(
            "exp",
            _("The id_token has expired (or has no exp). Check the platform's clock, and launch again."),
            401,
            platform,
        )
    if not _is_number(iat) or iat > now + IAT_LEEWAY:
        raise LaunchRejected(
            "iat",
            _("The id_token is issued in the future (or has no iat). Check the platform's clock."),
            401,
            platform,
        )

    # 8. nonce: the one issued for this state, spent now (a conditional update: of two uses, one wins).
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise LaunchRejected("nonce", _("The id_token has no nonce."), 401, platform)
    if not hmac.compare_digest(nonce.encode(), login.value.encode()):
        raise LaunchRejected(
            "nonce", _("The id_token's nonce is not the one issued for this login."), 401, platform
        )
    if not spend_login(login.id):
        raise LaunchRejected(
            "nonce",
            _("The id_token's nonce has already been used: a launch is never accepted twice."),
            401,
            platform,
        )

    try:
        _check_message(claims, platform)
    except LaunchRejected as exc:
        exc.spent_login_id = login.id
        raise
    return Launch(platform, claims)


def spend_login(login_id: int) -> bool:
    """Mark the login's nonce used; False when it already was (a conditional update: of two uses, one wins)."""
    spent = session.execute(_statements().spend_login, {"login_id": login_id, "now": utcnow()})
    return spent.rowcount == 1


@dataclasses.dataclass(frozen=True)
class _Statements:
    """The statements of every login and launch, built once: building a statement and computing its cache key
    cost more than running it. Core statements on the tables: nothing in the session to synchronise."""

    insert_login: sa.Insert
    login_by_state: sa.Select
    spend_login: sa.Update


@functools.cache
def _statements() -> _Statements:
    nonces = LtiNonce.__table__
    return _Statements(
        insert_login=sa.insert(nonces),
        # The login's columns and its registration, as the database holds it now: one statement.
        login_by_state=sa.select(
            LtiNonce.id, LtiNonce.value, LtiNonce.expires_at, LtiNonce.storage_target, LtiPlatform
        )
        .join(LtiPlatform, LtiPlatform.id == LtiNonce.platform_id)
        .where(LtiNonce.state_hash == sa.bindparam("hash")),
        spend_login=sa.update(nonces)
        .where(nonces.c.id == sa.bindparam("login_id"), nonces.c.used_at.is_(None))
        .values(used_at=sa.bindparam("now")),
    )


def _check_message(claims: dict[str, Any], platform: LtiPlatform) -> None:
    # 9. deployment
    deployment = claims.get(DEPLOYMENT_ID)
    if not isinstance(deployment, str) or deployment not in (platform.deployment_ids or []):
        raise LaunchRejected(
            "deployment_id",
            _(
                "The deployment id %(deployment)s is not registered for this platform. An administrator adds it "
                "with: mentornet lti platform add-deployment.",
                deployment=deployment,
            ),
            403,
            platform,
        )

    # 10. message type, 11. version
    message_type = claims.get(MESSAGE_TYPE)
    if message_type not in SUPPORTED_MESSAGES:
        raise LaunchRejected(
            "message_type",
            _(
                "The message type %(type)s is not supported; only resource link and deep linking launches are.",
                type=message_type,
            ),
            400,
            platform,
        )
    if claims.get(VERSION) != "1.3.0":
        raise LaunchRejected(
            "version",
            _("The LTI version %(version)s is not supported; only 1.3.0 is.", version=claims.get(VERSION)),
            400,
            platform,
        )

    # 12. sub, 13. resource link
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise LaunchRejected(
            "sub", _("The id_token names no user (sub); anonymous launches are not supported."), 400, platform
        )
    if message_type == DEEP_LINKING_REQUEST:
        _check_deep_linking(claims, platform)
        return
    link = claims.get(RESOURCE_LINK)
    if not isinstance(link, dict) or not isinstance(link.get("id"), str) or not link["id"]:
        raise LaunchRejected(
            "resource_link", _("The resource link launch has no resource_link id."), 400, platform
        )


def _check_deep_linking(claims: dict[str, Any], platform: LtiPlatform) -> None:
    """13'. A deep linking request names where to send the choice, and must accept resource links."""
    settings = claims.get(DEEP_LINKING_SETTINGS)
    return_url = settings.get("deep_link_return_url") if isinstance(settings, dict) else None
    parts = urlsplit(return_url if isinstance(return_url, str) else "")
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise LaunchRejected(
            "deep_linking_settings",
            _("The deep linking request has no usable deep_link_return_url."),
            400,
            platform,
        )
    if "ltiResourceLink" not in (settings.get("accept_types") or []):
        raise LaunchRejected(
            "deep_linking_settings",
            _(
                "The platform does not accept resource links here (accept_types), the only items mentorNET offers."
            ),
            400,
            platform,
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
