"""The directory: validate, add, suggest, review, and the networks' public pages. Check permission, validate,
flush; never commit."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.directory import permissions
from network_service.directory.models import (
    DirectoryEntry,
    EntryKind,
    EntryLanguage,
    EntryService,
    NetworkPublicPage,
    Service,
)
from network_service.directory.vocabulary import country_codes
from network_service.errors import Forbidden, InvalidInput, NotFound
from network_service.languages import language_code
from network_service.markup import MAX_MARKDOWN_CHARS, html_refusal, refuse_html_in_markdown
from network_service.networks.models import Network
from network_service.notifications.operations import notify, register_kind

FIELDS = (
    "name",
    "kind",
    "country",
    "city",
    "languages",
    "services",
    "website",
    "contact_email",
    "contact_phone",
    "description",
)
MAX_LANGUAGES = 20
MAX_ID = 2**31 - 1  # larger numbers in an address are no entry (and would overflow an integer column)
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_PHONE = re.compile(r"^[0-9+()./ -]{3,40}$")


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()[:200]


def _split(value) -> list[str]:
    if value is None:
        return []
    items = value.split(";") if isinstance(value, str) else list(value)
    return [" ".join(str(item).split()) for item in items if str(item).strip()]


def validate(data: dict) -> tuple[dict, dict[str, str]]:
    """Clean the fields of an entry: the clean values, and a message for each field that is not valid."""
    values: dict = {}
    errors: dict[str, str] = {}

    name = " ".join(str(data.get("name") or "").split())
    if not name or len(name) > 200:
        errors["name"] = _("Give the name, in at most 200 characters.")
    values["name"] = name

    kind = str(data.get("kind") or "organisation").strip().lower()
    if kind not in EntryKind.__members__:
        errors["kind"] = _("The kind is “organisation” or “network”.")
    else:
        values["kind"] = EntryKind(kind)

    country = str(data.get("country") or "").strip().upper()
    if country not in country_codes():
        errors["country"] = _("Give the country as its two-letter code, like DE, IT or GR.")
    values["country"] = country

    city = " ".join(str(data.get("city") or "").split())
    if len(city) > 120:
        errors["city"] = _("Give the city in at most 120 characters.")
    values["city"] = city

    languages: list[str] = []
    for item in _split(data.get("languages")):
        code = language_code(item)
        if code is None:
            errors["languages"] = _(
                "Unknown language: “%(language)s”. Use codes like de, ar, uk or English names.",
                language=item[:60],
            )
            break
        if code not in languages:
            languages.append(code)
    if len(languages) > MAX_LANGUAGES:
        errors["languages"] = _("Give at most %(count)s languages.", count=MAX_LANGUAGES)
    values["languages"] = languages

    services: list[str] = []
    for item in _split(data.get("services")):
        value = item.lower().replace(" ", "_")
        if value not in Service.__members__:
            errors["services"] = _(
                "Unknown service: “%(service)s”. Use: %(known)s.", service=item[:60], known=", ".join(Service)
            )
            break
        if value not in services:
            services.append(value)
    values["services"] = services

    website = str(data.get("website") or "").strip()
    if website and "://" not in website:
        website = "https://" + website
    parts = urlsplit(website) if website else None
    if website and (
        len(website) > 300
        or parts.scheme.lower() not in {"http", "https"}
        or not parts.hostname
        or "." not in parts.hostname
        or any(ch.isspace() or ord(ch) < 32 for ch in website)
    ):
        errors["website"] = _("Give a web address like https://example.org.")
    values["website"] = website

    email = str(data.get("contact_email") or "").strip()
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        errors["contact_email"] = _("Give an e-mail address like office@example.org.")
    values["contact_email"] = email

    phone = " ".join(str(data.get("contact_phone") or "").split())
    if phone and not _PHONE.match(phone):
        errors["contact_phone"] = _("Give a phone number with digits, spaces and + ( ) - only.")
    values["contact_phone"] = phone

    description = str(data.get("description") or "").strip()
    if len(description) > MAX_MARKDOWN_CHARS:
        errors["description"] = _(
            "Keep the text under %(limit)s characters.", limit=format_decimal(MAX_MARKDOWN_CHARS)
        )
    elif refusal := html_refusal(description):
        errors["description"] = refusal
    values["description"] = description
    return values, errors


def _raise_first(errors: dict[str, str]) -> None:
    if errors:
        field = next(iter(errors))
        raise InvalidInput(errors[field], field=field)


def duplicate_message() -> str:
    return _("An entry with this name in this country is already in the directory.")


def _check_unique(values: dict, entry: DirectoryEntry | None = None) -> None:
    statement = sa.select(DirectoryEntry.id).where(
        DirectoryEntry.name_key == name_key(values["name"]), DirectoryEntry.country == values["country"]
    )
    if entry is not None and entry.id is not None:
        statement = statement.where(DirectoryEntry.id != entry.id)
    if session.scalar(statement.limit(1)) is not None:
        raise InvalidInput(duplicate_message(), field="name")


def _apply(entry: DirectoryEntry, values: dict) -> None:
    for name in FIELDS:
        if name in values:
            setattr(entry, name, values[name])
    entry.name_key = name_key(entry.name)
    entry.updated_at = utcnow()
    current = {row.language: row for row in entry.language_rows}
    entry.language_rows = [current.get(code) or EntryLanguage(language=code) for code in entry.languages]
    current_services = {row.service: row for row in entry.service_rows}
    entry.service_rows = [
        current_services.get(value) or EntryService(service=value) for value in entry.services
    ]


def _require_admin(actor: Person | None) -> None:
    if not permissions.can_manage_directory(actor):
        raise Forbidden(_("Only site administrators can change the directory."))


def create_entry(actor: Person | None, *, published: bool = True, **data) -> DirectoryEntry:
    _require_admin(actor)
    values, errors = validate(data)
    _raise_first(errors)
    _check_unique(values)
    entry = DirectoryEntry(published=published, suggested=False, language_rows=[], service_rows=[])
    _apply(entry, values)
    session.add(entry)
    session.flush()
    record("directory.create", actor=actor, target=entry, name=entry.name)
    return entry


def suggest_entry(**data) -> DirectoryEntry:
    """A suggestion from anyone: stored unpublished until a site administrator reviews it."""
    values, errors = validate(data)
    _raise_first(errors)
    _check_unique(values)
    values["kind"] = EntryKind.organisation
    entry = DirectoryEntry(published=False, suggested=True, language_rows=[], service_rows=[])
    _apply(entry, values)
    session.add(entry)
    session.flush()
    record("directory.suggest", target=entry, name=entry.name)
    _tell_site_admins(entry)
    return entry


register_kind(
    "directory.suggestions",
    lambda params: _("A directory suggestion is waiting for review: “%(name)s”.", **params),
)


def _tell_site_admins(entry: DirectoryEntry) -> None:
    """Site administrators hear of a suggestion when the review queue starts again, not of every one: the form
    is open to anyone, so one notification per suggestion could flood them."""
    others = session.scalar(
        sa.select(sa.func.count(DirectoryEntry.id)).where(
            DirectoryEntry.published.is_(False),
            DirectoryEntry.suggested.is_(True),
            DirectoryEntry.id != entry.id,
        )
    )
    if others:
        return
    admins = session.scalars(sa.select(Person).where(Person.is_site_admin.is_(True)))
    notify(admins, "directory.suggestions", url="/admin/directory", name=entry.name)


def update_entry(entry: DirectoryEntry, actor: Person | None, **data) -> DirectoryEntry:
    _require_admin(actor)
    if entry.network_id is not None:
        raise InvalidInput(_("A network's entry is changed on its public page settings."))
    merged = {name: getattr(entry, name) for name in FIELDS}
    merged["kind"] = entry.kind.value
    merged.update({key: value for key, value in data.items() if key in FIELDS})
    values, errors = validate(merged)
    _raise_first(errors)
    _check_unique(values, entry)
    _apply(entry, values)
    session.flush()
    record("directory.update", actor=actor, target=entry, name=entry.name)
    return entry


def publish_entry(entry: DirectoryEntry, actor: Person | None) -> DirectoryEntry:
    _require_admin(actor)
    entry.published = True
    entry.suggested = False
    entry.updated_at = utcnow()
    session.flush()
    record("directory.publish", actor=actor, target=entry, name=entry.name)
    return entry


def delete_entry(entry: DirectoryEntry, actor: Person | None) -> None:
    """Reject a suggestion, or take an entry out of the directory for good."""
    _require_admin(actor)
    if entry.network_id is not None:
        raise InvalidInput(_("A network's entry is changed on its public page settings."))
    record("directory.delete", actor=actor, target=entry, name=entry.name, suggested=entry.suggested)
    session.delete(entry)
    session.flush()


def get_entry(entry_id: int, viewer: Person | None) -> DirectoryEntry:
    """A published entry for anyone; an unpublished one for site administrators only."""
    entry = session.get(DirectoryEntry, entry_id) if 0 < entry_id <= MAX_ID else None
    if entry is None or not (entry.published or permissions.can_manage_directory(viewer)):
        raise NotFound(_("This entry is not in the directory."))
    return entry


def pending_suggestions(limit: int = 50) -> list[DirectoryEntry]:
    return list(
        session.scalars(
            sa.select(DirectoryEntry)
            .where(DirectoryEntry.published.is_(False), DirectoryEntry.suggested.is_(True))
            .order_by(DirectoryEntry.created_at, DirectoryEntry.id)
            .limit(limit)
        )
    )


# -- a network's public page ------------------------------------------------------------------------------


def public_page(network: Network) -> NetworkPublicPage | None:
    return session.get(NetworkPublicPage, network.id)


def visible_public_page(network: Network) -> NetworkPublicPage:
    page = public_page(network)
    if page is None or not page.public:
        raise NotFound(_("This network has no public page."))
    return page


def _network_values(network: Network, page: NetworkPublicPage) -> dict:
    languages = [code for code in (language_code(name) for name in network.languages or []) if code]
    return {
        "name": network.name,
        "kind": EntryKind.network,
        "country": page.country,
        "city": network.region[:120],
        "languages": list(dict.fromkeys(languages))[:MAX_LANGUAGES],
        "services": list(page.services or []),
        "website": "",
        "contact_email": network.contact_email,
        "contact_phone": network.contact_phone if _PHONE.match(network.contact_phone or "") else "",
        "description": network.description[:MAX_MARKDOWN_CHARS],
    }


def sync_network_entry(network: Network, page: NetworkPublicPage) -> DirectoryEntry | None:
    """The network's own directory entry follows its public page: published while the page is public."""
    entry = session.scalar(sa.select(DirectoryEntry).where(DirectoryEntry.network_id == network.id))
    if not page.public:
        if entry is not None and entry.published:
            entry.published = False
            entry.updated_at = utcnow()
        return entry
    values = _network_values(network, page)
    with session.no_autoflush:
        _check_unique(values, entry)
    if entry is None:
        entry = DirectoryEntry(network_id=network.id, suggested=False, language_rows=[], service_rows=[])
    entry.published = True
    _apply(entry, values)
    session.add(entry)
    return entry


