"""Platform registrations: add, list, remove. Plain functions; they flush, the caller commits."""

from __future__ import annotations

import dataclasses
import threading
import time
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

from lti_bridge.lti.models import LtiPlatform
from network_service.audit.operations import record
from network_service.db import session
from network_service.errors import Conflict, InvalidInput, NotFound


def _url(value: str, field: str) -> str:
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or len(value) > 500:
        raise InvalidInput(_("Give a full URL starting with https://."), field=field)
    return value


def add_platform(
    issuer: str,
    client_id: str,
    deployment_ids: list[str],
    oidc_auth_url: str,
    token_url: str,
    jwks_url: str,
    *,
    trust_email: bool = False,
) -> LtiPlatform:
    issuer = (issuer or "").strip()
    client_id = (client_id or "").strip()
    if not issuer or len(issuer) > 255:
        raise InvalidInput(_("Give the platform's issuer, like https://moodle.example.org."), field="issuer")
    if not client_id or len(client_id) > 255:
        raise InvalidInput(_("Give the client id the platform assigned to mentorNET."), field="client_id")
    deployments = []
    for deployment in deployment_ids:
        deployment = (deployment or "").strip()
        if deployment and deployment not in deployments:
            deployments.append(deployment[:255])
    if not deployments:
        raise InvalidInput(_("Give at least one deployment id."), field="deployment_ids")
    if find_platform(issuer, client_id) is not None:
        raise Conflict(_("This issuer and client id are already registered."), field="client_id")
    platform = LtiPlatform(
        issuer=issuer,
        client_id=client_id,
        deployment_ids=deployments,
        oidc_auth_url=_url(oidc_auth_url, "oidc_auth_url"),
        token_url=_url(token_url, "token_url"),
        jwks_url=_url(jwks_url, "jwks_url"),
        trust_email=trust_email,
    )
    session.add(platform)
    session.flush()
    record("lti.platform.add", target=platform, issuer=issuer, client_id=client_id, trust_email=trust_email)
    return platform


def find_platform(issuer: str, client_id: str) -> LtiPlatform | None:
    return session.scalar(
        sa.select(LtiPlatform).where(LtiPlatform.issuer == issuer, LtiPlatform.client_id == client_id)
    )


def platforms_of(issuer: str) -> list[LtiPlatform]:
    return list(session.scalars(sa.select(LtiPlatform).where(LtiPlatform.issuer == issuer)))


@dataclasses.dataclass(frozen=True)
class LoginPlatform:
    """What a login initiation needs of a registration (a plain copy, safe to share between requests)."""

    id: int
    issuer: str
    client_id: str
    oidc_auth_url: str


LOGIN_CACHE_SECONDS = 30.0  # another process's change (the CLI's) reaches a login after this at most
LOGIN_CACHE_ISSUERS = 1000  # bound: only registered issuers are kept, but stay safe
_login_cache: dict[str, tuple[float, tuple[LoginPlatform, ...]]] = {}
_login_cache_lock = threading.Lock()
_CHANGED = "mentornet.lti.platform_changed"


def login_platforms(issuer: str) -> tuple[LoginPlatform, ...]:
    """The registrations of ``issuer`` for the login initiation, cached per process for a few seconds.

    Only the login reads this copy: it decides nothing but where to send the browser, and the launch checks
    every claim against the registration as the database holds it (read with the login's nonce, one statement).
    A change made in this process (add, add-deployment, remove) is seen at once; an issuer nobody registered is
    never cached, so a registration made by the CLI is usable at once too."""
    entry = _login_cache.get(issuer)
    if entry is not None and time.monotonic() - entry[0] < LOGIN_CACHE_SECONDS:
        return entry[1]
    fetched_at = time.monotonic()
    rows = session.execute(
        sa.select(LtiPlatform.id, LtiPlatform.issuer, LtiPlatform.client_id, LtiPlatform.oidc_auth_url)
        .where(LtiPlatform.issuer == issuer)
        .order_by(LtiPlatform.id)
    ).all()
    platforms = tuple(LoginPlatform(*row) for row in rows)
    if platforms:
        with _login_cache_lock:
            if len(_login_cache) >= LOGIN_CACHE_ISSUERS:
                _login_cache.clear()
            _login_cache[issuer] = (fetched_at, platforms)
    return platforms


def forget_login_platforms() -> None:
    with _login_cache_lock:
        _login_cache.clear()


@event.listens_for(Session, "after_flush")
def _platform_flushed(session_: Session, _context) -> None:
    # new/dirty/deleted still hold what was flushed. Forget now and again at commit (a login in between may
    # have read the old row back into the cache).
    if any(isinstance(o, LtiPlatform) for o in (*session_.new, *session_.dirty, *session_.deleted)):
        session_.info[_CHANGED] = True
        forget_login_platforms()


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _platform_committed(session_: Session, *_args) -> None:
    if session_.info.pop(_CHANGED, False):
        forget_login_platforms()


def list_platforms() -> list[LtiPlatform]:
    return list(session.scalars(sa.select(LtiPlatform).order_by(LtiPlatform.issuer, LtiPlatform.client_id)))


def add_deployment(issuer: str, client_id: str, deployment_id: str) -> LtiPlatform:
    """Accept launches from one more deployment of the tool at the platform (another course or account)."""
    platform = find_platform(issuer, client_id)
    if platform is None:
        raise NotFound(_("No registration has this issuer and client id."))
    deployment_id = (deployment_id or "").strip()
    if not deployment_id or len(deployment_id) > 255:
        raise InvalidInput(_("Give the deployment id."), field="deployment_id")
    if deployment_id not in platform.deployment_ids:
        platform.deployment_ids = [*platform.deployment_ids, deployment_id]  # a new list: the change is seen
        record("lti.platform.add_deployment", target=platform, deployment_id=deployment_id)
        session.flush()
    return platform


def remove_platform(issuer: str, client_id: str) -> None:
    """Forget a registration, with its identities' links (the people themselves stay)."""
    platform = find_platform(issuer, client_id)
    if platform is None:
        raise NotFound(_("No registration has this issuer and client id."))
    record("lti.platform.remove", target=platform, issuer=issuer, client_id=client_id)
    session.delete(platform)
    session.flush()
