"""The platform's RSA key: signs id_tokens and access tokens, published as a JWKS with a stable ``kid``.

lti1p3platform 0.1.8 derives the ``kid`` from a JWK that has none, so its tokens carry no ``kid`` header and
tools that pick the key by ``kid`` (ours, pylti1p3) cannot verify them. Here the ``kid`` is the key's RFC 7638
thumbprint: stable, and the same in every worker without shared state.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK


def generate_private_key_pem() -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


PEM = re.compile(r"^\s*(-----BEGIN ([A-Z ]*PRIVATE KEY)-----)(.*?)(-----END \2-----)\s*$", re.DOTALL)


def normalise_pem(text: str) -> str:
    """A PEM whose line breaks were lost on the way (YAML folds a multi-line ``--set`` value into spaces, an
    environment variable may carry literal ``\\n``) becomes a PEM again."""
    match = PEM.match(text.replace("\\n", "\n"))
    if not match:
        raise ValueError("not a PEM private key")
    body = "".join(match.group(3).split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([match.group(1), *lines, match.group(4)]) + "\n"


class PlatformKey:
    """An RSA private key in PEM, with its public JWK and ``kid``."""

    def __init__(self, private_pem: str):
        if not isinstance(private_pem, str):
            raise ValueError("not a PEM private key")
        self.private_pem = normalise_pem(private_pem)
        self._jwk = JWK.from_pem(self.private_pem.encode("ascii"))
        if self._jwk.get("kty") != "RSA":
            raise ValueError("the platform key must be an RSA key")

    @classmethod
    def from_file(cls, path: str | Path) -> PlatformKey:
        return cls(Path(path).read_text(encoding="ascii"))

    @cached_property
    def kid(self) -> str:
        return self._jwk.thumbprint()

    @cached_property
    def public_pem(self) -> str:
        return self._jwk.export_to_pem().decode("ascii")

    def public_jwk(self) -> dict[str, Any]:
        return {**json.loads(self._jwk.export_public()), "kid": self.kid, "alg": "RS256", "use": "sig"}

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [self.public_jwk()]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_pem, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str, **options: Any) -> dict[str, Any]:
        """Decode a token this key signed (RS256 only); raises ``jwt.PyJWTError``."""
        return jwt.decode(token, self.public_pem, algorithms=["RS256"], **options)
