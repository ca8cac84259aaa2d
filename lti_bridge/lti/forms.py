from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Length


class ConfirmEmailForm(FlaskForm):
    email = EmailField(
        _l("Your e-mail address"),
        validators=[DataRequired(_l("Enter your e-mail address.")), Length(max=254)],
        description=_l("We send a link to this address. Open it in this browser to finish."),
    )
