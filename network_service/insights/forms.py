from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField


class RefreshForm(FlaskForm):
    pass


class NudgeForm(FlaskForm):
    person_id = HiddenField()
