"""Export, erasure, consent and retention. Plain functions: they flush, the caller commits.

What each module contributes is registered in ``privacy.registry`` (see ``privacy.contributors``); this module
runs the contributors, packs the export, and deletes the person row at the end of an erasure.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import json
import logging
import re
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app, g, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from network_service.accounts.models import Person
from network_service.audit.models import AuditLog
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, MentorNetError, NotFound
from network_service.networks.models import Membership, MembershipStatus, Network, Role
from network_service.privacy import registry
from network_service.privacy.models import ConsentRecord

log = logging.getLogger(__name__)

EXPORT_FORMAT = "mentornet-export"
EXPORT_VERSION = 1
# Columns never exported: secrets stored hashed, keys. Their existence (created, last used) is exported.
SECRET_COLUMNS = {"token_hash", "secret_hash", "code_hash", "private_key_pem", "state_hash"}


class TooManyRequests(MentorNetError):
    status = 429
    title = _l("Too many requests")


# -- helpers for contributors -------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A JSON-able copy of a column value."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def row_dict(obj: Any, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Every column of a mapped object, minus secrets and ``exclude``."""
    skip = SECRET_COLUMNS | set(exclude)
    return {
        column.key: plain(getattr(obj, column.key))
        for column in sa.inspect(type(obj)).columns
        if column.key not in skip
    }


def rows(query) -> list[dict[str, Any]]:
    return [row_dict(obj) for obj in session.scalars(query)]


def scrub(value: Any, needles: Iterable[str], placeholder: str) -> Any:
    """``value`` with every occurrence of a needle (case-insensitive) replaced, through dicts and lists."""
    needles = [n for n in needles if n]
    if isinstance(value, str):
        lowered = value.lower()
        for needle in needles:
            start = lowered.find(needle.lower())
            while start >= 0:
                value = value[:start] + placeholder + value[start + len(needle) :]
                lowered = value.lower()
                start = lowered.find(needle.lower(), start + len(placeholder))
        return value
    if isinstance(value, dict):
        return {k: scrub(v, needles, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, needles, placeholder) for v in value]
    return value


def contains_any(value: Any, needles: Iterable[str]) -> bool:
    text = json.dumps(value, ensure_ascii=False, default=str).lower() if not isinstance(value, str) else value
    text = text.lower()
    return any(n and n.lower() in text for n in needles)


# -- export ---------------------------------------------------------------------------------------------------------


def export_data(person: Person) -> dict[str, Any]:
    """Everything the service holds about ``person``, one section per contributing module."""
    sections: dict[str, Any] = {}
    for exporter in registry.exporters():
        sections[exporter.name] = exporter.export(person)
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": utcnow().isoformat(),
        "person_id": person.id,
        "sections": sections,
    }


def check_export_allowed(person: Person, actor: Person | None) -> None:
    """The person themself (a few times a day), a site admin, or ``actor=None``: the operator's command line."""
    if actor is None:
        return
    if actor.id != person.id and not actor.is_site_admin:
        raise Forbidden(_("You can only download your own data."))
    limit = int(current_app.config["PRIVACY_EXPORTS_PER_DAY"])
    recent = session.scalar(
        sa.select(sa.func.count(AuditLog.id)).where(
            AuditLog.action == "privacy.export",
            AuditLog.target_type == "person",
            AuditLog.target_id == person.id,
            AuditLog.at > utcnow() - dt.timedelta(days=1),
        )
    )
    if recent >= limit:
        raise TooManyRequests(
            _("You downloaded your data %(count)s times today. Try again tomorrow.", count=recent)
        )


def export_json(person: Person, actor: Person, via: str = "api") -> dict[str, Any]:
    check_export_allowed(person, actor)
    data = export_data(person)
    record("privacy.export", actor=actor, target=person, via=via, files=False)
    session.flush()
    return data


