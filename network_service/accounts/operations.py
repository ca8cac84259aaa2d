"""People and sign-in. Plain functions: no request objects; they flush, the caller commits."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import zoneinfo
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm.attributes import set_committed_value

from network_service.accounts.models import ApiToken, Person, SignInToken
from network_service.accounts.sessions import write
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, LinkInvalid, NotFound
from network_service.mail.operations import queue_mail
from network_service.text import split_list
from network_service.tokens import hash_token, new_token
from network_service.urls import public_url

log = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}$")
SIGN_IN_LINKS_PER_HOUR = 5
PROFILE_FIELDS = ("display_name", "locale", "timezone", "languages", "expertise", "region", "bio")


def normalise_email(value: str | None, field: str = "email") -> str:
    email = (value or "").strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput(_("Enter a valid e-mail address, like name@example.org."), field=field)
    local, _sep, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}".lower()


def find_person_by_email(email: str) -> Person | None:
    return session.scalar(sa.select(Person).where(Person.email == normalise_email(email)))


def get_or_create_person(
    email: str, display_name: str = "", locale: str | None = None
) -> tuple[Person, bool]:
    email = normalise_email(email)
    person = session.scalar(sa.select(Person).where(Person.email == email))
    if person is not None:
        return person, False
    return create_person(email, display_name, locale), True


def create_person(email: str, display_name: str = "", locale: str | None = None) -> Person:
    """A new person for an address the caller has just looked up and not found (normalised already)."""
    person = Person(
        email=email, display_name=display_name.strip()[:120], locale=locale, languages=[], expertise=[]
    )
    session.add(person)
    session.flush()
    return person


def add_site_admin(email: str, actor: Person | None = None) -> Person:
    person, _created = get_or_create_person(email)
    person.is_site_admin = True
    record("site_admin.add", actor=actor, target=person)
    return person


def safe_next_url(url: str | None) -> str | None:
    """Only same-site paths survive, so a sign-in link can never redirect elsewhere."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return None
    return url[:500]


def request_sign_in(email: str, next_url: str | None = None) -> SignInToken | None:
    """Mail a sign-in link when the address belongs to someone; say nothing either way (no account probing)."""
    person = find_person_by_email(email)
    if person is None:
        return None
    recent = session.scalar(
        sa.select(sa.func.count(SignInToken.id)).where(
            SignInToken.person_id == person.id, SignInToken.created_at > utcnow() - dt.timedelta(hours=1)
        )
    )
    if recent >= SIGN_IN_LINKS_PER_HOUR:
        # Someone may be flooding this person's inbox; the links already sent still work.
        log.warning("sign-in links for person %s throttled (%s in the last hour)", person.id, recent)
        return None
    token, token_hash = new_token()
    minutes = current_app.config["SIGN_IN_LINK_MINUTES"]
    sign_in = SignInToken(
        person=person,
        token_hash=token_hash,
        expires_at=utcnow() + dt.timedelta(minutes=minutes),
        next_url=safe_next_url(next_url),
    )
    session.add(sign_in)
    queue_mail(
        "sign_in",
        person.email,
        "sign_in",
        locale=person.locale,
        person=person,
        link=public_url(f"/sign-in/{token}"),
        minutes=minutes,
    )
    session.flush()
    return sign_in


def _valid_sign_in_token(token: str) -> SignInToken:
    sign_in = session.scalar(sa.select(SignInToken).where(SignInToken.token_hash == hash_token(token)))
    if sign_in is None:
        raise LinkInvalid(_("This sign-in link is not known. Ask for a new one below."))
    if sign_in.used_at is not None:
        raise LinkInvalid(_("This sign-in link has already been used. Ask for a new one below."))
    if sign_in.expires_at <= utcnow():
        raise LinkInvalid(_("This sign-in link has expired. Ask for a new one below."))
    return sign_in


def check_sign_in_token(token: str) -> SignInToken:
    """Look at a sign-in link without using it (the confirmation page shows before the POST consumes it)."""
    return _valid_sign_in_token(token)


