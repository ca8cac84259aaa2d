"""Peer help: asking, answering, resolving, matching, metrics. Plain functions: they check permissions,
validate, flush, and leave the commit to the request."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import aliased, joinedload, lazyload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from network_service import page_cache
from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, NotFound
from network_service.help import matching, permissions, privacy
from network_service.help.models import (
    HelpRequest,
    HelpRequestLanguage,
    HelpResponse,
    HelpStatus,
    HelpSuggestion,
    Urgency,
)
from network_service.languages import language_key
from network_service.languages import shown as spoken_language
from network_service.markup import MAX_MARKDOWN_CHARS, refuse_html_in_markdown
from network_service.networks import roadmap
from network_service.networks.models import Membership, MembershipStatus, Network
from network_service.networks.operations import (  # noqa: F401 - AgreementPending: the help pages catch it
    AgreementPending,
    require_current_agreement,
)
from network_service.notifications.operations import notify, register_kind
from network_service.privacy.operations import profile_shared_among
from network_service.text import split_list

MAX_TOPIC = 200
MAX_REGION = 120
MAX_ITEMS = 10  # languages or tags of one request
MAX_ITEM_CHARS = 60
PAGE_SIZE = 30
MAX_NOTIFY_MORE = 20

register_kind("help.matched", lambda p: _("%(author)s asks for help: %(topic)s", **p))
register_kind("help.response", lambda p: _("%(author)s answered your help request: %(topic)s", **p))
register_kind("help.resolved", lambda p: _("The help request you answered is resolved: %(topic)s", **p))


class PersonalDataFound(InvalidInput):
    """The text looks like it contains personal data; the author must mask it, edit it, or confirm."""

    def __init__(self, findings: dict[str, list[privacy.Finding]]):
        super().__init__(
            _(
                "This looks like personal data of someone you accompany. Mask it, edit the text, or confirm "
                "that it is not personal data."
            ),
            field=next(iter(findings)),
        )
        self.findings = findings

    def as_list(self) -> list[dict]:
        return [
            dict(finding.as_dict(), field=name) for name, found in self.findings.items() for finding in found
        ]


def request_path(request: HelpRequest) -> str:
    return f"/networks/{request.network.slug}/help/{request.id}"


# -- validation and the privacy screen ------------------------------------------------------------------------


def _text(
    value,
    field: str,
    *,
    required: bool,
    limit: int,
    message: str,
    markdown: bool = False,
    stored: str | None = None,
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(_("Send text here."), field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(message, field=field)
    if len(value) > limit:
        raise InvalidInput(_("Use at most %(limit)s characters.", limit=limit), field=field)
    if markdown:
        refuse_html_in_markdown(value, field, stored=stored)
    return value


def _items(values, field: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = split_list(values)
    if not isinstance(values, list | tuple):
        raise InvalidInput(_("Send a list here."), field=field)
    cleaned: list[str] = []
    seen: set[str] = set()
    for value in values:
        if not isinstance(value, str):
            raise InvalidInput(_("Send a list of words here."), field=field)
        value = " ".join(value.split())
        if not value:
            continue
        if len(value) > MAX_ITEM_CHARS:
            raise InvalidInput(
                _("Each entry may have at most %(limit)s characters.", limit=MAX_ITEM_CHARS), field=field
            )
        if value.casefold() not in seen:
            seen.add(value.casefold())
            cleaned.append(value)
    if len(cleaned) > MAX_ITEMS:
        raise InvalidInput(_("Choose at most %(limit)s entries.", limit=MAX_ITEMS), field=field)
    return cleaned


def _urgency(value) -> Urgency:
    try:
        return Urgency(value or Urgency.normal)
    except ValueError:
        raise InvalidInput(_("Choose low, normal, high or urgent."), field="urgency") from None


def colleague_names(network: Network) -> list[str]:
    """Display names of the network's active members: their names are not third parties (one query, kept in
    the page cache until people or memberships change: every help request and response of a large network
    read them all)."""

    def names() -> tuple[str, ...]:
        return tuple(
            session.scalars(
                sa.select(Person.display_name)
                .join(Membership, Membership.person_id == Person.id)
                .where(Membership.network_id == network.id, Membership.status == MembershipStatus.active)
            )
        )

    return list(
        page_cache.cached("colleague_names", network.id, page_cache.of_active_members(network.id), names)
    )


def _screen(
    network: Network, texts: dict[str, str], *, mask: bool, confirm: bool
) -> tuple[dict[str, str], bool, dict[str, list[privacy.Finding]]]:
    """Scan ``texts``; returns them (masked if asked), whether anything was masked, and the findings.
    Raises PersonalDataFound when there are findings and neither ``mask`` nor ``confirm`` is given."""
    names = colleague_names(network)
    findings = {field: found for field, text in texts.items() if (found := privacy.scan(text, names))}
    if not findings:
        return texts, False, {}
    if mask:
        return {f: privacy.mask(t, findings.get(f, [])) for f, t in texts.items()}, True, findings
    if confirm:
        return texts, False, findings
    raise PersonalDataFound(findings)


def _audit_unmasked(action_target, actor, network, findings) -> None:
    if findings:
        record(
            "help.personal_data_confirmed",
            actor=actor,
            target=action_target,
            network=network,
            kinds=sorted({f.kind for found in findings.values() for f in found}),
            count=sum(len(found) for found in findings.values()),
        )


# -- requests -------------------------------------------------------------------------------------------------


def _set_languages(request: HelpRequest, languages: list[str]) -> None:
    keys = {language_key(lang)[:MAX_ITEM_CHARS] for lang in languages if lang.strip()}
    request.language_keys = [HelpRequestLanguage(language=key) for key in sorted(keys)]


def create_request(
    network: Network,
    actor: Person,
    *,
    topic,
    body="",
    languages=None,
    region="",
    tags=None,
    urgency=Urgency.normal,
    mask: bool = False,
    confirm_no_personal_data: bool = False,
) -> HelpRequest:
    """Ask the network for help; the best-matching members are notified at once."""
    if not permissions.can_ask(actor, network):
        raise Forbidden(_("Only active members of this network can ask for help."))
    require_current_agreement(actor, network)
    fields = {
        "topic": _text(
            topic, "topic", required=True, limit=MAX_TOPIC, message=_("Say in a line what you need.")
        ),
        "body": _text(body, "body", required=False, limit=MAX_MARKDOWN_CHARS, message="", markdown=True),
    }
    languages = _items(languages, "languages")
    tags = _items(tags, "tags")
    region = _text(region, "region", required=False, limit=MAX_REGION, message="")
    urgency = _urgency(urgency)
    fields, masked, findings = _screen(network, fields, mask=mask, confirm=confirm_no_personal_data)
    count = current_app.config.get("HELP_NOTIFY_COUNT", 5)
    # What the ranking reads, asked before the request's row is written: a transaction that has written cannot use
    # the inputs kept per process (help.matching.kept_inputs), and the insert changes none of them.
    inputs = matching.kept_inputs(network.id) if count > 0 else None
    request = HelpRequest(
        network=network,
        author=actor,
        topic=fields["topic"][:MAX_TOPIC],
        body=fields["body"],
        languages=languages,
        region=region,
        tags=tags,
        urgency=urgency,
        masked=masked,
    )
    _set_languages(request, languages)
    session.add(request)
    session.flush()
    set_committed_value(request, "responses", [])  # a new request has none: no query when they are shown
    record("help.create", actor=actor, target=request, network=network, masked=masked, urgency=urgency.value)
    _audit_unmasked(request, actor, network, {} if masked else findings)
    notify_matches(request, count=count, inputs=inputs, already=())  # a new request: nobody asked yet
    return request


def update_request(
    request: HelpRequest,
    actor: Person,
    *,
    mask: bool = False,
    confirm_no_personal_data: bool = False,
    **changes,
) -> HelpRequest:
    """The author edits an open request; the text is scanned again."""
    if not permissions.can_edit(actor, request):
        raise Forbidden(_("Only the author can edit a help request, and only while it is open."))
    require_current_agreement(
        actor, request.network
    )  # like asking and answering: the current rules accepted first
    allowed = {"topic", "body", "languages", "region", "tags", "urgency"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(_("This field cannot be changed."), field=sorted(unknown)[0])
    fields = {
        "topic": _text(
            changes.get("topic", request.topic), "topic", required=True, limit=MAX_TOPIC,
            message=_("Say in a line what you need."),
        ),
        "body": _text(
            changes.get("body", request.body), "body", required=False, limit=MAX_MARKDOWN_CHARS, message="",
            markdown=True, stored=request.body,
        ),
    }  # fmt: skip
    languages = _items(changes.get("languages", request.languages), "languages")
    tags = _items(changes.get("tags", request.tags), "tags")
    region = _text(
        changes.get("region", request.region), "region", required=False, limit=MAX_REGION, message=""
    )
    urgency = _urgency(changes.get("urgency", request.urgency))
    fields, masked, findings = _screen(request.network, fields, mask=mask, confirm=confirm_no_personal_data)
    request.topic, request.body = fields["topic"][:MAX_TOPIC], fields["body"]
    request.languages, request.tags, request.region, request.urgency = languages, tags, region, urgency
    request.masked = request.masked or masked
    request.updated_at = utcnow()
    _set_languages(request, languages)
    session.flush()
    record("help.update", actor=actor, target=request, network=request.network, masked=masked)
    _audit_unmasked(request, actor, request.network, {} if masked else findings)
    return request


def require_view(viewer: Person | None, network: Network) -> None:
    """Refuse (403) anyone who may not see the network's help requests."""
    if not permissions.can_view(viewer, network):
        raise Forbidden(_("Only members of this network can see its help requests."))


