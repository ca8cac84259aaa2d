from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from network_service.directory.models import EntryKind
from network_service.directory.vocabulary import SERVICE_LABELS, country_choices
from network_service.markup import MAX_MARKDOWN_CHARS

KIND_LABELS = {EntryKind.organisation: _l("Organisation"), EntryKind.network: _l("Network")}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _service_choices():
    return [(service.value, label) for service, label in SERVICE_LABELS.items()]


class EntryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the name.")), Length(max=200)])
    country = SelectField(_l("Country"), choices=[], validate_choice=False)
    city = StringField(_l("City (optional)"), validators=[Length(max=120)])
    languages = StringField(
        _l("Languages"),
        validators=[Length(max=500)],
        description=_l("The languages spoken there, separated by commas, like “German, Arabic, uk”."),
    )
    services = MultiCheckboxField(_l("Services"), choices=[], validate_choice=False)
    website = StringField(
        _l("Website (optional)"), validators=[Length(max=300)], render_kw={"inputmode": "url"}
    )
    contact_email = StringField(
        _l("E-mail (optional)"), validators=[Length(max=254)], render_kw={"inputmode": "email"}
    )
    contact_phone = StringField(
        _l("Phone (optional)"), validators=[Length(max=40)], render_kw={"inputmode": "tel"}
    )
    description = TextAreaField(
        _l("Description (optional)"),
        validators=[Length(max=MAX_MARKDOWN_CHARS)],
        description=_l("What they offer, for whom, and how to reach them. You can use Markdown."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [("", _l("Choose a country"))] + country_choices()
        self.services.choices = _service_choices()

    def entry_data(self) -> dict:
        return {
            "name": self.name.data,
            "country": self.country.data,
            "city": self.city.data,
            "languages": (self.languages.data or "").replace(",", ";"),
            "services": self.services.data or [],
            "website": self.website.data,
            "contact_email": self.contact_email.data,
            "contact_phone": self.contact_phone.data,
            "description": self.description.data,
        }


class SuggestForm(EntryForm):
    # A honeypot: hidden from people (and screen readers), filled in by form-filling robots.
    homepage = StringField(_l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"})


class AdminEntryForm(EntryForm):
    kind = SelectField(_l("Kind"), choices=[(kind.value, label) for kind, label in KIND_LABELS.items()])

    def entry_data(self) -> dict:
        return {**super().entry_data(), "kind": self.kind.data}


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"))
    skip_invalid = BooleanField(_l("Skip the lines with errors"))
    upload = HiddenField()  # the file checked before, when importing it anyway


class ActionForm(FlaskForm):
    pass


class PublicPageForm(FlaskForm):
    public = BooleanField(_l("Show the public page and list the network in the directory"))
    country = SelectField(_l("Country"), choices=[], validate_choice=False)
    services = MultiCheckboxField(_l("Services"), choices=[], validate_choice=False)
    how_to_join = TextAreaField(
        _l("How to join"),
        validators=[Length(max=MAX_MARKDOWN_CHARS)],
        description=_l("Who can join and what to do first. You can use Markdown."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [("", _l("Choose a country"))] + country_choices()
        self.services.choices = _service_choices()
