from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length

from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.resources.models import ResourceKind

KIND_LABELS = {
    ResourceKind.link: _l("Link"),
    ResourceKind.file: _l("File"),
    ResourceKind.note: _l("Note"),
}


def _language():
    return StringField(
        _l("Language (optional)"),
        validators=[Length(max=40)],
        description=_l("The language of the resource, like “Arabic”, “German” or “uk”."),
    )


def _tags():
    return StringField(
        _l("Tags (optional)"),
        validators=[Length(max=500)],
        description=_l("Words that help others find it, separated by commas, like “housing, forms”."),
    )


def _description():
    return TextAreaField(
        _l("Description (optional)"),
        validators=[Length(max=MAX_MARKDOWN_CHARS)],
        description=_l("What it is and when it helps. You can use Markdown."),
    )


class LinkForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the link a title.")), Length(max=200)])
    url = URLField(
        _l("Web address"),
        validators=[DataRequired(_l("Give the web address.")), Length(max=2000)],
        description=_l("Starts with https:// or http://"),
        render_kw={"inputmode": "url", "autocomplete": "url"},
    )
    description = _description()
    language = _language()
    tags = _tags()


class FileForm(FlaskForm):
    file = FileField(_l("File"))
    title = StringField(
        _l("Title (optional)"),
        validators=[Length(max=200)],
        description=_l("Without a title, the file name is used."),
    )
    description = _description()
    language = _language()
    tags = _tags()


class NoteForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the note a title.")), Length(max=200)])
    body = TextAreaField(
        _l("Note"),
        validators=[DataRequired(_l("Write the note.")), Length(max=MAX_MARKDOWN_CHARS)],
        description=_l("You can use Markdown: **bold**, lists with -, links like [text](https://…)."),
    )
    language = _language()
    tags = _tags()


class EditForm(FlaskForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Give the resource a title.")), Length(max=200)]
    )
    url = URLField(
        _l("Web address"), validators=[Length(max=2000)], description=_l("Starts with https:// or http://")
    )
    body = TextAreaField(
        _l("Text"), validators=[Length(max=MAX_MARKDOWN_CHARS)], description=_l("You can use Markdown.")
    )
    language = _language()
    tags = _tags()


class DeleteForm(FlaskForm):
    pass
