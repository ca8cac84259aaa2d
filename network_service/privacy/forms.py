from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import DataRequired, Length


class ExportForm(FlaskForm):
    """Only a button (with its CSRF token): the download is an audited action."""


class ConsentForm(FlaskForm):
    email_notifications = BooleanField(_l("E-mails about activity in my networks"))
    profile_sharing = BooleanField(_l("Share my profile with my networks"))


class EraseForm(FlaskForm):
    confirm = StringField(
        _l("Type your e-mail address to confirm"),
        validators=[DataRequired(_l("Type your e-mail address to confirm.")), Length(max=254)],
        render_kw={"autocomplete": "off"},
    )
    delete_contributions = BooleanField(
        _l("Also delete my messages, help requests and answers, goal updates and library files")
    )


class AdminEraseForm(FlaskForm):
    email = EmailField(
        _l("E-mail address of the account to erase"),
        validators=[DataRequired(_l("Enter the e-mail address of the account.")), Length(max=254)],
    )
    confirm = StringField(
        _l("Type the same address again to confirm"),
        validators=[DataRequired(_l("Type the e-mail address of the account to confirm.")), Length(max=254)],
        render_kw={"autocomplete": "off"},
    )
    delete_contributions = BooleanField(
        _l("Also delete their messages, help requests and answers, goal updates and library files")
    )
