"""`mentornet lti ...` commands, the tool's key set and rotation, and the configuration an LMS admin pastes."""

from __future__ import annotations

import jwt
import pytest
import sqlalchemy as sa

from lti_bridge.lti.models import LtiPlatform, ToolKey
from lti_bridge.plugin import BridgePlugin
from network_service.cli import main
from network_service.db import session
from tests.helpers import assert_ok

ADD = [
    "platform",
    "add",
    "--issuer",
    "https://moodle.example.org",
    "--client-id",
    "abc123",
    "--deployment-id",
    "1",
    "--deployment-id",
    "2",
    "--oidc-auth-url",
    "https://moodle.example.org/mod/lti/auth.php",
    "--token-url",
    "https://moodle.example.org/mod/lti/token.php",
    "--jwks-url",
    "https://moodle.example.org/mod/lti/certs.php",
]


@pytest.fixture
def lti(mentornet):
    return lambda *args: mentornet("lti", *args)


def test_platform_add_list_remove(lti, run):
    output = assert_ok(lti(*ADD, "--trust-email"))
    assert "Registered https://moodle.example.org" in output
    assert "http://localhost/lti/login" in output and "http://localhost/lti/jwks" in output
    platform = run(lambda: session.scalar(sa.select(LtiPlatform)))
    assert platform.deployment_ids == ["1", "2"] and platform.trust_email is True

    listed = assert_ok(lti("platform", "list"))
    assert "https://moodle.example.org" in listed and "abc123" in listed and "1, 2" in listed

    assert_ok(lti("platform", "remove", "--issuer", "https://moodle.example.org", "--client-id", "abc123"))
    assert run(lambda: session.scalar(sa.select(sa.func.count(LtiPlatform.id)))) == 0
    assert "No platform yet" in assert_ok(lti("platform", "list"))


def test_platform_add_deployment_accepts_one_more_deployment(lti, run):
    assert_ok(lti(*ADD))
    args = ["--issuer", "https://moodle.example.org", "--client-id", "abc123", "--deployment-id", "3"]
    assert "1, 2, 3" in assert_ok(lti("platform", "add-deployment", *args))
    assert "1, 2, 3" in assert_ok(lti("platform", "add-deployment", *args))  # twice is once
    assert run(lambda: session.scalar(sa.select(LtiPlatform.deployment_ids))) == ["1", "2", "3"]
    unknown = lti(
        "platform",
        "add-deployment",
        "--issuer",
        "https://x.example",
        "--client-id",
        "x",
        "--deployment-id",
        "3",
    )
    assert unknown.exit_code == 1 and "No registration" in unknown.output


def test_platform_add_twice_fails_cleanly(lti):
    assert_ok(lti(*ADD))
    result = lti(*ADD)
    assert result.exit_code == 1 and "already registered" in result.output
    assert "Traceback" not in result.output


def test_platform_add_needs_a_deployment_and_full_urls(lti):
    without_deployment = [arg for arg in ADD if arg not in ("--deployment-id", "1", "2")]
    assert lti(*without_deployment).exit_code == 2  # click: a required option is missing
    bad_url = [*ADD]
    bad_url[bad_url.index("--jwks-url") + 1] = "certs.php"
    result = lti(*bad_url)
    assert result.exit_code == 1 and "https://" in result.output


def test_platform_remove_of_an_unknown_registration_fails_cleanly(lti):
    result = lti("platform", "remove", "--issuer", "https://nowhere.example", "--client-id", "x")
    assert result.exit_code == 1 and "No registration" in result.output


def test_lti_commands_reach_the_flask_cli_of_the_app(app):
    assert "lti" in app.cli.commands


def test_mentornet_command_lists_the_lti_group():
    assert "lti" in main.commands


def test_plugin_declares_both_of_its_command_groups():
    assert [group.name for group in BridgePlugin.cli_commands] == ["bridge", "lti"]


# -- the tool's keys -----------------------------------------------------------------------------------


def _kids(client) -> list[str]:
    response = client.get("/lti/jwks")
    assert response.status_code == 200
    return [key["kid"] for key in response.get_json()["keys"]]


