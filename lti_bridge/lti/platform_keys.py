"""The platforms' public keys: fetched from their JWKS URL, cached per process, refetched once on an unknown kid."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field

import jwt
import requests

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 5.0  # seconds: a launch waits for this at most
CACHE_SECONDS = 3600.0
MAX_JWKS_BYTES = 256 * 1024


class KeySetUnavailable(Exception):
    """The platform's JWKS could not be fetched or read."""


@dataclass
class _Entry:
    keys: dict[str, jwt.PyJWK]
    fetched_at: float


@dataclass
class PlatformKeyCache:
    """Keys by JWKS URL. ``min_refetch_seconds`` keeps a flood of made-up kids from becoming a flood of fetches."""

    min_refetch_seconds: float = 5.0
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key_for(self, jwks_url: str, kid: str) -> jwt.PyJWK | None:
        """The key ``kid`` of the set at ``jwks_url``; None when the set does not hold it even after a refetch."""
        entry = self._entries.get(jwks_url)
        if entry is None or time.monotonic() - entry.fetched_at > CACHE_SECONDS:
            return self._fetch(jwks_url).keys.get(kid)
        if kid in entry.keys:
            return entry.keys[kid]
        if time.monotonic() - entry.fetched_at < self.min_refetch_seconds:
            return None  # fetched moments ago: asking again would give the same answer
        return self._fetch(jwks_url).keys.get(kid)  # the platform may have rotated its keys: once more

    def _fetch(self, jwks_url: str) -> _Entry:
        try:
            response = requests.get(
                jwks_url, timeout=FETCH_TIMEOUT, headers={"Accept": "application/json"}, stream=True
            )
            body = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
            response.close()
        except requests.RequestException as exc:
            raise KeySetUnavailable(f"{jwks_url}: {exc}") from exc
        if response.status_code != 200:
            raise KeySetUnavailable(f"{jwks_url} answered HTTP {response.status_code}")
        if len(body) > MAX_JWKS_BYTES:
            raise KeySetUnavailable(f"{jwks_url} answered more than {MAX_JWKS_BYTES} bytes")
        try:
            document = json.loads(body)
            raw_keys = document["keys"]
            if not isinstance(raw_keys, list):
                raise TypeError("keys is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise KeySetUnavailable(f"{jwks_url} did not answer a JSON Web Key Set: {exc}") from exc
        keys = {}
        for raw in raw_keys:
            if not isinstance(raw, dict) or raw.get("kty") != "RSA" or not raw.get("kid"):
                continue
            if raw.get("use", "sig") != "sig":
                continue
            try:
                keys[str(raw["kid"])] = jwt.PyJWK(raw, algorithm="RS256")
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
                log.warning("ignoring an unusable key %r in %s: %s", raw.get("kid"), jwks_url, exc)
        entry = _Entry(keys, time.monotonic())
        with self._lock:
            self._entries[jwks_url] = entry
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
