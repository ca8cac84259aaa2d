from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from network_service.errors import MentorNetError
from network_service.federations import access as federation_access
from network_service.networks import navigation
from network_service.networks.models import Network
from network_service.networks.operations import get_network
from network_service.resources import operations, permissions, storage
from network_service.resources.forms import KIND_LABELS, DeleteForm, EditForm, FileForm, LinkForm, NoteForm
from network_service.resources.models import ResourceKind
from network_service.security import (
    api_rate_key,
    csrf,
    current_person,
    declare_shared_limit,
    keeps_form,
    login_required,
)
from network_service.web import cursor_arg, form_status, keep_form_for_agreement

bp = Blueprint("resources", __name__)

navigation.register_section(
    navigation.Section(
        key="resources",
        endpoint="resources.library",
        label=lambda: _("Resources"),
        order=55,
        visible=permissions.can_view_library,
    )
)

# Multipart overhead (boundaries, the other fields) on top of the largest file allowed.
FORM_OVERHEAD = 256 * 1024
UPLOAD_ENDPOINTS = {"resources.new_file", "api_resources.Upload"}


def allow_large_upload() -> None:
    """The application refuses request bodies over 2 MiB; the upload endpoints accept a file of
    RESOURCE_MAX_BYTES. Runs before anything reads the body (these endpoints check CSRF themselves)."""
    if request.endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
        request.max_content_length = storage.max_bytes() + FORM_OVERHEAD


bp.before_request(allow_large_upload)

UPLOAD_RATE_LIMIT = (
    "60 per hour"  # per person (or token): members sharing an office's address each have theirs
)


# Links and notes are written for the whole network to read: limited per person, the pages and the API one
# budget (docs/security.md).
RESOURCE_RATE_LIMIT = "60 per hour;300 per day"
RESOURCE_ENDPOINTS = (
    ("resources.new_link", ["POST"]),
    ("resources.new_note", ["POST"]),
    ("api_resources.Resources", ["POST"]),
)


@bp.record_once
def _limit_uploads(state) -> None:
    # applied by security.init_rate_limits once every blueprint is registered
    limits = state.app.extensions.setdefault("mentornet.rate_limits", [])
    for endpoint in sorted(UPLOAD_ENDPOINTS):
        limits.append((endpoint, UPLOAD_RATE_LIMIT, ["POST"], {"key_func": api_rate_key}))


declare_shared_limit(bp, "resources", RESOURCE_RATE_LIMIT, RESOURCE_ENDPOINTS)


@bp.app_context_processor
def _labels():
    return {"resource_kind_labels": KIND_LABELS, "human_size": storage.human_size}


def _field_error(form, exc: MentorNetError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, exc.detail]
    else:
        form.form_errors.append(exc.detail)


@bp.get("/networks/<slug>/resources")
@login_required
def library(slug: str):
    network = get_network(slug)
    viewer = current_person()
    kind = request.args.get("kind", "")
    query = operations.Search(
        text=request.args.get("q", "")[:100],
        kind=ResourceKind(kind) if kind in ResourceKind.__members__ else None,
        language=request.args.get("language", "")[:40],
        tag=request.args.get("tag", "")[:40],
    )
    items, next_cursor = operations.search(network, viewer, query, before=cursor_arg("before"))
    languages, tags = operations.facets(network)
    filtered = bool(query.text or query.kind or query.language or query.tag)
    return render_template(
        "resources/library.html",
        network=network,
        resources=items,
        next_cursor=next_cursor,
        query=query,
        filtered=filtered,
        languages=languages,
        tags=tags,
        next_args={k: v for k, v in request.args.items() if k in {"q", "kind", "language", "tag"} and v},
        can_add=permissions.can_add_resource(viewer, network),
    )


def _add(slug: str, kind: ResourceKind, form, add):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_add_resource(viewer, network):
        abort(403)
    if form.validate_on_submit():
        try:
            resource = add(network, viewer, form)
        except MentorNetError as exc:
            if not keep_form_for_agreement(form, exc):
                if exc.status != 422:
                    raise
                _field_error(form, exc)
        else:
            flash(_("Thank you: “%(title)s” is in the library.", title=resource.title), "success")
            return redirect(url_for("resources.resource", slug=slug, resource_id=resource.id), 303)
    if "csrf_token" in form.errors:  # only the upload form gets here with a bad token (see new_file)
        form.form_errors.append(
            _("This form has expired. Choose the file again and send the form once more.")
        )
    status = form_status(form)
    return _form_page(network, kind, form, status)


def _form_page(network, kind: ResourceKind, form, status: int = 200):
    return render_template(
        "resources/add.html",
        network=network,
        kind=kind,
        form=form,
        max_size=storage.human_size(storage.max_bytes()),
        allowed_types=storage.ALLOWED_LABEL,
    ), status


@bp.route("/networks/<slug>/resources/new/link", methods=["GET", "POST"])
@login_required
@keeps_form(LinkForm)
def new_link(slug: str):
    return _add(
        slug,
        ResourceKind.link,
        LinkForm(),
        lambda network, viewer, form: operations.add_link(
            network,
            actor=viewer,
            title=form.title.data,
            url=form.url.data,
            description=form.description.data,
            language=form.language.data,
            tags=form.tags.data,
        ),
    )


