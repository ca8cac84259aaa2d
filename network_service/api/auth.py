from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from flask_smorest import abort

from network_service.accounts.models import Person
from network_service.accounts.operations import person_for_api_token
from network_service.security import csrf, current_person

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

# The endpoints anyone may call: their request body carries its own credential (an invitation token).
PUBLIC_ENDPOINTS = {"api_networks.AcceptInvitation"}
# Requests anyone may make without credentials: the public directory (its changes need a site administrator).
PUBLIC_REQUESTS = {
    ("api_directory.Directory", "GET"),
    ("api_directory.Directory", "HEAD"),
    ("api_directory.EntryDetail", "GET"),
    ("api_directory.EntryDetail", "HEAD"),
    ("api_directory.Suggestions", "POST"),
}


def authenticate() -> None:
    """Before every API request: a bearer token first; a browser session works too, but then writes need
    the CSRF token in ``X-CSRFToken`` (API blueprints are exempt from the form-based check).

    Runs before the request body is parsed, so a client without valid credentials learns that first, not
    how its input would have been judged."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        person = person_for_api_token(header[7:].strip())
        g.current_person = person
        g.api_auth = "bearer" if person else "invalid"
    else:
        g.api_auth = "session" if current_person() is not None else None
        if g.api_auth == "session" and request.method not in SAFE_METHODS:
            csrf.protect()
    if (
        request.method != "OPTIONS"  # CORS preflights carry none
        and request.endpoint not in PUBLIC_ENDPOINTS
        and (request.endpoint, request.method) not in PUBLIC_REQUESTS
    ):
        require_person()


def require_json_body() -> None:
    """Before every API request: a write whose body is not JSON would parse as no fields at all, and a PATCH
    would then succeed without changing anything; refuse it instead."""
    if request.method not in SAFE_METHODS and request.mimetype and not request.is_json:
        abort(415, message=_("Send the request body as JSON, with Content-Type: application/json."))


def require_person() -> Person:
    person = current_person()
    if person is None:
        message = (
            _("The bearer token is not valid.")
            if g.get("api_auth") == "invalid"
            else _("Authentication required.")
        )
        abort(401, message=message, headers={"WWW-Authenticate": 'Bearer realm="mentornet"'})
    return person
