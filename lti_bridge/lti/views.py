"""The tool's endpoints: login initiation, launch, the tool's key set, its configuration, e-mail confirmation.

Views only read the request, call one operation and answer; the checks live in ``launch.py``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from lti_bridge.lti import contexts, deep_linking, dynamic, gated, keys, roles
from lti_bridge.lti.forms import ConfirmEmailForm
from lti_bridge.lti.identity import identity_for_launch, link_identity, pending_identity
from lti_bridge.lti.launch import (
    DEEP_LINKING_REQUEST,
    DEPLOYMENT_ID,
    LOGIN_MINUTES,
    MESSAGE_TYPE,
    TARGET_LINK_URI,
    LaunchRejected,
    LoginRefused,
    login_in_flight,
    platform_origin,
    spend_login,
    start_login,
    state_hash,
    storage_proof,
    unverified_claims,
    validate_launch,
)
from lti_bridge.lti.models import LtiNonce
from lti_bridge.lti.platform_keys import PlatformKeyCache
from lti_bridge.lti.registrations import list_platforms
from network_service.accounts.operations import get_or_create_person, request_sign_in
from network_service.accounts.sessions import VIA_LTI
from network_service.db import session
from network_service.errors import InvalidInput, LinkInvalid, MentorNetError
from network_service.security import current_person, login_required, sign_in
from network_service.sessions import frame_binding, framed_request, start_frame_session
from network_service.urls import public_url

log = logging.getLogger(__name__)

bp = Blueprint("lti", __name__, url_prefix="/lti")

STATE_COOKIE = "mentornet_lti_state"
PENDING_COOKIE = "mentornet_lti_pending"
FRAME_ORIGIN = "mentornet_lti_frame_origin"
FRAME_CHECK = "mentornet_lti_frame_check"
FRAME_CHECK_SECONDS = 300
STATES_KEPT = 3  # logins in flight per browser (several course tabs launching at once)
PENDING_SECONDS = 3600


def platform_keys() -> PlatformKeyCache:
    return current_app.extensions.setdefault("mentornet.lti.platform_keys", PlatformKeyCache())


def _signer(salt: str) -> URLSafeTimedSerializer:
    return _kept_signer(current_app.secret_key, salt)


@functools.lru_cache(maxsize=64)
def _kept_signer(secret_key, salt: str) -> URLSafeTimedSerializer:
    """Built once per key and salt (a login and a launch use two or three): a new SECRET_KEY gets new ones."""
    return URLSafeTimedSerializer(secret_key, salt=salt)


def _base_url() -> str:
    return public_url()


def _cookie_states() -> list[str]:
    raw = request.cookies.get(STATE_COOKIE)
    if not raw:
        return []
    try:
        states = _signer(STATE_COOKIE).loads(raw, max_age=LOGIN_MINUTES * 60)
    except BadSignature:
        return []
    return [state for state in states if isinstance(state, str)] if isinstance(states, list) else []


def _set_cross_site_cookie(response, name: str, value: str, max_age: int, partitioned: bool = False) -> None:
    # Launches arrive from the LMS's site, often inside its iframe: only SameSite=None cookies travel along.
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/lti/",
        secure=True,
        httponly=True,
        samesite="None",
        partitioned=partitioned,
    )


def _set_state_cookie(response, states: list[str]) -> None:
    # Partitioned (CHIPS): the login and its launch run in the same frame (or the same window), so the cookie
    # never needs to leave the partition of the page around them, and browsers that block other third-party
    # cookies keep a partitioned one.
    _set_cross_site_cookie(
        response, STATE_COOKIE, _signer(STATE_COOKIE).dumps(states), LOGIN_MINUTES * 60, partitioned=True
    )


def _refused(
    title: str, message: str, status: int, check: str | None = None, platform=None, relaunch_url=None
):
    response = current_app.make_response(
        (
            render_template(
                "lti/refused.html",
                title=title,
                message=message,
                check=check,
                platform=platform,
                relaunch_url=relaunch_url,
            ),
            status,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    params = {key: request.values.get(key, "") for key in request.values}
    try:
        started = start_login(params, redirect_uri=f"{_base_url()}/lti/launch", base_url=_base_url())
    except LoginRefused as exc:
        log.warning(
            "LTI login refused: %s (iss=%r client_id=%r)",
            exc.message,
            params.get("iss"),
            params.get("client_id"),
        )
        return _refused(_("The LTI login was refused"), exc.message, 400)
    if started.storage_target:
        # LTI platform storage: the page stores the state's proof in the platform's frame, then goes on.
        _frameable_anywhere()
        response = current_app.make_response(
            render_template(
                "lti/storage_login.html",
                platform_origin=platform_origin(started.platform),
                storage_target=started.storage_target,
                state=started.state,
                proof=storage_proof(started.state),
                next_url=started.url,
            )
        )
    else:
        response = redirect(started.url, 302)
    _set_state_cookie(response, [started.state, *_cookie_states()][:STATES_KEPT])
    response.headers["Cache-Control"] = "no-store"
    return response


def _frameable_anywhere() -> None:
    """The login and launch pages run in the course page's frame, whose origin we do not know (it need not be
    the platform's OIDC origin). They hold no action a framing page could trick anyone into."""
    g.frame_ancestors = "*"


