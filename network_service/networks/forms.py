from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

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
    agreement_version = HiddenField()


class AppointForm(FlaskForm):
    person_id = IntegerField(validators=[InputRequired()])
    role = SelectField(_l("Role"), choices=[(r.value, ROLE_LABELS[r]) for r in Role])
    level = SelectField(_l("Experience"), choices=[(lv.value, LEVEL_LABELS[lv]) for lv in Level])
