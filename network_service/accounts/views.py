from __future__ import annotations

from babel import Locale
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from network_service.accounts import operations
from network_service.accounts.forms import ConfirmSignInForm, ProfileForm, SignInForm
from network_service.errors import InvalidInput
from network_service.security import current_person, login_required, sign_in, sign_out

bp = Blueprint("accounts", __name__)


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
        sign_in(used.person)
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
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("accounts.profile"))
    status = 422 if form.errors else 200
    return render_template("accounts/profile.html", form=form, person=person), status


def _language_name(code: str) -> str:
    try:
        return Locale.parse(code).get_display_name(code).capitalize()
    except (ValueError, LookupError):
        return code
