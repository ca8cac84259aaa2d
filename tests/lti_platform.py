"""A stand-in LTI 1.3 platform: an RSA key set served over real HTTP on 127.0.0.1, and signed id_tokens.

Test modules load it with ``pytest_plugins = ("tests.lti_platform",)`` and use its fixtures: ``platform``,
``registered`` and ``make_platform``. It answers the tool's login redirect the way a platform's OIDC authorization endpoint does (checking what the
tool sent), so tests drive login → launch with the Flask test client on our side.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lti_bridge.lti.launch import CLAIM
from lti_bridge.lti.platform_keys import PlatformKeyCache
from lti_bridge.lti.registrations import add_platform

DEPLOYMENT = "deployment-1"
TOOL_LAUNCH_URL = "http://localhost/lti/launch"
DROP = object()  # a claim override that removes the claim


def _new_rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TestPlatform:
    __test__ = False  # not a test class, whatever its name

    def __init__(self, issuer: str = "https://lms.example.test", client_id: str = "mentornet-client"):
        self.issuer = issuer
        self.client_id = client_id
        self.keys: dict[str, Any] = {}
        self.published: list[str] = []
        self.jwks_requests = 0
        self.kid = self.rotate_key()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    # -- the platform's endpoints -------------------------------------------------------------------
    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/jwks"

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/auth"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        if request.path == "/jwks":
            self.jwks_requests += 1
            return Response(json.dumps(self.jwks()), mimetype="application/json")
        return Response("not found", status=404)

    def jwks(self) -> dict:
        keys = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def rotate_key(self) -> str:
        kid = secrets.token_hex(8)
        self.keys[kid] = _new_rsa()
        self.published.append(kid)
        self.kid = kid
        return kid

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def register(self, **options) -> None:
        """Register this platform with the tool (in the caller's app context)."""
        add_platform(
            self.issuer,
            options.pop("client_id", self.client_id),
            options.pop("deployment_ids", [DEPLOYMENT]),
            self.auth_url,
            self.token_url,
            options.pop("jwks_url", self.jwks_url),
            **options,
        )

    # -- the launch ---------------------------------------------------------------------------------
    DROP = DROP

    def begin_login(self, client, **params) -> dict[str, str]:
        """The LMS starts the login; the browser follows the tool's redirect to the platform, which checks it."""
        response = client.get("/lti/login", query_string=self.login_params(**params))
        assert response.status_code == 302, response.get_data(as_text=True)
        return self.authorize(response.headers["Location"])

    def login_params(self, **extra) -> dict[str, str]:
        return {
            "iss": self.issuer,
            "login_hint": "user-42",
            "target_link_uri": TOOL_LAUNCH_URL,
            "lti_message_hint": "resource-link-7",
            "client_id": self.client_id,
            "lti_deployment_id": DEPLOYMENT,
            **extra,
        }

    def authorize(self, redirect_url: str) -> dict[str, str]:
        """What the platform's OIDC endpoint checks in the tool's redirect; returns its query parameters."""
        parts = urlsplit(redirect_url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == self.auth_url
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        assert query["scope"] == "openid"
        assert query["response_type"] == "id_token"
        assert query["response_mode"] == "form_post"
        assert query["prompt"] == "none"
        assert query["client_id"] == self.client_id
        assert query["redirect_uri"] == TOOL_LAUNCH_URL
        assert query["login_hint"] == "user-42"
        assert query["state"] and query["nonce"]
        return query

    def claims(self, nonce: str, /, **overrides) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": "lms-user-1",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            CLAIM + "deployment_id": DEPLOYMENT,
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "resource_link": {"id": "resource-link-7", "title": "Join the mentor network"},
            CLAIM + "target_link_uri": TOOL_LAUNCH_URL,
            CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        }
        for name, value in overrides.items():
            name = {"deployment_id": CLAIM + "deployment_id", "message_type": CLAIM + "message_type"}.get(
                name, name
            )
            name = {"version": CLAIM + "version", "resource_link": CLAIM + "resource_link"}.get(name, name)
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def id_token(
        self, nonce: str, /, *, kid: str | None = None, key=None, alg: str = "RS256", **overrides
    ) -> str:
        kid = kid or self.kid
        return jwt.encode(
            self.claims(nonce, **overrides),
            key or self.keys.get(kid) or self.keys[self.kid],
            algorithm=alg,
            headers={"kid": kid},
        )

    def hs256_with_public_key(self, nonce: str) -> str:
        """The classic confusion attack: HMAC keyed with the platform's public key, which anyone can fetch."""
        public_pem = (
            self.keys[self.kid]
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.kid}).encode())
        payload = _b64(json.dumps(self.claims(nonce)).encode())
        signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def unsigned(self, nonce: str) -> str:
        header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": self.kid}).encode())
        return f"{header}.{_b64(json.dumps(self.claims(nonce)).encode())}."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.fixture
def platform(app):
    test_platform = TestPlatform()
    # Every test starts with an empty key cache that refetches at once (the throttle has its own test).
    app.extensions["mentornet.lti.platform_keys"] = PlatformKeyCache(min_refetch_seconds=0)
    yield test_platform
    test_platform.stop()
    app.extensions.pop("mentornet.lti.platform_keys", None)


@pytest.fixture
def make_platform():
    """More stand-in platforms (another issuer, say), stopped after the test."""
    started = []

    def make(**options) -> TestPlatform:
        started.append(TestPlatform(**options))
        return started[-1]

    yield make
    for other in started:
        other.stop()


@pytest.fixture
def registered(platform, run):
    """The stand-in platform, registered with the tool (e-mails not trusted)."""
    run(platform.register)
    return platform
