from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, RadioField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional


class ExportForm(FlaskForm):
    """Only a button (with its CSRF token): the download is an audited action."""


SHARING_CHOICES = [("yes", _l("Yes, share it")), ("no", _l("No, do not share it"))]


class ConsentForm(FlaskForm):
    # an opt-out (not consent): ticked until the member unticks it
    email_notifications = BooleanField(_l("E-mails about activity in my networks"))
    # consent: a yes/no question with nothing chosen until the person chooses (left empty: nothing recorded)
    profile_sharing = RadioField(
        _l("Share my profile with my networks"), choices=SHARING_CHOICES, validators=[Optional()]
    )


class SharingChoiceForm(FlaskForm):
    """The reminder's two buttons (``share`` is the button pressed) and the page to return to."""

    share = HiddenField(validators=[DataRequired(), AnyOf(["yes", "no"])])
    back = HiddenField(validators=[Optional(), AnyOf(["home", "profile", "privacy"])])


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