def _relaunch_url(login) -> str | None:
    """The same login again, in a window of its own (first-party, so the state cookie sticks)."""
    if login is None or not login.login_params:
        return None
    return url_for("lti.login") + "?" + urlencode(login.login_params)


@bp.post("/launch")
def launch():
    id_token = request.form.get("id_token", "")
    form_state = request.form.get("state", "")
    cookie_states = _cookie_states()
    if form_state not in cookie_states and id_token:
        login = login_in_flight(form_state)
        if login is not None and login.storage_target:
            # No cookie (a browser that blocks third-party cookies): prove the state through the platform.
            _frameable_anywhere()
            response = current_app.make_response(
                render_template(
                    "lti/storage_launch.html",
                    platform_origin=platform_origin(login.platform),
                    storage_target=login.storage_target,
                    state=form_state,
                    id_token=id_token,
                    frame_origin=_signer(FRAME_ORIGIN).dumps(_posting_origin() or ""),
                    relaunch_url=_relaunch_url(login),
                )
            )
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "same-origin"  # its form posts our Origin with it
            return response
    try:
        valid = validate_launch(
            id_token=id_token, form_state=form_state, cookie_states=cookie_states, keys=platform_keys()
        )
    except LaunchRejected as exc:
        return _rejected(
            exc, id_token, _relaunch_url(login_in_flight(form_state)) if exc.check == "state" else None
        )
    # A frame on another site than ours (a frame on the same site gets the first-party session)
    in_frame = framed_request(request) and request.headers.get("Sec-Fetch-Site") == "cross-site"
    return _launched(valid, cookie_states, form_state, frame_origin=_posting_origin() if in_frame else None)


@bp.post("/launch/storage")
def launch_storage():
    """The launch page's answer from LTI platform storage: the state's proof read back from the platform's frame.

    Only our own page may post it: a form another site makes the browser post carries that site's Origin."""
    id_token = request.form.get("id_token", "")
    form_state = request.form.get("state", "")
    if not _posted_by_our_page():
        exc = LaunchRejected("state", _("This form can only be sent by mentorNET's own launch page."), 403)
        return _rejected(exc, id_token)
    try:
        valid = validate_launch(
            id_token=id_token,
            form_state=form_state,
            cookie_states=[],
            keys=platform_keys(),
            stored_proof=request.form.get("lti_storage_proof", ""),
        )
    except LaunchRejected as exc:
        return _rejected(
            exc, id_token, _relaunch_url(login_in_flight(form_state)) if exc.check == "state" else None
        )
    frame_origin = None
    if framed_request(request):
        try:
            frame_origin = _signer(FRAME_ORIGIN).loads(
                request.form.get("frame_origin", ""), max_age=LOGIN_MINUTES * 60
            )
        except BadSignature:
            frame_origin = ""
    response = _launched(valid, [], form_state, frame_origin=frame_origin)
    landing = urlsplit(response.headers.get("Location", "")).path
    if response.status_code == 303 and not landing.startswith(("/embed/", url_for("lti.frame"))):
        # The launch is done (the learner known, a pass acted on), but this browser keeps no cookie of ours in
        # the course's frame: the pages after it need the same launch again in a window of its own.
        login = session.scalar(sa.select(LtiNonce).where(LtiNonce.state_hash == state_hash(form_state)))
        _frameable_anywhere()
        response = current_app.make_response(
            render_template("lti/storage_done.html", relaunch_url=_relaunch_url(login))
        )
        response.headers["Cache-Control"] = "no-store"
    return response


