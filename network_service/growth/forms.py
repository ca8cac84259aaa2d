from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from network_service.growth.operations import MAX_EXPERIENCE, MAX_MESSAGE, MAX_MOTIVATION
from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.networks.models import Level

LEVEL_CHOICES = [
    (Level.experienced.value, _l("Experienced mentor")),
    (Level.novice.value, _l("Novice mentor")),
]


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class ApplyForm(FlaskForm):
    motivation = TextAreaField(
        _l("Why do you want to join?"),
        validators=[DataRequired(_l("Tell the network why you want to join.")), Length(max=MAX_MOTIVATION)],
    )
    experience = TextAreaField(
        _l("Your experience as a mentor"),
        validators=[Length(max=MAX_EXPERIENCE)],
        description=_l("Where you were trained, how long you have mentored, what you know well."),
    )
    languages = StringField(
        _l("Languages you speak"),
        validators=[Length(max=500)],
        description=_l("Separated by commas, like “Arabic, German”."),
    )
    region = StringField(_l("Region or city"), validators=[Length(max=120)])


class DecideForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[("accept", _l("Accept")), ("decline", _l("Decline"))],
        validators=[DataRequired(_l("Choose accept or decline."))],
    )
    level = SelectField(_l("Join as"), choices=LEVEL_CHOICES, default=Level.experienced.value)
    message = TextAreaField(_l("Message to the applicant (optional)"), validators=[Length(max=MAX_MESSAGE)])


class PartnerDecideForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[("accept", _l("Accept")), ("decline", _l("Decline"))],
        validators=[DataRequired(_l("Choose accept or decline."))],
    )
    message = TextAreaField(_l("Message (optional)"), validators=[Length(max=MAX_MESSAGE)])


class ApplicationsSettingForm(FlaskForm):
    accepts_applications = BooleanField(
        _l("Experienced mentors may apply to join (shown on the public page)")
    )


class PartnerForm(FlaskForm):
    organisation = SelectField(_l("Your organisation"), choices=[], validate_choice=False)
    new_name = StringField(_l("Or the name of your organisation"), validators=[Length(max=200)])
    country = StringField(_l("Country (two letters, like DE)"), validators=[Optional(), Length(max=2)])
    website = StringField(
        _l("Website (optional)"), validators=[Length(max=300)], render_kw={"inputmode": "url"}
    )
    message = TextAreaField(
        _l("What would your organisation bring to the network?"), validators=[Length(max=MAX_MESSAGE)]
    )


class StartOrganisationForm(FlaskForm):
    organisation = SelectField(_l("An organisation you coordinate"), choices=[], validate_choice=False)
    name = StringField(_l("Or a new organisation: its name"), validators=[Length(max=200)])
    country = StringField(_l("Country (two letters, like DE)"), validators=[Optional(), Length(max=2)])
    city = StringField(_l("City (optional)"), validators=[Length(max=120)])
    website = StringField(
        _l("Website (optional)"), validators=[Length(max=300)], render_kw={"inputmode": "url"}
    )


class StartNetworkForm(FlaskForm):
    name = StringField(
        _l("Name of the network"), validators=[DataRequired(_l("Give the network a name.")), Length(max=200)]
    )
    slug = StringField(
        _l("Address"),
        validators=[DataRequired(_l("Choose an address.")), Length(max=64)],
        description=_l(
            "Lower-case letters, digits and hyphens, like “berlin-mentors”: the network's pages live at /n/berlin-mentors."
        ),
    )
    languages = StringField(
        _l("Languages"),
        validators=[Length(max=500)],
        description=_l("Separated by commas, like “Arabic, German”."),
    )
    region = StringField(_l("Region"), validators=[Length(max=120)])
    description = TextAreaField(_l("What the network does"), validators=[Length(max=MAX_MARKDOWN_CHARS)])


class StartAgreementForm(FlaskForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Give the agreement a title.")), Length(max=200)]
    )
    body = TextAreaField(
        _l("Agreement and communication rules"),
        validators=[DataRequired(_l("Write the text of the agreement.")), Length(max=MAX_MARKDOWN_CHARS)],
        description=_l("Start from this template and adapt it. Every member accepts it when joining."),
        render_kw={"rows": 12},
    )


class StartCourseForm(FlaskForm):
    course_key = StringField(
        _l("Course key of your MOOC (optional)"),
        validators=[Length(max=255)],
        description=_l(
            "Like course-v1:Org+Course+Run. A site administrator approves the link; leave it empty to skip."
        ),
    )
    title = StringField(_l("Course title (optional)"), validators=[Length(max=255)])


class StartInvitationsForm(FlaskForm):
    emails = TextAreaField(
        _l("E-mail addresses of your first members"),
        validators=[Length(max=20000)],
        description=_l(
            "One per line. Invite your Meta-Mentor and network office too; give them their role on the members page."
        ),
        render_kw={"rows": 6},
    )


class PolicyForm(FlaskForm):
    policy = RadioField(
        _l("Who may start a network"),
        choices=[
            ("open", _l("Anyone signed in")),
            ("approval", _l("A site administrator approves each new network")),
        ],
        validators=[DataRequired()],
    )


class CourseRequestForm(StartCourseForm):
    pass
