"""Alembic migrations of the network service, run with ``mentornet db upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

HERE = Path(__file__).parent


def alembic_config(app: Flask) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    locations = [str(HERE / "versions")]
    for plugin in app.extensions.get("mentornet.plugins", {}).values():
        extra = getattr(plugin, "migrations_path", None)
        if extra:
            locations.append(str(extra))
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    config.attributes["engine"] = app.extensions["mentornet.db"].engine
    return config


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave the directory's full-text index out of model comparisons (FTS5 tables on SQLite, an expression
    index on PostgreSQL): its migration makes it in each database's own SQL, outside the metadata."""
    from network_service.directory.models import FTS_PG_INDEX, FTS_PREFIX

    return not (name and (name.startswith(FTS_PREFIX) or name == FTS_PG_INDEX))


def upgrade(app: Flask, revision: str = "heads") -> None:
    command.upgrade(alembic_config(app), revision)


def downgrade(app: Flask, revision: str) -> None:
    command.downgrade(alembic_config(app), revision)


def pending_heads(app: Flask) -> set[str]:
    """The head revisions the database has not reached yet (empty when it is up to date)."""
    config = alembic_config(app)
    script = ScriptDirectory.from_config(config)
    with config.attributes["engine"].connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    # A plugin's branch depends on the core revision, so the version table may list only the plugin's head.
    return {revision.revision for revision in script.iterate_revisions("heads", current or "base")}
