"""JSON API of a network's library: search, add links and notes, upload files, download, edit, delete."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import Strict
from network_service.errors import InvalidInput
from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.networks.operations import get_network
from network_service.resources import operations
from network_service.resources.models import ResourceKind
from network_service.resources.views import allow_large_upload, download_response

blp = Blueprint(
    "api_resources", __name__, description="The network's shared library of links, files and notes"
)
blp.before_request(allow_large_upload)  # first: before anything reads the body
blp.before_request(authenticate)


@blp.before_request
def _body_type() -> None:
    """JSON everywhere, except the upload, which takes multipart/form-data."""
    if request.endpoint == "api_resources.Upload":
        if request.method == "POST" and request.mimetype != "multipart/form-data":
            abort(415, message=_("Send the file as multipart/form-data, in a field called file."))
        return
    require_json_body()


class ResourceSchema(Strict):
    id = fields.Int(dump_only=True)
    kind = fields.Enum(ResourceKind)
    title = fields.Str()
    body = fields.Str(metadata={"description": "The note, or the description of a link or file (Markdown)."})
    url = fields.Str(allow_none=True)
    original_filename = fields.Str(allow_none=True)
    content_type = fields.Str(allow_none=True)
    size = fields.Int(allow_none=True)
    sha256 = fields.Str(allow_none=True)
    language = fields.Str()
    tags = fields.List(fields.Str())
    created_by = fields.Int(attribute="created_by_id", allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ResourcePageSchema(Strict):
    items = fields.List(fields.Nested(ResourceSchema))
    next_cursor = fields.Int(
        allow_none=True,
        metadata={"description": "Pass as `before` for the next page; null on the last page."},
    )


class SearchSchema(Strict):
    q = fields.Str(load_default="", validate=validate.Length(max=100))
    kind = fields.Enum(ResourceKind, load_default=None)
    language = fields.Str(load_default="", validate=validate.Length(max=40))
    tag = fields.Str(load_default="", validate=validate.Length(max=40))
    before = fields.Int(load_default=None)


_TAGS = fields.List(fields.Str(validate=validate.Length(max=40)), validate=validate.Length(max=10))


class ResourceCreateSchema(Strict):
    kind = fields.Str(required=True, validate=validate.OneOf(["link", "note"]))
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    url = fields.Str(load_default="", validate=validate.Length(max=2000))
    body = fields.Str(load_default="", validate=validate.Length(max=MAX_MARKDOWN_CHARS))
    language = fields.Str(load_default="", validate=validate.Length(max=40))
    tags = fields.List(
        fields.Str(validate=validate.Length(max=40)), load_default=list, validate=validate.Length(max=10)
    )


class ResourceEditSchema(Strict):
    title = fields.Str(validate=validate.Length(min=1, max=200))
    url = fields.Str(validate=validate.Length(max=2000))
    body = fields.Str(validate=validate.Length(max=MAX_MARKDOWN_CHARS))
    language = fields.Str(validate=validate.Length(max=40))
    tags = _TAGS


class UploadFormSchema(Strict):
    title = fields.Str(load_default="", validate=validate.Length(max=200))
    description = fields.Str(load_default="", validate=validate.Length(max=MAX_MARKDOWN_CHARS))
    language = fields.Str(load_default="", validate=validate.Length(max=40))
    tags = fields.Str(load_default="", metadata={"description": "Comma-separated."})


class UploadFileSchema(Strict):
    file = Upload(required=True)


@blp.route("/networks/<slug>/resources")
class Resources(MethodView):
    @blp.arguments(SearchSchema, location="query")
    @blp.response(200, ResourcePageSchema)
    def get(self, args, slug):
        """Search the library (members): text in titles, descriptions and tags; kind, language and tag filters."""
        query = operations.Search(
            text=args["q"], kind=args["kind"], language=args["language"], tag=args["tag"]
        )
        items, next_cursor = operations.search(
            get_network(slug), require_person(), query, before=args["before"]
        )
        return {"items": items, "next_cursor": next_cursor}

    @blp.arguments(ResourceCreateSchema)
    @blp.response(201, ResourceSchema)
    def post(self, data, slug):
        """Add a link (kind link, with url) or a Markdown note (kind note, with body) (members)."""
        actor = require_person()
        network = get_network(slug)
        if data["kind"] == "link":
            try:
                return operations.add_link(
                    network, actor=actor, title=data["title"], url=data["url"], description=data["body"],
                    language=data["language"], tags=data["tags"],
                )  # fmt: skip
            except InvalidInput as exc:
                if exc.field == "description":  # a link's description comes as ``body`` here
                    exc.field = "body"
                raise
        return operations.add_note(
            network, actor=actor, title=data["title"], body=data["body"], language=data["language"],
            tags=data["tags"],
        )  # fmt: skip


@blp.route("/networks/<slug>/resources/upload")
class Upload(MethodView):
    @blp.arguments(UploadFileSchema, location="files")
    @blp.arguments(UploadFormSchema, location="form")
    @blp.response(201, ResourceSchema)
    def post(self, files, form, slug):
        """Upload a file (members) as multipart/form-data; the type is checked by name and content, the size
        against RESOURCE_MAX_BYTES (413 when the request is larger)."""
        actor = require_person()
        upload = files.get("file")
        if upload is None:
            raise InvalidInput(_("Choose a file to upload."), field="file")
        return operations.add_file(
            get_network(slug), actor=actor, stream=upload.stream, filename=upload.filename, title=form["title"],
            description=form["description"], language=form["language"], tags=form["tags"],
        )  # fmt: skip


@blp.route("/networks/<slug>/resources/<int:resource_id>")
class ResourceDetail(MethodView):
    @blp.response(200, ResourceSchema)
    def get(self, slug, resource_id):
        """One resource (members)."""
        return operations.get_resource(get_network(slug), resource_id, require_person())

    @blp.arguments(ResourceEditSchema)
    @blp.response(200, ResourceSchema)
    def patch(self, changes, slug, resource_id):
        """Change a resource (its author; coordinator, Meta-Mentor, office)."""
        actor = require_person()
        resource = operations.get_resource(get_network(slug), resource_id, actor)
        return operations.edit_resource(resource, actor=actor, **changes)

    @blp.response(204)
    def delete(self, slug, resource_id):
        """Delete a resource and its file (its author; coordinator, Meta-Mentor, office)."""
        actor = require_person()
        resource = operations.get_resource(get_network(slug), resource_id, actor)
        operations.delete_resource(resource, actor=actor)


@blp.route("/networks/<slug>/resources/<int:resource_id>/download")
class Download(MethodView):
    @blp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream")
    def get(self, slug, resource_id):
        """The file of a file resource, as an attachment (members)."""
        resource, path = operations.file_for_download(get_network(slug), resource_id, require_person())
        return download_response(resource, path)
