from __future__ import annotations

import datetime as dt
import secrets

from babel import Locale
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_timedelta, ngettext, refresh
from flask_babel import gettext as _

from network_service.accounts import operations, sessions
from network_service.accounts.forms import (
    AdminSignOutForm,
    ApiTokenForm,
    ConfirmSignInForm,
    ProfileForm,
    SessionsForm,
    SignInForm,
)
from network_service.db import utcnow
from network_service.errors import Conflict, InvalidInput
from network_service.security import (
    current_person,
    declare_shared_limit,
    keeps_form,
    login_required,
    sign_in,
    sign_out,
)

bp = Blueprint("accounts", __name__)

# A token is a credential that outlives the session: made only in a session that began this recently (a sign-in
# link, an invitation, a course launch), so that a copied session cookie is not enough (docs/security.md).
RECENT_SIGN_IN = dt.timedelta(hours=1)
# Making tokens writes no mail and notifies no one, but each is a credential: a few a day are plenty, and the
# number live at once is capped in the operation (operations.MAX_API_TOKENS).
NEW_CREDENTIAL_RATE_LIMIT = "10 per hour;20 per day"
NEW_CREDENTIAL_ENDPOINTS = (("accounts.create_token", ["POST"]),)
declare_shared_limit(bp, "api-tokens", NEW_CREDENTIAL_RATE_LIMIT, NEW_CREDENTIAL_ENDPOINTS)


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page():
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            operations.request_sign_in(form.email.data, form.next.data or None)
        except InvalidInput as exc:
            form.email.errors.append(exc.detail)
        else:
            return render_template("accounts/sign_in_sent.html", email=form.email.data)
    status = 422 if form.errors else 200
    return render_template("accounts/sign_in.html", form=form), status


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
def confirm_sign_in(token: str):
    form = ConfirmSignInForm()
    if request.method == "POST" and form.validate_on_submit():
        used = operations.consume_sign_in_token(token)
        sign_in(used.person, via=sessions.VIA_LINK)
        flash(_("You are signed in."), "success")
        return redirect(used.next_url or url_for("networks.home"))
    pending = operations.check_sign_in_token(token)
    return render_template("accounts/confirm_sign_in.html", form=form, person=pending.person)


