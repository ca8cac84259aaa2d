"""Completion sources and their secrets: create, authenticate, revoke. Plain functions; the caller commits."""

from __future__ import annotations

import hmac
import secrets

import sqlalchemy as sa

from lti_bridge.models import CompletionSource, SourceKind
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.errors import Conflict, InvalidInput, NotFound
from network_service.tokens import hash_token, new_token


def create_source(name: str, kind: SourceKind, *, actor=None) -> tuple[CompletionSource, str]:
    """A new source; returns it with its secret, which is shown once and stored only as a hash."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("Give the source a name of at most 100 characters.", field="name")
    if session.scalar(sa.select(CompletionSource.id).where(CompletionSource.name == name)):
        raise Conflict(f"A source called {name!r} exists already.", field="name")
    secret, secret_hash = new_token()
    username = f"xapi-{secrets.token_hex(6)}" if kind == SourceKind.xapi else None
    source = CompletionSource(name=name, kind=kind, username=username, secret_hash=secret_hash)
    session.add(source)
    session.flush()
    record("bridge.source.create", actor=actor, target=source, name=name, kind=kind.value)
    return source, secret


def list_sources() -> list[CompletionSource]:
    return list(session.scalars(sa.select(CompletionSource).order_by(CompletionSource.name)))


def revoke_source(name: str, *, actor=None) -> CompletionSource:
    source = session.scalar(sa.select(CompletionSource).where(CompletionSource.name == name))
    if source is None:
        raise NotFound(f"No source is called {name!r}.", field="name")
    source.revoked_at = source.revoked_at or utcnow()
    record("bridge.source.revoke", actor=actor, target=source, name=name)
    return source


def _usable(source: CompletionSource | None, kind: SourceKind) -> CompletionSource | None:
    if source is None or source.kind != kind or source.revoked_at is not None:
        return None
    source.last_used_at = utcnow()
    return source


def source_for_token(token: str) -> CompletionSource | None:
    source = session.scalar(
        sa.select(CompletionSource).where(CompletionSource.secret_hash == hash_token(token))
    )
    return _usable(source, SourceKind.openedx_webhooks)


def source_for_basic(username: str, password: str) -> CompletionSource | None:
    source = session.scalar(sa.select(CompletionSource).where(CompletionSource.username == username))
    if source is None or not hmac.compare_digest(source.secret_hash, hash_token(password)):
        return None
    return _usable(source, SourceKind.xapi)
