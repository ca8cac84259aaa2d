"""Test databases: a private PostgreSQL schema per run, or a SQLite file; built from nothing each time."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from network_service.db import Base, make_engine


def check_reachable(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.exit(
            f"The test database {engine.url.render_as_string(hide_password=True)} is unreachable: {exc}. "
            "Start PostgreSQL or point MENTORNET_TEST_DATABASE_URL at a reachable server.",
            returncode=3,
        )
    finally:
        engine.dispose()


def with_private_schema(url: str, schema: str) -> str:
    """A PostgreSQL URL whose connections work in their own schema, so concurrent test runs never collide."""
    return (
        sa.engine.make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def reset_schema(url: str) -> None:
    """Drop every table (ours and Alembic's) so the migrations build the schema from nothing."""
    drop_schema(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f'CREATE SCHEMA "{_schema(conn)}"'))
        else:
            Base.metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def drop_schema(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{_schema(conn)}" CASCADE'))
    engine.dispose()


def _schema(conn) -> str:
    """The private schema the URL's search_path names."""
    return conn.execute(sa.text("SELECT current_setting('search_path')")).scalar()


WEBHOOK_SECRET = "test-webhook-secret-0123456789abcdef"


def app_config(url: str, **overrides) -> dict:
    config = {
        "ENV": "development",
        "TESTING": True,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": url,
        "BASE_URL": "http://localhost",
        "OUTBOX_WORKER": False,
        "JOBS_IN_PROCESS": False,
        "DEMO_MAILBOX": True,
        "SMTP_URL": None,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LANGUAGES": ["en", "de"],
    }
    config.update(overrides)
    return config
