from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from network_service.courses.models import CompletionRule

RULE_LABELS = {
    CompletionRule.passed: _l("The learner passes the course"),
    CompletionRule.certificate: _l("The learner receives a certificate"),
    CompletionRule.min_grade: _l("The learner reaches a minimum grade"),
}


class CourseLinkForm(FlaskForm):
    course_key = StringField(
        _l("Course key or address"),
        validators=[DataRequired(_l("Give the course key.")), Length(max=255)],
        description=_l(
            "Open edX: the course key, like course-v1:Org+Course+Run. Moodle and other platforms: the course's "
            "address as their xAPI statements name it."
        ),
    )
    title = StringField(_l("Course title (optional)"), validators=[Optional(), Length(max=255)])
    rule = SelectField(
        _l("Graduates are invited when"),
        choices=[(rule.value, label) for rule, label in RULE_LABELS.items()],
        default=CompletionRule.passed.value,
    )
    min_grade = DecimalField(
        _l("Minimum grade in percent"),
        places=None,
        validators=[Optional(), NumberRange(min=1, max=100, message=_l("Give a number from 1 to 100."))],
        description=_l("Only for the minimum grade rule, for example 70."),
    )


class LinkUnlinkedForm(FlaskForm):
    course_key = StringField(validators=[DataRequired(), Length(max=255)])
    network = SelectField(_l("Network"), choices=[])
