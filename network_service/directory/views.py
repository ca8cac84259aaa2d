from __future__ import annotations

import re
import secrets
import time

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.exceptions import RequestEntityTooLarge

from network_service import page_cache
from network_service.directory import importing, operations, permissions, search
from network_service.directory.forms import (
    KIND_LABELS,
    ActionForm,
    AdminEntryForm,
    ImportForm,
    PublicPageForm,
    SuggestForm,
)
from network_service.directory.models import EntryKind, Service
from network_service.directory.vocabulary import country_codes, country_name, language_name, service_label
from network_service.errors import MentorNetError
from network_service.fragments import FragmentCache
from network_service.networks import navigation
from network_service.networks.operations import get_network
from network_service.security import csrf, current_person, login_required
from network_service.web import cursor_arg

bp = Blueprint("directory", __name__)

navigation.register_section(
    navigation.Section(
        key="public_page",
        endpoint="directory.public_page_settings",
        label=lambda: _("Public page"),
        order=95,
        visible=permissions.can_manage_public_page,
    )
)

IMPORT_ENDPOINTS = {"directory.import_file", "api_directory.Import"}
SUGGEST_ENDPOINTS = {"directory.suggest", "api_directory.Suggestions"}
SUGGEST_RATE_LIMIT = "10 per hour"  # per client address
_UPLOAD_TOKEN = re.compile(r"^[0-9a-f]{32}$")
MAX_FILTER_VALUES = 10


def allow_large_import() -> None:
    """The application refuses bodies over 2 MiB; an import may send a CSV file of up to 5 MB."""
    if request.endpoint in IMPORT_ENDPOINTS and request.method == "POST":
        request.max_content_length = importing.MAX_BYTES + 256 * 1024


bp.before_request(allow_large_import)


@bp.record_once
def _limits(state) -> None:
    limits = state.app.extensions.setdefault("mentornet.rate_limits", [])
    for endpoint in sorted(SUGGEST_ENDPOINTS):
        limits.append((endpoint, SUGGEST_RATE_LIMIT, ["POST"], {}))


@bp.app_context_processor
def _labels():
    return {
        "country_name": country_name,
        "language_name": language_name,
        "service_label": service_label,
        "entry_kind_labels": KIND_LABELS,
    }


def _field_error(form, exc: MentorNetError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, exc.detail]
    else:
        form.form_errors.append(exc.detail)


def _entry_errors(form) -> bool:
    """Every problem of the entry at once, next to its field (the operation would stop at the first)."""
    _values, errors = operations.validate(form.entry_data())
    for name, message in errors.items():
        target = getattr(form, name)
        if message not in target.errors:
            target.errors = [*target.errors, message]
    return bool(errors)


def query_from(args) -> search.Search:
    """A search from query parameters; values that cannot match are dropped, never an error."""
    kind = args.get("kind", "")
    return search.Search(
        text=args.get("q", "")[:200],
        countries=[
            c for c in dict.fromkeys(v.upper() for v in args.getlist("country")) if c in country_codes()
        ][:MAX_FILTER_VALUES],
        languages=[
            v
            for v in dict.fromkeys(v.lower() for v in args.getlist("language"))
            if re.fullmatch(r"[a-z]{2,3}", v)
        ][:MAX_FILTER_VALUES],
        services=[v for v in dict.fromkeys(args.getlist("service")) if v in Service.__members__],
        kind=EntryKind(kind) if kind in EntryKind.__members__ else None,
    )


def query_args(query: search.Search) -> dict:
    args: dict = {}
    if query.text:
        args["q"] = query.text
    for name, values in (
        ("country", query.countries),
        ("language", query.languages),
        ("service", query.services),
    ):
        if values:
            args[name] = values
    if query.kind:
        args["kind"] = query.kind.value
    return args


def _facet_options(counts, selected, label):
    options = [
        {"value": value, "label": label(value), "count": number, "checked": value in selected}
        for value, number in counts
    ]
    known = {option["value"] for option in options}
    options += [
        {"value": value, "label": label(value), "count": 0, "checked": True}
        for value in selected
        if value not in known
    ]
    return sorted(options, key=lambda option: (-option["count"], option["label"]))


# The directory page below the header, per search, page, language and version of the directory's data; and
# each search result, by what it shows. Content-addressed (network_service/fragments.py): the key holds the
# version of the directory domain (new with every committed write to an entry or its facet rows), so a write
# gives new keys at once and the old pages are dropped when the budget is full. Neither depends on the visitor,
# except the administrators' link (in the key). docs/performance.md.
_PAGES = FragmentCache(size=500, max_bytes=3 * 1024 * 1024)
_RESULTS = FragmentCache(size=2000, max_bytes=1024 * 1024)


