"""Cross-cutting protections: CSRF, security headers, rate limits, and who is signed in."""

from __future__ import annotations

import functools
import hashlib
import logging
from urllib.parse import urlsplit

from flask import Flask, Request, current_app, g, has_request_context, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter

from network_service.accounts import sessions
from network_service.accounts.models import Person
from network_service.errors import MentorNetError

csrf = CSRFProtect()

# endpoint -> (limit, methods), per client address. Plugins add theirs with ``rate_limit``.
RATE_LIMITS: dict[str, tuple[str, list[str]]] = {
    "accounts.sign_in": ("5 per minute;30 per hour", ["POST"]),
    # links that carry a secret in the path: slow down anyone trying to guess one
    "accounts.confirm_sign_in": ("20 per minute;100 per hour", ["GET", "POST"]),
    "networks.invitation": ("20 per minute;100 per hour", ["GET", "POST"]),
    "notifications.unsubscribe": ("20 per minute;100 per hour", ["GET", "POST"]),
}
# Every JSON API request counts against its credential (the bearer token, else the signed-in person, else the
# client address); requests refused for a bad credential (401) also count against the client address, so
# trying one token after another is slowed down however many tokens are tried.
# (The per-credential limit is the setting RATELIMIT_API.)
API_AUTH_FAILURE_LIMIT = "20 per minute;100 per hour"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

log = logging.getLogger(__name__)
LIMIT_STORAGE_TIMEOUT = 1.0  # seconds a rate-limit storage (Redis) may take to connect or to answer


