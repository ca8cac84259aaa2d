from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import fields, validate

from network_service.accounts.models import Person
from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.conversations import AuthorSchema
from network_service.api.schemas import (
    AcceptInvitationSchema,
    AgreementSchema,
    AppointSchema,
    InvitationCreateSchema,
    InvitationSchema,
    MemberPersonSchema,
    MemberSchema,
    MyNetworkSchema,
    NetworkSchema,
    Strict,
)
from network_service.db import session
from network_service.errors import Forbidden, NotFound
from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.networks import operations, organise, permissions
from network_service.networks.models import Level, MembershipStatus, Role
from network_service.privacy.operations import profile_shared_among

blp = Blueprint("api_networks", __name__, description="Networks, members and invitations")
blp.before_request(authenticate)
blp.before_request(require_json_body)


@blp.route("/networks")
class MyNetworks(MethodView):
    @blp.response(200, MyNetworkSchema(many=True))
    def get(self):
        """The networks the signed-in person belongs to or is invited to."""
        return operations.networks_of(require_person())


@blp.route("/networks/<slug>")
class NetworkDetail(MethodView):
    @blp.response(200, NetworkSchema)
    def get(self, slug):
        """One network (members only)."""
        viewer = require_person()
        network = operations.get_network(slug)
        if not permissions.can_view_members(viewer, network):
            raise Forbidden(_("Only members of this network can see it."))
        return network


class MemberPageSchema(Strict):
    items = fields.List(fields.Nested(MemberSchema), metadata={"description": "By name, then id."})
    next_cursor = fields.Int(
        allow_none=True,
        metadata={"description": "Pass as `after` for the next page; null on the last page."},
    )


class MemberListQuerySchema(Strict):
    status = fields.Enum(
        MembershipStatus,
        load_default=MembershipStatus.active,
        validate=validate.OneOf([MembershipStatus.active, MembershipStatus.invited]),
        metadata={"description": "`active` (default), or `invited`: only for those who may invite."},
    )
    role = fields.Enum(Role, load_default=None)
    level = fields.Enum(Level, load_default=None)
    language = fields.Str(
        load_default="",
        validate=validate.Length(max=60),
        metadata={"description": "Members who speak it, among those who share their profile."},
    )
    after = fields.Int(load_default=None, metadata={"description": "`next_cursor` of the previous page."})
    limit = fields.Int(load_default=organise.MEMBERS_PAGE_SIZE, validate=validate.Range(min=1, max=200))


@blp.route("/networks/<slug>/members")
class Members(MethodView):
    @blp.arguments(MemberListQuerySchema, location="query")
    @blp.response(200, MemberPageSchema)
    def get(self, args, slug):
        """Members with their roles, by name, a page at a time (`after`: the previous page's `next_cursor`);
        `status=invited` lists pending invitees, for those who may invite."""
        viewer = require_person()
        members, next_cursor = organise.members_page(operations.get_network(slug), viewer, **args)
        profile_shared_among(m.person_id for m in members)  # one query for the cards' profile_shared
        return {"items": members, "next_cursor": next_cursor}


@blp.route("/networks/<slug>/members/<int:person_id>")
class Member(MethodView):
    @blp.arguments(AppointSchema)
    @blp.response(200, MemberSchema)
    def patch(self, changes, slug, person_id):
        """Appoint a member to a role or level (coordinators)."""
        actor = require_person()
        network = operations.get_network(slug)
        person = session.get(Person, person_id)
        if person is None:
            raise NotFound(_("No such person."), field="person_id")
        membership = operations.appoint(
            network, person, actor=actor, role=changes.get("role"), level=changes.get("level")
        )
        profile_shared_among([person.id])  # one member: not everyone who shares
        return membership


@blp.route("/networks/<slug>/agreement")
class CurrentAgreement(MethodView):
    @blp.response(200, AgreementSchema)
    def get(self, slug):
        """The current version of the network's agreement and communication rules (members only)."""
        viewer = require_person()
        network = operations.get_network(slug)
        if not permissions.can_view_members(viewer, network):
            raise Forbidden(_("Only members of this network can see its agreement."))
        return operations.current_agreement(network)