def get_request(network: Network, request_id: int, viewer: Person | None) -> HelpRequest:
    require_view(viewer, network)
    request = session.scalar(
        sa.select(HelpRequest)
        .where(HelpRequest.id == request_id, HelpRequest.network_id == network.id)
        .options(
            # the people's memberships are not needed here (one statement each saved)
            joinedload(HelpRequest.author).lazyload(Person.memberships),
            joinedload(HelpRequest.resolved_by).lazyload(Person.memberships),
            selectinload(HelpRequest.responses).joinedload(HelpResponse.author).lazyload(Person.memberships),
        )
    )
    if request is None:
        raise NotFound(_("There is no such help request in this network."))
    return request


@dataclass(frozen=True, slots=True)
class Named:
    """A person as the request page names them (``name_or_email``), from two columns instead of the ORM row."""

    display_name: str | None
    email: str | None

    name_or_email = property(Person.name_or_email.fget)


@dataclass(frozen=True, slots=True)
class ResponseRow:
    """An answer as the request page shows it (and the ranking reads it: ``author_id``)."""

    id: int
    author_id: int | None
    author: Named | None  # None: a former member
    body: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RequestPage:
    """A help request as its page shows it, in place of the ``HelpRequest`` with its people and answers: the
    same attribute names, plain values (``request_page``). The permission functions and the ranking accept it."""

    id: int
    network_id: int
    author_id: int | None
    topic: str
    body: str
    languages: list[str]
    region: str
    tags: list[str]
    urgency: Urgency
    status: HelpStatus
    created_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    masked: bool
    author: Named | None
    resolved_by: Named | None
    responses: list[ResponseRow]
    network: Network

    @property
    def is_open(self) -> bool:
        return self.status == HelpStatus.open


