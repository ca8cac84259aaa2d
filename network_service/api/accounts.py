from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from network_service.accounts.operations import update_profile
from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import PersonSchema, ProfileUpdateSchema

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