@blp.route("/networks/<slug>/invitations")
class Invitations(MethodView):
    @blp.arguments(InvitationCreateSchema)
    @blp.response(201, InvitationSchema)
    def post(self, data, slug):
        """Invite a person by e-mail; the invitation e-mail goes out once the request commits."""
        actor = require_person()
        return operations.invite_person(
            operations.get_network(slug),
            data["email"],
            actor=actor,
            display_name=data["display_name"],
            role=data["role"],
            level=data["level"],
        )


@blp.route("/invitations/accept")
class AcceptInvitation(MethodView):
    @blp.doc(security=[])  # the invitation token is the credential
    @blp.arguments(AcceptInvitationSchema)
    @blp.response(200, MemberSchema)
    def post(self, data):
        """Accept an invitation with its token; needs an explicit yes to the current agreement version."""
        return operations.accept_invitation(
            data["token"],
            agreement_version=data["agreement_version"],
            accept=data["accept_agreement"],
            display_name=data["display_name"],
            share_profile=data["share_profile"],
        )


# -- organising: agreement versions, acceptance, settings, leaving ------------------------------------------


class PublishAgreementSchema(Strict):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=operations.MAX_AGREEMENT_TITLE))
    body = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_MARKDOWN_CHARS))
    change_note = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_CHANGE_NOTE))


class AcceptAgreementSchema(Strict):
    version = fields.Int(
        required=True, metadata={"description": "The version the member read; must be current."}
    )
    accept_agreement = fields.Bool(required=True)


class AcceptanceSchema(Strict):
    version = fields.Int(attribute="agreement.version")
    accepted_at = fields.DateTime()


class PendingSchema(Strict):
    person = fields.Nested(MemberPersonSchema, attribute="membership.person")
    role = fields.Enum(Role, attribute="membership.role")
    level = fields.Enum(Level, attribute="membership.level")
    days_since_publication = fields.Int(attribute="days")
    reminders = fields.Int(metadata={"description": "Automatic reminders sent so far."})


class AgreementVersionSchema(Strict):
    version = fields.Int()
    title = fields.Str()
    change_note = fields.Str(metadata={"description": "What changed, and why (Markdown); may be empty."})
    created_at = fields.DateTime(metadata={"description": "When the version was published."})
    published_by = fields.Nested(
        AuthorSchema, allow_none=True, metadata={"description": "Null when the publisher's account is gone."}
    )
    current = fields.Bool(metadata={"description": "Whether this is the current version."})


class AgreementChangeSchema(Strict):
    kind = fields.Str(validate=validate.OneOf(["added", "removed"]))
    text = fields.Str(
        metadata={"description": "A paragraph (or list item) of the title and text, as Markdown."}
    )


class AgreementVersionDetailSchema(AgreementVersionSchema):
    body = fields.Str(metadata={"description": "The text of this version (Markdown)."})
    current_version = fields.Int()
    previous_version = fields.Int(allow_none=True, metadata={"description": "Null for the first version."})
    changes = fields.List(
        fields.Nested(AgreementChangeSchema),
        metadata={
            "description": "The paragraphs removed and added since the previous version, in reading order."
        },
    )


class RemindersSchema(Strict):
    version = fields.Int(metadata={"description": "The current version the reminders are about."})
    reminded = fields.Int(metadata={"description": "Members reminded now."})
    already_reminded = fields.Int(
        metadata={
            "description": "Members who have not accepted either but were reminded in the last 24 hours "
            "(automatically or by hand): not reminded again."
        }
    )


class NetworkSettingsSchema(Strict):
    name = fields.Str(validate=validate.Length(min=1, max=200))
    description = fields.Str(validate=validate.Length(max=MAX_MARKDOWN_CHARS))
    languages = fields.List(fields.Str(validate=validate.Length(max=60)), validate=validate.Length(max=20))
    region = fields.Str(validate=validate.Length(max=120))
    contact_email = fields.Str(validate=validate.Length(max=254))
    contact_phone = fields.Str(validate=validate.Length(max=40))
    contact_hours = fields.Str(validate=validate.Length(max=200))


