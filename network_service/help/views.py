"""Help pages: the open requests of a network, asking, answering, resolving, and who was asked and why."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from network_service import page_cache
from network_service.errors import Conflict, Forbidden, InvalidInput, MentorNetError
from network_service.fragments import CSRF_MARK, FragmentCache, kept_form, reader_context
from network_service.help import operations, permissions, privacy
from network_service.help.forms import (
    STATUS_LABELS,
    URGENCY_LABELS,
    URGENCY_SHORT,
    HelpRequestForm,
    NotifyMoreForm,
    ResolveForm,
    ResponseForm,
)
from network_service.help.models import HelpStatus, Urgency
from network_service.languages import language_key
from network_service.languages import shown as spoken_language
from network_service.networks import navigation
from network_service.networks.operations import get_network
from network_service.security import current_person, declare_shared_limit, keeps_form, login_required
from network_service.text import split_list
from network_service.web import cursor_arg

bp = Blueprint("help", __name__)

# Each new request notifies HELP_NOTIFY_COUNT members and each answer notifies the author (by e-mail for those
# who chose it): limited per person, the page and the API spending one budget (docs/security.md).
HELP_REQUEST_RATE_LIMIT = "10 per hour;30 per day"
HELP_REQUEST_ENDPOINTS = (("help.new", ["POST"]), ("api_help.HelpRequests", ["POST"]))
HELP_RESPONSE_RATE_LIMIT = "30 per hour;100 per day"
HELP_RESPONSE_ENDPOINTS = (("help.respond", ["POST"]), ("api_help.HelpResponses", ["POST"]))
# Asking more members notifies up to MAX_NOTIFY_MORE each time; resolving notifies those who answered (and a
# request can be reopened and resolved again).
HELP_NOTIFY_MORE_RATE_LIMIT = "10 per hour;30 per day"
HELP_NOTIFY_MORE_ENDPOINTS = (("help.notify_more", ["POST"]), ("api_help.Suggestions", ["POST"]))
HELP_STATUS_RATE_LIMIT = "30 per hour;100 per day"
HELP_STATUS_ENDPOINTS = (
    ("help.resolve", ["POST"]),
    ("help.reopen", ["POST"]),
    ("api_help.ResolveRequest", ["POST"]),
    ("api_help.ReopenRequest", ["POST"]),
)


declare_shared_limit(bp, "help-requests", HELP_REQUEST_RATE_LIMIT, HELP_REQUEST_ENDPOINTS)
declare_shared_limit(bp, "help-responses", HELP_RESPONSE_RATE_LIMIT, HELP_RESPONSE_ENDPOINTS)
declare_shared_limit(bp, "help-notify-more", HELP_NOTIFY_MORE_RATE_LIMIT, HELP_NOTIFY_MORE_ENDPOINTS)
declare_shared_limit(bp, "help-status", HELP_STATUS_RATE_LIMIT, HELP_STATUS_ENDPOINTS)


navigation.register_section(
    navigation.Section(
        key="help",
        endpoint="help.index",
        label=lambda: _("Help"),
        order=20,
        visible=permissions.can_view,
        badge=lambda viewer, network: (
            operations.open_in_my_languages(viewer, network) if permissions.can_ask(viewer, network) else 0
        ),
        badge_query=lambda viewer, network: (
            operations.open_in_my_languages_query(viewer, network)
            if permissions.can_ask(viewer, network)
            else 0
        ),
    )
)


@bp.app_context_processor
def _labels():
    return {
        "help_urgency_labels": URGENCY_SHORT,
        "help_status_labels": STATUS_LABELS,
        "help_kind_labels": privacy.KIND_LABELS,
        "help_reason": operations.describe_reason,
    }


# The rendered card of each request of the help list, keyed by everything it shows (docs/help.md, "For operators").
# Per card, not per page: a new request (a new first page) renders one card, not the fifty of the page again.
help_cards = FragmentCache(size=5000)


def _request_cards(network):
    """``request_cards(macro, rows)`` for the list template: the cards as the macro renders them (one row each),
    each from the cache when the same row was shown before in the same language and time zone (a card holds
    nothing personal: which requests a reader sees is decided by the query)."""

    def request_cards(macro, rows) -> Markup:
        context = (*reader_context(), network.slug)
        parts = []
        for row in rows:
            key = (context, row.key())
            html = help_cards.get(key)
            if html is None:
                html = str(macro(row, network, URGENCY_SHORT, STATUS_LABELS))
                help_cards.put(key, html)
            parts.append(html)
        return Markup("".join(parts))  # noqa: S704  # nosec B704 - rendered by the autoescaping template

    return request_cards


def _split(text: str | None) -> list[str]:
    return split_list(text)


def _attach(form, exc: MentorNetError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    if exc.field == "languages":
        target = form.other_languages if hasattr(form, "other_languages") else None
    if target is not None and hasattr(target, "errors"):
        if isinstance(target.errors, tuple):
            target.errors = list(target.errors)
        target.errors.append(exc.detail)
    else:
        form.form_errors.append(exc.detail)


def _privacy_choice(form) -> tuple[bool, bool, str]:
    action = request.form.get("action", "check")
    return action == "mask", action == "confirm" and bool(form.confirm_no_personal_data.data), action


def _submit(form, call):
    """Run ``call(mask, confirm)``; on personal data, return the findings to show; on errors, mark the form."""
    mask, confirm, action = _privacy_choice(form)
    try:
        return call(mask, confirm), []
    except operations.PersonalDataFound as exc:
        if action == "confirm":
            form.confirm_no_personal_data.errors = [
                _("To post the text as written, tick the box to confirm it contains no personal data.")
            ]
        return None, exc.as_list()
    except InvalidInput as exc:
        _attach(form, exc)
        return None, []
    except operations.AgreementPending as exc:
        # The agreement changed while the form was filled in: the form comes back with what was typed, and
        # the page says so and links to the agreement (help/_agreement_pending.html); nothing was written.
        form.agreement_pending = exc
        return None, []


def _refusal(form, findings) -> int:
    """The status of a form page that comes back: 403 when the agreement must be accepted first, 422 with
    errors or findings, else 200."""
    if getattr(form, "agreement_pending", None) is not None:
        return 403
    return 422 if form.errors or form.form_errors or findings else 200


def _language_choices(network, viewer, first=()) -> list[tuple[str, str]]:
    """``first`` (an edited request's languages, as written), the network's languages, then the viewer's own: one
    checkbox per language (``language_key``: the network's "Arabic" and a German member's "Arabisch" are one)."""
    seen, choices = set(), []
    for language in [*first, *(network.languages or []), *(viewer.languages or [])]:
        key = language_key(language)
        if key not in seen:
            seen.add(key)
            choices.append((language, spoken_language(language)))  # the value stays as written
    return choices


def _as_choices(languages, choices) -> list[str]:
    """``languages`` written as the checkboxes of ``choices`` name them (the viewer's "Arabisch" checks the
    network's "Arabic")."""
    by_key = {language_key(value): value for value, _label in choices}
    return list(dict.fromkeys(by_key.get(language_key(language), language) for language in languages or []))


def _form_languages(form) -> list[str]:
    return list(form.languages.data or []) + _split(form.other_languages.data)


@bp.get("/networks/<slug>/help")
@login_required
def index(slug: str):
    scope = request.args.get("scope", "languages")
    status = request.args.get("status", "open")
    urgency = request.args.get("urgency", "")
    if status not in {"open", "resolved", "closed", "any"}:
        status = "open"
    if urgency not in {u.value for u in Urgency}:
        urgency = ""
    return _list_page(
        get_network(slug),
        mine=False,
        scope=scope,
        status=status,
        urgency=urgency,
        before=cursor_arg("before"),
    )


@bp.get("/networks/<slug>/help/mine")
@login_required
def mine(slug: str):
    return _list_page(
        get_network(slug),
        mine=True,
        scope="all",
        status="any",
        urgency="",
        before=cursor_arg("before"),
    )


def _list_page(network, *, mine: bool, scope: str, status: str, urgency: str, before: int | None):
    """The list page: everything below the navigation kept as HTML (page_cache.HELP: the requests and their
    responses; page_cache.STRUCTURE: the authors' names, the viewer's memberships) per network, filters, page,
    language, time zone and what of the viewer the list depends on: their languages (the "in my languages"
    filter), whether they may ask, and for "my requests" who they are. A repeated view asks no statement of its
    own."""
    viewer = current_person()
    in_my_languages = scope != "all" and not mine
    can_ask = permissions.can_ask(viewer, network)
    has_languages = True if mine else bool(viewer.languages)

    def render() -> Markup:
        requests = operations.list_request_rows(
            network,
            viewer,
            in_my_languages=in_my_languages,
            status=None if status == "any" else status,
            urgency=urgency or None,
            mine=mine,
            before=before,
        )
        html = render_template(
            "help/_index_content.html",
            network=network,
            requests=requests,
            scope=scope,
            status=status,
            urgency=urgency,
            has_languages=has_languages,
            can_ask=can_ask,
            next_before=requests[-1].id if len(requests) == operations.PAGE_SIZE else None,
            mine=mine,
            request_cards=_request_cards(network),
        )
        return Markup(html)  # noqa: S704  # nosec B704 - rendered by our autoescaping template

    operations.require_view(viewer, network)  # before the cache: a refusal is never served from it
    key = (
        network.id,
        network.slug,
        *reader_context(),
        mine,
        viewer.id if mine else None,
        tuple(operations.language_keys(viewer)) if in_my_languages else None,
        scope,
        status,
        urgency,
        before,
        can_ask,
        has_languages,
    )
    # the requests, their authors (people of the network) and the viewer's standing (in the key)
    content = page_cache.cached(
        "help_list", key, (page_cache.HELP, *page_cache.of_members(network.id)), render
    )
    return render_template("help/index.html", network=network, mine=mine, content=content)


@bp.route("/networks/<slug>/help/new", methods=["GET", "POST"])
@login_required
@keeps_form(HelpRequestForm, hidden=("action",))  # the button pressed (help/form.html, _findings.html)
def new(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_ask(viewer, network):
        raise Forbidden(_("Only active members of this network can ask for help."))
    form = HelpRequestForm()
    form.languages.choices = _language_choices(network, viewer)
    if not form.is_submitted():
        form.languages.data = _as_choices(viewer.languages, form.languages.choices)
        form.region.data = viewer.region or network.region or ""
    findings = []
    if form.validate_on_submit():
        created, findings = _submit(
            form,
            lambda mask, confirm: operations.create_request(
                network,
                viewer,
                topic=form.topic.data,
                body=form.body.data,
                languages=_form_languages(form),
                region=form.region.data,
                tags=_split(form.tags.data),
                urgency=form.urgency.data,
                mask=mask,
                confirm_no_personal_data=confirm,
            ),
        )
        if created is not None:
            if created.masked:
                flash(_("Your request is posted; personal data was replaced by markers."), "success")
            else:
                flash(_("Your request is posted. Members who match it have been told."), "success")
            return redirect(url_for("help.show", slug=slug, request_id=created.id), 303)
    return render_template(
        "help/form.html",
        network=network,
        form=form,
        findings=findings,
        help_request=None,
        agreement_pending=getattr(form, "agreement_pending", None),
    ), _refusal(form, findings)


@bp.route("/networks/<slug>/help/<int:request_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, request_id: int):
    network = get_network(slug)
    viewer = current_person()
    help_request = operations.get_request(network, request_id, viewer)
    if not permissions.can_edit(viewer, help_request):
        raise Forbidden(_("Only the author can edit a help request, and only while it is open."))
    form = HelpRequestForm()
    # the request's languages as its author wrote them, then the others the form offers (one box a language)
    form.languages.choices = _language_choices(network, viewer, first=help_request.languages)
    if not form.is_submitted():
        form.topic.data = help_request.topic
        form.body.data = help_request.body
        form.languages.data = list(help_request.languages)
        form.region.data = help_request.region
        form.tags.data = ", ".join(help_request.tags)
        form.urgency.data = help_request.urgency.value
    findings = []
    if form.validate_on_submit():
        updated, findings = _submit(
            form,
            lambda mask, confirm: operations.update_request(
                help_request,
                viewer,
                topic=form.topic.data,
                body=form.body.data,
                languages=_form_languages(form),
                region=form.region.data,
                tags=_split(form.tags.data),
                urgency=form.urgency.data,
                mask=mask,
                confirm_no_personal_data=confirm,
            ),
        )
        if updated is not None:
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("help.show", slug=slug, request_id=help_request.id), 303)
    return render_template(
        "help/form.html",
        network=network,
        form=form,
        findings=findings,
        help_request=help_request,
        agreement_pending=getattr(form, "agreement_pending", None),
    ), _refusal(form, findings)


def _can(viewer, help_request) -> dict[str, bool]:
    """What the viewer may do on the request page (``help_request``: the request or its ``RequestHead``)."""
    return {
        "can_respond": permissions.can_respond(viewer, help_request),
        "can_resolve": permissions.can_resolve(viewer, help_request) and help_request.is_open,
        "can_reopen": permissions.can_reopen(viewer, help_request),
        "can_edit": permissions.can_edit(viewer, help_request),
        "can_notify": permissions.can_notify_more(viewer, help_request),
        "can_suggest": permissions.can_see_suggestions(viewer, help_request),
    }


# The request page's forms as a page without input shows them: the same on every request page of a language and
# time zone, so rendered once per process for each (help/_request_forms.html), the CSRF token put in per page.
help_forms = FragmentCache(size=64)
_PART = "\x00part\x00"


def _fresh_forms() -> dict[str, Markup]:
    """The parts of the request page's forms without input (``csrf``, ``findings``, ``answer``, ``count``)."""
    html = kept_form(
        help_forms,
        ("request_forms", *reader_context()),
        lambda: render_template(
            "help/_request_forms.html",
            response_form=ResponseForm(formdata=None),
            notify_form=NotifyMoreForm(formdata=None),
            sep=Markup(_PART),  # noqa: S704  # nosec B704 - a constant
        ),
    )
    parts = str(html).split(_PART)
    return dict(zip(("csrf", "findings", "answer", "count"), map(Markup, parts), strict=True))


# Dates as the request page shows them (``datetimeformat("short")`` in the reader's language and time zone), kept
# per process: the same few come back on every rendering of a request (its answers; who was asked, all at once).
help_dates = FragmentCache(size=4096, max_bytes=1024 * 1024)


def _date_formatter():
    """``when(value)``: ``format_datetime(value, "short")``, from ``help_dates`` when it was formatted before."""
    context = reader_context()

    def when(value) -> str:
        key = (value, *context)
        text = help_dates.get(key)
        if text is None:
            text = format_datetime(value, "short")
            help_dates.put(key, text)
        return text

    return when


def _content(
    network,
    help_request,
    viewer,
    can,
    *,
    show_next,
    response_form=None,
    findings=(),
    notify_form=None,
    candidates_mark=None,
    made=None,
    agreement_pending=None,
):
    """The page below its navigation (help/_request_content.html). ``candidates_mark``: the next candidates are
    left out and this text stands where they go (``show`` puts them in, kept apart); ``made``: a dict given the
    request's values and who was asked, for the candidates of the same request."""
    # The next candidates need the whole matching; they are computed only when asked for (?next=1).
    ranked_here = show_next and candidates_mark is None
    notified, candidates = (
        operations.page_suggestions(help_request, viewer, more=5 if ranked_here else 0)
        if can["can_suggest"]
        else ([], [])
    )
    if made is not None:
        made.update(request=help_request, notified=notified)
    fresh = response_form is None and notify_form is None and not findings and agreement_pending is None
    return render_template(
        "help/_request_content.html",
        network=network,
        help_request=help_request,
        fresh=_fresh_forms() if fresh else None,
        when=_date_formatter(),
        response_form=response_form or ResponseForm(formdata=None) if not fresh else None,
        resolve_form=ResolveForm(formdata=None) if not fresh else None,
        notify_form=notify_form or NotifyMoreForm(formdata=None) if not fresh else None,
        findings=findings,
        notified=notified,
        candidates=candidates,
        candidates_mark=candidates_mark,
        show_next=show_next,
        urgency_labels=URGENCY_LABELS,
        agreement_pending=agreement_pending,
        **can,
    )


def _candidates(network, request_id, viewer, head, made: dict) -> str:
    """The "Next suggestions" of an open request alone (help/_request_candidates.html): the ranking now.
    ``made``: what the rendering of the rest of the page read in this request, if it did."""
    help_request = made.get("request") or head.page or operations.request_page(network, request_id, viewer)
    _notified, candidates = operations.page_suggestions(
        help_request, viewer, more=5, notified=made.get("notified")
    )
    return render_template("help/_request_candidates.html", candidates=candidates)


def _page(network, topic, content: str, status=200):
    return render_template(
        "help/request.html",
        network=network,
        topic=topic,
        content=Markup(content),  # noqa: S704  # nosec B704 - rendered by our autoescaping template
    ), status


def _show(network, help_request, viewer, *, response_form=None, findings=(), notify_form=None, status=200):
    """The request page with a form that came back (errors, findings, the agreement to accept first): rendered
    for this request alone."""
    agreement_pending = getattr(response_form, "agreement_pending", None)
    content = _content(
        network,
        help_request,
        viewer,
        _can(viewer, help_request),
        show_next=request.args.get("next") == "1",
        response_form=response_form,
        findings=findings,
        notify_form=notify_form,
        agreement_pending=agreement_pending,
    )
    return _page(network, help_request.topic, content, 403 if agreement_pending is not None else status)


# Who would be asked next depends on the clock (recent sign-ins, answers of the last 30 days, notifications of
# the last 14): they are kept at most this long (docs/help.md, "For operators"), apart from the rest of the page,
# which is kept as long as its data does not change.
CANDIDATES_MAX_AGE = 60.0
_CANDIDATES_MARK = "\x00candidates\x00"


@bp.get("/networks/<slug>/help/<int:request_id>")
@login_required
def show(slug: str, request_id: int):
    network = get_network(slug)
    viewer = current_person()
    head = operations.request_head(network, request_id, viewer)
    can = _can(viewer, head)
    show_next = request.args.get("next") == "1"
    token = generate_csrf()

    ranked = show_next and can["can_suggest"] and head.is_open
    made: dict = {}

    def render() -> str:
        # The same for every viewer with the same permissions, language and time zone; the forms' CSRF token
        # (the session's) is taken out and put in again for each viewer.
        # the request as plain values: read with the head when that was not kept either (one statement)
        help_request = head.page or operations.request_page(network, request_id, viewer)
        mark = Markup(_CANDIDATES_MARK) if ranked else None  # noqa: S704  # nosec B704 - a constant
        html = _content(
            network, help_request, viewer, can, show_next=show_next, candidates_mark=mark, made=made
        )
        return html.replace(token, CSRF_MARK) if token else html

    key = (network.id, request_id, *reader_context(), tuple(can.values()), show_next)
    domains = (page_cache.STRUCTURE, page_cache.HELP)
    html = page_cache.cached("help_request_page", key, domains, render)
    if ranked:
        candidates = page_cache.cached(
            "help_request_candidates",
            key,
            domains,
            lambda: _candidates(network, request_id, viewer, head, made),
            max_age=CANDIDATES_MAX_AGE,
        )
        html = html.replace(_CANDIDATES_MARK, candidates)
    return _page(network, head.topic, html.replace(CSRF_MARK, str(escape(token))))


@bp.post("/networks/<slug>/help/<int:request_id>/respond")
@login_required
@keeps_form(ResponseForm, hidden=("action",))  # the button pressed (_request_content.html)
def respond(slug: str, request_id: int):
    network = get_network(slug)
    viewer = current_person()
    help_request = operations.get_request(network, request_id, viewer)
    form = ResponseForm()
    findings = []
    if form.validate_on_submit():
        created, findings = _submit(
            form,
            lambda mask, confirm: operations.respond(
                help_request, viewer, form.body.data, mask=mask, confirm_no_personal_data=confirm
            ),
        )
        if created is not None:
            flash(_("Your answer is posted."), "success")
            return redirect(url_for("help.show", slug=slug, request_id=request_id, _anchor="responses"), 303)
    elif not permissions.can_respond(viewer, help_request):
        operations.respond(help_request, viewer, form.body.data)  # raises the reason (closed, not a member)
    return _show(network, help_request, viewer, response_form=form, findings=findings, status=422)


_ENDINGS = (HelpStatus.resolved.value, HelpStatus.closed.value)


@bp.route("/networks/<slug>/help/<int:request_id>/resolve", methods=["GET", "POST"])
@login_required
@keeps_form(ResolveForm)
def resolve(slug: str, request_id: int):
    """GET: the confirmation page (what resolving or closing does; the request page's buttons lead here), whose
    button posts here. POST: resolve or close."""
    network = get_network(slug)
    viewer = current_person()
    help_request = operations.get_request(network, request_id, viewer)
    if request.method == "GET":
        status = request.args.get("status", HelpStatus.resolved.value)
        if status not in _ENDINGS:
            raise InvalidInput(_("Choose resolved or closed."), field="status")
        if not permissions.can_resolve(viewer, help_request):
            raise Forbidden(
                _("Only the author, the coordinator or the Meta-Mentor can resolve or close a request.")
            )
        if not help_request.is_open:
            raise Conflict(_("This help request is already resolved or closed."))
        form = ResolveForm(formdata=None, status=status)
        responders = len({r.author_id for r in help_request.responses if r.author_id is not None}
                         - {help_request.author_id})  # fmt: skip
        return render_template(
            "help/confirm.html",
            network=network,
            help_request=help_request,
            form=form,
            status=status,
            responders=responders,
        )
    form = ResolveForm()
    if not form.validate_on_submit():
        raise InvalidInput(_("Choose resolved or closed."), field="status")
    operations.resolve(help_request, viewer, form.status.data)
    if help_request.status == HelpStatus.resolved:
        flash(_("The request is resolved. Everyone who answered has been thanked."), "success")
    else:
        flash(_("The request is closed."), "success")
    return redirect(url_for("help.show", slug=slug, request_id=request_id), 303)


@bp.post("/networks/<slug>/help/<int:request_id>/reopen")
@login_required
@keeps_form(None)  # the button posts its CSRF token only
def reopen(slug: str, request_id: int):
    network = get_network(slug)
    viewer = current_person()
    help_request = operations.get_request(network, request_id, viewer)  # the CSRF token is checked before
    operations.reopen(help_request, viewer)
    flash(_("The request is open again. Members can answer it."), "success")
    return redirect(url_for("help.show", slug=slug, request_id=request_id), 303)


@bp.post("/networks/<slug>/help/<int:request_id>/notify")
@login_required
@keeps_form(NotifyMoreForm)
def notify_more(slug: str, request_id: int):
    network = get_network(slug)
    viewer = current_person()
    help_request = operations.get_request(network, request_id, viewer)
    if not permissions.can_notify_more(viewer, help_request):
        raise Forbidden(_("Only the author, the coordinator or the Meta-Mentor can ask more members."))
    form = NotifyMoreForm()
    if not form.validate_on_submit():
        return _show(network, help_request, viewer, notify_form=form, status=422)
    rows = operations.notify_more(help_request, viewer, form.count.data)
    if rows:
        flash(_("%(count)s more members have been asked.", count=len(rows)), "success")
    else:
        flash(_("Everyone in the network has already been asked."), "success")
    return redirect(url_for("help.show", slug=slug, request_id=request_id, _anchor="suggestions"), 303)
