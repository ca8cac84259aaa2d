"""LTI Dynamic Registration 1.0 (1EdTech): an LMS administrator pastes one URL and the platform registers us.

The platform opens ``<BASE_URL>/lti/register?code=...&openid_configuration=...&registration_token=...``. We fetch
the platform's OpenID configuration, check that its ``issuer`` has the host the configuration came from, POST our
client registration to its ``registration_endpoint`` with the registration token, and store the ``client_id`` and
deployment it answers. The one-time ``code`` (made by ``mentornet lti register-url`` or a site admin's page) is
what stops a stranger from registering a platform of their own: it is spent by the registration it allows.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import sqlalchemy as sa
from flask_babel import gettext as _

from lti_bridge.lti.models import LtiPlatform, LtiRegistrationCode
from lti_bridge.lti.registrations import find_platform
from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.errors import Conflict, LinkInvalid, MentorNetError
from network_service.tokens import hash_token, new_token
from network_service.urls import public_url

log = logging.getLogger(__name__)

CODE_DAYS = 7
TIMEOUT = (5, 15)  # connect, read (seconds)
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
SCOPES = (
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
)


class RegistrationFailed(MentorNetError):
    """The platform's side of a dynamic registration did not work; the message says what to fix there."""

    status = 502

    def __init__(self, detail: str, step: str):
        super().__init__(detail)
        self.step = step


@dataclass(frozen=True)
class PlatformConfiguration:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    product: str
    scopes_supported: tuple[str, ...]
    messages_supported: tuple[str, ...]


def new_registration_url(actor: Person | None) -> str:
    """A registration URL with a fresh one-time code, valid for ``CODE_DAYS`` days."""
    code, code_hash = new_token()
    entry = LtiRegistrationCode(
        code_hash=code_hash,
        created_by_id=getattr(actor, "id", None),
        expires_at=utcnow() + dt.timedelta(days=CODE_DAYS),
    )
    session.add(entry)
    session.flush()
    record("lti.register_url.create", actor=actor, target=entry, expires_at=entry.expires_at.isoformat())
    return public_url("/lti/register?" + urlencode({"code": code}))


def check_code(code: str) -> LtiRegistrationCode:
    entry = session.scalar(
        sa.select(LtiRegistrationCode).where(LtiRegistrationCode.code_hash == hash_token(code or ""))
    )
    if entry is None:
        raise LinkInvalid(
            _("This registration URL is not known. Make a new one with 'mentornet lti register-url'.")
        )
    if entry.used_at is not None:
        raise LinkInvalid(
            _("This registration URL was already used. Each URL registers one platform; make a new one.")
        )
    if entry.expires_at <= utcnow():
        raise LinkInvalid(_("This registration URL has expired. Make a new one."))
    return entry


def _is_loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _platform_url(value: Any, name: str, *, step: str) -> str:
    """An https URL (http only on this machine's loopback, for tests and local trials)."""
    parts = urlsplit(value if isinstance(value, str) else "")
    if not parts.netloc or len(value) > 500:
        raise RegistrationFailed(_("The platform's configuration has no usable %(name)s.", name=name), step)
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname)):
        raise RegistrationFailed(
            _(
                "The platform's %(name)s must be an https:// address (it is %(value)s).",
                name=name,
                value=value,
            ),
            step,
        )
    return value


def fetch_configuration(openid_configuration: str) -> PlatformConfiguration:
    """Fetch and check the platform's OpenID configuration."""
    url = _platform_url(openid_configuration, "openid_configuration", step="configuration")
    try:
        response = requests.get(url, timeout=TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("dynamic registration: fetching %s failed: %s", url, exc)
        raise RegistrationFailed(
            _("mentorNET could not read the platform's configuration at %(url)s.", url=url), "configuration"
        ) from exc
    if not isinstance(data, dict):
        raise RegistrationFailed(_("The platform's configuration is not a JSON object."), "configuration")
    issuer = _platform_url(data.get("issuer"), "issuer", step="issuer")
    # LTI-DR 1.0 §3.5.1: the issuer must be of the host the configuration was fetched from, so a configuration
    # served anywhere cannot claim to be some other platform.
    if urlsplit(issuer).hostname != urlsplit(url).hostname:
        raise RegistrationFailed(
            _(
                "The platform's issuer %(issuer)s does not match the address of its configuration %(url)s.",
                issuer=issuer,
                url=url,
            ),
            "issuer",
        )
    if "RS256" not in (data.get("id_token_signing_alg_values_supported") or []):
        raise RegistrationFailed(_("The platform does not sign id_tokens with RS256."), "configuration")
    platform = data.get(PLATFORM_CONFIGURATION) or {}
    messages = tuple(
        m.get("type")
        for m in platform.get("messages_supported") or []
        if isinstance(m, dict) and m.get("type")
    )
    return PlatformConfiguration(
        issuer=issuer,
        authorization_endpoint=_platform_url(
            data.get("authorization_endpoint"), "authorization_endpoint", step="configuration"
        ),
        token_endpoint=_platform_url(data.get("token_endpoint"), "token_endpoint", step="configuration"),
        jwks_uri=_platform_url(data.get("jwks_uri"), "jwks_uri", step="configuration"),
        registration_endpoint=_platform_url(
            data.get("registration_endpoint"), "registration_endpoint", step="configuration"
        ),
        product=str(platform.get("product_family_code") or "")[:100],
        scopes_supported=tuple(s for s in data.get("scopes_supported") or [] if isinstance(s, str)),
        messages_supported=messages,
    )


def client_registration(configuration: PlatformConfiguration) -> dict[str, Any]:
    """What we ask the platform to register: our endpoints, the messages we take, the claims we need."""
    base = public_url()
    launch = f"{base}/lti/launch"
    messages = [{"type": "LtiResourceLinkRequest", "target_link_uri": launch, "label": "mentorNET"}]
    if "LtiDeepLinkingRequest" in configuration.messages_supported:
        messages.append({"type": "LtiDeepLinkingRequest", "target_link_uri": launch, "label": "mentorNET"})
    wanted_scopes = [
        s for s in SCOPES if not configuration.scopes_supported or s in configuration.scopes_supported
    ]
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": f"{base}/lti/login",
        "redirect_uris": [launch],
        "client_name": "mentorNET",
        "jwks_uri": f"{base}/lti/jwks",
        "token_endpoint_auth_method": "private_key_jwt",  # nosec B105  # a method name, no secret
        "scope": " ".join(wanted_scopes),
        TOOL_CONFIGURATION: {
            "domain": urlsplit(base).netloc,
            "target_link_uri": launch,
            "description": _("The network of volunteer mentors that graduates of this course can join."),
            "claims": ["iss", "sub", "email", "name", "locale"],
            "messages": messages,
        },
    }


