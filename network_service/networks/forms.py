from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length

from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.networks.models import Level, Role

ROLE_LABELS = {
    Role.coordinator: _l("Coordinator"),
    Role.meta_mentor: _l("Meta-Mentor"),
    Role.office: _l("Network office"),
    Role.mentor: _l("Mentor"),
}
LEVEL_LABELS = {Level.novice: _l("Novice mentor"), Level.experienced: _l("Experienced mentor")}


class InviteForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(_l("Enter an e-mail address.")),
            Length(max=254),
        ],
    )
    display_name = StringField(_l("Name (optional)"), validators=[Length(max=120)])
    role = SelectField(
        _l("Role"), choices=[(r.value, ROLE_LABELS[r]) for r in Role], default=Role.mentor.value
    )
    level = SelectField(
        _l("Experience"), choices=[(lv.value, LEVEL_LABELS[lv]) for lv in Level], default=Level.novice.value
    )


class AcceptInvitationForm(FlaskForm):
    display_name = StringField(
        _l("Name shown to other members"),
        validators=[DataRequired(_l("Enter the name other members will see.")), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )
    accept_agreement = BooleanField(
        _l("I have read the agreement and the communication rules, and I accept them."),
        validators=[InputRequired(_l("To join, tick the box to accept the agreement."))],
    )
    # Consent (GDPR Art. 7): unticked unless the person ticks it, optional, explained next to it
    # (templates/privacy/_join_consent.html). Unticked records nothing: the person has simply not chosen yet.
    share_profile = BooleanField(_l("Yes, share my languages, expertise and region with the members"))
    agreement_version = HiddenField()


class AppointForm(FlaskForm):
    person_id = IntegerField(validators=[InputRequired()])
    role = SelectField(_l("Role"), choices=[(r.value, ROLE_LABELS[r]) for r in Role])
    level = SelectField(_l("Experience"), choices=[(lv.value, LEVEL_LABELS[lv]) for lv in Level])


class AcceptAgreementForm(FlaskForm):
    accept_agreement = BooleanField(
        _l("I have read this version of the agreement and the communication rules, and I accept them."),
        validators=[InputRequired(_l("Tick the box to accept the agreement."))],
    )
    agreement_version = HiddenField()


class PublishAgreementForm(FlaskForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Give the agreement a title.")), Length(max=200)]
    )
    body = TextAreaField(
        _l("Text of the agreement and communication rules"),
        description=_l("Markdown: a blank line starts a new paragraph; numbered lines make a list."),
        validators=[DataRequired(_l("Write the text of the agreement.")), Length(max=MAX_MARKDOWN_CHARS)],
        render_kw={"rows": 16},
    )
    change_note = TextAreaField(
        _l("What changed, and why"),
        description=_l("Members see this note above the new version. One or two sentences are enough."),
        validators=[Length(max=2000)],
        render_kw={"rows": 3},
    )


class SettingsForm(FlaskForm):
    name = StringField(
        _l("Name of the network"), validators=[DataRequired(_l("Give the network a name.")), Length(max=200)]
    )
    description = TextAreaField(
        _l("Description"),
        description=_l("Markdown. Who the network is for and what it does."),
        validators=[Length(max=MAX_MARKDOWN_CHARS)],
        render_kw={"rows": 6},
    )
    languages = StringField(
        _l("Languages of the network"),
        description=_l("Separated by commas, for example: German, Arabic, English."),
        validators=[Length(max=1300)],
    )
    region = StringField(_l("Region"), validators=[Length(max=120)])
    contact_email = EmailField(
        _l("E-mail address of the network office"),
        description=_l("The public contact point of the network."),
        validators=[Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    contact_phone = StringField(
        _l("Phone number of the network office"), validators=[Length(max=40)], render_kw={"type": "tel"}
    )
    contact_hours = StringField(
        _l("Office hours"),
        description=_l("For example: Monday to Thursday, 10:00 to 14:00."),
        validators=[Length(max=200)],
    )


class LeaveForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, I want to leave this network."),
        validators=[InputRequired(_l("Tick the box to confirm that you want to leave."))],
    )


class RemindForm(FlaskForm):
    """Just the CSRF token: the reminder goes to everyone who has not accepted."""


class MembersFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    role = SelectField(
        _l("Role"), choices=[("", _l("Any role"))] + [(r.value, ROLE_LABELS[r]) for r in Role], default=""
    )
    level = SelectField(
        _l("Experience"),
        choices=[("", _l("Any experience"))] + [(lv.value, LEVEL_LABELS[lv]) for lv in Level],
        default="",
    )
    language = StringField(_l("Speaks"), validators=[Length(max=60)])