def _result_html(entry) -> Markup:
    """One search result, rendered once per content and language (the description's plain text costs a
    Markdown parse)."""
    key = (
        entry.id,
        entry.name,
        entry.kind.value,
        entry.city,
        entry.country,
        tuple(entry.services or ()),
        tuple(entry.languages or ()),
        entry.description,
        str(get_locale()),
        request.script_root,
    )
    html = _RESULTS.get(key)
    if html is None:
        html = render_template("directory/_result.html", entry=entry)
        _RESULTS.put(key, html)
    return Markup(html)  # noqa: S704  # nosec B704 - rendered by our autoescaping template


def _index_html(query: search.Search, after: int | None, can_manage: bool) -> str:
    entries, next_cursor = search.search(query, after=after)
    total, counts = search.cached_counts(query)
    return render_template(
        "directory/_index_content.html",
        query=query,
        entries=entries,
        entry_html=_result_html,
        next_cursor=next_cursor,
        total=total,
        countries=_facet_options(counts["country"], query.countries, country_name),
        languages=_facet_options(counts["language"], query.languages, language_name)[:40],
        services=_facet_options(counts["service"], query.services, service_label),
        args=query_args(query),
        can_manage=can_manage,
    )


@bp.get("/directory")
def index():
    query = query_from(request.args)
    after = cursor_arg("after")
    can_manage = permissions.can_manage_directory(current_person())
    stamp = page_cache.current_stamp((page_cache.DIRECTORY,))
    if stamp is None:  # the cache is off, or this transaction wrote the directory
        html = _index_html(query, after, can_manage)
    else:
        key = (
            stamp,
            str(get_locale()),
            request.script_root,
            can_manage,
            query.text,
            query.kind.value if query.kind else "",
            tuple(query.countries),
            tuple(query.languages),
            tuple(query.services),
            after,
        )
        html = _PAGES.get(key)
        if html is None:
            html = _index_html(query, after, can_manage)
            _PAGES.put(key, html)
    content = Markup(html)  # noqa: S704  # nosec B704 - rendered by our autoescaping template
    return render_template("directory/index.html", content_html=content)


@bp.get("/directory/<int:entry_id>")
def entry(entry_id: int):
    viewer = current_person()
    item = operations.get_entry(entry_id, viewer)
    return render_template(
        "directory/entry.html",
        entry=item,
        can_manage=permissions.can_manage_directory(viewer),
        action_form=ActionForm(),
    )


@bp.route("/directory/suggest", methods=["GET", "POST"])
def suggest():
    form = SuggestForm()
    valid = form.validate_on_submit()
    if form.is_submitted() and "csrf_token" not in form.errors and _entry_errors(form):
        valid = False
    if valid:
        if form.homepage.data:  # a robot: answer as if it worked, store nothing
            return redirect(url_for("directory.suggested"), 303)
        try:
            operations.suggest_entry(**form.entry_data())
        except MentorNetError as exc:
            if exc.status != 422:
                raise
            _field_error(form, exc)
        else:
            return redirect(url_for("directory.suggested"), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("directory/suggest.html", form=form), status


@bp.get("/directory/suggest/thanks")
def suggested():
    return render_template("directory/suggested.html")


def _export_name(extension: str) -> str:
    return f"mentornet-directory.{extension}"


@bp.get("/directory/export.csv")
def export_csv():
    body = importing.export_csv(query_from(request.args))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_export_name("csv")}"'},
    )


@bp.get("/directory/export.json")
def export_json():
    body = importing.export_json(query_from(request.args))
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{_export_name("json")}"'},
    )


# -- site administrators ---------------------------------------------------------------------------------


def _require_admin():
    viewer = current_person()
    if not permissions.can_manage_directory(viewer):
        abort(403)
    return viewer


def _admin_page(import_form=None, report=None, upload_token=None, status=200):
    return render_template(
        "directory/admin.html",
        suggestions=operations.pending_suggestions(),
        import_form=import_form or ImportForm(formdata=None),
        action_form=ActionForm(formdata=None),  # never reads the body (it may be over the limit)
        report=report,
        upload_token=upload_token,
        max_mb=importing.MAX_BYTES // (1024 * 1024),
        max_lines=importing.MAX_LINES,
        fields=",".join(operations.FIELDS),
    ), status


@bp.get("/admin/directory")
@login_required
def admin():
    _require_admin()
    return _admin_page()


def _pending_dir():
    from network_service.resources.storage import upload_dir

    folder = upload_dir() / "directory-imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _keep_upload(data: bytes) -> str:
    """Keep a checked file for an hour, so that importing it anyway needs no second upload."""
    folder = _pending_dir()
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < time.time() - 3600:
            old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    (folder / f"{token}.csv").write_bytes(data)
    return token


