from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from network_service.moderation.models import ReportReason

MAX_NOTE_CHARS = 2000  # as moderation.operations.MAX_NOTE_CHARS and the API's

REASON_LABELS = {
    ReportReason.harassment: _l("Harassment or disrespect"),
    ReportReason.personal_data: _l("Personal data of someone else (for example a person being mentored)"),
    ReportReason.spam: _l("Spam or advertising"),
    ReportReason.other: _l("Something else"),
}


class ReportForm(FlaskForm):
    reason = RadioField(
        _l("Why are you reporting this?"),
        choices=[(r.value, REASON_LABELS[r]) for r in ReportReason],
        validators=[InputRequired(_l("Choose a reason."))],
    )
    note = TextAreaField(_l("Anything the moderators should know? (optional)"), validators=[Length(max=2000)])


class HandleReportForm(FlaskForm):
    status = RadioField(
        _l("Outcome"),
        choices=[("resolved", _l("Resolved: I took action")), ("dismissed", _l("Dismissed: nothing to do"))],
        validators=[InputRequired(_l("Choose an outcome."))],
    )
    resolution = TextAreaField(_l("Note for the record (optional)"), validators=[Length(max=2000)])


class SuspendForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (kept in the audit log)"),
        validators=[DataRequired(_l("Say why, for the record.")), Length(max=2000)],
    )


class ForwardForm(FlaskForm):
    """Pass a report on: the network comes from the button pressed (one per eligible network); the operation
    judges both fields."""

    network = StringField()
    note = TextAreaField(_l("Note for their moderators (optional)"))


class HideForm(FlaskForm):
    """Hide or show again a message; the reason goes to the audit log (as the API's ``reason``)."""

    reason = TextAreaField(
        _l("Reason (optional, kept in the audit log)"), validators=[Length(max=MAX_NOTE_CHARS)]
    )
