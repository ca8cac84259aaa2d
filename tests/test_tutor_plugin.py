"""docs/tutor/mentornet.py renders (with Jinja, as Tutor does) into LMS settings the XBlock can read."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

from lti_bridge.platform.keys import PlatformKey, generate_private_key_pem
from mentornet_xblock.config import read_settings

PLUGIN = Path(__file__).resolve().parent.parent / "docs" / "tutor" / "mentornet.py"


def _patch(name: str) -> str:
    return re.search(rf'"{name}",\n        """(.*?)""",', PLUGIN.read_text(), re.DOTALL).group(1)


def test_the_settings_patch_gives_the_xblock_its_settings():
    pem = generate_private_key_pem()
    folded = " ".join(pem.split("\n"))  # `tutor config save --set "KEY=$(cat key.pem)"` folds the lines
    rendered = (
        jinja2.Environment()  # noqa: S701 (Python source, as Tutor renders it)
        .from_string(_patch("openedx-common-settings"))
        .render(
            MENTORNET_NETWORK_URL="https://mentornet.example.org",
            ENABLE_HTTPS=True,
            LMS_HOST="lms.example.org",
            MENTORNET_CLIENT_ID='openedx-"quoted"',
            MENTORNET_DEPLOYMENT_ID="1",
            MENTORNET_PLATFORM_KEY=folded,
            MENTORNET_SHARE_PII=True,
        )
    )
    namespace: dict = {"XBLOCK_SETTINGS": {"other": {}}}
    exec(rendered, namespace)  # noqa: S102 (our own template, as the LMS settings module runs it)
    assert set(namespace["XBLOCK_SETTINGS"]) == {"other", "mentornet"}
    settings = read_settings(namespace["XBLOCK_SETTINGS"]["mentornet"])
    assert settings.issuer == "https://lms.example.org" and settings.client_id == 'openedx-"quoted"'
    assert settings.share_pii is True and settings.key.kid == PlatformKey(pem).kid


def test_the_forwarder_patch_and_the_install_line():
    rendered = (
        jinja2.Environment()  # noqa: S701 (Python source, as Tutor renders it)
        .from_string(_patch("openedx-lms-common-settings"))
        .render(MENTORNET_BRIDGE_URL="https://mentornet.example.org", MENTORNET_WEBHOOK_SECRET="abc")
    )
    namespace: dict = {}
    exec(rendered, namespace)  # noqa: S102
    assert namespace["MENTORNET_BRIDGE_URL"] == "https://mentornet.example.org"
    assert "openedx-dockerfile-post-python-requirements" in PLUGIN.read_text()