@bp.post("/admin/directory/import")
@csrf.exempt  # the body may exceed the global limit: the form checks its CSRF token itself
@login_required
def import_file():
    try:
        request.files  # noqa: B018 - parse the body now, under this endpoint's limit
    except RequestEntityTooLarge:
        _require_admin()
        report = importing.ImportReport(
            file_errors=[_("The file is larger than %(size)s MB.", size=importing.MAX_BYTES // (1024 * 1024))]
        )
        return _admin_page(report=report, status=413)
    actor = _require_admin()
    form = ImportForm()
    if not form.validate_on_submit():
        form.file.errors = [
            *form.file.errors,
            _("This form has expired. Choose the file again and send the form once more."),
        ]
        return _admin_page(form, status=422)
    token = form.upload.data or ""
    if token:
        path = _pending_dir() / f"{token}.csv"
        if not _UPLOAD_TOKEN.match(token) or not path.exists():
            form.file.errors = [_("Choose the file again: the checked file is no longer kept.")]
            return _admin_page(form, status=422)
        data = path.read_bytes()
    elif form.file.data:
        data = form.file.data.stream.read(importing.MAX_BYTES + 1)
    else:
        form.file.errors = [_("Choose a CSV file.")]
        return _admin_page(form, status=422)
    report = importing.import_csv(data, actor, skip_invalid=bool(form.skip_invalid.data))
    if report.imported:
        if token:
            (_pending_dir() / f"{token}.csv").unlink(missing_ok=True)
        flash(_("%(count)s entries imported.", count=report.imported), "success")
        return redirect(url_for("directory.admin"), 303)
    keep = _keep_upload(data) if report.problems and report.valid and not report.file_errors else None
    return _admin_page(ImportForm(formdata=None), report=report, upload_token=keep, status=422)


@bp.route("/admin/directory/new", methods=["GET", "POST"])
@bp.route("/admin/directory/<int:entry_id>/edit", methods=["GET", "POST"])
@login_required
def edit(entry_id: int | None = None):
    actor = _require_admin()
    item = operations.get_entry(entry_id, actor) if entry_id is not None else None
    if item is not None and item.network_id is not None:
        abort(404)
    form = AdminEntryForm()
    if item is not None and not form.is_submitted():
        for name in ("name", "country", "city", "website", "contact_email", "contact_phone", "description"):
            getattr(form, name).data = getattr(item, name)
        form.kind.data = item.kind.value
        form.languages.data = ", ".join(item.languages)
        form.services.data = list(item.services)
    valid = form.validate_on_submit()
    if form.is_submitted() and "csrf_token" not in form.errors and _entry_errors(form):
        valid = False
    if valid:
        try:
            if item is None:
                item = operations.create_entry(actor, **form.entry_data())
            else:
                operations.update_entry(item, actor, **form.entry_data())
        except MentorNetError as exc:
            if exc.status != 422:
                raise
            _field_error(form, exc)
        else:
            flash(_("The entry is saved."), "success")
            return redirect(url_for("directory.entry", entry_id=item.id), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("directory/edit.html", form=form, entry=item), status


@bp.post("/admin/directory/<int:entry_id>/publish")
@login_required
def publish(entry_id: int):
    actor = _require_admin()
    item = operations.get_entry(entry_id, actor)
    if not ActionForm().validate_on_submit():
        abort(400)
    operations.publish_entry(item, actor)
    flash(_("“%(name)s” is published.", name=item.name), "success")
    return redirect(url_for("directory.admin"), 303)


@bp.post("/admin/directory/<int:entry_id>/delete")
@login_required
def delete(entry_id: int):
    actor = _require_admin()
    item = operations.get_entry(entry_id, actor)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = item.name
    operations.delete_entry(item, actor)
    flash(_("“%(name)s” is deleted from the directory.", name=name), "success")
    return redirect(url_for("directory.admin"), 303)


# -- a network's public page -----------------------------------------------------------------------------


@bp.get("/n/<slug>")
def network_page(slug: str):
    network = get_network(slug)
    page = operations.visible_public_page(network)
    return render_template("directory/network_page.html", network=network, page=page)


@bp.route("/networks/<slug>/public-page", methods=["GET", "POST"])
@login_required
def public_page_settings(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_manage_public_page(viewer, network):
        abort(403)
    page = operations.public_page(network)
    form = PublicPageForm()
    if not form.is_submitted():
        form.public.data = bool(page and page.public)
        form.country.data = (page.country if page else "") or (network.organisation.country or "")
        form.services.data = list(page.services) if page else []
        form.how_to_join.data = page.how_to_join if page else ""
    if form.validate_on_submit():
        try:
            page = operations.update_public_page(
                network, viewer, public=form.public.data, how_to_join=form.how_to_join.data,
                country=form.country.data, services=form.services.data or [],
            )  # fmt: skip
        except MentorNetError as exc:
            if exc.status != 422:
                raise
            _field_error(form, exc)
        else:
            flash(_("The public page is saved."), "success")
            return redirect(url_for("directory.public_page_settings", slug=slug), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "directory/public_page_settings.html", network=network, page=page, form=form
    ), status