def _posted_by_our_page() -> bool:
    base = urlsplit(_base_url())
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        return origin == f"{base.scheme}://{base.netloc}"
    # No origin, or "null" (a page with Referrer-Policy no-referrer): the browser's own Sec-Fetch-Site, which no
    # page can set, must say same-origin.
    return request.headers.get("Sec-Fetch-Site") == "same-origin"


def _posting_origin() -> str | None:
    """The origin of the page that posted this launch (the platform's launch form), as the browser says."""
    origin = request.headers.get("Origin", "")
    parts = urlsplit(origin)
    if parts.scheme in ("http", "https") and parts.netloc and origin == f"{parts.scheme}://{parts.netloc}":
        return origin
    return None


def _start_frame_session(valid, frame_origin: str) -> None:
    """The launch runs in a frame on another site: keep its session in the frame cookie, bound to the launch.

    Its pages may be framed by the page that posted the launch and by the platform's OIDC origin only."""
    origins = [platform_origin(valid.platform)]
    if frame_origin and frame_origin not in origins:
        origins.insert(0, frame_origin)
    start_frame_session({"o": origins, "p": valid.platform.id})


def _launched(valid, cookie_states: list[str], form_state: str, frame_origin: str | None = None):
    if valid.claims.get(MESSAGE_TYPE) == DEEP_LINKING_REQUEST:
        contexts.remember_context(
            valid
        )  # the course and its roster service, for the coordinators' roster page
        response = current_app.make_response(_deep_linking_picker(valid))
        return _end_login(response, cookie_states, form_state)
    identity = identity_for_launch(valid)
    # The course (as above), and in the same statement whether the learner holds a coordinator grant for it.
    context, holds_grant = contexts.remember_context_of(valid, identity.person)
    course_key = gated.gated_course(valid)
    passed = gated.provision_from_launch(valid, identity, course_key) if course_key else None
    if identity.person is None:
        binding = secrets.token_urlsafe(24)
        response = redirect(url_for("lti.confirm_email"), 303)
        pending_value = {"i": identity.id, "b": binding}
        if passed is not None:  # the pass waits for the e-mail address the learner is about to confirm
            pending_value.update(c=course_key, e=passed.event.event_id)
        pending = _signer(PENDING_COOKIE).dumps(pending_value)
        _set_cross_site_cookie(response, PENDING_COOKIE, pending, PENDING_SECONDS)
    else:
        # instructors act as coordinators
        roles.apply_launch_roles(valid, identity.person, context, holds_grant=holds_grant)
        sign_in(identity.person, via=VIA_LTI)  # a new session (and CSRF token), first-party or in the frame
        if frame_origin is not None:
            _start_frame_session(valid, frame_origin)
        if passed is not None and passed.invitation is not None:
            flash(
                _(
                    "Congratulations on passing the course! Your invitation to %(network)s is in your e-mail.",
                    network=passed.invitation.network.name,
                ),
                "success",
            )
        landing = _landing(valid)
        if landing.split("?")[0] == "/embed/panel":  # made for the iframe: it needs no session cookie
            from network_service.embed.views import panel_url

            landing = panel_url(identity.person, contexts.course_key_of(valid))
        elif frame_origin is not None:
            # Whether the browser kept the frame cookie is known only at the next request: ask it there.
            check = {"n": landing, "s": state_hash(form_state)}  # the login, for the new window
            landing = url_for("lti.frame", t=_signer(FRAME_CHECK).dumps(check))
        response = redirect(landing, 303)
    return _end_login(response, cookie_states, form_state)


