from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField, TimeField, URLField
from wtforms.validators import InputRequired, Length, Optional

from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.meetings.operations import MAX_PLACE, MAX_REASON, MAX_TITLE, MAX_URL
from network_service.meetings.timezones import COMMON_TIMEZONES


class MeetingForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[InputRequired(_l("Give the meeting a title.")), Length(max=MAX_TITLE)],
    )
    description = TextAreaField(
        _l("What is it about? (optional)"),
        description=_l("Agenda, what to bring, who it is for. You can use Markdown."),
        validators=[Optional(), Length(max=MAX_MARKDOWN_CHARS)],
        render_kw={"rows": 6},
    )
    date = DateField(_l("Date"), validators=[InputRequired(_l("Enter the date of the meeting."))])
    start_time = TimeField(_l("Starts at"), validators=[InputRequired(_l("Enter when the meeting starts."))])
    end_time = TimeField(
        _l("Ends at"),
        description=_l("Past midnight? Enter the end time as it is, like 00:30: it counts as the next day."),
        validators=[InputRequired(_l("Enter when the meeting ends."))],
    )
    timezone = SelectField(
        _l("Time zone"),
        description=_l("The time zone the times above are in. Members see the times in their own zone."),
        choices=[(name, name) for name in COMMON_TIMEZONES],
    )
    timezone_other = StringField(
        _l("Another time zone (optional)"),
        description=_l("Only if yours is not in the list: its name, like America/Bogota or Africa/Lagos."),
        validators=[Optional(), Length(max=64)],
    )
    online_url = URLField(
        _l("Meeting link"),
        description=_l("For an online meeting: the full link, starting with https://."),
        validators=[Optional(), Length(max=MAX_URL)],
    )
    place = StringField(
        _l("Place"),
        description=_l("For a meeting in person: address or room. Give a link, a place, or both."),
        validators=[Optional(), Length(max=MAX_PLACE)],
    )

    def offer_timezone(self, name: str) -> None:
        """Make sure ``name`` (the organiser's or the meeting's zone) is in the list, and choose it."""
        if name and name not in [value for value, _label in self.timezone.choices]:
            self.timezone.choices = [(name, name), *self.timezone.choices]

    def chosen_timezone(self) -> str:
        return (self.timezone_other.data or "").strip() or self.timezone.data


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (optional)"),
        description=_l("Those who said they would come are told, with this reason."),
        validators=[Optional(), Length(max=MAX_REASON)],
        render_kw={"rows": 3},
    )


class RsvpForm(FlaskForm):
    answer = StringField(validators=[InputRequired()])


class FeedForm(FlaskForm):
    scope = StringField(validators=[InputRequired()])
    action = StringField(validators=[InputRequired()])
