from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from network_service.goals.models import GoalStatus
from network_service.markup import MAX_MARKDOWN_CHARS

STATUS_LABELS = {
    GoalStatus.open: _l("Open"),
    GoalStatus.achieved: _l("Achieved"),
    GoalStatus.dropped: _l("Dropped"),
}


class GoalForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Give the goal a title.")), Length(max=200)],
        description=_l("What the network wants to reach, like “Train new mentors in 2027”."),
    )
    description = TextAreaField(
        _l("Description (optional)"),
        validators=[Length(max=MAX_MARKDOWN_CHARS)],
        description=_l("Why the goal matters and how you will reach it. You can use Markdown."),
    )
    target_value = IntegerField(
        _l("Target"),
        validators=[
            InputRequired(_l("Give the target as a whole number.")),
            NumberRange(
                min=1, max=1_000_000, message=_l("The target is a whole number from 1 to 1,000,000.")
            ),
        ],
        render_kw={"inputmode": "numeric"},
    )
    unit = StringField(
        _l("What is counted"),
        validators=[DataRequired(_l("Say what is counted.")), Length(max=60)],
        description=_l("For example: mentors trained, meetings, help requests answered."),
    )
    owner_id = SelectField(_l("Responsible member"), coerce=int, validators=[InputRequired()])
    due_date = DateField(_l("Due date (optional)"), validators=[Optional()])
    status = SelectField(
        _l("Status"), choices=[(s.value, STATUS_LABELS[s]) for s in GoalStatus], default=GoalStatus.open.value
    )


class UpdateForm(FlaskForm):
    value = IntegerField(
        _l("Where the goal stands now"),
        validators=[
            InputRequired(_l("Give the current value as a whole number.")),
            NumberRange(min=0, message=_l("Give the current value as a whole number, 0 or more.")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    note = TextAreaField(
        _l("What happened (optional)"),
        validators=[Length(max=MAX_MARKDOWN_CHARS)],
        description=_l("You can use Markdown."),
    )


class DropForm(FlaskForm):
    pass