@bp.get("/frame")
def frame():
    """After a launch in a frame: the page the link was made for when the frame session came back, else the same
    launch offered in a new window (the browser blocks even a partitioned cookie in the frame)."""
    try:
        check = _signer(FRAME_CHECK).loads(request.args.get("t", ""), max_age=FRAME_CHECK_SECONDS)
    except BadSignature:
        abort(400)
    if not isinstance(check, dict) or not isinstance(check.get("n"), str) or not check["n"].startswith("/"):
        abort(400)
    if frame_binding() is not None and current_person() is not None:
        return redirect(check["n"], 303)
    login = session.scalar(sa.select(LtiNonce).where(LtiNonce.state_hash == str(check.get("s"))))
    _frameable_anywhere()
    response = current_app.make_response(
        render_template("lti/storage_done.html", relaunch_url=_relaunch_url(login))
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_app_request
def _frame_session_may_be_framed() -> None:
    """A page shown with a frame session may be framed by the launch's origins (every other page: nobody)."""
    binding = frame_binding()
    if binding is not None:
        origins = [o for o in binding.get("o", ()) if isinstance(o, str) and " " not in o and ";" not in o]
        if origins:
            g.frame_ancestors = " ".join(origins)


def _landing(valid) -> str:
    """The page the link was made for (its target_link_uri, checked to be ours at login), else the home page."""
    target = urlsplit(str(valid.claims.get(TARGET_LINK_URI) or ""))
    base = urlsplit(_base_url())
    if (target.scheme, target.netloc) != (base.scheme, base.netloc):
        return url_for("networks.home")
    path = target.path[len(base.path.rstrip("/")) :] if base.path.strip("/") else target.path
    if not path.startswith("/") or path.startswith(("//", "/lti/")):
        return url_for("networks.home")
    return path + (f"?{target.query}" if target.query else "")


def _end_login(response, cookie_states: list[str], form_state: str):
    remaining = [state for state in cookie_states if state != form_state]
    if remaining:  # other course tabs are still logging in
        _set_state_cookie(response, remaining)
    else:
        response.delete_cookie(
            STATE_COOKIE, path="/lti/", secure=True, httponly=True, samesite="None", partitioned=True
        )
    return response


def _rejected(exc: LaunchRejected, id_token: str, relaunch_url: str | None = None):
    claimed = unverified_claims(id_token) if id_token else {}
    registration = (
        f"{exc.platform.id} (issuer {exc.platform.issuer}, client id {exc.platform.client_id})"
        if exc.platform is not None
        else "none"
    )
    log.warning(
        "LTI launch rejected at check %s; claimed iss=%r aud=%r deployment_id=%r; registration %s; %s",
        exc.check,
        claimed.get("iss"),
        claimed.get("aud"),
        claimed.get("https://purl.imsglobal.org/spec/lti/claim/deployment_id"),
        registration,
        exc.message,
    )
    session.rollback()
    if exc.spent_login_id is not None:
        # The token passed signature and nonce: it stays spent even though the launch goes no further.
        spend_login(exc.spent_login_id)
        session.commit()
    if relaunch_url:
        _frameable_anywhere()  # shown in the course's frame: it must be seen to offer the new window
    return _refused(
        _("The LTI launch was refused"),
        exc.message,
        exc.status,
        check=exc.check,
        platform=exc.platform,
        relaunch_url=relaunch_url,
    )


def _pending_cookie() -> dict | None:
    raw = request.cookies.get(PENDING_COOKIE)
    if not raw:
        return None
    try:
        value = _signer(PENDING_COOKIE).loads(raw, max_age=PENDING_SECONDS)
    except BadSignature:
        return None
    return value if isinstance(value, dict) else None


def _binding_hash(binding: str) -> str:
    return hashlib.sha256(binding.encode("utf-8")).hexdigest()[:32]


@bp.route("/confirm-email", methods=["GET", "POST"])
def confirm_email():
    pending = _pending_cookie()
    identity = pending_identity(pending["i"]) if pending else None
    if identity is None:
        return _refused(
            _("Launch again from your course"),
            _("This page works only right after a launch from your course, in the same browser."),
            400,
        )
    form = ConfirmEmailForm()
    if request.method == "GET" and identity.email_claimed:
        form.email.data = identity.email_claimed
    if form.validate_on_submit():
        try:
            # The link is mailed to an account: make one for this address (it stays unlinked until used).
            person, _created = get_or_create_person(form.email.data)
        except InvalidInput as exc:
            form.email.errors.append(exc.detail)
        else:
            token = _signer("mentornet_lti_link").dumps(
                {"i": identity.id, "p": person.id, "b": _binding_hash(pending["b"])}
            )
            request_sign_in(person.email, next_url=url_for("lti.link", token=token))
            return render_template("lti/confirm_email_sent.html", email=person.email)
    status = 422 if form.errors else 200
    return render_template("lti/confirm_email.html", form=form, identity=identity), status


@bp.get("/link/<token>")
@login_required
def link(token: str):
    """Where the mailed sign-in link leads: link the course account, in the browser that launched."""
    max_age = (current_app.config["SIGN_IN_LINK_MINUTES"] + 60) * 60
    try:
        wanted = _signer("mentornet_lti_link").loads(token, max_age=max_age)
    except BadSignature:
        return _refused(_("This link can no longer be used"), _("Launch again from your course."), 410)
    pending = _pending_cookie()
    person = current_person()
    identity = (
        pending_identity(wanted["i"])
        if isinstance(wanted, dict) and isinstance(wanted.get("i"), int)
        else None
    )
    if (
        identity is None
        or pending is None
        or pending.get("i") != identity.id
        or _binding_hash(pending.get("b", "")) != wanted.get("b")
        or wanted.get("p") != person.id
    ):
        return _refused(
            _("Open the link in the browser you launched from"),
            _(
                "Your course account can only be connected in the browser where you launched mentorNET from "
                "your course. Open the e-mailed link there, or launch again."
            ),
            403,
        )
    link_identity(identity, person)
    flash(_("Your course account is connected: next time, the course signs you in directly."), "success")
    if isinstance(pending.get("c"), str) and isinstance(pending.get("e"), str):
        passed = gated.complete_pending(pending["c"], pending["e"], identity)
        if passed is not None and passed.invitation is not None:
            flash(
                _(
                    "Congratulations on passing the course! Your invitation to %(network)s is in your e-mail.",
                    network=passed.invitation.network.name,
                ),
                "success",
            )
    response = redirect(url_for("networks.home"))
    response.delete_cookie(PENDING_COOKIE, path="/lti/", secure=True, httponly=True, samesite="None")
    return response


@bp.get("/jwks")
def jwks():
    response = jsonify(keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/config.json")
def config():
    base = _base_url()
    launch_url, login_url, jwks_url = f"{base}/lti/launch", f"{base}/lti/login", f"{base}/lti/jwks"
    return jsonify(
        {
            "title": "mentorNET",
            "description": _("The network of volunteer mentors that graduates of this course can join."),
            "oidc_initiation_url": login_url,
            "target_link_uri": launch_url,
            "public_jwk_url": jwks_url,
            "scopes": list(dynamic.SCOPES),  # the roster (NRPS) and "joined" in the gradebook (AGS)
            "extensions": [
                {
                    "platform": "canvas.instructure.com",
                    "domain": urlsplit(base).netloc,
                    "privacy_level": "public",
                    "settings": {
                        "text": "mentorNET",
                        "placements": [
                            {
                                "placement": "course_navigation",
                                "message_type": "LtiResourceLinkRequest",
                                "target_link_uri": launch_url,
                                "text": "mentorNET",
                                "windowTarget": "_blank",
                            }
                        ],
                    },
                }
            ],
            "custom_fields": {},
            "openedx": {
                "LTI Version": "LTI 1.3",
                "Tool Launch URL": launch_url,
                "Tool Initiate Login URL": login_url,
                "Registered Redirect URIs": [launch_url],
                "Tool Public Key Mode": "Keyset URL",
                "Tool Keyset URL": jwks_url,
            },
        }
    )


def _framed_by(openid_configuration: str) -> None:
    """Platforms open the registration page in an iframe of their admin page: allow exactly that origin."""
    parts = urlsplit(openid_configuration or "")
    if parts.scheme in ("https", "http") and parts.netloc and all(c not in parts.netloc for c in " ;,'\""):
        g.frame_ancestors = f"{parts.scheme}://{parts.netloc}"


@bp.route("/register", methods=["GET", "POST"])
def register():
    """LTI Dynamic Registration. GET shows what the platform is and asks to confirm; POST registers.

    Not protected by the session's CSRF token: the page runs in the platform's iframe, where our Lax session
    cookie is not sent with a POST. The one-time code in the form is the credential instead: it is spent by
    the registration it allows, and nothing else is done with the caller's session."""
    values = request.form if request.method == "POST" else request.args
    code = values.get("code", "")
    openid_configuration = values.get("openid_configuration", "")
    registration_token = values.get("registration_token", "")
    _framed_by(openid_configuration)
    try:
        dynamic.check_code(code)
    except LinkInvalid as exc:
        return _refused(_("This registration URL cannot be used"), exc.detail, 410)
    if not openid_configuration:
        return render_template("lti/register_howto.html")
    if request.method == "GET":
        try:
            configuration = dynamic.fetch_configuration(openid_configuration)
        except dynamic.RegistrationFailed as exc:
            return _refused(_("The platform cannot be registered"), exc.detail, 400, check=exc.step)
        return render_template(
            "lti/register_confirm.html",
            configuration=configuration,
            code=code,
            openid_configuration=openid_configuration,
            registration_token=registration_token,
        )
    try:
        platform = dynamic.register_platform(code, openid_configuration, registration_token)
    except dynamic.RegistrationFailed as exc:
        return _refused(_("The platform cannot be registered"), exc.detail, 400, check=exc.step)
    except LinkInvalid as exc:
        return _refused(_("This registration URL cannot be used"), exc.detail, 410)
    except MentorNetError as exc:
        return _refused(_("The platform cannot be registered"), exc.detail, exc.status)
    return render_template("lti/register_done.html", platform=platform)


@bp.route("/admin", methods=["GET", "POST"])
@login_required
def admin():
    """Site admins: the registered platforms, and a one-time URL for dynamic registration."""
    viewer = current_person()
    if not viewer.is_site_admin:
        abort(403)
    registration_url = None
    if request.method == "POST":  # CSRF checked by Flask-WTF's global protection
        registration_url = dynamic.new_registration_url(viewer)
    return render_template(
        "lti/admin.html",
        platforms=list_platforms(),
        registration_url=registration_url,
        code_days=dynamic.CODE_DAYS,
    )


DEEP_LINK_SALT = "mentornet_lti_deep_link"
DEEP_LINK_SECONDS = 3600


def _origin(url: str) -> str | None:
    parts = urlsplit(url or "")
    if parts.scheme in ("https", "http") and parts.netloc and all(c not in parts.netloc for c in " ;,'\""):
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _deep_linking_picker(valid):
    settings = deep_linking.settings_of(valid)
    return_url = settings["deep_link_return_url"]
    g.frame_ancestors = _origin(return_url)  # platforms open the picker in a frame of the course editor
    course_key = deep_linking.course_key_of(valid)
    data = settings.get("data")
    choice = _signer(DEEP_LINK_SALT).dumps(
        {
            "p": valid.platform.id,
            "d": valid.claims[DEPLOYMENT_ID],
            "r": return_url,
            "data": data if isinstance(data, str) else None,
            "c": course_key,
            "m": bool(settings.get("accept_multiple")),
        }
    )
    return render_template(
        "lti/deep_link_pick.html",
        targets=deep_linking.targets_for(course_key),
        choice=choice,
        multiple=bool(settings.get("accept_multiple")),
        title=settings.get("title") if isinstance(settings.get("title"), str) else "",
    )


@bp.post("/deep-link")
def deep_link():
    """The instructor's choice goes back to the platform as a signed LtiDeepLinkingResponse.

    No session: the picker runs inside the platform's frame, where our Lax session cookie does not travel. The
    signed ``choice`` (made by the checked launch, valid for an hour) is the credential; the items come from our
    own list of targets, never from the form."""
    try:
        choice = _signer(DEEP_LINK_SALT).loads(request.form.get("choice", ""), max_age=DEEP_LINK_SECONDS)
    except BadSignature:
        return _refused(
            _("The choice can no longer be sent"), _("Open the mentorNET picker again from your course."), 400
        )
    from lti_bridge.lti.models import LtiPlatform

    platform = session.get(LtiPlatform, choice.get("p")) if isinstance(choice, dict) else None
    if platform is None:
        return _refused(
            _("The choice can no longer be sent"), _("This platform is no longer registered."), 400
        )
    g.frame_ancestors = g.form_action = _origin(choice["r"])
    targets = {target.key: target for target in deep_linking.targets_for(choice.get("c"))}
    wanted = [key for key in request.form.getlist("target") if key in targets]
    if not wanted or (len(wanted) > 1 and not choice.get("m")):
        message = (
            _("Choose one item to place in the course.")
            if not choice.get("m")
            else _("Choose at least one item.")
        )
        return render_template(
            "lti/deep_link_pick.html",
            targets=list(targets.values()),
            choice=request.form.get("choice", ""),
            multiple=bool(choice.get("m")),
            title="",
            error=message,
        ), 422
    token = deep_linking.response_token(
        platform, choice["d"], [targets[key] for key in wanted], choice.get("data")
    )
    response = current_app.make_response(
        render_template("lti/deep_link_return.html", return_url=choice["r"], jwt=token)
    )
    response.headers["Cache-Control"] = "no-store"
    return response
