from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import InputRequired

from network_service.notifications.models import EmailFrequency

FREQUENCY_LABELS = {
    EmailFrequency.immediately: _l("Immediately: one e-mail for each notification"),
    EmailFrequency.daily: _l("Daily: one summary a day, in the morning"),
    EmailFrequency.weekly: _l("Weekly: one summary on Monday morning"),
    EmailFrequency.never: _l("Never: I read my notifications on the site"),
}


class SettingsForm(FlaskForm):
    email_frequency = RadioField(
        _l("How often do you want e-mail about your notifications?"),
        choices=[(kind.value, label) for kind, label in FREQUENCY_LABELS.items()],
        validators=[InputRequired(message=_l("Choose how often you want e-mail."))],
    )


class EmptyForm(FlaskForm):
    """Only the CSRF token: for the one-button forms (open, mark all as read)."""
