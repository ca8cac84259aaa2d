"""The webhook signature both ends share: ``X-MentorNET-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.

Framework-free on purpose: the Open edX forwarder in ``mentornet_xblock`` signs with it inside the LMS.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-MentorNET-Signature"
_PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify(body: bytes, secret: str, header_value: str | None) -> bool:
    """True when ``header_value`` is the signature of ``body``; compared in constant time."""
    if not secret or not header_value or not header_value.startswith(_PREFIX):
        return False
    return hmac.compare_digest(sign(body, secret), header_value.strip())