def _page_statement() -> sa.Select:
    author, resolver, responder = (aliased(Person) for _ in range(3))
    return (
        sa.select(
            HelpRequest.id,
            HelpRequest.network_id,
            HelpRequest.author_id,
            HelpRequest.topic,
            HelpRequest.body,
            HelpRequest.languages,
            HelpRequest.region,
            HelpRequest.tags,
            HelpRequest.urgency,
            HelpRequest.status,
            HelpRequest.created_at,
            HelpRequest.first_response_at,
            HelpRequest.resolved_at,
            HelpRequest.masked,
            author.display_name,
            author.email,
            HelpRequest.resolved_by_id,
            resolver.display_name,
            resolver.email,
            HelpResponse.id,
            HelpResponse.author_id,
            responder.display_name,
            responder.email,
            HelpResponse.body,
            HelpResponse.created_at,
        )
        .outerjoin(author, author.id == HelpRequest.author_id)
        .outerjoin(resolver, resolver.id == HelpRequest.resolved_by_id)
        .outerjoin(HelpResponse, HelpResponse.request_id == HelpRequest.id)
        .outerjoin(responder, responder.id == HelpResponse.author_id)
        .where(
            HelpRequest.id == sa.bindparam("request_id", type_=sa.Integer),
            HelpRequest.network_id == sa.bindparam("network_id", type_=sa.Integer),
        )
        .order_by(HelpResponse.id)
    )


# The request with its author, who resolved it and its answers with their authors: one statement, built once per
# process, one row per answer (or one row without answers).
_PAGE = _page_statement()


def _read_page(network: Network, request_id: int) -> RequestPage | None:
    rows = session.connection().execute(_PAGE, {"request_id": request_id, "network_id": network.id}).all()
    if not rows:
        return None
    first = rows[0]
    responses = [
        ResponseRow(row[19], row[20], None if row[20] is None else Named(row[21], row[22]), row[23], row[24])
        for row in rows
        if row[19] is not None
    ]
    return RequestPage(
        *first[:14],
        author=None if first[2] is None else Named(first[14], first[15]),
        resolved_by=None if first[16] is None else Named(first[17], first[18]),
        responses=responses,
        network=network,
    )


def request_page(network: Network, request_id: int, viewer: Person | None) -> RequestPage:
    """What ``get_request`` gives, as a ``RequestPage`` for the request page (one statement, no entities)."""
    require_view(viewer, network)
    page = _read_page(network, request_id)
    if page is None:
        raise NotFound(_("There is no such help request in this network."))
    return page


