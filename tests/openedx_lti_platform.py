"""Open edX's own LTI 1.3 platform code, lti-consumer-xblock's ``LtiAdvantageConsumer``, served over HTTP.

Run as a process of its own (``python -m tests.openedx_lti_platform '<json>'``): Django is configured here, so
its settings never reach the test process. It does what the LMS's LTI consumer block does: ``/start`` is the
block's launch button (``prepare_preflight_url``, the launch data kept in Django's cache under
``lti_message_hint``), ``/auth`` is the LMS's ``launch_gate_endpoint`` (reads the launch data back, sets the
user, resource link and context claims, ``generate_launch_request`` from the tool's redirect, and answers the
auto-posting form), ``/jwks`` the block's public key set. It prints one JSON line with its addresses, then
serves until its standard input closes.
"""

from __future__ import annotations

import html
import json
import sys
import threading


def main() -> None:
    options = json.loads(sys.argv[1])
    tool = options["tool_base_url"]

    import django
    from django.conf import settings

    settings.configure(
        PLATFORM_NAME="Test Open edX",
        SECRET_KEY="openedx-platform-test-only",  # noqa: S106 - a throwaway process
        USE_TZ=True,
        INSTALLED_APPS=[],
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    )
    django.setup()

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from lti_consumer.data import Lti1p3LaunchData
    from lti_consumer.lti_1p3.consumer import LtiAdvantageConsumer
    from lti_consumer.utils import get_data_from_cache
    from werkzeug.serving import make_server
    from werkzeug.utils import redirect
    from werkzeug.wrappers import Request, Response

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    server = make_server("127.0.0.1", 0, None, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    client_id, deployment_id = "openedx-client-1", "1"

    def consumer() -> LtiAdvantageConsumer:
        return LtiAdvantageConsumer(
            iss=base,
            lti_oidc_url=f"{tool}/lti/login",
            lti_launch_url=f"{tool}/lti/launch",
            client_id=client_id,
            deployment_id=deployment_id,
            rsa_key=pem,
            rsa_key_id="openedx-key-1",
            redirect_uris=[f"{tool}/lti/launch"],
            tool_keyset_url=f"{tool}/lti/jwks",
        )

    @Request.application
    def app(request: Request) -> Response:
        if request.path == "/jwks":
            return Response(json.dumps(consumer().get_public_keyset()), mimetype="application/json")
        if request.path == "/start":  # the learner presses the block's launch button
            args = request.args
            launch_data = Lti1p3LaunchData(
                user_id=args["user_id"],
                user_role=args.get("role", "student"),
                config_id=args.get("config_id", "config-1"),
                resource_link_id="block-v1:TestOrg+MENTOR+2026+type@lti_consumer+block@mentornet",
                name=args.get("name"),
                email=args.get("email"),
                context_id=args.get("context_id"),
                context_title="Mentoring migrants",
            )
            return redirect(consumer().prepare_preflight_url(launch_data))
        if request.path == "/auth":  # the LMS's launch_gate_endpoint
            launch_data = get_data_from_cache(request.args.get("lti_message_hint", ""))
            if launch_data is None:
                return Response("unknown lti_message_hint", status=400)
            lti = consumer()
            lti.set_user_data(
                user_id=launch_data.user_id,
                role=launch_data.user_role,
                full_name=launch_data.name,
                email_address=launch_data.email,
            )
            lti.set_resource_link_claim(launch_data.resource_link_id)
            if launch_data.context_id:
                lti.set_context_claim(launch_data.context_id, context_title=launch_data.context_title)
            try:
                launch = lti.generate_launch_request(preflight_response=request.args.to_dict())
            except Exception as exc:  # the preflight check failed: the tool's redirect was wrong
                return Response(f"preflight refused: {type(exc).__name__}", status=400)
            fields = "".join(
                f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
                for name, value in launch.items()
            )
            action = html.escape(request.args["redirect_uri"])
            return Response(
                f'<form method="post" action="{action}" id="lti">{fields}<button>Launch</button></form>',
                mimetype="text/html",
            )
        return Response("not found", status=404)

    server.app = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(
        json.dumps(
            {
                "issuer": base,
                "client_id": client_id,
                "deployment_id": deployment_id,
                "oidc_auth_url": f"{base}/auth",
                "token_url": f"{base}/token",
                "jwks_url": f"{base}/jwks",
                "start_url": f"{base}/start",
            }
        ),
        flush=True,
    )
    sys.stdin.read()  # until the test closes our standard input
    server.shutdown()


if __name__ == "__main__":
    main()
