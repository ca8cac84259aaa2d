from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from network_service.accounts.operations import list_api_tokens, revoke_api_token, update_profile
from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import ApiTokenSchema, PersonSchema, ProfileUpdateSchema

blp = Blueprint("api_accounts", __name__, description="The signed-in person")
blp.before_request(authenticate)
blp.before_request(require_json_body)


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, PersonSchema)
    def get(self):
        """The signed-in person's profile."""
        return require_person()

    @blp.arguments(ProfileUpdateSchema)
    @blp.response(200, PersonSchema)
    def patch(self, changes):
        """Change some fields of one's own profile."""
        person = require_person()
        return update_profile(person, person, **changes)


# No POST here: a token is made only on the devices page, in a recent browser sign-in, so that a stolen token
# cannot mint more tokens that outlive its own revocation (docs/security.md).
@blp.route("/me/tokens")
class Tokens(MethodView):
    @blp.response(200, ApiTokenSchema(many=True))
    def get(self):
        """Your API tokens that still work, oldest first: names and dates, never the secret. Make one on the
        devices page (/profile/sessions); the API cannot make tokens."""
        return list_api_tokens(require_person())


@blp.route("/me/tokens/<int:token_id>")
class Token(MethodView):
    @blp.response(204)
    def delete(self, token_id):
        """Revoke one of your API tokens: it stops working at its next request (the token making this request
        too). Someone else's token, or one revoked already, is 404 like an unknown one."""
        person = require_person()
        revoke_api_token(person, token_id, actor=person)