def post_registration(
    configuration: PlatformConfiguration, registration_token: str
) -> tuple[str, str | None]:
    """POST our registration; the platform's client id and the deployment id it made (if it made one)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    try:
        response = requests.post(
            configuration.registration_endpoint,
            json=client_registration(configuration),
            headers=headers,
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        log.warning("dynamic registration: POST to %s failed: %s", configuration.registration_endpoint, exc)
        raise RegistrationFailed(
            _("mentorNET could not reach the platform's registration endpoint."), "registration"
        ) from exc
    if response.status_code in (401, 403):
        raise RegistrationFailed(
            _(
                "The platform refused the registration token (HTTP %(status)s). Start the registration again "
                "from the platform.",
                status=response.status_code,
            ),
            "registration_token",
        )
    if not response.ok:
        log.warning(
            "dynamic registration: %s answered %s: %s",
            configuration.registration_endpoint,
            response.status_code,
            response.text[:500],
        )
        raise RegistrationFailed(
            _("The platform refused the registration (HTTP %(status)s).", status=response.status_code),
            "registration",
        )
    try:
        data = response.json()
    except ValueError as exc:
        raise RegistrationFailed(
            _("The platform's answer to the registration is not JSON."), "registration"
        ) from exc
    client_id = data.get("client_id") if isinstance(data, dict) else None
    if not isinstance(client_id, str | int) or not str(client_id).strip():
        raise RegistrationFailed(_("The platform's answer has no client_id."), "registration")
    tool = data.get(TOOL_CONFIGURATION) or {}
    deployment = tool.get("deployment_id") if isinstance(tool, dict) else None
    return str(client_id).strip()[:255], (
        str(deployment).strip()[:255] if deployment not in (None, "") else None
    )


def register_platform(code: str, openid_configuration: str, registration_token: str) -> LtiPlatform:
    """The whole registration. The code is claimed first (a conditional update, so two tabs cannot both use
    it) and stays spent only if the registration is stored: the caller commits on success, rolls back on error."""
    entry = check_code(code)
    claimed = session.execute(
        sa.update(LtiRegistrationCode)
        .where(LtiRegistrationCode.id == entry.id, LtiRegistrationCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise LinkInvalid(
            _("This registration URL was already used. Each URL registers one platform; make a new one.")
        )
    configuration = fetch_configuration(openid_configuration)
    client_id, deployment_id = post_registration(configuration, registration_token)
    if find_platform(configuration.issuer, client_id) is not None:
        raise Conflict(_("This platform and client id are already registered."), field="client_id")
    platform = LtiPlatform(
        issuer=configuration.issuer,
        client_id=client_id,
        deployment_ids=[deployment_id] if deployment_id else [],
        oidc_auth_url=configuration.authorization_endpoint,
        token_url=configuration.token_endpoint,
        jwks_url=configuration.jwks_uri,
        trust_email=False,  # a platform earns trust in e-mails only from an administrator of ours
        registered_via="dynamic",
        product=configuration.product,
    )
    session.add(platform)
    session.flush()
    session.execute(
        sa.update(LtiRegistrationCode)
        .where(LtiRegistrationCode.id == entry.id)
        .values(platform_id=platform.id)
        .execution_options(synchronize_session=False)
    )
    record(
        "lti.platform.register",
        target=platform,
        issuer=platform.issuer,
        client_id=client_id,
        deployment_id=deployment_id,
        product=platform.product,
    )
    return platform
