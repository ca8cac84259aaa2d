"""The LMS-wide endpoints of the XBlock's platform (``mentornet_xblock.lms``), in a real Django, in a child process
(the forwarder tests configure Django for this process in their own way)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("django")

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import django
    from django.conf import settings
    from lti_bridge.platform.core import sign_message_hint
    from lti_bridge.platform.keys import PlatformKey, generate_private_key_pem

    pem = generate_private_key_pem()
    settings.configure(
        DEBUG=False, SECRET_KEY="x", ALLOWED_HOSTS=["lms.example.test"], ROOT_URLCONF="mentornet_xblock.lms.urls",
        INSTALLED_APPS=["mentornet_xblock.lms"], MIDDLEWARE=[],
        XBLOCK_SETTINGS={"mentornet": {"NETWORK_URL": "https://net.example.test", "ISSUER": "https://lms.example.test",
                                       "CLIENT_ID": "c1", "DEPLOYMENT_ID": "1", "PLATFORM_KEY": pem}},
    )
    django.setup()
    from django.test import Client

    key = PlatformKey(pem)
    hint = sign_message_hint(key, client_id="c1", login_hint="anon", resource="b1",
                             authorize_url="https://lms.example.test/courses/x/xblock/b1/handler/lti_authorize")
    foreign = sign_message_hint(key, client_id="c1", login_hint="anon", resource="b1",
                                authorize_url="https://elsewhere.example/steal")
    client = Client(HTTP_HOST="lms.example.test")
    routed = client.get("/authorize", {"lti_message_hint": hint, "state": "s", "nonce": "n"})
    posted = client.post("/authorize", {"lti_message_hint": hint, "state": "s"})
    forged = client.get("/authorize", {"lti_message_hint": hint + "x"})
    elsewhere = client.get("/authorize", {"lti_message_hint": foreign})
    jwks = client.get("/jwks")
    print(json.dumps({
        "routed": [routed.status_code, routed["Location"]],
        "posted": posted.status_code,
        "forged": forged.status_code,
        "elsewhere": elsewhere.status_code,
        "jwks": [jwks.status_code, json.loads(jwks.content)["keys"][0]["kid"] == key.kid],
        "apps": [app.label for app in django.apps.apps.get_app_configs()],
    }))
    """
)


def test_the_lms_wide_views_route_signed_hints_and_publish_the_key():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    status, location = answer["routed"]
    assert status == 302
    assert location.startswith(
        "https://lms.example.test/courses/x/xblock/b1/handler/lti_authorize?lti_message_hint="
    )
    assert "&state=s&nonce=n" in location
    assert answer["posted"] == 302  # the tool may send its authorisation request as a form post
    assert answer["forged"] == 400 and answer["elsewhere"] == 400
    assert answer["jwks"] == [200, True]
    assert answer["apps"] == ["mentornet_lms"]