@dataclass(frozen=True, slots=True)
class RequestHead:
    """What the request page needs to decide who may do what, without loading the request: its id, author,
    status and topic (kept by the page cache) with the network it belongs to. The permission functions accept it
    in place of a ``HelpRequest``. ``page``: the whole request (``RequestPage``) when it was read for the head
    in this request (the head was not kept), else None."""

    id: int
    author_id: int | None
    status: HelpStatus
    topic: str
    network: Network
    page: RequestPage | None = None

    @property
    def is_open(self) -> bool:
        return self.status == HelpStatus.open


def request_head(network: Network, request_id: int, viewer: Person | None) -> RequestHead:
    """The request's head (``RequestHead``) for a viewer who may see the network's requests; kept per worker
    (page cache, domains ``help`` and ``structure``: an edit, a resolution or an erased author changes it).
    When it is not kept, the whole request is read (the page kept with it is then missing too: same domains)
    and comes with it (``RequestHead.page``)."""
    require_view(viewer, network)
    read: list[RequestPage] = []

    def load():
        page = _read_page(network, request_id)
        if page is None:
            return None
        read.append(page)
        return (page.id, page.author_id, page.status, page.topic)

    row = page_cache.cached(
        "help_request_head", (network.id, request_id), (page_cache.STRUCTURE, page_cache.HELP), load
    )
    if row is None:
        raise NotFound(_("There is no such help request in this network."))
    return RequestHead(*row, network=network, page=read[0] if read else None)


def language_keys(person: Person) -> list[str]:
    """The person's languages as the filters compare them (``language_key``: "Arabisch" and "Arabic" are both
    "ar"), sorted."""
    return sorted({language_key(lang)[:MAX_ITEM_CHARS] for lang in person.languages or () if lang.strip()})


def _in_languages(keys):
    """Requests in one of ``keys``, or without any language (meant for everyone): one correlated subquery over
    the request's own language rows (primary key), true when it has none or one of them is in ``keys``.

    Not ``EXISTS (in keys) OR NOT EXISTS (any)``: PostgreSQL cannot turn an OR of EXISTS into a join and runs
    both as hashed subplans, each reading every row of the language table that matches (all networks, every
    status: thousands at 10x) before the first request is returned, where the list needs 30 requests and a few
    index look-ups each (docs/help.md, "For operators")."""
    language = HelpRequestLanguage.language
    zero, one = sa.literal_column("0"), sa.literal_column("1")  # constants in the SQL text, not parameters
    return (
        sa.select(
            sa.or_(
                sa.func.count() == zero, sa.func.max(sa.case((language.in_(keys), one), else_=zero)) == one
            )
        )
        .where(HelpRequestLanguage.request_id == HelpRequest.id)
        .scalar_subquery()
    )