def exempt_from_csrf(view):
    return csrf.exempt(view)


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` in a URL matches only ids a database column can hold: a larger number is a 404, not an
    overflow inside the database driver (a 500)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", 2**31 - 1)  # PostgreSQL INTEGER
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.url_map.converters["int"] = BoundedIntegerConverter  # before any blueprint adds its routes

    app.request_class = MentorNetRequest
    app.before_request(refuse_nul_characters)

    @app.after_request
    def _secure_headers(response):
        frame_ancestors, form_action = g.get("frame_ancestors"), g.get("form_action")
        policy = CSP
        if form_action:  # a page that posts back to one known origin (an LMS's deep-linking return URL)
            policy = policy.replace("form-action 'self'", f"form-action 'self' {form_action}")
        # Each header is set unless the view set it already (as ``Headers.setdefault`` would, which scans the
        # list twice and raises and catches a KeyError for each header it adds: a tenth of a page's own work in
        # this hook; here the names present are read once).
        present = {name.lower() for name, _value in response.headers}
        add = response.headers.add
        if frame_ancestors:
            # A page made to be framed by one known origin (an LMS): CSP names it; X-Frame-Options cannot.
            policy = policy.replace("frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}")
            if "content-security-policy" not in present:
                add("Content-Security-Policy", policy)
        else:
            if "content-security-policy" not in present:
                add("Content-Security-Policy", policy)
            if "x-frame-options" not in present:
                add("X-Frame-Options", "DENY")
        for lower, name, value in _STATIC_HEADERS:
            if lower not in present:
                add(name, value)
        if _is_https(current_app.config["BASE_URL"]) and "strict-transport-security" not in present:
            add("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if (
            "person_id" in session or request.endpoint in _PRIVATE_ENDPOINTS
        ) and "cache-control" not in present:
            add("Cache-Control", "no-store")
        if g.get("clear_browser_storage") and "clear-site-data" not in present:
            # "storage" only: "cookies" would clear every cookie of the registrable domain, other sites under it too
            add("Clear-Site-Data", '"storage"')
        return response


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _refuse_nul() -> None:
    raise MentorNetError(_("The request holds a NUL character (0x00), which no field accepts."))


class MentorNetRequest(Request):
    """Flask's request, whose form (urlencoded or multipart, whoever parses it first: CSRF, a view, the hook
    below) is refused when a field or an uploaded file's name holds a NUL character."""

    def _load_form_data(self) -> None:
        parsing = "form" not in self.__dict__  # called again by ``files`` and ``stream``: check once
        super()._load_form_data()
        if parsing and (
            _holds_nul(self.form.to_dict(flat=False))
            or any("\x00" in (upload.filename or "") for upload in self.files.values())
        ):
            _refuse_nul()


def refuse_nul_characters() -> None:
    """Before every request: no text we keep may hold a NUL character (PostgreSQL refuses it in text and JSON,
    deep inside a query: a 500). Refused at the door instead (400), wherever it comes: the path, the query, a
    JSON body, or a form (``MentorNetRequest``; a multipart form is parsed by its view, under the view's size
    limit, and refused then)."""
    # In a query string a NUL can only come as "%00" (HTTP carries no raw NUL byte there): look for that in the
    # raw bytes instead of decoding every value on every request.
    if "\x00" in request.path or b"%00" in request.query_string:
        _refuse_nul()
    if request.mimetype == "application/x-www-form-urlencoded":
        request.form  # noqa: B018 - parsed (and checked) now, even for a view that never reads it
    elif request.is_json and _holds_nul(request.get_json(silent=True)):
        _refuse_nul()


# Set on every response unless the view set them (after CSP and X-Frame-Options, before HSTS and Cache-Control).
_STATIC_HEADERS = tuple(
    (name.lower(), name, value)
    for name, value in (
        ("X-Content-Type-Options", "nosniff"),
        # Sign-in and invitation links carry secrets in the path: never leak them to another site in a Referer.
        # Not no-referrer: on https, Flask-WTF refuses a form post without a same-origin Referer, and browsers
        # send Origin: null under no-referrer, so every form would fail (tests/test_web.py::test_https_forms...).
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    )
)


@functools.lru_cache(maxsize=8)
def _is_https(base_url: str) -> bool:
    return urlsplit(base_url).scheme == "https"


def init_rate_limits(app: Flask) -> None:
    """One limiter per application (Flask-Limiter keeps its switches on the instance), applied to the
    endpoints in RATE_LIMITS once every blueprint is registered. Redis in production, memory in the demo."""
    storage = rate_limit_storage(app.config)
    enabled = (
        not app.config.get("TESTING")
        if app.config.get("RATELIMIT_ENABLED") is None
        else bool(app.config["RATELIMIT_ENABLED"])
    )
    if enabled and storage == "memory://" and app.config.get("ENV") == "production":
        log.warning(
            "Rate limits are counted in each process's memory: with several workers or hosts every limit is "
            "multiplied by their number. Set MENTORNET_RATELIMIT_STORAGE_URL (or a Redis MENTORNET_BROKER_URL)."
        )
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri=storage,
        # A Redis that accepts connections and never answers (a hung host, a firewall dropping packets) must not
        # hang the requests it limits: give up after a second, then count in memory (below) until it is back.
        storage_options=(
            {"socket_timeout": LIMIT_STORAGE_TIMEOUT, "socket_connect_timeout": LIMIT_STORAGE_TIMEOUT}
            if storage.startswith(("redis://", "rediss://"))
            else {}
        ),
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX") or "",
        enabled=enabled,
        headers_enabled=True,  # X-RateLimit-* on every limited answer, Retry-After on a 429
        # Redis down: count in this process's memory until it is back, and never fail a request for it
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )
    app.extensions["mentornet.limiter"] = limiter
    app.extensions["mentornet.limited_endpoints"] = {}
    limiter.request_filter(_no_limit_applies)
    for endpoint, (limit, methods) in RATE_LIMITS.items():
        rate_limit(app, endpoint, limit, methods)
    for name, blueprint in app.blueprints.items():
        if name.startswith("api_"):  # the JSON API's blueprints (api-docs, the OpenAPI document, is not)
            limiter.limit(app.config["RATELIMIT_API"], key_func=api_rate_key)(blueprint)
            limiter.limit(
                API_AUTH_FAILURE_LIMIT,
                key_func=get_remote_address,
                deduct_when=lambda response: response.status_code == 401,
            )(blueprint)
    # Plugins list theirs here: (endpoint, limit, methods, Flask-Limiter options)
    for endpoint, limit, methods, options in app.extensions.get("mentornet.rate_limits", []):
        rate_limit(app, endpoint, limit, methods, **options)


def rate_limit_storage(config) -> str:
    """MENTORNET_RATELIMIT_STORAGE_URL, else the broker's Redis, else memory (each process counts alone)."""
    if config.get("RATELIMIT_STORAGE_URL"):
        return config["RATELIMIT_STORAGE_URL"]
    broker = config.get("BROKER_URL") or ""
    if broker.startswith(("redis://", "rediss://")):
        return broker
    return "memory://"


def api_rate_key() -> str:
    """Whose budget a request spends: a bearer token's (by its hash), the signed-in person's, or the client
    address's. For the API, and for what signed-in people do often (posting): many of them may share one
    address (an organisation's office, a mobile network's NAT), and must not share one budget."""
    header = request.headers.get("Authorization", "")
    # Only the API reads bearer tokens: on a page, a made-up header would be a fresh budget with each request.
    if header.lower().startswith("bearer ") and (request.blueprint or "").startswith("api_"):
        return "token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:32]
    person_id = session.get("person_id")
    if person_id is not None:
        return f"person:{person_id}"
    return "address:" + (get_remote_address() or "")


def person_rate_key() -> str:
    """Whose budget a write spends when a page and its API share one (``shared_scope``): the person, however
    they came (the API's bearer token was resolved to its owner before the view, api/auth.py; a page's session
    names the person), so that switching from the page to the API, or to a second token, buys no more.

    Only the API reads a bearer token: a page's limit is checked before its view signs anyone in, and a made-up
    ``Authorization`` header sent along with a page's form must not buy a fresh budget."""
    if (request.blueprint or "").startswith("api_"):
        person = g.get("current_person")  # api/auth.authenticate ran before the view
        if person is not None:
            return f"person:{person.id}"
        return api_rate_key()
    person_id = session.get("person_id")
    if person_id is not None:
        return f"person:{person_id}"
    return "address:" + (get_remote_address() or "")


def declare_shared_limit(blueprint, scope: str, limit: str, endpoints) -> None:
    """Declare one per-person budget, ``limit``, that the ``endpoints`` (``(endpoint, methods)`` pairs: a page
    and its API counterparts) spend together, when ``blueprint`` is registered; applied by ``init_rate_limits``
    once every blueprint is there."""

    def declare(state) -> None:
        limits = state.app.extensions.setdefault("mentornet.rate_limits", [])
        for endpoint, methods in endpoints:
            limits.append(
                (endpoint, limit, list(methods), {"key_func": person_rate_key, "shared_scope": scope})
            )
        keep_form_when_limited(state.app, [endpoint for endpoint, _methods in endpoints])

    blueprint.record_once(declare)


def keep_form_when_limited(app: Flask, endpoints) -> None:
    """A form of these endpoints refused by a rate limit answers a page that keeps what was typed, ready to send
    again (errors._too_many_writes_page). Only for the signed-in person's own CSRF-checked forms: never for a
    post from elsewhere (an LTI launch, whose body is a credential) or a link's secret."""
    app.extensions.setdefault("mentornet.kept_form_endpoints", set()).update(endpoints)


def keeps_form(form, *, hidden=()):
    """Decorate the view of an endpoint listed with ``keep_form_when_limited`` with the Flask-WTF form class it
    builds (or a function of the view's arguments that returns it, for a view whose form depends on them): the
    page of a refused post (errors._too_many_writes_page) then shows each kept field with its form's own label, in
    the form's order. ``hidden`` names what the view's template posts as hidden inputs outside the form's own
    fields (ids of people chosen with a picker) or as a named submit button (the button pressed): re-sent as
    they came. Nothing else is re-sent unseen."""

    def decorate(view):
        view.mentornet_kept_form = (form, frozenset(hidden))
        return view

    return decorate


def rate_limit(app: Flask, endpoint: str, limit: str, methods: list[str] | None = None, **options) -> None:
    """Limit one endpoint; ``options`` go to Flask-Limiter (e.g. ``deduct_when`` to count only failures), except
    ``shared_scope``: the name of one budget that every endpoint declared with it spends together (a page and
    its API counterpart)."""
    view = app.view_functions.get(endpoint)
    if view is not None:
        limiter = app.extensions["mentornet.limiter"]
        shared = options.pop("shared_scope", None)
        if shared:
            limited = limiter.shared_limit(limit, scope=shared, methods=methods, **options)(view)
        else:
            limited = limiter.limit(limit, methods=methods, **options)(view)
        app.view_functions[endpoint] = limited
        known = app.extensions["mentornet.limited_endpoints"]
        if not methods or known.get(endpoint, ()) is None:  # Flask-Limiter: no methods, every method
            known[endpoint] = None
        else:
            known[endpoint] = frozenset(known.get(endpoint, ())) | {method.upper() for method in methods}


def _no_limit_applies() -> bool:
    """Flask-Limiter's request filter: True for a request that no limit applies to (a page view, most forms), which
    then skips the limiter's bookkeeping (resolving the limits of its endpoint and blueprint: about a twentieth of
    a page view's CPU under load). The limits are those set with ``rate_limit`` (endpoint, methods) and the JSON
    API's blueprints (every request); Flask-Limiter itself would find none for such a request."""
    blueprint = request.blueprint
    if blueprint is not None and blueprint.startswith("api_"):
        return False
    methods = current_app.extensions["mentornet.limited_endpoints"].get(request.endpoint, ())
    return methods is not None and request.method not in methods


_PRIVATE_ENDPOINTS = {"accounts.confirm_sign_in", "networks.invitation"}


def sign_in(person: Person, *, via: str) -> None:
    """Start a fresh session for ``person``: the old session's contents (and CSRF token) are dropped, the old
    session's record ends, and a new record (a signed-in device the person can see and sign out) begins. Every
    way in calls this and says which it is (``via``: one of ``accounts.sessions.VIA_*``): sign-in links,
    invitations, LTI launches, the course panel's link. Only some count as a strong sign-in
    (``sessions.STRONG_SIGN_INS``): said here by each caller, never guessed from where the request went."""
    old_sid = session.get("sid")
    session.clear()
    session.permanent = True
    device = sessions.start_session(  # ends the old session's record: its row becomes the new one
        person, request.headers.get("User-Agent"), via, replacing=old_sid
    )
    session.update(sessions.cookie_data(device))
    g.pop("current_person", None)


def sign_out() -> None:
    """End the session: its record goes (the cookie, wherever it was copied, stops working) and the browser's
    copy is emptied."""
    sessions.end_session(session.get("sid"))
    session.clear()
    g.pop("current_person", None)
    # What this tab kept in the browser's storage goes too (a draft typed on the new direct message page,
    # static/js/draft.js): on a shared phone or an office computer, the next person must not find it.
    g.clear_browser_storage = True


def current_person() -> Person | None:
    """The signed-in person (or the API token's owner); None outside a request, e.g. in a CLI command.

    A session counts only while its record exists (accounts/sessions.py): one statement loads the person with
    it. Whichever cookie carried the session, its ``sid`` is what is checked."""
    if "current_person" in g:
        return g.current_person
    if not has_request_context():
        return None
    person = None
    person_id = session.get("person_id")
    if person_id is not None:
        person = sessions.person_for_session(person_id, session.get("sid"))
        if person is None:  # signed out elsewhere, expired, or the account is gone: forget the session
            session.clear()
            g.clear_browser_storage = True  # and what the tab kept (sign_out)
    g.current_person = person
    return person


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_person() is None:
            return redirect(url_for("accounts.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper
