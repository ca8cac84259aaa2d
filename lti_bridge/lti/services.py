"""LTI Advantage services as a tool: OAuth2 client credentials with a signed client assertion (RFC 7523,
``private_key_jwt``), then the platform's Names and Role Provisioning Service.

Tokens are kept per (registration, scopes) in the process until a minute before they expire, so a roster of many
pages or a nightly refresh of many courses asks the platform's token endpoint once.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from flask import current_app
from flask_babel import gettext as _

from lti_bridge.lti import keys
from lti_bridge.lti.models import LtiPlatform

log = logging.getLogger(__name__)

NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
NRPS_MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
TIMEOUT = (5, 20)
MAX_PAGES = 200  # 200 pages of members is far beyond any course; a platform that links in a loop stops here
EXPIRY_MARGIN = 60


class ServiceError(Exception):
    """The platform's service did not answer as LTI Advantage says; ``message`` is for the coordinator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class _Token:
    value: str
    expires_at: float


class TokenCache:
    def __init__(self):
        self._tokens: dict[tuple[int, str], _Token] = {}
        self._lock = threading.Lock()

    def get(self, platform_id: int, scope: str) -> str | None:
        with self._lock:
            token = self._tokens.get((platform_id, scope))
            return token.value if token is not None and token.expires_at > time.monotonic() else None

    def put(self, platform_id: int, scope: str, value: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[(platform_id, scope)] = _Token(value, time.monotonic() + expires_in - EXPIRY_MARGIN)

    def forget(self, platform_id: int, scope: str) -> None:
        with self._lock:
            self._tokens.pop((platform_id, scope), None)


def token_cache() -> TokenCache:
    return current_app.extensions.setdefault("mentornet.lti.tokens", TokenCache())


def client_assertion(platform: LtiPlatform) -> str:
    now = int(time.time())
    key = keys.current_key()
    claims = {
        "iss": platform.client_id,
        "sub": platform.client_id,
        "aud": platform.token_url,
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(24),
    }
    return jwt.encode(claims, keys.private_pem(key), algorithm="RS256", headers={"kid": key.kid})


def access_token(platform: LtiPlatform, scope: str) -> str:
    cached = token_cache().get(platform.id, scope)
    if cached:
        return cached
    try:
        response = requests.post(
            platform.token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": client_assertion(platform),
                "scope": scope,
            },
            headers={"Accept": "application/json"},
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        log.warning("LTI token request to %s failed: %s", platform.token_url, exc)
        raise ServiceError(_("The learning platform's token endpoint cannot be reached.")) from exc
    if not response.ok:
        log.warning(
            "LTI token request to %s: HTTP %s %s",
            platform.token_url,
            response.status_code,
            response.text[:300],
        )
        raise ServiceError(
            _(
                "The learning platform refused mentorNET's access request (HTTP %(status)s). Check that the tool "
                "may use the roster service (Names and Role Provisioning).",
                status=response.status_code,
            )
        )
    try:
        body = response.json()
        value = body["access_token"]
        expires_in = float(body.get("expires_in") or 3600)
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceError(_("The learning platform's token answer is not usable.")) from exc
    token_cache().put(platform.id, scope, value, expires_in)
    return value


def _get(platform: LtiPlatform, url: str, scope: str, accept: str) -> requests.Response:
    for attempt in (1, 2):
        token = access_token(platform, scope)
        try:
            response = requests.get(
                url, headers={"Authorization": f"Bearer {token}", "Accept": accept}, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            log.warning("LTI service GET %s failed: %s", url, exc)
            raise ServiceError(_("The learning platform's roster service cannot be reached.")) from exc
        if response.status_code == 401 and attempt == 1:  # the platform dropped the token early: one new one
            token_cache().forget(platform.id, scope)
            continue
        return response
    return response


def fetch_memberships(platform: LtiPlatform, memberships_url: str) -> tuple[list[dict[str, Any]], dict]:
    """Every member of the context, following ``Link: rel="next"`` pages; returns (members, context)."""
    members: list[dict[str, Any]] = []
    context: dict = {}
    url: str | None = memberships_url
    seen: set[str] = set()
    for _page in range(MAX_PAGES):
        if url is None or url in seen:
            break
        seen.add(url)
        response = _get(platform, url, NRPS_SCOPE, NRPS_MEDIA_TYPE)
        if not response.ok:
            raise ServiceError(
                _(
                    "The learning platform's roster service answered HTTP %(status)s.",
                    status=response.status_code,
                )
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise ServiceError(_("The learning platform's roster is not JSON.")) from exc
        page_members = body.get("members") if isinstance(body, dict) else None
        if not isinstance(page_members, list):
            raise ServiceError(_("The learning platform's roster has no list of members."))
        members.extend(m for m in page_members if isinstance(m, dict) and m.get("user_id"))
        context = body.get("context") if isinstance(body.get("context"), dict) else context
        url = response.links.get("next", {}).get("url")
    return members, context


AGS_LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
AGS_SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
JOINED_RESOURCE_ID = "mentornet-joined"


def _send(platform: LtiPlatform, method: str, url: str, scope: str, **kwargs) -> requests.Response:
    for attempt in (1, 2):
        headers = {"Authorization": f"Bearer {access_token(platform, scope)}", **kwargs.pop("headers", {})}
        try:
            response = requests.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            log.warning("LTI service %s %s failed: %s", method, url, exc)
            raise ServiceError(_("The learning platform's gradebook cannot be reached.")) from exc
        if response.status_code == 401 and attempt == 1:
            token_cache().forget(platform.id, scope)
            kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
            continue
        return response
    return response


def ensure_joined_lineitem(platform: LtiPlatform, lineitems_url: str, label: str) -> str:
    """The course's "joined the network" line item: found by its resourceId, else created. Returns its URL."""
    scope = AGS_LINEITEM_SCOPE
    found = _send(
        platform,
        "GET",
        lineitems_url,
        scope,
        params={"resource_id": JOINED_RESOURCE_ID},
        headers={"Accept": LINEITEMS_TYPE},
    )
    if found.ok:
        try:
            items = found.json()
        except ValueError:
            items = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("resourceId") == JOINED_RESOURCE_ID and item.get("id"):
                return str(item["id"])
    created = _send(
        platform,
        "POST",
        lineitems_url,
        scope,
        json={"scoreMaximum": 1, "label": label, "resourceId": JOINED_RESOURCE_ID, "tag": "mentornet"},
        headers={"Content-Type": LINEITEM_TYPE, "Accept": LINEITEM_TYPE},
    )
    if not created.ok:
        raise ServiceError(
            _(
                "The learning platform refused to create the line item (HTTP %(status)s).",
                status=created.status_code,
            )
        )
    try:
        return str(created.json()["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceError(_("The learning platform's line item has no id.")) from exc


def post_joined_score(platform: LtiPlatform, lineitem_url: str, user_id: str, timestamp: str) -> None:
    parts = lineitem_url.split("?", 1)
    scores_url = parts[0].rstrip("/") + "/scores" + (f"?{parts[1]}" if len(parts) > 1 else "")
    response = _send(
        platform,
        "POST",
        scores_url,
        AGS_SCORE_SCOPE,
        json={
            "userId": user_id,
            "scoreGiven": 1,
            "scoreMaximum": 1,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": timestamp,
        },
        headers={"Content-Type": SCORE_TYPE},
    )
    if not response.ok:
        raise ServiceError(
            _("The learning platform refused the score (HTTP %(status)s).", status=response.status_code)
        )