def list_requests(
    network: Network,
    viewer: Person | None,
    *,
    in_my_languages: bool = True,
    status: HelpStatus | str | None = HelpStatus.open,
    urgency: Urgency | str | None = None,
    mine: bool = False,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[HelpRequest]:
    """Newest first, ``limit`` per page; ``before``: the id of the last request of the previous page."""
    statement, params = _filtered(
        _entities_query, network, viewer, in_my_languages, status, urgency, mine, before, limit
    )
    return list(session.scalars(statement, params))


def _entities_query() -> sa.Select:
    return sa.select(HelpRequest).options(joinedload(HelpRequest.author).lazyload(Person.memberships))


@dataclass(slots=True)
class RequestRow:
    """A help request of the list page as plain values (no ORM entity), with its author's name."""

    id: int
    topic: str
    urgency: Urgency
    status: HelpStatus
    # the JSON text as stored: decoded only when the card is rendered (``languages``), not for a kept card
    languages_json: str | None
    region: str
    created_at: dt.datetime
    response_count: int
    author_name: str | None

    @property
    def is_open(self) -> bool:
        return self.status == HelpStatus.open

    @property
    def languages(self) -> list[str]:
        return (json.loads(self.languages_json) if self.languages_json else None) or []

    def key(self) -> tuple:
        """Everything the list shows of it (the list's cache key is made of these)."""
        return (self.id, self.topic, self.urgency, self.status, self.languages_json, self.region,
                self.created_at, self.response_count, self.author_name)  # fmt: skip


def list_request_rows(
    network: Network,
    viewer: Person | None,
    *,
    in_my_languages: bool = True,
    status: HelpStatus | str | None = HelpStatus.open,
    urgency: Urgency | str | None = None,
    mine: bool = False,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[RequestRow]:
    """What ``list_requests`` gives, as ``RequestRow`` values for the list page (one statement, no entities)."""
    statement, params = _filtered(
        _rows_query, network, viewer, in_my_languages, status, urgency, mine, before, limit
    )
    rows = session.connection().execute(statement, params)
    return [
        RequestRow(*row[:8], None if author_id is None else name or (email or "").split("@")[0])
        for row in rows
        for author_id, name, email in [row[8:]]
    ]


def _rows_query() -> sa.Select:
    return sa.select(
        HelpRequest.id,
        HelpRequest.topic,
        HelpRequest.urgency,
        HelpRequest.status,
        sa.cast(HelpRequest.languages, sa.Text),  # not decoded: a card kept from before does not need it
        HelpRequest.region,
        HelpRequest.created_at,
        HelpRequest.response_count,
        Person.id,
        Person.display_name,
        Person.email,
    ).outerjoin(Person, Person.id == HelpRequest.author_id)


# The list's statements, one per shape of filter (which filters are set), built once per process with bound
# parameters: building one cost as much as running it.
_LIST_STATEMENTS: dict[tuple, sa.Select] = {}


def _filtered(make_query, network, viewer, in_my_languages, status, urgency, mine, before, limit):
    """(statement, parameters) of a list of requests: ``make_query()`` filtered as asked."""
    require_view(viewer, network)
    if status:
        try:
            status = HelpStatus(status)
        except ValueError:
            raise InvalidInput(_("Choose open, resolved or closed."), field="status") from None
    urgency = _urgency(urgency) if urgency else None
    params = {"network_id": network.id, "limit": max(1, min(limit, 50))}
    by_author = bool(mine and viewer is not None)
    if by_author:
        params["author_id"] = viewer.id
    keys = language_keys(viewer) if in_my_languages and viewer is not None and not mine else []
    if keys:
        params["keys"] = keys
    if before is not None:
        params["before"] = before
    shape = (make_query, status or None, urgency, by_author, bool(keys), before is not None)
    statement = _LIST_STATEMENTS.get(shape)
    if statement is None:
        query = (
            make_query()
            .where(HelpRequest.network_id == sa.bindparam("network_id", type_=sa.Integer))
            .order_by(HelpRequest.id.desc())
            .limit(sa.bindparam("limit", type_=sa.Integer))
        )
        if status:
            query = query.where(HelpRequest.status == status)
        if urgency:
            query = query.where(HelpRequest.urgency == urgency)
        if by_author:
            query = query.where(HelpRequest.author_id == sa.bindparam("author_id", type_=sa.Integer))
        if keys:
            language = HelpRequestLanguage.__table__.c.language.type
            query = query.where(_in_languages(sa.bindparam("keys", type_=language, expanding=True)))
        if before is not None:
            query = query.where(HelpRequest.id < sa.bindparam("before", type_=sa.Integer))
        statement = _LIST_STATEMENTS[shape] = query
    return statement, params


_OPEN_OF_OTHERS = sa.select(sa.func.count(HelpRequest.id)).where(
    HelpRequest.network_id == sa.bindparam("network_id", type_=sa.Integer),
    HelpRequest.status == HelpStatus.open,
    sa.or_(
        HelpRequest.author_id.is_(None), HelpRequest.author_id != sa.bindparam("viewer_id", type_=sa.Integer)
    ),
)
# built once (the badge is asked on every network page): with the viewer's language keys, and without
_OPEN_IN_LANGUAGES = _OPEN_OF_OTHERS.where(
    _in_languages(
        sa.bindparam("help_keys", type_=HelpRequestLanguage.__table__.c.language.type, expanding=True)
    )
)


def open_in_my_languages(viewer: Person, network: Network) -> int:
    """The section badge: open requests of others in the viewer's languages (one aggregate query)."""
    return session.scalar(*open_in_my_languages_query(viewer, network)) or 0


def open_in_my_languages_query(viewer: Person, network: Network) -> tuple[sa.Select, dict]:
    """``open_in_my_languages`` as (statement, parameters), for the navigation to ask with the other badges."""
    keys = language_keys(viewer)
    params = {"network_id": network.id, "viewer_id": viewer.id}
    if keys:
        return _OPEN_IN_LANGUAGES, {**params, "help_keys": keys}
    return _OPEN_OF_OTHERS, params


# -- responses and resolution ---------------------------------------------------------------------------------


def respond(
    request: HelpRequest,
    actor: Person,
    body,
    *,
    mask: bool = False,
    confirm_no_personal_data: bool = False,
) -> HelpResponse:
    if not request.is_open:
        raise Conflict(_("This help request is no longer open."))
    if not permissions.can_respond(actor, request):
        raise Forbidden(_("Only active members of this network can answer help requests."))
    require_current_agreement(actor, request.network)
    text = _text(
        body, "body", required=True, limit=MAX_MARKDOWN_CHARS, message=_("Write your answer."), markdown=True
    )
    texts, masked, findings = _screen(
        request.network, {"body": text}, mask=mask, confirm=confirm_no_personal_data
    )
    now = utcnow()
    response = HelpResponse(request=request, author=actor, body=texts["body"], masked=masked, created_at=now)
    session.add(response)
    request.response_count = (request.response_count or 0) + 1
    if request.first_response_at is None and actor.id != request.author_id:
        request.first_response_at = now
    session.flush()
    record("help.respond", actor=actor, target=response, network=request.network, request_id=request.id)
    _audit_unmasked(response, actor, request.network, {} if masked else findings)
    notify(
        [request.author],
        "help.response",
        url=request_path(request),
        network=request.network,
        actor=actor,
        author=actor.name_or_email,
        topic=request.topic,
    )
    return response


def resolve(
    request: HelpRequest, actor: Person, status: HelpStatus | str = HelpStatus.resolved
) -> HelpRequest:
    """Resolve (helped) or close (no longer needed) an open request; responders hear about a resolution."""
    try:
        status = HelpStatus(status)
    except ValueError:
        raise InvalidInput(_("Choose resolved or closed."), field="status") from None
    if status == HelpStatus.open:
        raise InvalidInput(_("Choose resolved or closed."), field="status")
    if not permissions.can_resolve(actor, request):
        raise Forbidden(
            _("Only the author, the coordinator or the Meta-Mentor can resolve or close a request.")
        )
    if not request.is_open:
        raise Conflict(_("This help request is already resolved or closed."))
    request.status = status
    request.resolved_at = utcnow()
    request.resolved_by = actor
    session.flush()
    record(f"help.{status.value}", actor=actor, target=request, network=request.network)
    if status == HelpStatus.resolved:
        responders = session.scalars(
            sa.select(Person)
            .join(HelpResponse, HelpResponse.author_id == Person.id)
            .where(HelpResponse.request_id == request.id)
            .distinct()
        )
        notify(
            [p for p in responders if p.id != request.author_id],
            "help.resolved",
            url=request_path(request),
            network=request.network,
            actor=actor,
            topic=request.topic,
        )
    return request


def reopen(request: HelpRequest, actor: Person) -> HelpRequest:
    """Return a resolved or closed request to the open state: whoever may resolve or close it (its author, the
    coordinator, the Meta-Mentor). Its history stays: the answers, their count and the time of the first answer
    are kept (so the time to the first answer is unchanged); the time and author of the resolution are cleared,
    and a later resolution sets them anew. The audit log keeps the resolution and the reopening (``help.open``,
    with the status it left). Nobody is notified, and nobody is asked again automatically."""
    if not permissions.can_resolve(actor, request):
        raise Forbidden(_("Only the author, the coordinator or the Meta-Mentor can reopen a request."))
    if request.is_open:
        raise Conflict(_("This help request is already open."))
    previous = request.status
    request.status = HelpStatus.open
    request.resolved_at = None
    request.resolved_by = None
    session.flush()
    record("help.open", actor=actor, target=request, network=request.network, previous=previous.value)
    return request


# -- matching -------------------------------------------------------------------------------------------------


def notify_matches(
    request: HelpRequest,
    *,
    count: int,
    actor: Person | None = None,
    inputs: matching.Inputs | None = None,
    already: Iterable[int] | None = None,
) -> list[HelpSuggestion]:
    """Notify the ``count`` best-matching members not notified yet; store who and why. ``inputs``: see
    ``matching.rank``; ``already``: who was notified before, when the caller knows (else one query)."""
    if count <= 0 or not request.is_open:
        return []
    if already is None:
        already = set(
            session.scalars(
                sa.select(HelpSuggestion.person_id).where(HelpSuggestion.request_id == request.id)
            )
        )
    picks = matching.rank(request, limit=count, exclude=already, inputs=inputs)
    if not picks:
        return []
    now = utcnow()
    people = {
        p.id: p
        for p in session.scalars(
            sa.select(Person)
            .where(Person.id.in_([s.person_id for s in picks]))
            .options(lazyload(Person.memberships))  # not needed to notify and mail them
        )
    }
    rows = [
        HelpSuggestion(
            request=request, person_id=s.person_id, score=s.score, reasons=s.reasons, notified_at=now
        )
        for s in picks
    ]
    session.add_all(rows)
    session.flush()
    author = request.author
    notify(
        [people[s.person_id] for s in picks],
        "help.matched",
        url=request_path(request),
        network=request.network,
        actor=actor or author,
        author=author.name_or_email if author else "",
        topic=request.topic,
    )
    return rows


def notify_more(request: HelpRequest, actor: Person, count) -> list[HelpSuggestion]:
    if not permissions.can_notify_more(actor, request):
        raise Forbidden(_("Only the author, the coordinator or the Meta-Mentor can ask more members."))
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_NOTIFY_MORE:
        raise InvalidInput(_("Choose between 1 and %(max)s members.", max=MAX_NOTIFY_MORE), field="count")
    rows = notify_matches(request, count=count, actor=actor)
    record("help.notify_more", actor=actor, target=request, network=request.network, count=len(rows))
    return rows


def suggestions(request: HelpRequest, viewer: Person | None, *, more: int = 5):
    """Who was notified and why, and the next ``more`` candidates (not yet notified), with reasons."""
    if not permissions.can_see_suggestions(viewer, request):
        raise Forbidden(_("Only the author, the coordinator or the Meta-Mentor can see who was asked."))
    notified = list(
        session.scalars(
            sa.select(HelpSuggestion)
            .where(HelpSuggestion.request_id == request.id)
            .options(joinedload(HelpSuggestion.person).lazyload(Person.memberships))
            .order_by(HelpSuggestion.notified_at, HelpSuggestion.score.desc())
        )
    )
    candidates: list[tuple[Person, matching.Suggestion]] = []
    if request.is_open and more > 0:
        picks = matching.rank(request, limit=more, exclude={s.person_id for s in notified})
        people = {
            p.id: p
            for p in session.scalars(
                sa.select(Person)
                .where(Person.id.in_([s.person_id for s in picks]))
                .options(lazyload(Person.memberships))
            )
        }
        candidates = [(people[s.person_id], s) for s in picks if s.person_id in people]
    return notified, candidates


# Reasons drawn from the person's profile: shown only while the person shares it (docs/privacy.md).
PROFILE_REASONS = frozenset({"language", "expertise", "region"})


def shown_suggestion(score: float, reasons: list[dict], shared: bool) -> tuple[float, list[dict]]:
    """A suggestion's stored score and reasons as they may be shown now. They were written when the person was
    asked, from what they shared then; a person who has since withdrawn their consent to share their profile is
    shown without their languages, expertise and region (as matching now leaves them out, matching.py), and with
    the score of the reasons shown: the stored one, less the points shown, would tell what was left out."""
    if shared:
        return score, reasons
    kept = [reason for reason in reasons if reason.get("code") not in PROFILE_REASONS]
    return float(sum(reason.get("points") or 0 for reason in kept)), kept


def sharing_among(person_ids: Iterable[int], viewer: Person | None) -> set[int]:
    """Of ``person_ids``, those whose profile-drawn reasons may be shown to ``viewer`` (their own always)."""
    ids = set(person_ids)
    shared = profile_shared_among(ids) if ids else set()
    if viewer is not None and viewer.id in ids:
        shared.add(viewer.id)
    return shared


@dataclass(frozen=True, slots=True)
class NotifiedRow:
    """A ``HelpSuggestion`` as the request page shows it: who, when, why."""

    person_id: int
    person: Named
    score: float
    reasons: list[dict]
    notified_at: dt.datetime | None


_NOTIFIED_ROWS = (
    sa.select(
        HelpSuggestion.person_id,
        Person.display_name,
        Person.email,
        HelpSuggestion.score,
        HelpSuggestion.reasons,
        HelpSuggestion.notified_at,
    )
    .join(Person, Person.id == HelpSuggestion.person_id)
    .where(HelpSuggestion.request_id == sa.bindparam("request_id", type_=sa.Integer))
    .order_by(HelpSuggestion.notified_at, HelpSuggestion.score.desc())
)

_NAMES = sa.select(Person.id, Person.display_name, Person.email).where(
    Person.id.in_(sa.bindparam("ids", type_=sa.Integer, expanding=True))
)


def page_suggestions(request: HelpRequest, viewer: Person | None, *, more: int = 5, notified=None):
    """``suggestions`` for the request page: the same people in the same order, as plain rows (``NotifiedRow``;
    the candidates as (``Named``, ``matching.Suggestion``)) from two columns of each person, not ORM objects.
    ``notified``: those rows when this request read them already."""
    if not permissions.can_see_suggestions(viewer, request):
        raise Forbidden(_("Only the author, the coordinator or the Meta-Mentor can see who was asked."))
    connection = session.connection()  # prebuilt statements, Core rows
    if notified is None:
        rows = connection.execute(_NOTIFIED_ROWS, {"request_id": request.id}).all()
        shared = sharing_among((row.person_id for row in rows), viewer)
        notified = [
            NotifiedRow(
                person_id, Named(name, email), *shown_suggestion(score, reasons, person_id in shared), at
            )
            for person_id, name, email, score, reasons, at in rows
        ]
    candidates: list[tuple[Named, matching.Suggestion]] = []
    if request.is_open and more > 0:
        picks = matching.rank(request, limit=more, exclude={s.person_id for s in notified})
        if picks:
            people = {
                person_id: Named(name, email)
                for person_id, name, email in connection.execute(
                    _NAMES, {"ids": [s.person_id for s in picks]}
                )
            }
            candidates = [(people[s.person_id], s) for s in picks if s.person_id in people]
    return notified, candidates


def describe_reason(reason: dict) -> str:
    """One reason in the reader's language."""
    code, value = reason.get("code"), reason.get("value")
    if code == "language":
        return _("speaks %(languages)s", languages=", ".join(spoken_language(v) for v in value or []))
    if code == "expertise":
        return _("knows about %(topics)s", topics=", ".join(value or []))
    if code == "region":
        return _("works in %(region)s", region=value)
    if code == "experienced":
        return (
            _("experienced mentor (counts more for pressing requests)") if value else _("experienced mentor")
        )
    if code == "signed_in":
        return _("signed in within the last 30 days")
    if code == "responses":
        return ngettext(
            "answered %(num)d help request in the last 30 days",
            "answered %(num)d help requests in the last 30 days",
            int(value or 0),
        )
    if code == "load":
        return ngettext(
            "already helps with %(num)d open request",
            "already helps with %(num)d open requests",
            int(value or 0),
        )
    if code == "notified":
        return ngettext(
            "was asked once in the last 14 days",
            "was asked %(num)d times in the last 14 days",
            int(value or 0),
        )
    return str(code)


# -- metrics and the roadmap ----------------------------------------------------------------------------------


def _seconds_to_first_response():
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.extract("epoch", HelpRequest.first_response_at - HelpRequest.created_at)
    return (
        sa.func.julianday(HelpRequest.first_response_at) - sa.func.julianday(HelpRequest.created_at)
    ) * 86400.0


def help_metrics(network: Network, since: dt.datetime) -> dict:
    """Requests created since ``since``: count, answered share, median hours to the first response, share
    answered within 48 hours, resolved share. Aggregate queries only (two, three when there are answers)."""
    seconds = _seconds_to_first_response()
    scope = (HelpRequest.network_id == network.id, HelpRequest.created_at >= since)
    total, answered, within_48h, resolved = session.execute(
        sa.select(
            sa.func.count(HelpRequest.id),
            sa.func.count(HelpRequest.first_response_at),
            sa.func.coalesce(sa.func.sum(sa.case((seconds <= 48 * 3600, 1), else_=0)), 0),
            sa.func.coalesce(
                sa.func.sum(sa.case((HelpRequest.status == HelpStatus.resolved, 1), else_=0)), 0
            ),
        ).where(*scope)
    ).one()
    median_hours = None
    if answered:
        middle = session.execute(
            sa.select(seconds)
            .where(*scope, HelpRequest.first_response_at.is_not(None))
            .order_by(seconds)
            .offset((answered - 1) // 2)
            .limit(2 if answered % 2 == 0 else 1)
        ).scalars()
        values = [float(v) for v in middle]
        median_hours = round(sum(values) / len(values) / 3600, 2)

    def share(part):
        return round(part / total, 4) if total else None

    return {
        "count": total,
        "answered": answered,
        "answered_share": share(answered),
        "median_hours_to_first_response": median_hours,
        "answered_within_48h_share": share(int(within_48h)),
        "resolved_share": share(int(resolved)),
    }


CHECKPOINT_DAYS = 90
CHECKPOINT_SHARE = 0.8


def help_requests_answered(network: Network) -> bool:
    """At least one request answered ever, and at least 80% of the last 90 days' requests answered."""
    since = utcnow() - dt.timedelta(days=CHECKPOINT_DAYS)
    recent = HelpRequest.created_at >= since
    ever, total, answered = session.execute(
        sa.select(
            sa.func.count(HelpRequest.first_response_at),
            sa.func.coalesce(sa.func.sum(sa.case((recent, 1), else_=0)), 0),
            sa.func.coalesce(
                sa.func.sum(
                    sa.case((sa.and_(recent, HelpRequest.first_response_at.is_not(None)), 1), else_=0)
                ),
                0,
            ),
        ).where(HelpRequest.network_id == network.id)
    ).one()
    return ever > 0 and (total == 0 or answered >= CHECKPOINT_SHARE * total)


roadmap.register_checkpoint(
    roadmap.Checkpoint(
        key="help.answered",
        phase=roadmap.Phase.sustain,
        order=30,
        label=lambda: _("Help requests are answered"),
        reached=help_requests_answered,
        hint=lambda: _(
            "Ask for help when you are stuck, and answer others: at least %(percent)s%% of the requests of the "
            "last 90 days need an answer.",
            percent=round(CHECKPOINT_SHARE * 100),
        ),
    )
)


def people_by_id(ids: Iterable[int]) -> dict[int, Person]:
    ids = list(ids)
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(sa.select(Person).where(Person.id.in_(ids)))}
