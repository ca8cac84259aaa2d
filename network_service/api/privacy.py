"""The signed-in person's data export, consent choices and account erasure."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import Strict
from network_service.privacy import operations

blp = Blueprint("api_privacy", __name__, description="Your data: export, consent, erasure")
blp.before_request(authenticate)
blp.before_request(require_json_body)


class ExportSchema(Strict):
    format = fields.Str(metadata={"description": "Always `mentornet-export`"})
    version = fields.Int()
    exported_at = fields.Str()
    person_id = fields.Int()
    sections = fields.Dict(
        keys=fields.Str(),
        values=fields.Raw(),
        metadata={
            "description": "One section per part of the service (accounts, networks, conversations, ...)"
        },
    )


class ConsentSchema(Strict):
    purpose = fields.Str(required=True, validate=validate.OneOf(list(operations.PURPOSES)))
    given = fields.Bool(
        required=True,
        metadata={
            "description": "To send: true gives (or, for `email_notifications`, keeps) the purpose, false "
            "withdraws it (objects to it). Returned: whether the purpose applies now, which is `state` == "
            "`given`, or `not_chosen` where `basis` is not consent."
        },
    )
    state = fields.Str(
        dump_only=True,
        validate=validate.OneOf(operations.STATES),
        metadata={
            "description": "`given`, `withdrawn`, or `not_chosen` (no answer yet, or a yes to an older text "
            "that no longer counts). For `profile_sharing` (consent), `not_chosen` means not shared."
        },
    )
    basis = fields.Str(
        dump_only=True,
        validate=validate.OneOf([operations.CONSENT, operations.LEGITIMATE_INTEREST]),
        metadata={
            "description": "The lawful basis: `consent` (opt-in: off until given) or `legitimate_interest` "
            "(part of the service, on until withdrawn)."
        },
    )
    text_version = fields.Str(
        dump_only=True, metadata={"description": "The version of the text the latest choice was made against"}
    )
    recorded_at = fields.DateTime(dump_only=True, allow_none=True)


class ConsentListSchema(Strict):
    items = fields.List(fields.Nested(ConsentSchema))


class EraseSchema(Strict):
    confirm = fields.Str(
        required=True, validate=validate.Length(max=254), metadata={"description": "Your e-mail address"}
    )
    delete_contributions = fields.Bool(load_default=False)


class ErasedSchema(Strict):
    erased = fields.Bool()


@blp.route("/privacy/export")
class Export(MethodView):
    @blp.response(200, ExportSchema)
    @blp.alt_response(429, response="TOO_MANY_REQUESTS", description="Too many exports today; try tomorrow")
    def get(self):
        """Everything the service holds about you, as JSON (the web page adds your files in a ZIP). Limited to a
        few exports a day (429 beyond)."""
        person = require_person()
        return operations.export_json(person, person, via="api")


def _consents(person) -> dict:
    current = operations.current_consents(person)
    items = []
    for key, purpose in operations.PURPOSES.items():
        state = operations.state_of(key, current[key])
        items.append(
            {
                "purpose": key,
                "given": state == operations.GIVEN or (state == operations.NOT_CHOSEN and purpose.default),
                "state": state,
                "basis": purpose.basis,
                "text_version": (current[key].text_version if current[key] else purpose.version),
                "recorded_at": current[key].recorded_at if current[key] else None,
            }
        )
    return {"items": items}


@blp.route("/privacy/consents")
class Consents(MethodView):
    @blp.response(200, ConsentListSchema)
    def get(self):
        """Your current choice for each purpose: `profile_sharing` (consent: `not_chosen` until you answer, and
        not shared until you say yes) and `email_notifications` (part of the service: sent until you object)."""
        return _consents(require_person())

    @blp.arguments(ConsentSchema)
    @blp.response(200, ConsentListSchema)
    def put(self, data):
        """Give or withdraw your consent for one purpose (for `email_notifications`: keep or stop the e-mails).
        Only the person themself can answer; nothing is ever given on anyone's behalf."""
        person = require_person()
        operations.set_consent(person, data["purpose"], data["given"], actor=person, via="api")
        return _consents(person)


@blp.route("/privacy/erase")
class Erase(MethodView):
    @blp.arguments(EraseSchema)
    @blp.response(200, ErasedSchema)
    @blp.alt_response(409, response="CONFLICT", description="You are the only coordinator of a network")
    def post(self, data):
        """Erase your account for good (409 while you are the only coordinator of a network)."""
        person = require_person()
        operations.erase_person(
            person, person, confirm=data["confirm"], delete_contributions=data["delete_contributions"]
        )
        return {"erased": True}
