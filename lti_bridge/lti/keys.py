"""The tool's own RSA keys: the current one signs, the previous one stays in the JWKS until the next rotation.

Private keys are stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with the setting ``KEY_ENCRYPTION_KEY``
(``MENTORNET_KEY_ENCRYPTION_KEY``: one or more Fernet keys separated by commas, the first encrypts, all
decrypt), else with a key derived from ``SECRET_KEY`` (HKDF-SHA256). The key derived from the secret always
decrypts too, so moving to a dedicated key needs only ``mentornet lti keys reencrypt``. A key stored before
encryption (a PEM) is encrypted the first time it is used.
"""

from __future__ import annotations

import base64
import json
import secrets

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from jwt.algorithms import RSAAlgorithm

from lti_bridge.lti.models import ToolKey
from network_service.audit.operations import record
from network_service.db import session, utcnow

ENCRYPTED = "fernet:"  # stored values that start with it are encrypted; a PEM is not (stored before b0006)


class KeyDecryptionFailed(RuntimeError):
    """A stored private key cannot be decrypted with any configured key (KEY_ENCRYPTION_KEY changed?)."""


def _derived_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"mentornet-lti-tool-keys", info=b"fernet")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode("utf-8")))


def fernet(config=None) -> MultiFernet:
    """The configured keys: KEY_ENCRYPTION_KEY's (first encrypts), then the one derived from SECRET_KEY."""
    config = config if config is not None else current_app.config
    configured = [k.strip() for k in str(config.get("KEY_ENCRYPTION_KEY") or "").split(",") if k.strip()]
    keys = [Fernet(k) for k in configured] + [Fernet(_derived_key(config["SECRET_KEY"]))]
    return MultiFernet(keys)


def encrypt_pem(pem: str, config=None) -> str:
    return ENCRYPTED + fernet(config).encrypt(pem.encode("ascii")).decode("ascii")


def private_pem(key: ToolKey) -> str:
    """The key's PEM; a key stored unencrypted is encrypted now (the caller's transaction stores it)."""
    stored = key.private_key_pem
    if not stored.startswith(ENCRYPTED):
        key.private_key_pem = encrypt_pem(stored)
        return stored
    try:
        return fernet().decrypt(stored[len(ENCRYPTED) :].encode("ascii")).decode("ascii")
    except InvalidToken:
        raise KeyDecryptionFailed(
            f"The tool key {key.kid} cannot be decrypted: set MENTORNET_KEY_ENCRYPTION_KEY to the key(s) it was "
            "encrypted with, or run `mentornet lti keys rotate` to make a new one."
        ) from None


def reencrypt_all() -> int:
    """Encrypt every key again with the first configured key (after adding a new KEY_ENCRYPTION_KEY)."""
    keys = fernet()
    count = 0
    for key in session.scalars(sa.select(ToolKey)):
        pem = private_pem(key)
        key.private_key_pem = ENCRYPTED + keys.encrypt(pem.encode("ascii")).decode("ascii")
        count += 1
    session.flush()
    return count


def _new_key() -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    key = ToolKey(kid=secrets.token_urlsafe(16), private_key_pem=encrypt_pem(pem))
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
    private = serialization.load_pem_private_key(private_pem(key).encode("ascii"), password=None)
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    # RFC 7517 advises against "use" together with "key_ops"; LMSs read "use".
    return {"kty": jwk["kty"], "n": jwk["n"], "e": jwk["e"], "kid": key.kid, "alg": "RS256", "use": "sig"}


def jwks() -> dict:
    return {"keys": [public_jwk(key) for key in published_keys()]}
