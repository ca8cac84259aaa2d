"""The Alembic migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import secrets

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from network_service import migrations
from network_service.app import create_app
from network_service.db import Base, db, utcnow
from network_service.migrations import include_object
from tests.conftest import TEST_DATABASE_URL
from tests.databases import app_config, drop_schema, reset_schema, with_private_schema


@pytest.fixture
def empty_database(tmp_path):
    if TEST_DATABASE_URL:
        url = with_private_schema(TEST_DATABASE_URL, f"mentornet_mig_{os.getpid()}_{secrets.token_hex(3)}")
        reset_schema(url)
        yield url
        drop_schema(url)
    else:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"


def _diff(app) -> list:
    with db._state(app).engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        return compare_metadata(context, Base.metadata)


def test_migrations_match_the_models_and_run_down_and_up_again(empty_database):
    app = create_app(app_config(empty_database))
    try:
        with app.app_context():
            assert migrations.pending_heads(app)
            migrations.upgrade(app)
            assert not migrations.pending_heads(app)
            assert _diff(app) == []

            migrations.downgrade(app, "base")
            tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert tables == set()

            migrations.upgrade(app)
            assert _diff(app) == []
    finally:
        db.dispose(app)


def test_constraints_follow_the_naming_convention(app):
    with app.app_context():
        inspector = sa.inspect(db.engine)
        assert inspector.get_pk_constraint("membership")["name"] == "pk_membership"
        names = {u["name"] for u in inspector.get_unique_constraints("membership")}
        assert "uq_membership_network_id_person_id" in names


def test_earlier_failed_bridge_authentications_lose_their_client_address(empty_database):
    from network_service.audit.models import AuditLog

    app = create_app(app_config(empty_database))
    try:
        with app.app_context():
            migrations.upgrade(app)
            migrations.downgrade(app, "audit_without_addresses@base")
            with db.engine.begin() as connection:
                connection.execute(
                    sa.insert(AuditLog.__table__),
                    [
                        {
                            "action": "bridge.auth_failed",
                            "detail": {"reason": "bad signature", "ip": "203.0.113.7"},
                        },
                        {"action": "network.created", "detail": {"ip": "kept: not a failed authentication"}},
                    ],
                )
            migrations.upgrade(app)
            with db.engine.connect() as connection:
                details = dict(
                    connection.execute(
                        sa.select(AuditLog.action, AuditLog.detail).order_by(AuditLog.id)
                    ).all()
                )
            assert details == {
                "bridge.auth_failed": {"reason": "bad signature"},
                "network.created": {"ip": "kept: not a failed authentication"},
            }
    finally:
        db.dispose(app)


def test_completion_events_may_expire_and_the_pseudonym_key_is_made_once(empty_database):
    from network_service.courses.models import CompletionEvent

    app = create_app(app_config(empty_database))
    row = {"event_id": "e-1", "source": "test", "course_key": "c", "identity": {}, "is_passing": True}
    row |= {"kind": "passed", "received_at": utcnow(), "outcome_detail": "", "status": "expired"}
    try:
        with app.app_context():
            migrations.upgrade(app)
            with db.engine.connect() as connection:
                secret = connection.execute(sa.text("SELECT secret FROM privacy_key")).scalar_one()
            assert len(bytes.fromhex(secret)) == 32
            migrations.downgrade(app, "completion_retention@base")
            assert "privacy_key" not in sa.inspect(db.engine).get_table_names()
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
                connection.execute(sa.insert(CompletionEvent.__table__), row)
            migrations.upgrade(app)
            with db.engine.begin() as connection:
                connection.execute(sa.insert(CompletionEvent.__table__), row)
                assert connection.execute(sa.text("SELECT secret FROM privacy_key")).scalar_one() != secret
    finally:
        db.dispose(app)


def test_reconciliation_event_ids_lose_the_username(empty_database):
    from lti_bridge.reconcile import _event_id
    from network_service.courses.models import CompletionEvent

    long_course = "course-v1:" + "L" * 220
    sha = hashlib.sha256(f"{long_course}\ngrace".encode()).hexdigest()
    rows = [  # (event id, course, identity) as runs before q0002 stored them
        (
            "openedx-reconcile:course-v1:A+B+C:grace",
            "course-v1:A+B+C",
            {"platform": "openedx", "username": "grace"},
        ),
        (
            "openedx-reconcile:course-v1:A+B+C:ada.l",
            "course-v1:A+B+C",
            {"platform": "openedx", "username": "ada.l"},
        ),
        (f"openedx-reconcile:sha256:{sha}", long_course, {"platform": "openedx", "username": "grace"}),
        ("openedx-reconcile:course-v1:A+B+C:linus", "course-v1:A+B+C", {}),  # identity emptied, id kept
        ("6f1c2a9e-uuid", "course-v1:A+B+C", {"platform": "openedx", "username": "fred"}),  # a push: not ours
    ]
    app = create_app(app_config(empty_database))
    try:
        with app.app_context():
            migrations.upgrade(app)
            migrations.downgrade(app, "q0001")
            with db.engine.begin() as connection:
                connection.execute(
                    sa.insert(CompletionEvent.__table__),
                    [
                        {
                            "event_id": event_id,
                            "source": "reconcile",
                            "course_key": course,
                            "identity": identity,
                            "is_passing": True,
                            "kind": "passed",
                            "received_at": utcnow(),
                            "status": "invited",
                            "outcome_detail": "",
                        }
                        for event_id, course, identity in rows
                    ],
                )
            migrations.upgrade(app)
            with db.engine.connect() as connection:
                stored = (
                    connection.execute(sa.select(CompletionEvent.event_id).order_by(CompletionEvent.id))
                    .scalars()
                    .all()
                )
        with app.test_request_context():
            # exactly the ids a run makes now: it finds these events again
            assert stored == [
                _event_id("course-v1:A+B+C", "grace"),
                _event_id("course-v1:A+B+C", "ada.l"),
                _event_id(long_course, "grace"),
                _event_id("course-v1:A+B+C", "linus"),
                "6f1c2a9e-uuid",
            ]
        assert not [
            event_id for event_id in stored if any(n in event_id for n in ("grace", "ada.l", "linus"))
        ]
        assert stored[2].startswith("openedx-reconcile:hmac:")
    finally:
        db.dispose(app)


def test_help_language_keys_become_codes_and_back(empty_database):
    from network_service.help.models import HelpRequest, HelpRequestLanguage
    from network_service.networks.operations import create_network, create_organisation

    written = {  # a request's languages as written -> its keys before h0002 and after
        ("Arabisch", "arabo"): (["arabisch", "arabo"], ["ar"]),
        ("العربية", "  Syrian   Arabic "): (["syrian arabic", "العربية"], ["ar", "syrian arabic"]),
        ("Deutsch", "EN"): (["deutsch", "en"], ["de", "en"]),
        (): ([], []),
    }
    language = HelpRequestLanguage.__table__

    def stored(connection) -> dict[tuple, list[str]]:
        rows = connection.execute(
            sa.select(HelpRequest.languages, language.c.language)
            .outerjoin(language, language.c.request_id == HelpRequest.id)
            .order_by(HelpRequest.id, language.c.language)
        ).all()
        found: dict[tuple, list[str]] = {}
        for languages, key in rows:
            found.setdefault(tuple(languages), [])
            if key is not None:
                found[tuple(languages)].append(key)
        return {languages: sorted(keys) for languages, keys in found.items()}  # not the database's collation

    app = create_app(app_config(empty_database))
    try:
        with app.app_context():
            migrations.upgrade(app)
            migrations.downgrade(app, "h0001")
            with app.test_request_context():
                network_id = create_network("mig-net", "Migration Network", create_organisation("Org")).id
                db.session.commit()
            with db.engine.begin() as connection:
                for languages, (old, _new) in written.items():
                    request_id = connection.execute(
                        sa.insert(HelpRequest.__table__).returning(HelpRequest.id),
                        {"network_id": network_id, "topic": "t", "languages": list(languages)},
                    ).scalar_one()
                    for key in old:
                        connection.execute(sa.insert(language), {"request_id": request_id, "language": key})
            migrations.upgrade(app)
            with db.engine.connect() as connection:
                assert stored(connection) == {languages: new for languages, (_old, new) in written.items()}
            migrations.downgrade(app, "h0001")
            with db.engine.connect() as connection:
                assert stored(connection) == {
                    languages: sorted(old) for languages, (old, _new) in written.items()
                }
    finally:
        db.dispose(app)
