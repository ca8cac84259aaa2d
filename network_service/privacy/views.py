"""The member's privacy page (consent, export, erasure) and the site administrator's erasure on request."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _

from network_service.accounts.operations import find_person_by_email
from network_service.errors import Conflict, InvalidInput
from network_service.privacy import operations
from network_service.privacy.forms import (
    AdminEraseForm,
    ConsentForm,
    EraseForm,
    ExportForm,
    SharingChoiceForm,
)
from network_service.security import current_person, login_required, sign_out

bp = Blueprint("privacy", __name__)
bp.add_app_template_global(operations.profile_shared, "profile_shared")


@bp.app_template_global("profile_sharing_state")
def _profile_sharing_state(person) -> str:
    """given, withdrawn or not_chosen: the person's answer to sharing their profile."""
    return operations.consent_state(person, operations.PROFILE_SHARING)


@bp.app_template_global("sharing_choice_form")
def _sharing_choice_form() -> SharingChoiceForm:
    return SharingChoiceForm()


@bp.get("/profile/privacy")
@login_required
def privacy():
    person = current_person()
    consents = operations.current_consents(person)
    states = {key: operations.state_of(key, consents[key]) for key in operations.PURPOSES}
    sharing = states[operations.PROFILE_SHARING]
    form = ConsentForm(
        data={
            operations.EMAIL_NOTIFICATIONS: operations.consent_given(person, operations.EMAIL_NOTIFICATIONS),
            operations.PROFILE_SHARING: {"given": "yes", "withdrawn": "no"}.get(sharing),
        },
    )
    return render_template(
        "privacy/privacy.html",
        person=person,
        form=form,
        export_form=ExportForm(),
        purposes=operations.PURPOSES,
        consents=consents,
        states=states,
    )


@bp.post("/profile/privacy/consents")
@login_required
def consents():
    person = current_person()
    form = ConsentForm()
    if not form.validate_on_submit():
        abort(400)
    operations.set_consent(
        person,
        operations.EMAIL_NOTIFICATIONS,
        bool(form.email_notifications.data),
        actor=person,
        via="profile",
    )
    if form.profile_sharing.data in ("yes", "no"):  # nothing chosen: nothing recorded
        operations.set_consent(
            person,
            operations.PROFILE_SHARING,
            form.profile_sharing.data == "yes",
            actor=person,
            via="profile",
        )
    flash(_("Your choices are saved."), "success")
    return redirect(url_for("privacy.privacy"))


_BACK = {"home": "networks.home", "profile": "accounts.profile", "privacy": "privacy.privacy"}


@bp.post("/profile/privacy/profile-sharing")
@login_required
def sharing_choice():
    """The reminder's answer (templates/privacy/_sharing_reminder.html): yes or no to sharing the profile."""
    person = current_person()
    form = SharingChoiceForm()
    if not form.validate_on_submit():
        abort(400)
    given = form.share.data == "yes"
    operations.set_consent(person, operations.PROFILE_SHARING, given, actor=person, via="reminder")
    if given:
        flash(
            _("Thank you. The members of your networks now see your languages, expertise and region."),
            "success",
        )
    else:
        flash(_("Your profile stays private: the members see only your name."), "success")
    return redirect(url_for(_BACK.get(form.back.data or "", "privacy.privacy")), 303)


@bp.post("/profile/privacy/export")
@login_required
def export():
    person = current_person()
    if not ExportForm().validate_on_submit():
        abort(400)
    archive = operations.export_zip(person, person, via="web")
    return send_file(
        archive,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"mentornet-data-{person.id}.zip",
        max_age=0,
    )


@bp.route("/profile/erase", methods=["GET", "POST"])
@login_required
def erase():
    person = current_person()
    form = EraseForm()
    blocking = operations.sole_coordinator_of(person)
    if form.validate_on_submit():
        try:
            operations.erase_person(
                person, person, confirm=form.confirm.data, delete_contributions=form.delete_contributions.data
            )
        except InvalidInput as exc:
            form.confirm.errors.append(exc.detail)
        except Conflict as exc:
            form.confirm.errors.append(exc.detail)
        else:
            sign_out()
            flash(_("Your account is erased. Thank you for your time in the network."), "success")
            return redirect(url_for("networks.home"))
    status = 422 if form.errors else 200
    return render_template("privacy/erase.html", form=form, person=person, blocking=blocking), status


@bp.route("/admin/privacy/erase", methods=["GET", "POST"])
@login_required
def admin_erase():
    admin = current_person()
    if not admin.is_site_admin:
        abort(403)
    form = AdminEraseForm()
    if form.validate_on_submit():
        person = None
        try:
            person = find_person_by_email(form.email.data)
        except InvalidInput as exc:
            form.email.errors.append(exc.detail)
        if person is None and not form.email.errors:
            form.email.errors.append(_("There is no account with this address."))
        elif person is not None and person.id == admin.id:
            form.email.errors.append(_("Erase your own account from your privacy page."))
        elif person is not None:
            try:
                summary = operations.erase_person(
                    person,
                    admin,
                    confirm=form.confirm.data,
                    delete_contributions=form.delete_contributions.data,
                )
            except (InvalidInput, Conflict) as exc:
                form.confirm.errors.append(exc.detail)
            else:
                flash(
                    _(
                        "The account is erased. The audit log names it %(pseudonym)s.",
                        pseudonym=summary["pseudonym"],
                    ),
                    "success",
                )
                return redirect(url_for("privacy.admin_erase"))
    status = 422 if form.errors else 200
    return render_template("privacy/admin_erase.html", form=form), status