def update_public_page(
    network: Network, actor: Person | None, *, public: bool, how_to_join: str = "", country: str = "",
    services=(),
) -> NetworkPublicPage:  # fmt: skip
    if not permissions.can_manage_public_page(actor, network):
        raise Forbidden(_("Only the network's coordinator can change its public page."))
    how_to_join = (how_to_join or "").strip()
    if len(how_to_join) > MAX_MARKDOWN_CHARS:
        raise InvalidInput(
            _("Keep the text under %(limit)s characters.", limit=format_decimal(MAX_MARKDOWN_CHARS)),
            field="how_to_join",
        )
    earlier = public_page(network)
    refuse_html_in_markdown(how_to_join, "how_to_join", stored=earlier.how_to_join if earlier else None)
    country = (country or "").strip().upper()
    if country and country not in country_codes():
        raise InvalidInput(_("Give the country as its two-letter code, like DE, IT or GR."), field="country")
    if public and not country:
        raise InvalidInput(
            _("Choose the country, so that the directory can list the network."), field="country"
        )
    chosen = [value for value in dict.fromkeys(services or []) if value in Service.__members__]
    page = public_page(network)
    if page is None:
        page = NetworkPublicPage(network_id=network.id, network=network)
        session.add(page)
    page.public, page.how_to_join, page.country, page.services = bool(public), how_to_join, country, chosen
    page.updated_at = utcnow()
    try:
        sync_network_entry(network, page)
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, field="public") from exc
    session.flush()
    record("directory.public_page", actor=actor, network=network, public=page.public)
    return page


@event.listens_for(Session, "before_flush")
def _follow_network_changes(session_: Session, _context, _instances) -> None:
    """A public network's entry follows changes to its name, description, languages, region and contact,
    wherever they are made."""
    changed = [item for item in session_.dirty if isinstance(item, Network) and session_.is_modified(item)]
    if not changed:
        return
    with session_.no_autoflush:
        pages = session_.scalars(
            sa.select(NetworkPublicPage).where(
                NetworkPublicPage.network_id.in_([network.id for network in changed]),
                NetworkPublicPage.public.is_(True),
            )
        ).all()
        for page in pages:
            try:
                sync_network_entry(page.network, page)
            except InvalidInput:  # a name clash: the entry keeps its last good values
                continue
