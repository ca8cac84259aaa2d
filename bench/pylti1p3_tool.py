"""The LTI launch benchmark's peer: a tool built on pylti1p3 2.0's Flask integration doing the same launch.

``GET/POST /lti/login`` answers the OIDC login with pylti1p3's ``FlaskOIDCLogin`` (state in a cookie, nonce in
Flask's signed session cookie), ``POST /lti/launch`` checks the launch with ``FlaskMessageLaunch`` and answers
200 with the user's ``sub``. The platform's key set is given in the tool's configuration (``key_set``), as
mentorNET keeps it cached per process: neither tool fetches it during the measurement.

Run it as ``python bench/pylti1p3_tool.py --host H --port P --workers W --threads T`` with
``BENCH_PYLTI_CONFIG`` (JSON: issuer, client_id, deployment_id, auth_login_url, jwks, secret_key); it is served
by ``network_service.serving.run_gunicorn`` itself, with the same gunicorn options as `mentornet serve`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_app(config: dict):
    from flask import Flask, jsonify
    from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
    from pylti1p3.tool_config import ToolConfDict

    tool_conf = ToolConfDict(
        {
            config["issuer"]: [
                {
                    "default": True,
                    "client_id": config["client_id"],
                    "auth_login_url": config["auth_login_url"],
                    "auth_token_url": config["auth_login_url"],
                    "auth_audience": None,
                    "key_set_url": None,
                    "key_set": config["jwks"],
                    "deployment_ids": [config["deployment_id"]],
                }
            ]
        }
    )
    app = Flask("pylti1p3_bench_tool")
    app.secret_key = config["secret_key"]

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.route("/lti/login", methods=["GET", "POST"])
    def login():
        request = FlaskRequest()
        target = request.get_param("target_link_uri")
        return FlaskOIDCLogin(request, tool_conf).redirect(target)

    @app.post("/lti/launch")
    def launch():
        message = FlaskMessageLaunch(FlaskRequest(), tool_conf)
        data = message.get_launch_data()  # every check pylti1p3 makes; raises LtiException on a failure
        return jsonify(sub=data["sub"])

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    config = json.loads(os.environ["BENCH_PYLTI_CONFIG"])

    from network_service import serving

    class _PyltiServer(serving._Server):
        def load(self):  # in each worker after the fork, as `mentornet serve` creates its application
            return make_app(config)

    serving._Server = _PyltiServer
    serving.run_gunicorn(args.host, args.port, args.workers, args.threads)


if __name__ == "__main__":
    main()
