from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class InviteForm(FlaskForm):
    network = StringField(
        _l("Address of the network to invite"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("The part after /networks/ in the network's address, for example berlin-mentors."),
    )


class JoinForm(FlaskForm):
    federation = StringField(
        _l("Address of the federation to join"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("The part after /networks/ in the federation's address."),
    )


class ConfirmForm(FlaskForm):
    pass


class ShareChannelForm(FlaskForm):
    channel_id = SelectField(_l("Channel"), coerce=int, validate_choice=False)
    federation_id = SelectField(_l("Share with"), coerce=int, validate_choice=False)
    allow_posting = BooleanField(_l("Members of the federation may write in it"), default=True)


class ShareResourceForm(FlaskForm):
    resource_id = SelectField(_l("Resource"), coerce=int, validate_choice=False)
    federation_id = SelectField(_l("Share with"), coerce=int, validate_choice=False)
