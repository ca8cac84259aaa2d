from __future__ import annotations

import re

from flask_babel import gettext as _
from marshmallow import INCLUDE, Schema, ValidationError, fields, pre_dump, validate, validates_schema

from network_service.db import MAX_ID
from network_service.networks.models import Level, MembershipStatus, Origin, Role

# The largest whole number a database column holds (PostgreSQL INTEGER): ids beyond it are refused
# as input (422) instead of overflowing in the database driver (a 500).
MAX_INT = MAX_ID
CURSORS = ("before", "after")  # keyset cursors: the id of the last row of the previous page


_DATE_AND_TIME = re.compile(r"\d{4}-?\d{2}-?\d{2}[T ]\d{2}")


class DateAndTime(fields.DateTime):
    """An ISO 8601 date and time of day, as input. marshmallow 4 reads it with ``datetime.fromisoformat``, which also
    takes a date alone, as midnight: a meeting sent with ``"2026-12-01"`` would start at 00:00 without a word, where
    marshmallow 3 refused it (422). A value without a time of day is refused again."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not _DATE_AND_TIME.match(value):
            raise ValidationError(_("Give a date and a time of day, for example 2026-12-01T18:00."))
        return super()._deserialize(value, attr, data, **kwargs)


class Strict(Schema):
    """Unknown fields are rejected (marshmallow's default), so a typo in a field name is a 422, not a no-op."""

    @validates_schema
    def _numbers_fit(self, data, **_kwargs) -> None:
        errors = {}
        for name, value in data.items():
            if not (name in ("id", *CURSORS) or name.endswith(("_id", "_ids"))):
                continue  # ids (and keyset cursors, which are ids) meet the database; other numbers have ranges
            values = value if isinstance(value, list | tuple) else [value]
            if any(
                isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INT
                for item in values
            ):
                errors[name] = [f"Must be at most {MAX_INT}."]
        if errors:
            raise ValidationError(errors)


class PersonSchema(Strict):
    id = fields.Int(dump_only=True)
    email = fields.Email(dump_only=True)
    display_name = fields.Str()
    locale = fields.Str(allow_none=True)
    timezone = fields.Str(allow_none=True)
    languages = fields.List(fields.Str())
    expertise = fields.List(fields.Str())
    region = fields.Str()
    bio = fields.Str()
    is_site_admin = fields.Bool(dump_only=True)


class ProfileUpdateSchema(Strict):
    display_name = fields.Str(validate=validate.Length(min=1, max=120))
    locale = fields.Str(allow_none=True)
    timezone = fields.Str(allow_none=True, validate=validate.Length(max=64))
    languages = fields.List(fields.Str(validate=validate.Length(max=60)), validate=validate.Length(max=20))
    expertise = fields.List(fields.Str(validate=validate.Length(max=60)), validate=validate.Length(max=20))
    region = fields.Str(validate=validate.Length(max=120))
    bio = fields.Str(validate=validate.Length(max=2000))


class ApiTokenSchema(Strict):
    """One of the caller's API tokens: never its secret (shown once, when it was made on the devices page) nor
    its hash."""

    id = fields.Int()
    name = fields.Str()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(
        allow_none=True, metadata={"description": "Written at most every five minutes; null if never used"}
    )


class OrganisationSchema(Strict):
    id = fields.Int()
    name = fields.Str()
    country = fields.Str(allow_none=True)


class NetworkSchema(Strict):
    slug = fields.Str()
    name = fields.Str()
    description = fields.Str()
    organisation = fields.Nested(OrganisationSchema)


class MyNetworkSchema(Strict):
    network = fields.Nested(NetworkSchema)
    role = fields.Enum(Role)
    level = fields.Enum(Level)
    status = fields.Enum(MembershipStatus)


class MemberPersonSchema(Strict):
    id = fields.Int()
    display_name = fields.Str()
    languages = fields.List(fields.Str())
    expertise = fields.List(fields.Str())
    region = fields.Str()

    @pre_dump
    def _hide_unshared_profile(self, person, **_kwargs):
        """A member who has not consented to share their profile (not yet, or no longer) shows only their name."""
        from network_service.privacy.operations import profile_shared

        if isinstance(person, dict) or profile_shared(person):
            return person
        return {
            "id": person.id,
            "display_name": person.display_name,
            "languages": [],
            "expertise": [],
            "region": "",
        }


class MemberSchema(Strict):
    person = fields.Nested(MemberPersonSchema)
    role = fields.Enum(Role)
    level = fields.Enum(Level)
    status = fields.Enum(MembershipStatus)
    origin = fields.Enum(Origin)
    joined_at = fields.DateTime(allow_none=True)


class InvitationCreateSchema(Strict):
    email = fields.Email(required=True)
    display_name = fields.Str(load_default="", validate=validate.Length(max=120))
    role = fields.Enum(Role, load_default=Role.mentor)
    level = fields.Enum(Level, load_default=Level.novice)


class InvitationSchema(Strict):
    id = fields.Int()
    email = fields.Email(attribute="person.email")
    network = fields.Str(attribute="network.slug")
    expires_at = fields.DateTime()


class AcceptInvitationSchema(Strict):
    token = fields.Str(required=True, validate=validate.Length(min=10, max=200))
    agreement_version = fields.Int(required=True)
    accept_agreement = fields.Bool(required=True)
    display_name = fields.Str(load_default="", validate=validate.Length(max=120))
    share_profile = fields.Bool(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Consent to share your languages, expertise and region with the network's members "
            "(purpose `profile_sharing`): true records a yes, false a no; left out or null records nothing "
            "(not chosen: not shared). Ask the person with an unticked box; never send true on their behalf."
        },
    )


class AppointSchema(Strict):
    role = fields.Enum(Role)
    level = fields.Enum(Level)


class AgreementSchema(Strict):
    version = fields.Int()
    title = fields.Str()
    body = fields.Str()
    change_note = fields.Str()
    created_at = fields.DateTime()


class ProblemSchema(Schema):
    """An RFC 9457 problem document: the body of every error response (see ``errors.problem``)."""

    class Meta:
        unknown = INCLUDE  # problem documents may carry extension members

    type = fields.Str(metadata={"description": "Always about:blank: the status code says what happened."})
    title = fields.Str(required=True, metadata={"description": "What went wrong, in general."})
    status = fields.Int(required=True, metadata={"description": "The HTTP status code."})
    detail = fields.Str(metadata={"description": "What went wrong this time, and what to do about it."})
    errors = fields.Dict(
        keys=fields.Str(),
        values=fields.Raw(),
        metadata={"description": "Each invalid field, mapped to its messages."},
    )