@bp.route("/networks/<slug>/resources/new/note", methods=["GET", "POST"])
@login_required
@keeps_form(NoteForm)
def new_note(slug: str):
    return _add(
        slug,
        ResourceKind.note,
        NoteForm(),
        lambda network, viewer, form: operations.add_note(
            network,
            actor=viewer,
            title=form.title.data,
            body=form.body.data,
            language=form.language.data,
            tags=form.tags.data,
        ),
    )


@bp.route("/networks/<slug>/resources/new/file", methods=["GET", "POST"])
@csrf.exempt  # the body may be larger than the global limit: the form checks the CSRF token itself, after
@login_required  # allow_large_upload has raised the limit for this request
def new_file(slug: str):
    try:
        request.files  # noqa: B018 - parse the body now, under this endpoint's limit
    except RequestEntityTooLarge:
        network = get_network(slug)
        if not permissions.can_add_resource(current_person(), network):
            abort(403)
        form = FileForm(formdata=None)
        form.file.errors = [
            _(
                "The file is too large: at most %(limit)s can be uploaded.",
                limit=storage.human_size(storage.max_bytes()),
            )
        ]
        return _form_page(network, ResourceKind.file, form, 413)

    def add(network, viewer, form):
        upload = form.file.data
        return operations.add_file(
            network,
            actor=viewer,
            stream=upload.stream if upload else None,
            filename=upload.filename if upload else None,
            title=form.title.data,
            description=form.description.data,
            language=form.language.data,
            tags=form.tags.data,
        )

    return _add(slug, ResourceKind.file, FileForm(), add)


@bp.get("/networks/<slug>/resources/<int:resource_id>")
@login_required
def resource(slug: str, resource_id: int):
    network = get_network(slug)
    viewer = current_person()
    item = operations.get_resource(network, resource_id, viewer)
    return render_template(
        "resources/resource.html",
        network=network,
        resource=item,
        can_change=permissions.can_change_resource(viewer, item),
        library_network=library_for(viewer, item),
    )


def library_for(viewer, item) -> Network | None:
    """The library the resource's page leads back to: its own network's for a member of it; for a reader from a
    federation it is shared with, their own network's (whose "From the federation" lists it); else none."""
    if permissions.can_view_library(viewer, item.network):
        return item.network
    reading = federation_access.networks_reading_resource(viewer, item)
    return reading[0] if reading else None


def download_response(resource, path):
    """The file as an attachment that no browser renders or sniffs on our origin."""
    response = send_file(
        path,
        mimetype=(resource.content_type or "application/octet-stream").split(";")[0],
        as_attachment=True,
        download_name=resource.original_filename or f"resource-{resource.id}",
        max_age=0,
        etag=resource.sha256 or True,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@bp.get("/networks/<slug>/resources/<int:resource_id>/download")
@login_required
def download(slug: str, resource_id: int):
    network = get_network(slug)
    item, path = operations.file_for_download(network, resource_id, current_person())
    return download_response(item, path)


@bp.route("/networks/<slug>/resources/<int:resource_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, resource_id: int):
    network = get_network(slug)
    viewer = current_person()
    item = operations.get_resource(network, resource_id, viewer)
    if not permissions.can_change_resource(viewer, item):
        abort(403)
    form = EditForm()
    if item.kind != ResourceKind.link:
        del form.url
    if item.kind == ResourceKind.note:
        form.body.label.text = _("Note")
    else:
        form.body.label.text = _("Description (optional)")
    if not form.is_submitted():
        form.title.data = item.title
        form.body.data = item.body
        form.language.data = item.language
        form.tags.data = ", ".join(item.tags)
        if item.kind == ResourceKind.link:
            form.url.data = item.url
    if form.validate_on_submit():
        changes = {
            "title": form.title.data,
            "body": form.body.data,
            "language": form.language.data,
            "tags": form.tags.data,
        }
        if item.kind == ResourceKind.link:
            changes["url"] = form.url.data
        try:
            operations.edit_resource(item, actor=viewer, **changes)
        except MentorNetError as exc:
            if not keep_form_for_agreement(form, exc):
                if exc.status != 422:
                    raise
                _field_error(form, exc)
        else:
            flash(_("The resource is saved."), "success")
            return redirect(url_for("resources.resource", slug=slug, resource_id=item.id), 303)
    status = form_status(form)
    return render_template("resources/edit.html", network=network, resource=item, form=form), status


@bp.get("/networks/<slug>/resources/<int:resource_id>/delete")
@login_required
def confirm_delete(slug: str, resource_id: int):
    """The step before deleting: what goes, for whom; its button posts to ``delete``."""
    network = get_network(slug)
    viewer = current_person()
    item = operations.get_resource(network, resource_id, viewer)
    if not permissions.can_change_resource(viewer, item):
        abort(403)
    return render_template(
        "resources/delete.html",
        network=network,
        resource=item,
        federations=operations.federations_sharing(item),
        delete_form=DeleteForm(),
    )


@bp.post("/networks/<slug>/resources/<int:resource_id>/delete")
@login_required
def delete(slug: str, resource_id: int):
    network = get_network(slug)
    viewer = current_person()
    item = operations.get_resource(network, resource_id, viewer)
    if not DeleteForm().validate_on_submit():
        abort(400)
    title = item.title
    operations.delete_resource(item, actor=viewer)
    flash(_("“%(title)s” is deleted from the library.", title=title), "success")
    return redirect(url_for("resources.library", slug=slug), 303)
