"""``mentornet lti platform add --openedx LMS_URL``: one step registers the LMS and prints its XBLOCK_SETTINGS."""

from __future__ import annotations

import ast

import sqlalchemy as sa

from lti_bridge.lti.models import LtiPlatform
from lti_bridge.platform.keys import PlatformKey
from network_service.db import session


def test_openedx_registration_prints_settings_with_a_new_key(mentornet, run):
    result = mentornet("lti", "platform", "add", "--openedx", "https://lms.example.org/")
    assert result.exit_code == 0, result.output
    settings = ast.literal_eval(result.stdout.split('XBLOCK_SETTINGS["mentornet"] = ', 1)[1])
    assert settings["ISSUER"] == "https://lms.example.org" and settings["DEPLOYMENT_ID"] == "1"
    assert settings["SHARE_PII"] is False  # without --trust-email only the anonymous id goes
    key = PlatformKey(settings["PLATFORM_KEY"])
    assert "keep it secret" in result.stderr and "PRIVATE KEY" not in result.stderr

    platform = run(
        lambda: session.scalar(sa.select(LtiPlatform).where(LtiPlatform.issuer == settings["ISSUER"]))
    )
    assert platform.client_id == settings["CLIENT_ID"] and platform.deployment_ids == ["1"]
    assert platform.oidc_auth_url == "https://lms.example.org/mentornet/lti/authorize"
    assert platform.jwks_url == "https://lms.example.org/mentornet/lti/jwks"
    assert not platform.trust_email and platform.product == "openedx"
    assert key.kid  # the LMS publishes this key at the JWKS URL above

    again = mentornet("lti", "platform", "add", "--openedx", "https://lms.example.org", "--trust-email")
    trusted = ast.literal_eval(again.stdout.split('XBLOCK_SETTINGS["mentornet"] = ', 1)[1])
    assert trusted["SHARE_PII"] is True and trusted["CLIENT_ID"] != settings["CLIENT_ID"]
    assert trusted["PLATFORM_KEY"] != settings["PLATFORM_KEY"]


def test_without_openedx_every_manual_option_is_needed(mentornet):
    result = mentornet("lti", "platform", "add", "--issuer", "https://moodle.example.org")
    assert result.exit_code == 2
    assert "--client-id" in result.output and "--openedx LMS_URL" in result.output


def test_a_bad_lms_url_is_refused(mentornet):
    result = mentornet("lti", "platform", "add", "--openedx", "lms.example.org")
    assert result.exit_code == 1 and "https://" in result.output and "Traceback" not in result.output
