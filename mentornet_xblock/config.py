"""The operator's settings for the mentorNET XBlock, read from ``XBLOCK_SETTINGS["mentornet"]``.

Plain Python (no Django, no XBlock): the block reads the bucket through the runtime's ``settings`` service, the
LMS-wide views (``mentornet_xblock.lms``) read it from ``django.conf.settings``; both parse it here.

```python
XBLOCK_SETTINGS = {"mentornet": {
    "NETWORK_URL": "https://mentornet.example.org",   # the network service (its BASE_URL)
    "ISSUER": "https://lms.example.org",              # this LMS, as registered on the tool side
    "CLIENT_ID": "openedx-...",                       # printed by `mentornet lti platform add --openedx`
    "DEPLOYMENT_ID": "1",
    "PLATFORM_KEY": "-----BEGIN PRIVATE KEY-----...", # or "PLATFORM_KEY_FILE": "/openedx/config/mentornet.pem"
    "SHARE_PII": False,                               # True: username, name and e-mail go to mentorNET
}}
```
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from lti_bridge.platform.keys import PlatformKey

SETTINGS_KEY = "mentornet"
REQUIRED = ("NETWORK_URL", "ISSUER", "CLIENT_ID", "DEPLOYMENT_ID")
AUTHORIZE_PATH = "/mentornet/lti/authorize"  # the LMS-wide authorisation URL (mentornet_xblock.lms)
JWKS_PATH = "/mentornet/lti/jwks"


@dataclasses.dataclass(frozen=True)
class OperatorSettings:
    network_url: str
    issuer: str
    client_id: str
    deployment_id: str
    key: PlatformKey
    share_pii: bool

    @property
    def tool_login_url(self) -> str:
        return f"{self.network_url}/lti/login"

    @property
    def tool_launch_url(self) -> str:
        return f"{self.network_url}/lti/launch"

    @property
    def panel_url(self) -> str:
        return f"{self.network_url}/embed/panel"

    @property
    def authorize_url(self) -> str:
        return f"{self.issuer}{AUTHORIZE_PATH}"


class SettingsMissing(Exception):
    """What the operator still has to set: a list of setting names (or problems), never secrets."""

    def __init__(self, problems: list[str]):
        super().__init__(", ".join(problems))
        self.problems = problems


def _url(value: Any) -> str | None:
    value = str(value or "").strip().rstrip("/")
    parts = urlsplit(value)
    return value if parts.scheme in ("https", "http") and parts.netloc else None


def read_settings(bucket: Mapping[str, Any] | None) -> OperatorSettings:
    """The parsed settings, or ``SettingsMissing`` naming every missing or unusable one."""
    bucket = bucket or {}
    problems = [name for name in REQUIRED if not str(bucket.get(name) or "").strip()]
    for name in ("NETWORK_URL", "ISSUER"):
        if name not in problems and _url(bucket.get(name)) is None:
            problems.append(name)
    key = None
    try:
        if bucket.get("PLATFORM_KEY"):
            key = PlatformKey(str(bucket["PLATFORM_KEY"]))
        elif bucket.get("PLATFORM_KEY_FILE"):
            key = PlatformKey.from_file(str(bucket["PLATFORM_KEY_FILE"]))
    except (OSError, ValueError, TypeError):
        key = None
    if key is None:
        problems.append("PLATFORM_KEY")
    if problems:
        raise SettingsMissing(problems)
    return OperatorSettings(
        network_url=_url(bucket["NETWORK_URL"]) or "",
        issuer=_url(bucket["ISSUER"]) or "",
        client_id=str(bucket["CLIENT_ID"]).strip(),
        deployment_id=str(bucket["DEPLOYMENT_ID"]).strip(),
        key=key,
        share_pii=bool(bucket.get("SHARE_PII", False)),
    )