def test_jwks_makes_the_first_key_on_first_use_and_serves_only_public_parts(client, run):
    response = client.get("/lti/jwks")
    [key] = response.get_json()["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert _kids(client) == [key["kid"]]  # the same key next time
    assert run(lambda: session.scalar(sa.select(sa.func.count(ToolKey.id)))) == 1


def test_rotation_keeps_the_previous_key_until_the_next_rotation(client, lti):
    [first] = _kids(client)
    assert_ok(lti("keys", "rotate"))
    second, previous = _kids(client)
    assert previous == first and second != first
    assert_ok(lti("keys", "rotate"))
    third, previous = _kids(client)
    assert previous == second and first not in (third, previous)


def test_rotation_on_a_fresh_install_publishes_the_new_key(client, lti):
    output = assert_ok(lti("keys", "rotate"))
    kids = _kids(client)
    assert kids[0] in output and len(kids) == 2


def test_the_published_key_verifies_what_the_tool_signs(client, run):
    from lti_bridge.lti.keys import current_key, private_pem

    key = run(current_key)
    token = jwt.encode(
        {"iss": "mentornet"}, run(private_pem, key), algorithm="RS256", headers={"kid": key.kid}
    )
    [jwk] = client.get("/lti/jwks").get_json()["keys"]
    assert jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"]) == {"iss": "mentornet"}


# -- configuration for manual registration -------------------------------------------------------------


def test_config_json_has_the_canvas_developer_key_and_the_open_edx_fields(client):
    config = client.get("/lti/config.json").get_json()
    assert config["title"] == "mentorNET" and config["description"]
    assert config["oidc_initiation_url"] == "http://localhost/lti/login"
    assert config["target_link_uri"] == "http://localhost/lti/launch"
    assert config["public_jwk_url"] == "http://localhost/lti/jwks"
    assert config["scopes"] == [  # the roster and the gradebook report
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    ]
    assert config["custom_fields"] == {}
    [canvas] = config["extensions"]
    assert canvas["platform"] == "canvas.instructure.com" and canvas["privacy_level"] == "public"
    assert canvas["settings"]["placements"][0]["message_type"] == "LtiResourceLinkRequest"
    assert config["openedx"] == {
        "LTI Version": "LTI 1.3",
        "Tool Launch URL": "http://localhost/lti/launch",
        "Tool Initiate Login URL": "http://localhost/lti/login",
        "Registered Redirect URIs": ["http://localhost/lti/launch"],
        "Tool Public Key Mode": "Keyset URL",
        "Tool Keyset URL": "http://localhost/lti/jwks",
    }


# -- private keys encrypted at rest --------------------------------------------------------------------


def _stored(run) -> list[str]:
    return run(lambda: list(session.scalars(sa.select(ToolKey.private_key_pem).order_by(ToolKey.id))))


def test_private_keys_are_stored_encrypted(client, run):
    client.get("/lti/jwks")
    [stored] = _stored(run)
    assert stored.startswith("fernet:") and "PRIVATE KEY" not in stored


def test_a_key_stored_in_plain_pem_is_encrypted_at_first_use_and_keeps_its_kid(client, run):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode("ascii")
    )
    run(lambda: session.add(ToolKey(kid="legacy-kid", private_key_pem=pem)))  # as before b0006
    [jwk] = client.get("/lti/jwks").get_json()["keys"]
    assert jwk["kid"] == "legacy-kid"
    [stored] = _stored(run)
    assert stored.startswith("fernet:")
    assert client.get("/lti/jwks").get_json()["keys"] == [jwk]  # the same public key, read back encrypted


def test_a_dedicated_encryption_key_reencrypt_and_rotation(app, client, run, lti):
    from cryptography.fernet import Fernet

    from lti_bridge.lti.keys import KeyDecryptionFailed, current_key, private_pem

    client.get("/lti/jwks")
    [before] = _stored(run)
    original = run(lambda: private_pem(current_key()))
    new_key, old_config = Fernet.generate_key().decode(), app.config.get("KEY_ENCRYPTION_KEY")
    app.config["KEY_ENCRYPTION_KEY"] = new_key
    try:
        assert (
            run(lambda: private_pem(current_key())) == original
        )  # the key derived from the secret still reads
        assert "Encrypted 1 key(s)" in assert_ok(lti("keys", "reencrypt"))
        [after] = _stored(run)
        assert (
            after != before
            and Fernet(new_key).decrypt(after.removeprefix("fernet:").encode()).decode() == original
        )
        assert_ok(lti("keys", "rotate"))  # rotation works with the dedicated key, both keys still published
        assert len(client.get("/lti/jwks").get_json()["keys"]) == 2
        app.config["KEY_ENCRYPTION_KEY"] = Fernet.generate_key().decode()  # a wrong key: said so, not garbage
        with pytest.raises(KeyDecryptionFailed):
            run(lambda: private_pem(current_key()))
    finally:
        app.config["KEY_ENCRYPTION_KEY"] = old_config
