"""Alembic environment: the engine comes from the Flask app (see ``network_service.migrations``)."""

import sqlalchemy as sa
from alembic import context

import network_service.models  # noqa: F401 - every model registers its table on the metadata
from network_service.db import Base, UTCDateTime
from network_service.migrations import include_object

config = context.config


def render_item(type_, obj, autogen_context):
    """Render our column types as plain SQLAlchemy types, so migrations do not import application code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, sa.JSON):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def run_migrations() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            render_item=render_item,
            compare_type=True,
            include_object=include_object,
        )
        context.run_migrations()


run_migrations()
