"""The Alembic migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import secrets

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from network_service import migrations
from network_service.app import create_app
from network_service.db import Base, db
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
