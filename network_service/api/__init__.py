"""JSON API v1. The OpenAPI description at /api/v1/openapi.json is generated from these schemas."""

from __future__ import annotations

import http

from flask import Flask
from flask_smorest import Api

from network_service.api.schemas import ProblemSchema
from network_service.security import csrf

PROBLEM_JSON = "application/problem+json"
# The date of the latest change a client could notice (docs/api-changes.md, which lists each one and the rule);
# the OpenAPI description's info.version names it.
API_REVISION = "2026-11-30"


class ProblemApi(Api):
    """Documents error responses as the problem documents ``errors.problem`` sends, not flask-smorest's own
    error payload (which this application never returns)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:  # flask-smorest's hook for its status-code response components
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if status >= 400:
                response["content"] = {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            "DEFAULT_ERROR",
            {
                "description": "An RFC 9457 problem document",
                "content": {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}},
            },
            lazy=True,
        )


def init_api(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "mentorNET network service")
    app.config.setdefault("API_VERSION", f"v1 (revision {API_REVISION})")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": "The network service's JSON API. Authenticate with `Authorization: Bearer <token>` "
                "(make one on the devices page, /profile/sessions; the operator can with `mentornet token create "
                "EMAIL`) or with the browser session; session requests that change data must send the CSRF token in `X-CSRFToken`. Errors are RFC 9457 "
                "problem documents; `errors` maps each invalid field to its messages. Until mentorNET 1.0, v1 may "
                "still change; each change other than an addition is listed, with its date, in docs/api-changes.md "
                "(the revision in `info.version` is the latest).",
            },
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "session": {"type": "apiKey", "in": "cookie", "name": "mentornet_session"},
                }
            },
            "security": [{"bearer": []}, {"session": []}],
        },
    )
    api = ProblemApi(app)  # one per application: it holds that application's OpenAPI document
    app.extensions["mentornet.api"] = api

    from network_service.api import (
        accounts,
        audit,
        conversations,
        directory,
        federations,
        goals,
        growth,
        help,
        insights,
        meetings,
        moderation,
        networks,
        notifications,
        resources,
    )
    from network_service.api import privacy as privacy_api

    blueprints = (
        accounts.blp,
        networks.blp,
        notifications.blp,
        meetings.blp,
        conversations.blp,
        moderation.blp,
        goals.blp,
        resources.blp,
        help.blp,
        directory.blp,
        insights.blp,
        federations.blp,
        growth.blp,
        privacy_api.blp,
        audit.blp,
    )
    for blueprint in blueprints:
        csrf.exempt(blueprint)  # each blueprint checks CSRF itself for session-authenticated writes
        api.register_blueprint(blueprint, url_prefix="/api/v1")
