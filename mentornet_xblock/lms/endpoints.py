"""What the LMS-wide views do, without Django: tests and other runtimes call these directly."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from lti_bridge.platform.core import AuthRequestRefused, route_authorization
from mentornet_xblock.config import SettingsMissing, read_settings


def authorize_target(bucket: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[int, str]:
    """(302, the block's authorisation handler) for a hint this LMS signed; (400 or 503, a reason) otherwise."""
    try:
        settings = read_settings(bucket)
    except SettingsMissing as exc:
        return 503, "mentorNET XBlock settings missing: " + ", ".join(exc.problems)
    try:
        target = route_authorization(settings.key, params, client_id=settings.client_id)
    except AuthRequestRefused as exc:
        return 400, f"LTI authorisation refused ({exc.check})"
    issuer = urlsplit(settings.issuer)
    parts = urlsplit(target)
    if parts.netloc and (parts.scheme, parts.netloc) != (issuer.scheme, issuer.netloc):
        return 400, "LTI authorisation refused (the hint names another site)"
    return 302, target


def key_set(bucket: Mapping[str, Any]) -> tuple[int, str]:
    try:
        settings = read_settings(bucket)
    except SettingsMissing:
        return 503, json.dumps({"keys": []})
    return 200, json.dumps(settings.key.jwks())