@bp.post("/sign-out", endpoint="sign_out")
def sign_out_page():
    sign_out()
    flash(_("You are signed out."), "success")
    return redirect(url_for("networks.home"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    person = current_person()
    form = ProfileForm(obj=None if request.method == "POST" else person)
    form.locale.choices = [("", _("Same as my browser"))] + [
        (code, _language_name(code)) for code in current_app.config["LANGUAGES"]
    ]
    if request.method == "GET":
        form.locale.data = person.locale or ""
        form.languages.data = ", ".join(person.languages or [])
        form.expertise.data = ", ".join(person.expertise or [])
    if form.validate_on_submit():
        try:
            operations.update_profile(
                person,
                person,
                display_name=form.display_name.data,
                locale=form.locale.data or None,
                timezone=form.timezone.data,
                languages=form.languages.data,
                expertise=form.expertise.data,
                region=form.region.data,
                bio=form.bio.data,
            )
        except InvalidInput as exc:
            getattr(form, exc.field).errors.append(exc.detail)
        else:
            refresh()  # the confirmation speaks the language just chosen, as the next page will
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("accounts.profile"))
    status = 422 if form.errors else 200
    return render_template("accounts/profile.html", form=form, person=person), status


@bp.get("/profile/sessions", endpoint="sessions")
@login_required
def sessions_page():
    return _sessions_page(current_person(), ApiTokenForm(formdata=None))


def _sessions_page(person, token_form: ApiTokenForm, *, new_token=None, status: int = 200):
    devices = sessions.list_sessions(person)
    now = utcnow()
    api_tokens = operations.list_api_tokens(person)
    may_make_token = _signed_in_recently(devices, now)
    if may_make_token and len(api_tokens) < operations.MAX_API_TOKENS:
        # the form is shown: its value names the one token it may make (operations.create_api_token)
        token_form.once.data = secrets.token_urlsafe(16)
    response = make_response(
        render_template(
            "accounts/sessions.html",
            devices=devices,
            # rough on purpose: "last seen" is written at most every five minutes
            ago={
                d.id: _("in the last few minutes")
                if now - d.last_seen_at < sessions.LAST_SEEN_PRECISION
                else format_timedelta(d.last_seen_at - now, add_direction=True)
                for d in devices
            },
            via_labels={
                "link": _("Signed in with an e-mail link"),
                "invitation": _("Signed in by accepting an invitation"),
                "lti": _("Signed in from a course"),
                "panel": _("Signed in from a course"),
                "other": _("Signed in"),
            },
            current_sid=session.get("sid"),
            form=SessionsForm(),
            # names and dates only: a token's secret is shown once, when it is made, and never stored
            api_tokens=api_tokens,
            token_form=token_form,
            may_make_token=may_make_token,
            max_api_tokens=operations.MAX_API_TOKENS,
            new_token=new_token,
            sign_in_again=url_for("accounts.sign_in", next=url_for("accounts.sessions")),
        ),
        status,
    )
    if new_token is not None:
        # the only answer that ever holds the secret: no cache, no back-forward copy may keep it
        response.headers["Cache-Control"] = "no-store"
    return response


def _signed_in_recently(devices, now) -> bool:
    """Whether this browser's session began within RECENT_SIGN_IN by a sign-in that proves the person: an e-mail
    link, an invitation, or a course launch (signed by the LMS). A token outlives the session, so a copied session
    cookie must not be enough to make one; nor is the course panel's "open in a new window" link, a GET whose
    token rides in URLs for hours (embed/views.py ``open_window``, sessions started "from the panel")."""
    current = next((device for device in devices if device.id == session.get("sid")), None)
    return (
        current is not None
        and current.via in sessions.STRONG_SIGN_INS
        and now - current.created_at <= RECENT_SIGN_IN
    )


@bp.post("/profile/tokens/new", endpoint="create_token")
@login_required
@keeps_form(ApiTokenForm)
def create_token():
    """Make an API token of one's own. Its secret is in this answer only: not in a flash message (the cookie
    session), not in a redirect's URL, never logged; the page says it will not be shown again."""
    person = current_person()
    form = ApiTokenForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _sessions_page(person, form, status=422)
    if not _signed_in_recently(sessions.list_sessions(person), utcnow()):
        return _sessions_page(person, form, status=403)
    try:
        api_token, secret = operations.create_api_token(
            person, form.name.data, actor=person, form=form.once.data or None
        )
    except operations.FormSentAgain as exc:
        # the page that showed a secret, reloaded, or the form sent twice: the first sending made the token
        flash(exc.detail, "info")
        return redirect(url_for("accounts.sessions"), 303)
    except (InvalidInput, Conflict) as exc:
        form.name.errors.append(exc.detail)
        return _sessions_page(person, form, status=exc.status)
    return _sessions_page(
        person, ApiTokenForm(formdata=None), new_token={"name": api_token.name, "secret": secret}
    )


@bp.post("/profile/tokens/<int:token_id>/revoke", endpoint="revoke_token")
@login_required
def revoke_token(token_id: int):
    """Revoke one of the person's own API tokens (a script or integration using it stops at its next request)."""
    if not SessionsForm().validate_on_submit():
        abort(400)
    person = current_person()
    api_token = operations.revoke_api_token(person, token_id, actor=person)
    flash(_("The API token “%(name)s” is revoked: it no longer works.", name=api_token.name), "success")
    return redirect(url_for("accounts.sessions"))


@bp.post("/profile/sessions/<sid>/sign-out", endpoint="revoke_session")
@login_required
def revoke_session(sid: str):
    if not SessionsForm().validate_on_submit():
        abort(400)
    if sid == session.get("sid"):
        return _signed_out_everywhere_or_here(here_only=True)
    sessions.revoke_session(current_person(), sid, actor=current_person())
    flash(_("That device is signed out."), "success")
    return redirect(url_for("accounts.sessions"))


@bp.post("/profile/sessions/sign-out-others", endpoint="revoke_other_sessions")
@login_required
def revoke_other_sessions():
    if not SessionsForm().validate_on_submit():
        abort(400)
    person = current_person()
    count = sessions.revoke_other_sessions(person, session.get("sid"), actor=person)
    flash(
        ngettext("%(num)d other device is signed out.", "%(num)d other devices are signed out.", count),
        "success",
    )
    return redirect(url_for("accounts.sessions"))


@bp.post("/profile/sessions/sign-out-all", endpoint="revoke_all_sessions")
@login_required
def revoke_all_sessions():
    if not SessionsForm().validate_on_submit():
        abort(400)
    return _signed_out_everywhere_or_here(here_only=False)


def _signed_out_everywhere_or_here(*, here_only: bool):
    person = current_person()
    if here_only:
        sign_out()
        flash(_("You are signed out."), "success")
    else:
        sessions.revoke_all_sessions(person, actor=person)
        sign_out()
        flash(_("You are signed out on every device."), "success")
    return redirect(url_for("networks.home"))


@bp.route("/admin/sessions", methods=["GET", "POST"], endpoint="admin_sessions")
@login_required
def admin_sessions():
    """A site administrator ends every session of an account (a stolen device, a suspended volunteer)."""
    admin = current_person()
    if not admin.is_site_admin:
        abort(403)
    form = AdminSignOutForm()
    if form.validate_on_submit():
        person = None
        try:
            person = operations.find_person_by_email(form.email.data)
        except InvalidInput as exc:
            form.email.errors.append(exc.detail)
        if person is None and not form.email.errors:
            form.email.errors.append(_("There is no account with this address."))
        elif person is not None:
            reason = form.reason.data.strip()
            count = sessions.revoke_all_sessions(person, actor=admin, reason=reason)
            # a stolen bearer token must stop too: every API token of the account is revoked (and audited)
            tokens = operations.revoke_api_tokens(person, actor=admin, reason=reason)
            if person.id == admin.id:
                sign_out()
                flash(_("You are signed out on every device."), "success")
                return redirect(url_for("networks.home"))
            flash(
                ngettext(
                    "%(name)s is signed out on %(num)d device.",
                    "%(name)s is signed out on %(num)d devices.",
                    count,
                    name=person.name_or_email,
                ),
                "success",
            )
            if tokens:
                flash(
                    ngettext(
                        "%(num)d API token of theirs is revoked.",
                        "%(num)d API tokens of theirs are revoked.",
                        tokens,
                    ),
                    "success",
                )
            return redirect(url_for("accounts.admin_sessions"))
    status = 422 if form.errors else 200
    return render_template("accounts/admin_sessions.html", form=form), status


def _language_name(code: str) -> str:
    try:
        return Locale.parse(code).get_display_name(code).capitalize()
    except (ValueError, LookupError):
        return code