def export_zip(person: Person, actor: Person | None, via: str = "web") -> IO[bytes]:
    """The export as a ZIP in a spooled temporary file (memory up to 8 MB, then disk): ``data.json``, a short
    ``README.txt`` and ``files/`` with the person's uploads, up to ``PRIVACY_EXPORT_MAX_BYTES`` in all (files
    beyond are listed in ``data.json`` under ``files_left_out``). The caller sends and closes it."""
    check_export_allowed(person, actor)
    data = export_data(person)
    budget = int(current_app.config["PRIVACY_EXPORT_MAX_BYTES"])
    spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned to the caller
    included, left_out, used = [], [], 0
    with zipfile.ZipFile(spooled, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for exporter in registry.exporters():
            if exporter.files is None:
                continue
            for name, path in exporter.files(person):
                arcname = f"files/{exporter.name}/{name}"
                try:
                    size = path.stat().st_size
                except OSError:
                    left_out.append({"name": arcname, "reason": "missing"})
                    continue
                if used + size > budget:
                    left_out.append({"name": arcname, "reason": "too large", "bytes": size})
                    continue
                archive.write(path, arcname)  # streamed from disk in chunks
                used += size
                included.append(arcname)
        data["files"] = included
        data["files_left_out"] = left_out
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        archive.writestr("README.txt", _readme())
    spooled.seek(0)
    record("privacy.export", actor=actor, target=person, via=via, files=len(included))
    session.flush()
    return spooled


def _readme() -> str:
    return (
        _(
            "This is a copy of the data mentorNET holds about you. data.json is machine-readable JSON: one "
            "section per part of the service. The files folder holds the files you added to network libraries."
        )
        + "\n"
    )


# -- erasure --------------------------------------------------------------------------------------------------------


@dataclass
class Erasure:
    """What an eraser needs: who, on whose request, and everything that identifies them."""

    person: Person
    actor: Person | None
    delete_contributions: bool
    pseudonym: str
    placeholder: str = "former member"
    identifiers: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def email(self) -> str | None:
        return self.person.email

    @property
    def name(self) -> str:
        return self.person.display_name or ""

    def needles(self) -> list[str]:
        """The strings that identify the person, longest first (so a name inside an address goes whole)."""
        values = {self.person.email or "", self.name}
        for found in self.identifiers.values():
            values.update(found)
        return sorted((v for v in values if v and len(v) >= 3), key=len, reverse=True)

    def count(self, what: str, n: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + int(n or 0)


def pseudonym_for(person_id: int) -> str:
    """A stable pseudonym for an erased person's audit entries: the same person gives the same value (entries
    still connect), but only someone holding the secret key could test a guess."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"person:{person_id}".encode(), hashlib.sha256).hexdigest()
    return f"erased-{digest[:16]}"


def sole_coordinator_of(person: Person) -> list[Network]:
    """Networks the person coordinates alone: erasing them would leave those networks without a coordinator."""
    theirs = session.scalars(
        sa.select(Network)
        .join(Membership, Membership.network_id == Network.id)
        .where(
            Membership.person_id == person.id,
            Membership.role == Role.coordinator,
            Membership.status == MembershipStatus.active,
        )
    ).all()
    alone = []
    for network in theirs:
        others = session.scalar(
            sa.select(sa.func.count(Membership.id)).where(
                Membership.network_id == network.id,
                Membership.role == Role.coordinator,
                Membership.status == MembershipStatus.active,
                Membership.person_id != person.id,
            )
        )
        if not others:
            alone.append(network)
    return alone


def erase_person(
    person: Person, actor: Person | None, *, confirm: str, delete_contributions: bool = False
) -> dict[str, Any]:
    """Erase ``person``: every module's eraser runs, then the person row is deleted (the database cascades or
    nulls what still points at it). ``confirm`` must be the person's e-mail address (or, without one, their id).
    The person themself or a site administrator may do it (``actor=None``: the operator's command line); a
    network's last coordinator must hand over first.
    Returns a summary (counts per kind of data); the audit log keeps one entry under a pseudonym."""
    if actor is not None and actor.id != person.id and not actor.is_site_admin:
        raise Forbidden(_("Only site administrators can erase another person's account."))
    expected = (person.email or str(person.id)).strip().lower()
    if (confirm or "").strip().lower() != expected:
        raise InvalidInput(_("Type the e-mail address of the account to confirm."), field="confirm")
    alone = sole_coordinator_of(person)
    if alone:
        raise Conflict(
            _(
                "First make someone else coordinator of %(networks)s: a network cannot stay without a "
                "coordinator.",
                networks=", ".join(n.name for n in alone),
            )
        )
    erasure = Erasure(
        person=person,
        actor=actor if actor is not None and actor.id != person.id else None,
        delete_contributions=delete_contributions,
        pseudonym=pseudonym_for(person.id),
    )
    for finder in registry.identifier_finders():
        for kind, values in (finder(person) or {}).items():
            erasure.identifiers.setdefault(kind, [])
            erasure.identifiers[kind].extend(str(v) for v in values if v)
    session.flush()
    for eraser in registry.erasers():
        eraser.erase(erasure)
        session.flush()
    person_id = person.id
    session.expunge(person)
    session.execute(sa.delete(Person).where(Person.id == person_id))
    session.expire_all()  # rows the database cascaded or nulled
    # operator: `mentornet privacy erase`
    by = "site_admin" if erasure.actor is not None else ("self" if actor is not None else "operator")
    record(
        "privacy.erase",
        actor=erasure.actor,
        subject=erasure.pseudonym,
        by=by,
        delete_contributions=delete_contributions,
        counts=erasure.counts,
    )
    session.flush()
    log.info("person %s erased (by %s)", erasure.pseudonym, by)
    return {"pseudonym": erasure.pseudonym, "counts": erasure.counts}


def find_person(person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(_("There is no such person."))
    return person


# -- consent --------------------------------------------------------------------------------------------------------
#
# Two purposes, recorded alike in ``consent_record`` (append-only; the latest record per person and purpose is the
# current choice) but on different lawful bases (docs/privacy.md, "Consent and objection"):
#
# * ``profile_sharing`` is consent (GDPR Art. 6(1)(a), 7): nothing is shared until the person says yes. A "yes"
#   counts only for a text version in ``Purpose.accepted_versions`` (a yes given to another text, such as the
#   pre-ticked box of version 2026-11, is no consent: the person is asked again); a "no" always counts.
# * ``email_notifications`` is not consent: notification e-mails about networks the member chose to join are part
#   of the service they asked for (Art. 6(1)(b), and (f) for digests and reminders). They are sent until the
#   member objects (a "withdrawn" record, the same as e-mail frequency "never" or one-click unsubscribe).

EMAIL_NOTIFICATIONS = "email_notifications"
PROFILE_SHARING = "profile_sharing"

CONSENT = "consent"
LEGITIMATE_INTEREST = "legitimate_interest"

GIVEN = "given"
WITHDRAWN = "withdrawn"
NOT_CHOSEN = "not_chosen"
STATES = (GIVEN, WITHDRAWN, NOT_CHOSEN)


@dataclass(frozen=True)
class Purpose:
    key: str
    label: Any
    text: Any
    version: str  # the version of ``text``, written into each record
    basis: str  # CONSENT (opt-in) or LEGITIMATE_INTEREST (opt-out)
    accepted_versions: tuple[str, ...] = ()  # text versions whose "given" still counts (consent only)

    @property
    def default(self) -> bool:
        """The effective choice before the person makes one: on only where the basis is not consent."""
        return self.basis != CONSENT


PURPOSES: dict[str, Purpose] = {
    EMAIL_NOTIFICATIONS: Purpose(
        EMAIL_NOTIFICATIONS,
        _l("E-mails about activity in my networks"),
        _l(
            "mentorNET e-mails you notifications, digests and reminders about the networks you joined, because "
            "they are part of taking part. You can stop them here at any time, with the link at the end of each "
            "e-mail, or on the notifications page. Sign-in links and invitations always come, because they are "
            "how the service works."
        ),
        "2026-11-29",
        LEGITIMATE_INTEREST,
    ),
    PROFILE_SHARING: Purpose(
        PROFILE_SHARING,
        _l("Share my profile with my networks"),
        _l(
            "Members of my networks may see my languages, expertise, region and the text about me, and help "
            "requests may be matched to me with them. My name is always shown."
        ),
        "2026-11-29",
        CONSENT,
        accepted_versions=("2026-11-29",),
    ),
}


def current_consents(person: Person) -> dict[str, ConsentRecord | None]:
    latest = dict.fromkeys(PURPOSES)
    for consent in session.scalars(
        sa.select(ConsentRecord).where(ConsentRecord.person_id == person.id).order_by(ConsentRecord.id)
    ):
        if consent.purpose in latest:
            latest[consent.purpose] = consent
    return latest


def state_of(purpose: str, latest) -> str:
    """GIVEN, WITHDRAWN or NOT_CHOSEN for the latest record of ``purpose`` (anything with ``given`` and
    ``text_version``; None: no record)."""
    if latest is None:
        return NOT_CHOSEN
    if not latest.given:
        return WITHDRAWN
    spec = PURPOSES[purpose]
    if spec.basis == CONSENT and latest.text_version not in spec.accepted_versions:
        return NOT_CHOSEN  # a yes to another text (the pre-ticked box of 2026-11) is no consent
    return GIVEN


def consent_state(person: Person, purpose: str) -> str:
    """One small query (pages show the reminder from it on every visit): the latest record's two columns, by a
    statement built once, on the Core connection (building it and the ORM's handling cost more CPU than the
    database spends on it)."""
    latest = (
        session.connection().execute(LATEST_CONSENT, {"person_id": person.id, "purpose": purpose}).first()
    )
    return state_of(purpose, latest)


# The latest record of a person (bound ``person_id``) for a purpose (bound ``purpose``): its ``given`` and
# ``text_version``, for ``state_of``. Also a part of the home page's one statement (networks.operations
# ``home_summary``).
LATEST_CONSENT = (
    sa.select(ConsentRecord.given, ConsentRecord.text_version)
    .where(
        ConsentRecord.person_id == sa.bindparam("person_id", type_=sa.Integer),
        ConsentRecord.purpose == sa.bindparam("purpose", type_=sa.String),
    )
    .order_by(ConsentRecord.id.desc())
    .limit(1)
)


def given_flag(person_id, purpose: str) -> sa.ScalarSelect:
    """A column for a statement of other tables: whether the person ``person_id`` (a column) gives ``purpose``
    by their latest record, to a text that counts (as ``given_query``; NULL without a record). One index lookup
    per row (ix_consent_record_person_purpose), where ``given_query`` reads the latest record of everyone."""
    spec = PURPOSES[purpose]
    given = ConsentRecord.given.is_(True)
    if spec.basis == CONSENT:
        given = sa.and_(given, ConsentRecord.text_version.in_(spec.accepted_versions))
    return (
        sa.select(given)
        .where(ConsentRecord.person_id == person_id, ConsentRecord.purpose == purpose)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def withdrawn_flag(person_id, purpose: str) -> sa.ScalarSelect:
    """A column for a statement of other tables: whether the person ``person_id`` (a column) withdrew ``purpose``
    by their latest record (NULL without a record); one index lookup per row, as ``given_flag``."""
    return (
        sa.select(ConsentRecord.given.is_(False))
        .where(ConsentRecord.person_id == person_id, ConsentRecord.purpose == purpose)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _latest_ids(purpose: str):
    return (
        sa.select(sa.func.max(ConsentRecord.id))
        .where(ConsentRecord.purpose == purpose)
        .group_by(ConsentRecord.person_id)
        .scalar_subquery()
    )


def withdrawn_ids(person_ids: list[int], purpose: str) -> set[int]:
    """Of ``person_ids``, those whose latest choice for ``purpose`` is "withdrawn" (objected to, for e-mails).
    One query."""
    return set(session.scalars(withdrawn_query(purpose).where(ConsentRecord.person_id.in_(person_ids))))


def withdrawn_query(purpose: str) -> sa.Select:
    """SELECT person_id of everyone whose latest record for ``purpose`` withdraws it."""
    return sa.select(ConsentRecord.person_id).where(
        ConsentRecord.id.in_(_latest_ids(purpose)), ConsentRecord.given.is_(False)
    )


def given_query(purpose: str) -> sa.Select:
    """SELECT person_id of everyone whose latest record for ``purpose`` gives it, to a text that counts. For a
    consent purpose this is everyone who may be treated as having said yes; everyone else has not."""
    condition = [ConsentRecord.id.in_(_latest_ids(purpose)), ConsentRecord.given.is_(True)]
    spec = PURPOSES[purpose]
    if spec.basis == CONSENT:
        condition.append(ConsentRecord.text_version.in_(spec.accepted_versions))
    return sa.select(ConsentRecord.person_id).where(*condition)


def profile_shared_ids() -> set[int]:
    """Everyone who consented to share their profile fields (one query per request, then kept in ``g``)."""
    cache = g.get("privacy_profile_shared") if has_app_context() else None
    if cache is None:
        cache = set(session.scalars(given_query(PROFILE_SHARING)))
        if has_app_context():
            g.privacy_profile_shared = cache
    return cache


SHARED_AMONG_MAX = 500


_SHARED_AMONG = sa.select(Person.id).where(
    Person.id.in_(sa.bindparam("ids", expanding=True)), given_flag(Person.id, PROFILE_SHARING).is_(True)
)


def profile_shared_among(person_ids) -> set[int]:
    """Of ``person_ids``, those who consented to share their profile: one query with only these ids (a page of
    members), remembered for the request so that ``profile_shared`` answers for them without the whole set."""
    ids = set(person_ids)
    known = g.setdefault("privacy_profile_known", {}) if has_app_context() else {}
    missing = ids - known.keys()
    if len(missing) > SHARED_AMONG_MAX:  # a whole large network: everyone who shares, without a long IN list
        shared = profile_shared_ids() & missing
        known.update((pid, pid in shared) for pid in missing)
    elif missing:
        # each person's latest record by the index (given_flag), not everyone's latest record (given_query,
        # about 20 ms at 10,000 people) filtered afterwards
        shared = set(session.scalars(_SHARED_AMONG, {"ids": sorted(missing)}))
        known.update((pid, pid in shared) for pid in missing)
    return {pid for pid in ids if known[pid]}


def profile_shared(person: Person) -> bool:
    """Whether other members may see ``person``'s languages, expertise, region and bio (only after a yes)."""
    viewer = _current_person_or_none()
    if viewer is not None and viewer.id == person.id:
        return True
    known = g.get("privacy_profile_known") if has_app_context() else None
    if known and person.id in known:
        return known[person.id]
    return person.id in profile_shared_ids()


def _current_person_or_none():
    from network_service.security import current_person

    return current_person()


def consent_given(person: Person, purpose: str) -> bool:
    """The effective choice: given, or not chosen where the purpose's basis is not consent."""
    state = consent_state(person, purpose)
    return state == GIVEN or (state == NOT_CHOSEN and PURPOSES[purpose].default)


def sharing_undecided(person: Person | None) -> bool:
    """Whether ``person`` has not yet said yes or no to sharing their profile (the reminder is shown)."""
    return person is not None and consent_state(person, PROFILE_SHARING) == NOT_CHOSEN


def set_consent(person: Person, purpose: str, given: bool, *, actor: Person, via: str = "profile"):
    """Record a choice (only when it changes what is recorded). Withdrawing e-mail consent also sets
    notification e-mails to "never", so the notifications page says the same as the privacy page. ``via``:
    profile, join (the box when joining a network), reminder, api."""
    if actor.id != person.id:
        raise Forbidden(_("Only the person themself can give or withdraw their consent."))
    if purpose not in PURPOSES:
        raise InvalidInput(_("Unknown purpose."), field="purpose")
    latest = current_consents(person)[purpose]
    if state_of(purpose, latest) == (GIVEN if given else WITHDRAWN):
        return latest
    consent = ConsentRecord(
        person_id=person.id,
        purpose=purpose,
        given=bool(given),
        text_version=PURPOSES[purpose].version,
        via=via,
        recorded_at=utcnow(),
    )
    session.add(consent)
    if purpose == EMAIL_NOTIFICATIONS and not given:
        from network_service.notifications.models import EmailFrequency
        from network_service.notifications.operations import set_frequency

        set_frequency(person, EmailFrequency.never, actor=actor, via="consent")
    if has_app_context():
        g.pop("privacy_profile_shared", None)
        g.pop("privacy_profile_known", None)
    record("privacy.consent", actor=actor, target=person, purpose=purpose, given=bool(given), via=via)
    session.flush()
    return consent


# -- retention ------------------------------------------------------------------------------------------------------

# After the retention period a completion event keeps no personal data in clear. Its identity keeps the platform
# and, for a learner known by an LMS username, a keyed pseudonym of it (privacy.pseudonyms): enough for
# reconciliation to recognise a learner it has already provisioned, and for an erasure to find the event.
KEPT_IDENTITY_KEYS = ("platform", "pseudonym")
# Every identity key a source writes (bridge: openedx.py, xapi.py, lti/gated.py, reconcile.py, plugin.py); an
# old event with any of them has not been purged yet.
PERSONAL_IDENTITY_KEYS = (
    "email",
    "name",
    "username",
    "account",
    "mbox_sha1sum",
    "openid",
    "locale",
    "sub",
    "user_id",
    "lti_sub",
    "lti_platform",
)
# Identity values an event id may be built from (the others are too short or not names: platform, locale, ids).
NAMING_IDENTITY_KEYS = ("email", "name", "username", "mbox_sha1sum", "openid", "sub", "lti_sub")
# Event ids mentorNET builds from an e-mail address (`mentornet bridge provision`) or an LTI subject (gated
# launches): after the retention period they give way to ``retained_event_id`` even when the identity that
# named them was emptied before (by the purge of earlier versions, which kept no e-mail).
NAMING_EVENT_ID_PREFIXES = ("manual:", "lti:")
WAITING_STATUSES = ("received", "unknown_course", "unknown_identity", "failed")


def retention_days() -> int:
    return int(current_app.config["COMPLETION_PAYLOAD_RETENTION_DAYS"])


def retained_event_id(event_id: str) -> str:
    """What an event id that names the learner becomes after the retention period: unique (one per original id),
    naming nobody, and not derived from ``SECRET_KEY``."""
    from network_service.privacy.pseudonyms import digest

    return "retained:" + digest(f"event-id\n{event_id}")


def _kept_identity(identity: dict[str, Any]) -> dict[str, Any]:
    from network_service.privacy.pseudonyms import learner_pseudonym

    kept = {key: identity[key] for key in KEPT_IDENTITY_KEYS if identity.get(key)}
    platform, username = identity.get("platform"), identity.get("username")
    if platform and username:
        kept["pseudonym"] = learner_pseudonym(str(platform), str(username))
    return kept


_OPAQUE = re.compile(r"[0-9a-f]{64}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _names_learner(event_id: str, identity: dict[str, Any]) -> bool:
    if event_id.startswith(NAMING_EVENT_ID_PREFIXES):
        return True
    values = [identity.get(key) for key in NAMING_IDENTITY_KEYS]
    account = identity.get("account")
    if isinstance(account, dict):
        values.append(account.get("name"))
    # digests and UUIDs are made of hex digits: a short username such as "ada" may be in them by chance
    lowered = _OPAQUE.sub("", event_id.lower())
    return any(isinstance(v, str | int) and len(str(v)) >= 3 and str(v).lower() in lowered for v in values)


def purge_completion_payloads(now: dt.datetime | None = None) -> int:
    """The daily job: completion events received more than ``COMPLETION_PAYLOAD_RETENTION_DAYS`` ago keep no
    personal data in clear (docs/privacy.md, "Retention").

    * The raw payload goes.
    * The identity keeps only the platform and, instead of an LMS username, its keyed pseudonym
      (``privacy.pseudonyms``): reconciliation still recognises a learner it provisioned.
    * An event id that names the learner (an e-mail address, username or LTI subject in it) becomes
      ``retained_event_id``; others (source-issued UUIDs, reconciliation's pseudonymous ids) stay, so a repeated
      delivery is still recognised.
    * An event still waiting (received, unknown course or identity, failed) expires: status ``expired``, with
      the reason in ``outcome_detail``. Without its identity it could not be acted on any more; a later delivery
      of the same pass with an e-mail address opens it again (``courses.operations.learn_identity``).

    One audit entry ``privacy.retention`` counts what was done. Returns how many events were purged."""
    from network_service.courses.models import CompletionEvent, CompletionStatus

    now = now or utcnow()
    days = retention_days()
    cutoff = now - dt.timedelta(days=days)
    identity_text = sa.cast(CompletionEvent.identity, sa.Text)
    candidates = session.execute(
        sa.select(
            CompletionEvent.id,
            CompletionEvent.event_id,
            CompletionEvent.identity,
            CompletionEvent.status,
            CompletionEvent.payload.is_not(None),
        ).where(
            CompletionEvent.received_at < cutoff,
            sa.or_(
                CompletionEvent.payload.is_not(None),
                CompletionEvent.status.in_(WAITING_STATUSES),
                *[identity_text.like(f'%"{key}"%') for key in PERSONAL_IDENTITY_KEYS],
                *[CompletionEvent.event_id.startswith(p, autoescape=True) for p in NAMING_EVENT_ID_PREFIXES],
            ),
        )
    ).all()
    purged, renamed, expired = 0, 0, {}
    for row_id, event_id, identity, status, has_payload in candidates:
        identity = identity if isinstance(identity, dict) else {}
        values: dict[str, Any] = {}
        if has_payload:
            values["payload"] = sa.null()
        kept = _kept_identity(identity)
        if kept != identity:
            values["identity"] = kept
        if _names_learner(event_id, identity):
            values["event_id"] = retained_event_id(event_id)
            renamed += 1
        if status.value in WAITING_STATUSES:
            values["status"] = CompletionStatus.expired
            values["processed_at"] = now
            values["outcome_detail"] = (
                f"expired: still {status.value} {days} days after it was received; the learner's personal data "
                "was removed"
            )
            expired[status.value] = expired.get(status.value, 0) + 1
        if values:
            session.execute(
                sa.update(CompletionEvent)
                .where(CompletionEvent.id == row_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            purged += 1
    session.expire_all()
    if purged:
        record(
            "privacy.retention",
            purged=purged,
            expired=sum(expired.values()),
            expired_by_status=expired,
            event_ids_replaced=renamed,
            days=days,
        )
    session.flush()
    return purged


def purge_sent_mail(now: dt.datetime | None = None) -> int:
    """Sent e-mails older than ``SENT_MAIL_RETENTION_DAYS`` leave the outbox: their text names people and holds
    links that are no use any more. Pending and failed mails stay (they still have to go, or be looked at)."""
    from network_service.mail.models import MailStatus, OutboundEmail

    now = now or utcnow()
    cutoff = now - dt.timedelta(days=int(current_app.config["SENT_MAIL_RETENTION_DAYS"]))
    result = session.execute(
        sa.delete(OutboundEmail)
        .where(OutboundEmail.status == MailStatus.sent, OutboundEmail.sent_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def run_retention(now: dt.datetime | None = None) -> str:
    """The daily job ``privacy.retention``."""
    from network_service.accounts.sessions import prune_sessions
    from network_service.conversations.operations import purge_deleted_texts

    events = purge_completion_payloads(now)
    mails = purge_sent_mail(now)
    sessions = prune_sessions(now)
    texts, _revisions = purge_deleted_texts(now)
    return (
        f"{events} completion event(s) purged, {mails} sent e-mail(s) deleted, "
        f"{sessions} expired session(s) deleted, the texts of {texts} deleted message(s) dropped"
    )
