from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from network_service.help.models import HelpStatus, Urgency
from network_service.markup import MAX_MARKDOWN_CHARS

URGENCY_LABELS = {
    Urgency.low: _l("Low: within a few weeks"),
    Urgency.normal: _l("Normal: within a week"),
    Urgency.high: _l("High: within two days"),
    Urgency.urgent: _l("Urgent: today"),
}
URGENCY_SHORT = {
    Urgency.low: _l("low"),
    Urgency.normal: _l("normal"),
    Urgency.high: _l("high"),
    Urgency.urgent: _l("urgent"),
}
STATUS_LABELS = {
    HelpStatus.open: _l("open"),
    HelpStatus.resolved: _l("resolved"),
    HelpStatus.closed: _l("closed"),
}
CONFIRM_LABEL = _l("I confirm this contains no personal data of the people I mentor.")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class HelpRequestForm(FlaskForm):
    topic = StringField(
        _l("What do you need help with?"),
        validators=[DataRequired(_l("Say in a line what you need.")), Length(max=200)],
        description=_l("One line, for example: Appointment at the foreigners' office, who can come along?"),
    )
    body = TextAreaField(
        _l("Details (optional)"),
        validators=[Length(max=MAX_MARKDOWN_CHARS)],
        description=_l(
            "Markdown works. Leave out names, phone numbers and addresses of the people you accompany."
        ),
    )
    languages = MultiCheckboxField(_l("Languages"), choices=[], validate_choice=False)
    other_languages = StringField(
        _l("Other languages"),
        validators=[Length(max=300)],
        description=_l("Separate several with commas."),
    )
    region = StringField(_l("Region or city (optional)"), validators=[Length(max=120)])
    tags = StringField(
        _l("Topics (optional)"),
        validators=[Length(max=600)],
        description=_l("Separate several with commas, for example: housing, school enrolment."),
    )
    urgency = SelectField(
        _l("How urgent is it?"),
        choices=[(u.value, URGENCY_LABELS[u]) for u in Urgency],
        default=Urgency.normal.value,
    )
    confirm_no_personal_data = BooleanField(CONFIRM_LABEL)


class ResponseForm(FlaskForm):
    body = TextAreaField(
        _l("Your answer"),
        validators=[DataRequired(_l("Write your answer.")), Length(max=MAX_MARKDOWN_CHARS)],
        description=_l(
            "Markdown works. Leave out names, phone numbers and addresses of the people you accompany."
        ),
    )
    confirm_no_personal_data = BooleanField(CONFIRM_LABEL)


class ResolveForm(FlaskForm):
    status = HiddenField(validators=[InputRequired()])


class NotifyMoreForm(FlaskForm):
    count = IntegerField(
        _l("How many more members?"),
        default=5,
        validators=[InputRequired(_l("Enter a number.")), NumberRange(min=1, max=20)],
    )
