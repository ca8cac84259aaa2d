from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from network_service.conversations.models import ChannelKind
from network_service.markup import MAX_MARKDOWN_CHARS


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):  # the operation checks who may be chosen, with a clear message
        pass


class MessageForm(FlaskForm):
    body = TextAreaField(
        _l("Message"),
        validators=[
            DataRequired(_l("Write a message first.")),
            Length(max=MAX_MARKDOWN_CHARS, message=_l("A message has at most %(max)d characters.")),
        ],
        description=_l(
            "Markdown works: **bold**, *italic*, lists, links. Mention someone with @[Their Name]."
        ),
    )
    parent_id = HiddenField()


class ChannelForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the channel a name.")), Length(max=80)])
    description = TextAreaField(_l("What is it about? (optional)"), validators=[Length(max=500)])
    kind = RadioField(
        _l("Who can read it"),
        choices=[
            (ChannelKind.open.value, _l("Everyone in the network (open channel)")),
            (ChannelKind.private.value, _l("Only the people I choose (private group)")),
        ],
        default=ChannelKind.private.value,
    )
    members = MultiCheckboxField(_l("Members of the group"), coerce=int)


class ChannelSettingsForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the channel a name.")), Length(max=80)])
    description = TextAreaField(_l("What is it about? (optional)"), validators=[Length(max=500)])


class DirectForm(FlaskForm):
    members = MultiCheckboxField(_l("Write to"), coerce=int)
    body = TextAreaField(
        _l("Message"),
        validators=[
            DataRequired(_l("Write a message first.")),
            Length(max=MAX_MARKDOWN_CHARS, message=_l("A message has at most %(max)d characters.")),
        ],
    )


class ConfirmForm(FlaskForm):
    """A button that changes something (delete, archive, hide, block): the form carries only the CSRF token."""
