"""The network's library: links, uploaded files and Markdown notes. Check permission, validate, flush."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.errors import Forbidden, InvalidInput, NotFound
from network_service.federations import access as federation_access
from network_service.markup import MAX_MARKDOWN_CHARS, refuse_html_in_markdown
from network_service.networks.models import Network
from network_service.networks.operations import require_current_agreement
from network_service.networks.roadmap import Checkpoint, Phase, register_checkpoint
from network_service.resources import permissions, storage
from network_service.resources.models import Resource, ResourceKind, ResourceTag
from network_service.text import split_list

PAGE_SIZE = 25
MAX_TAGS = 10
MAX_TAG_CHARS = 40
_TAG = re.compile(r"^[^\s,][^,]*$")

LIBRARY_CHECKPOINT_COUNT = 5


def _library_filled(network: Network) -> bool:
    count = session.scalar(sa.select(sa.func.count(Resource.id)).where(Resource.network_id == network.id))
    return (count or 0) >= LIBRARY_CHECKPOINT_COUNT


register_checkpoint(
    Checkpoint(
        "resources.library",
        Phase.sustain,
        30,
        lambda: _("The shared library has at least %(count)s resources", count=LIBRARY_CHECKPOINT_COUNT),
        _library_filled,
        lambda: _(
            "Ask members to add the links, forms and notes they use in their mentoring to the library."
        ),
    )
)


def resource_path(resource: Resource) -> str:
    return f"/networks/{resource.network.slug}/resources/{resource.id}"


def _title(title: str | None) -> str:
    title = " ".join((title or "").split())
    if not title or len(title) > 200:
        raise InvalidInput(_("Give the resource a title of at most 200 characters."), field="title")
    return title


def _body(text: str | None, *, required: bool = False, field: str = "body", stored: str | None = None) -> str:
    """The Markdown of a note, or of a link's or file's description (``field`` names it in a refusal)."""
    text = (text or "").strip()
    if required and not text:
        raise InvalidInput(_("Write the note."), field=field)
    if len(text) > MAX_MARKDOWN_CHARS:
        raise InvalidInput(
            _("Keep the text under %(limit)s characters.", limit=format_decimal(MAX_MARKDOWN_CHARS)),
            field=field,
        )
    refuse_html_in_markdown(text, field, stored=stored)
    return text


def _url(url: str | None) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if (
        len(url) > 2000
        or parts.scheme.lower() not in {"http", "https"}
        or not parts.hostname
        or any(ch.isspace() or ord(ch) < 32 for ch in url)
    ):
        raise InvalidInput(
            _("Give a web address that starts with https:// or http://, like https://example.org/guide."),
            field="url",
        )
    return url


def _language(language: str | None) -> str:
    language = " ".join((language or "").split())
    if len(language) > 40:
        raise InvalidInput(
            _("Give the language in at most 40 characters, like “Arabic” or “ar”."), field="language"
        )
    return language


def parse_tags(tags) -> list[str]:
    """A list of tags, or one comma-separated text: trimmed, lower-case, without duplicates."""
    if tags is None:
        return []
    items = split_list(tags) if isinstance(tags, str) else list(tags)
    cleaned: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput(_("Tags are words or short phrases."), field="tags")
        tag = " ".join(item.split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS or not _TAG.match(tag):
            raise InvalidInput(
                _("Keep each tag under %(limit)s characters, separated by commas.", limit=MAX_TAG_CHARS),
                field="tags",
            )
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput(_("Give at most %(count)s tags.", count=MAX_TAGS), field="tags")
    return cleaned


def _check_add(network: Network, actor: Person) -> None:
    if not permissions.can_add_resource(actor, network):
        raise Forbidden(_("Only members of this network can add to its library."))
    require_current_agreement(actor, network)


def _finish(resource: Resource, tags: list[str], actor: Person) -> Resource:
    resource.tag_rows = [ResourceTag(tag=tag) for tag in tags]
    session.add(resource)
    session.flush()
    record(
        "resource.add", actor=actor, target=resource, network=resource.network, kind=resource.kind.value,
        title=resource.title,
    )  # fmt: skip
    return resource


def add_link(
    network: Network,
    *,
    actor: Person,
    title: str,
    url: str,
    description: str = "",
    language: str = "",
    tags=None,
) -> Resource:
    _check_add(network, actor)
    resource = Resource(
        network=network,
        kind=ResourceKind.link,
        title=_title(title),
        url=_url(url),
        body=_body(description, field="description"),
        language=_language(language),
        created_by_id=actor.id,
    )
    return _finish(resource, parse_tags(tags), actor)


def add_note(
    network: Network, *, actor: Person, title: str, body: str, language: str = "", tags=None
) -> Resource:
    _check_add(network, actor)
    resource = Resource(
        network=network,
        kind=ResourceKind.note,
        title=_title(title),
        body=_body(body, required=True),
        language=_language(language),
        created_by_id=actor.id,
    )
    return _finish(resource, parse_tags(tags), actor)


def add_file(
    network: Network,
    *,
    actor: Person,
    stream: BinaryIO | None,
    filename: str | None,
    title: str = "",
    description: str = "",
    language: str = "",
    tags=None,
) -> Resource:
    """Store an upload after every other check passed; the file is removed again if the request fails."""
    _check_add(network, actor)
    if stream is None or not filename:
        raise InvalidInput(_("Choose a file to upload."), field="file")
    cleaned_name = storage.clean_filename(filename)
    resource = Resource(
        network=network,
        kind=ResourceKind.file,
        title=_title(title or cleaned_name),
        body=_body(description, field="description"),
        language=_language(language),
        created_by_id=actor.id,
    )
    tag_list = parse_tags(tags)
    stored = storage.save_upload(stream, filename)
    resource.stored_name = stored.stored_name
    resource.original_filename = stored.original_filename
    resource.content_type = stored.content_type
    resource.size = stored.size
    resource.sha256 = stored.sha256
    return _finish(resource, tag_list, actor)


_UNSET = object()


def edit_resource(
    resource: Resource, *, actor: Person, title=_UNSET, body=_UNSET, url=_UNSET, language=_UNSET, tags=_UNSET
) -> Resource:
    if not permissions.can_change_resource(actor, resource):
        raise Forbidden(
            _("Only the author or the network's coordinator, Meta-Mentor or office can change this.")
        )
    require_current_agreement(actor, resource.network)
    if title is not _UNSET:
        resource.title = _title(title)
    if body is not _UNSET:
        resource.body = _body(body, required=resource.kind == ResourceKind.note, stored=resource.body)
    if url is not _UNSET:
        if resource.kind != ResourceKind.link:
            raise InvalidInput(_("Only a link has a web address."), field="url")
        resource.url = _url(url)
    if language is not _UNSET:
        resource.language = _language(language)
    if tags is not _UNSET:
        wanted = parse_tags(tags)
        keep = [row for row in resource.tag_rows if row.tag in wanted]
        have = {row.tag for row in keep}
        resource.tag_rows = keep + [ResourceTag(tag=tag) for tag in wanted if tag not in have]
    resource.updated_at = utcnow()
    session.flush()
    record("resource.edit", actor=actor, target=resource, network=resource.network)
    return resource


def delete_resource(resource: Resource, *, actor: Person) -> None:
    if not permissions.can_change_resource(actor, resource):
        raise Forbidden(
            _("Only the author or the network's coordinator, Meta-Mentor or office can delete this.")
        )
    network = resource.network
    record(
        "resource.delete", actor=actor, target=resource, network=network, kind=resource.kind.value,
        title=resource.title,
    )  # fmt: skip
    storage.delete_after_commit(resource.stored_name)
    session.delete(resource)
    session.flush()


def federations_sharing(resource: Resource) -> list[Network]:
    """The federations the resource is shared with (its members lose it too when it is deleted), by name."""
    from network_service.federations.models import SharedResource

    return list(
        session.scalars(
            sa.select(Network)
            .join(SharedResource, SharedResource.federation_id == Network.id)
            .where(SharedResource.resource_id == resource.id)
            .order_by(Network.name)
        )
    )


def get_resource(network: Network, resource_id: int, viewer: Person | None) -> Resource:
    resource = session.scalar(
        sa.select(Resource)
        .options(selectinload(Resource.tag_rows), selectinload(Resource.created_by))
        .where(Resource.id == resource_id, Resource.network_id == network.id)
    )
    if not permissions.can_view_library(viewer, network) and not (
        resource is not None and federation_access.can_read_shared_resource(viewer, resource)
    ):  # a resource shared with a federation is open to the members of its member networks
        raise Forbidden(_("Only members of this network can see its library."))
    if resource is None:
        raise NotFound(_("This resource does not exist in this network."))
    return resource


def file_for_download(network: Network, resource_id: int, viewer: Person | None):
    """The resource and the path of its file; NotFound for links and notes or a file missing on disk."""
    resource = get_resource(network, resource_id, viewer)
    if resource.kind != ResourceKind.file or not resource.stored_name:
        raise NotFound(_("This resource has no file to download."))
    path = storage.path_of(resource.stored_name)
    if not path.is_file():
        raise NotFound(_("The file of this resource is missing. Tell the network office."))
    return resource, path


@dataclass
class Search:
    text: str = ""
    kind: ResourceKind | None = None
    language: str = ""
    tag: str = ""


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(
    network: Network,
    viewer: Person | None,
    query: Search,
    *,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[Resource], int | None]:
    """A page of the library, newest first, and the cursor of the next page. Three statements (resources,
    their tags, their authors) whatever the size of the library."""
    if not permissions.can_view_library(viewer, network):
        raise Forbidden(_("Only members of this network can see its library."))
    statement = (
        sa.select(Resource)
        .options(selectinload(Resource.tag_rows), selectinload(Resource.created_by))
        .where(Resource.network_id == network.id)
        .order_by(Resource.id.desc())
        .limit(limit + 1)
    )
    text = " ".join(query.text.split())[:100]
    if text:
        pattern = _like(text)
        statement = statement.where(
            sa.or_(
                sa.func.lower(Resource.title).like(pattern, escape="\\"),
                sa.func.lower(Resource.body).like(pattern, escape="\\"),
                sa.exists().where(
                    ResourceTag.resource_id == Resource.id, ResourceTag.tag.like(pattern, escape="\\")
                ),
            )
        )
    if query.kind is not None:
        statement = statement.where(Resource.kind == query.kind)
    if query.language:
        statement = statement.where(sa.func.lower(Resource.language) == query.language.strip().lower())
    if query.tag:
        statement = statement.where(
            sa.exists().where(
                ResourceTag.resource_id == Resource.id, ResourceTag.tag == query.tag.strip().lower()
            )
        )
    if before is not None:
        statement = statement.where(Resource.id < before)
    items = list(session.scalars(statement))
    next_cursor = items[limit - 1].id if len(items) > limit else None
    return items[:limit], next_cursor


def facets(network: Network) -> tuple[list[str], list[str]]:
    """The languages and the most used tags of the library, for the filters (two aggregate queries)."""
    languages = list(
        session.scalars(
            sa.select(Resource.language)
            .where(Resource.network_id == network.id, Resource.language != "")
            .group_by(Resource.language)
            .order_by(Resource.language)
            .limit(100)
        )
    )
    tags = list(
        session.scalars(
            sa.select(ResourceTag.tag)
            .join(Resource, Resource.id == ResourceTag.resource_id)
            .where(Resource.network_id == network.id)
            .group_by(ResourceTag.tag)
            .order_by(sa.func.count(ResourceTag.id).desc(), ResourceTag.tag)
            .limit(50)
        )
    )
    return languages, tags
