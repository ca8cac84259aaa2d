"""JSON API of the public directory: search with facets, entries, public suggestions, and for site
administrators review, edits and CSV import with a report by line."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import Strict
from network_service.directory import importing, operations, search
from network_service.directory.models import EntryKind, Service
from network_service.directory.views import allow_large_import, query_from
from network_service.errors import InvalidInput
from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.security import current_person

blp = Blueprint(
    "api_directory", __name__, description="The public directory of organisations supporting migrants"
)
blp.before_request(allow_large_import)  # first: before anything reads the body
blp.before_request(authenticate)


@blp.before_request
def _body_type() -> None:
    """JSON everywhere, except the import, which takes multipart/form-data."""
    if request.endpoint == "api_directory.Import":
        if request.method == "POST" and request.mimetype != "multipart/form-data":
            abort(415, message=_("Send the file as multipart/form-data, in a field called file."))
        return
    require_json_body()


class EntrySchema(Strict):
    id = fields.Int(dump_only=True)
    kind = fields.Enum(EntryKind)
    name = fields.Str()
    country = fields.Str(metadata={"description": "ISO 3166-1 alpha-2 code."})
    city = fields.Str()
    languages = fields.List(fields.Str(), metadata={"description": "ISO 639 codes."})
    services = fields.List(fields.Str())
    website = fields.Str()
    contact_email = fields.Str()
    contact_phone = fields.Str()
    description = fields.Str(metadata={"description": "Markdown."})
    network = fields.Function(lambda entry: entry.network.slug if entry.network else None, dump_only=True)
    published = fields.Bool(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


_LIST = fields.List(fields.Str(validate=validate.Length(max=60)), validate=validate.Length(max=20))


class EntryInputSchema(Strict):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.Str(
        load_default="organisation", validate=validate.OneOf([kind.value for kind in EntryKind])
    )
    country = fields.Str(required=True, validate=validate.Length(max=2))
    city = fields.Str(load_default="", validate=validate.Length(max=120))
    languages = _LIST
    services = fields.List(fields.Str(validate=validate.OneOf([service.value for service in Service])))
    website = fields.Str(load_default="", validate=validate.Length(max=300))
    contact_email = fields.Str(load_default="", validate=validate.Length(max=254))
    contact_phone = fields.Str(load_default="", validate=validate.Length(max=40))
    description = fields.Str(load_default="", validate=validate.Length(max=MAX_MARKDOWN_CHARS))


class EntryChangeSchema(EntryInputSchema):
    """The fields to change (all optional)."""


class SearchArgsSchema(Strict):
    q = fields.Str(load_default="", validate=validate.Length(max=200))
    country = fields.List(fields.Str(), load_default=list)
    language = fields.List(fields.Str(), load_default=list)
    service = fields.List(fields.Str(), load_default=list)
    kind = fields.Str(load_default="")
    after = fields.Int(load_default=None, metadata={"description": "next_cursor of the previous page."})


class FacetValueSchema(Strict):
    value = fields.Str()
    count = fields.Int()


class FacetsSchema(Strict):
    country = fields.List(fields.Nested(FacetValueSchema))
    language = fields.List(fields.Nested(FacetValueSchema))
    service = fields.List(fields.Nested(FacetValueSchema))


class SearchPageSchema(Strict):
    items = fields.List(fields.Nested(EntrySchema))
    next_cursor = fields.Int(allow_none=True)
    total = fields.Int()
    facets = fields.Nested(FacetsSchema)


class LineProblemSchema(Strict):
    line = fields.Int()
    name = fields.Str()
    messages = fields.List(fields.Str())


class ImportReportSchema(Strict):
    imported = fields.Int()
    valid = fields.Int()
    file_errors = fields.List(fields.Str())
    problems = fields.List(fields.Nested(LineProblemSchema))


class ImportFileSchema(Strict):
    file = Upload(required=True)


class ImportFormSchema(Strict):
    skip_invalid = fields.Bool(load_default=False)


@blp.route("/directory")
class Directory(MethodView):
    @blp.arguments(SearchArgsSchema, location="query")
    @blp.response(200, SearchPageSchema)
    def get(self, args):
        """Search the published directory (anyone): words, country, language, service and kind filters, with
        facet counts. Any text is accepted; no full-text syntax is interpreted."""
        query = query_from(request.args)
        items, next_cursor = search.search(query, after=args["after"])
        total, facet_counts = search.cached_counts(query)
        facets = {
            name: [{"value": value, "count": number} for value, number in counts]
            for name, counts in facet_counts.items()
        }
        return {"items": items, "next_cursor": next_cursor, "total": total, "facets": facets}


@blp.route("/directory/suggestions")
class Suggestions(MethodView):
    @blp.arguments(EntryInputSchema)
    @blp.response(201, EntrySchema)
    def post(self, data):
        """Suggest an organisation (anyone; rate-limited). It is published once a site administrator agrees."""
        return operations.suggest_entry(**data)


@blp.route("/directory/<int:entry_id>")
class EntryDetail(MethodView):
    @blp.response(200, EntrySchema)
    def get(self, entry_id):
        """One published entry (anyone); unpublished entries and suggestions for site administrators."""
        return operations.get_entry(entry_id, current_person())

    @blp.arguments(EntryChangeSchema(partial=True))
    @blp.response(200, EntrySchema)
    def patch(self, changes, entry_id):
        """Change an entry (site administrators)."""
        actor = require_person()
        return operations.update_entry(operations.get_entry(entry_id, actor), actor, **changes)

    @blp.response(204)
    def delete(self, entry_id):
        """Reject a suggestion or delete an entry (site administrators)."""
        actor = require_person()
        operations.delete_entry(operations.get_entry(entry_id, actor), actor)


@blp.route("/directory/<int:entry_id>/publish")
class Publish(MethodView):
    @blp.response(200, EntrySchema)
    def post(self, entry_id):
        """Publish a suggestion or an unpublished entry (site administrators)."""
        actor = require_person()
        return operations.publish_entry(operations.get_entry(entry_id, actor), actor)


@blp.route("/directory/import")
class Import(MethodView):
    @blp.arguments(ImportFileSchema, location="files")
    @blp.arguments(ImportFormSchema, location="form")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(422, schema=ImportReportSchema, description="Nothing imported; the report says why.")
    def post(self, files, form):
        """Import a CSV file (site administrators), multipart/form-data with the field file. Nothing is imported
        when a line has errors unless skip_invalid is true; the report lists the problems by line."""
        actor = require_person()
        upload = files.get("file")
        if upload is None:
            raise InvalidInput(_("Choose a CSV file."), field="file")
        report = importing.import_csv(
            upload.stream.read(importing.MAX_BYTES + 1), actor, skip_invalid=form["skip_invalid"]
        )
        return report, (200 if report.imported else 422)
