"""The tool's own RSA keys: the current one signs, the previous one stays in the JWKS until the next rotation."""

from __future__ import annotations

import json
import secrets

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from lti_bridge.lti.models import ToolKey
from network_service.audit.operations import record
from network_service.db import session, utcnow


def _new_key() -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    key = ToolKey(kid=secrets.token_urlsafe(16), private_key_pem=pem)
    session.add(key)
    session.flush()
    return key


def current_key() -> ToolKey:
    """The signing key; made on first use, so a fresh install needs no step before its first launch."""
    key = session.scalar(
        sa.select(ToolKey).where(ToolKey.retired_at.is_(None)).order_by(ToolKey.id.desc()).limit(1)
    )
    return key if key is not None else _new_key()


def rotate_keys() -> ToolKey:
    """Retire the current key (still published, so tokens in flight verify) and drop the one before it."""
    now = utcnow()
    previous = current_key()
    session.execute(
        sa.delete(ToolKey).where(ToolKey.retired_at.is_not(None)).execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(ToolKey)
        .where(ToolKey.retired_at.is_(None))
        .values(retired_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    key = _new_key()
    record("lti.keys.rotate", target=key, kid=key.kid, previous_kid=previous.kid)
    return key


def published_keys() -> list[ToolKey]:
    """The current key and the most recently retired one, newest first."""
    current = current_key()
    previous = session.scalar(
        sa.select(ToolKey)
        .where(ToolKey.retired_at.is_not(None))
        .order_by(ToolKey.retired_at.desc(), ToolKey.id.desc())
        .limit(1)
    )
    return [current] + ([previous] if previous is not None else [])


def public_jwk(key: ToolKey) -> dict:
    private = serialization.load_pem_private_key(key.private_key_pem.encode("ascii"), password=None)
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    # RFC 7517 advises against "use" together with "key_ops"; LMSs read "use".
    return {"kty": jwk["kty"], "n": jwk["n"], "e": jwk["e"], "kid": key.kid, "alg": "RS256", "use": "sig"}


def jwks() -> dict:
    return {"keys": [public_jwk(key) for key in published_keys()]}
