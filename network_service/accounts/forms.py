from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class SignInForm(FlaskForm):
    email = EmailField(
        _l("Your e-mail address"),
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Length(max=254),
        ],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    next = HiddenField()


class ConfirmSignInForm(FlaskForm):
    """Only a button: mail scanners that follow links must not use up the single-use link."""


class ProfileForm(FlaskForm):
    display_name = StringField(
        _l("Name shown to other members"),
        validators=[DataRequired(_l("Enter the name other members will see.")), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )
    locale = SelectField(_l("Language of the site and e-mails"), choices=[], validate_choice=True)
    timezone = StringField(
        _l("Time zone"),
        validators=[Optional(), Length(max=64)],
        description=_l("For example Europe/Rome. Meeting times are shown in this zone."),
    )
    languages = StringField(
        _l("Languages you speak"),
        validators=[Optional(), Length(max=500)],
        description=_l("Separate them with commas, for example: Arabic, English, German."),
    )
    expertise = StringField(
        _l("What you can help others with"),
        validators=[Optional(), Length(max=1000)],
        description=_l("Separate them with commas, for example: housing, job search, paperwork."),
    )
    region = StringField(_l("Region or city"), validators=[Optional(), Length(max=120)])
    bio = TextAreaField(
        _l("About you"),
        validators=[Optional(), Length(max=2000)],
        description=_l("A few sentences about your mentoring. Do not write about the people you mentor."),
    )


class SessionsForm(FlaskForm):
    """Only a button (and the CSRF token): sign out a device, the others, or all of them."""


class AdminSignOutForm(FlaskForm):
    email = EmailField(
        _l("E-mail address of the account"),
        validators=[DataRequired(_l("Enter the e-mail address of the account.")), Length(max=254)],
    )
    reason = StringField(
        _l("Why"),
        validators=[DataRequired(_l("Say why, for the record.")), Length(max=500)],
        description=_l("Kept in the audit log."),
    )


class ApiTokenForm(FlaskForm):
    """A new API token of one's own (the devices page): only its name; the secret is made by the server."""

    name = StringField(
        _l("Name of the new token"),
        validators=[DataRequired(_l("Give the token a name.")), Length(max=100)],
        description=_l("What will use it, so that you recognise it later. For example: Calendar script."),
        render_kw={"autocomplete": "off", "maxlength": 100},
    )
    # One token per showing of the form: reloading the page that shows a new secret, a double click, or going back
    # and sending again must not make a second token whose secret nobody saw (operations.create_api_token).
    once = HiddenField()