def version_data(agreement, current_version: int) -> dict:
    return {
        "version": agreement.version,
        "title": agreement.title,
        "change_note": agreement.change_note,
        "created_at": agreement.created_at,
        "published_by": agreement.published_by,
        "current": agreement.version == current_version,
    }


@blp.route("/networks/<slug>/agreements")
class Agreements(MethodView):
    @blp.response(200, AgreementVersionSchema(many=True))
    def get(self, slug):
        """Every version of the agreement, newest first, with its change note and publisher, without the text
        (members; read one version for its text and changes)."""
        viewer = require_person()
        versions = organise.agreement_versions(operations.get_network(slug), viewer)
        current = versions[0].version if versions else 0
        return [version_data(agreement, current) for agreement in versions]

    @blp.arguments(PublishAgreementSchema)
    @blp.response(201, AgreementSchema)
    def post(self, data, slug):
        """Publish a new version of the agreement and communication rules (coordinator, Meta-Mentor); every
        active member is notified and asked to accept it."""
        actor = require_person()
        return operations.publish_agreement(
            operations.get_network(slug),
            data["title"],
            data["body"],
            actor=actor,
            change_note=data["change_note"],
        )


@blp.route("/networks/<slug>/agreements/<int:version>")
class AgreementVersion(MethodView):
    @blp.response(200, AgreementVersionDetailSchema)
    def get(self, slug, version):
        """One version of the agreement with its text and what changed since the version before (members)."""
        viewer = require_person()
        network = operations.get_network(slug)
        agreement = organise.get_version(network, version, viewer)
        previous = organise.previous_version(agreement)
        current = operations.current_agreement(network).version
        return {
            **version_data(agreement, current),
            "body": agreement.body,
            "current_version": current,
            "previous_version": previous.version if previous else None,
            "changes": organise.changes_between(previous, agreement),
        }


@blp.route("/networks/<slug>/agreement/acceptance")
class AgreementAcceptance(MethodView):
    @blp.arguments(AcceptAgreementSchema)
    @blp.response(200, AcceptanceSchema)
    def post(self, data, slug):
        """Accept the current version (active members); 409 if ``version`` is no longer the current one."""
        viewer = require_person()
        return organise.accept_current(
            viewer, operations.get_network(slug), version=data["version"], accept=data["accept_agreement"]
        )


@blp.route("/networks/<slug>/agreement/pending")
class AgreementPending(MethodView):
    @blp.response(200, PendingSchema(many=True))
    def get(self, slug):
        """Active members who have not accepted the current version, with the days since it was published
        (coordinator, Meta-Mentor, network office)."""
        return organise.not_accepted(operations.get_network(slug), require_person())


@blp.route("/networks/<slug>/agreement/reminders")
class AgreementReminders(MethodView):
    @blp.response(200, RemindersSchema)
    def post(self, slug):
        """Remind now every active member who has not accepted the current version, except those reminded in the
        last 24 hours (coordinator, Meta-Mentor, network office; they must have accepted it themselves)."""
        actor = require_person()
        network = operations.get_network(slug)
        reminded, skipped = organise.remind_now(network, actor)
        return {
            "version": operations.current_agreement(network).version,
            "reminded": reminded,
            "already_reminded": skipped,
        }


@blp.route("/networks/<slug>/settings")
class NetworkSettings(MethodView):
    @blp.response(200, NetworkSettingsSchema)
    def get(self, slug):
        """The network's settings, the office's public contact included (coordinators)."""
        viewer = require_person()
        network = operations.get_network(slug)
        if not permissions.can_manage_settings(viewer, network):
            raise Forbidden(_("Only the coordinator can change the network's settings."))
        return network

    @blp.arguments(NetworkSettingsSchema)
    @blp.response(200, NetworkSettingsSchema)
    def patch(self, changes, slug):
        """Change some of the network's settings (coordinators); the fields not sent stay as they are."""
        return organise.update_settings(operations.get_network(slug), require_person(), **changes)


@blp.route("/networks/<slug>/membership")
class MyMembership(MethodView):
    @blp.response(200, MemberSchema)
    def delete(self, slug):
        """Leave the network (active members); the last coordinator cannot leave (409)."""
        return organise.leave(require_person(), operations.get_network(slug))