def consume_sign_in_token(token: str) -> SignInToken:
    sign_in = _valid_sign_in_token(token)
    # Conditional update: of two concurrent uses of the same link, only one wins.
    result = session.execute(
        sa.update(SignInToken)
        .where(SignInToken.id == sign_in.id, SignInToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LinkInvalid(_("This sign-in link has already been used. Ask for a new one below."))
    session.refresh(sign_in)
    sign_in.person.last_sign_in_at = utcnow()
    return sign_in


def update_profile(person: Person, actor: Person, **fields) -> Person:
    if actor.id != person.id and not actor.is_site_admin:
        raise Forbidden(_("You can only change your own profile."))
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise InvalidInput(_("Unknown profile field."), field=sorted(unknown)[0])
    if "display_name" in fields:
        name = (fields["display_name"] or "").strip()
        if not name:
            raise InvalidInput(_("Enter the name other members will see."), field="display_name")
        if len(name) > 120:
            raise InvalidInput(_("A name can have at most 120 characters."), field="display_name")
        person.display_name = name
    if "locale" in fields:
        locale = fields["locale"] or None
        if locale is not None and locale not in current_app.config["LANGUAGES"]:
            raise InvalidInput(_("This language is not available."), field="locale")
        person.locale = locale
    if "timezone" in fields:
        person.timezone = _valid_timezone(fields["timezone"])
    for key in ("languages", "expertise"):
        if key in fields:
            person_list = _clean_list(fields[key], key)
            setattr(person, key, person_list)
    if "region" in fields:
        person.region = _clean_text(fields["region"], 120, "region")
    if "bio" in fields:
        person.bio = _clean_text(fields["bio"], 2000, "bio")
    session.flush()
    return person


def _valid_timezone(value: str | None) -> str | None:
    if not value:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            _("Choose a time zone from the list, like Europe/Berlin."), field="timezone"
        ) from exc
    return value


def _clean_text(value: str | None, limit: int, field: str) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidInput(_("This text can have at most %(limit)s characters.", limit=limit), field=field)
    return text


def _clean_list(values, field: str) -> list[str]:
    if isinstance(values, str):
        values = split_list(values)
    cleaned: list[str] = []
    for value in values or []:
        item = str(value).strip()
        if not item:
            continue
        if len(item) > 60:
            raise InvalidInput(_("Each entry can have at most 60 characters."), field=field)
        if item.lower() not in (c.lower() for c in cleaned):
            cleaned.append(item)
    if len(cleaned) > 20:
        raise InvalidInput(_("Give at most 20 entries."), field=field)
    return cleaned


# Live (not revoked) API tokens a member may hold when they make one themself (the devices page): enough for a
# few scripts and integrations, a list one can still review at a glance, and a bound on what a stolen session
# can leave behind. The operator (``mentornet token create``) is not bound by it.
MAX_API_TOKENS = 10


class FormSentAgain(Conflict):
    """The devices page's form that made a token was sent again: that token is made already."""

    def __init__(self):
        super().__init__(_("This form was sent already: its token is made and listed below."))


def create_api_token(
    person: Person, name: str, *, actor: Person | None = None, form: str | None = None
) -> tuple[ApiToken, str]:
    """A new API token for ``person``; returns it with its secret, which is never stored (only its hash) and so
    can be shown only now. ``actor``: the person themself (the devices page), refused beyond MAX_API_TOKENS live
    tokens; None is the operator. ``form``: the random value of the form it is made from: a token made from the
    same form already is ``FormSentAgain``, also when two sendings run at once (the unique index decides)."""
    if actor is not None and actor.id != person.id:
        raise Forbidden(_("You can only make API tokens for yourself."))
    name = _clean_text(name, 100, "name") or "API token"
    form_hash = hash_token(form) if form and actor is not None else None
    if actor is not None:
        # The person's row locked first (PostgreSQL; SQLite serialises writers anyway): two requests at once
        # cannot both count nine tokens and make the eleventh.
        session.execute(sa.select(Person.id).where(Person.id == person.id).with_for_update())
        if form_hash and session.scalar(
            sa.select(ApiToken.id).where(ApiToken.person_id == person.id, ApiToken.form_hash == form_hash)
        ):
            raise FormSentAgain()
        live = session.scalar(
            sa.select(sa.func.count(ApiToken.id)).where(
                ApiToken.person_id == person.id, ApiToken.revoked_at.is_(None)
            )
        )
        if live >= MAX_API_TOKENS:
            raise Conflict(
                ngettext(
                    "You have %(num)d API token, the most you can have. Revoke one you no longer use before "
                    "you make another.",
                    "You have %(num)d API tokens, the most you can have. Revoke one you no longer use before "
                    "you make another.",
                    live,  # the real number: the operator's tokens are not capped and may make it more
                ),
                field="name",
            )
    token, token_hash = new_token()
    api_token = ApiToken(person=person, name=name, token_hash=token_hash, form_hash=form_hash)
    try:
        with session.begin_nested():  # before the audit entry: it names the token by its id
            session.add(api_token)
            session.flush()
    except sa.exc.IntegrityError:  # the same form, sent twice at once: the other sending made it
        raise FormSentAgain() from None
    # the actor as for a revocation: the member, or None for the operator
    record("api_token.create", actor=actor, target=api_token, name=api_token.name, person_id=person.id)
    if actor is not None:
        # A token outlives every session: if someone else made it (a browser left signed in), the owner learns
        # it from their mailbox, with the way to revoke it. The operator's tokens are the operator's business.
        queue_mail(
            "api_token_made",
            person.email,
            "api_token_made",
            locale=person.locale,
            person=person,
            token_name=api_token.name,
            link=public_url("/profile/sessions"),
        )
    return api_token, token


API_TOKEN_USE_PRECISION = dt.timedelta(minutes=5)


def _may_revoke_tokens(person: Person, actor: Person | None) -> None:
    """The person themself, a site administrator, or ``actor=None``: the operator (``mentornet token``)."""
    if actor is not None and actor.id != person.id and not actor.is_site_admin:
        raise Forbidden(_("Only site administrators can revoke someone else's API tokens."))


def list_api_tokens(person: Person, *, revoked: bool = False) -> list[ApiToken]:
    """The person's API tokens that still work (with ``revoked``, also those that no longer do), oldest first.
    Only their names and dates: the secret itself is never stored (only its hash)."""
    query = sa.select(ApiToken).where(ApiToken.person_id == person.id)
    if not revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query.order_by(ApiToken.created_at, ApiToken.id)))


def revoke_api_token(person: Person, token_id, *, actor: Person | None) -> ApiToken:
    """Revoke one of ``person``'s tokens: it stops working at its next request. Someone else's token, or one
    revoked already, is "not found", like an unknown one."""
    _may_revoke_tokens(person, actor)
    api_token = None
    if isinstance(token_id, int) and not isinstance(token_id, bool):
        api_token = session.scalar(
            sa.select(ApiToken).where(
                ApiToken.id == token_id, ApiToken.person_id == person.id, ApiToken.revoked_at.is_(None)
            )
        )
    if api_token is None:
        raise NotFound(_("This API token does not exist or is revoked already."))
    api_token.revoked_at = utcnow()
    session.flush()
    record("api_token.revoke", actor=actor, target=api_token, name=api_token.name, person_id=person.id)
    return api_token


def revoke_api_tokens(person: Person, *, actor: Person | None, reason: str = "") -> int:
    """Revoke every token of ``person`` that still works (a site administrator's emergency sign-out, the
    operator); returns how many. Audited when there was any."""
    _may_revoke_tokens(person, actor)
    count = session.execute(
        sa.update(ApiToken)
        .where(ApiToken.person_id == person.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if count:
        record("api_token.revoke_all", actor=actor, target=person, count=count, reason=reason[:500])
    return count


@functools.cache
def _token_and_person() -> sa.Select:
    """Built once, at first use (every API request with a bearer token runs it): the token with its person and
    the person's memberships (which every permission check asks about) in one statement, as for a session."""
    return (
        sa.select(ApiToken, Person)
        .join(Person, Person.id == ApiToken.person_id)
        .options(sa.orm.joinedload(Person.memberships))
        .where(ApiToken.token_hash == sa.bindparam("token_hash"), ApiToken.revoked_at.is_(None))
    )


def person_for_api_token(token: str) -> Person | None:
    found = session.execute(_token_and_person(), {"token_hash": hash_token(token)}).unique().first()
    if found is None:
        return None
    api_token, person = found
    now = utcnow()
    # Written at most every few minutes: a write on every API read would serialise GETs on SQLite and churn
    # the row on PostgreSQL, and "last used" needs no more precision than that.
    if api_token.last_used_at is None or now - api_token.last_used_at > API_TOKEN_USE_PRECISION:
        # like a session's "last seen": in a short transaction of its own when the request only reads SQLite
        write(sa.update(ApiToken).where(ApiToken.id == api_token.id).values(last_used_at=now))
        set_committed_value(api_token, "last_used_at", now)
    return person
