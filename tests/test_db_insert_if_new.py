"""db.insert_if_new: one textual INSERT ... ON CONFLICT DO NOTHING RETURNING, for columns of every kind."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from network_service.db import UTCDateTime, insert_if_new, make_engine
from tests.conftest import TEST_DATABASE_URL


def _table(postgres: bool) -> sa.Table:
    columns = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(30), nullable=False, unique=True),
        sa.Column("doc", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
        sa.Column("at", UTCDateTime()),
        sa.Column("amount", sa.Float),
        sa.Column("kind", sa.Enum("a", "b", name="insert_if_new_kind", native_enum=False, length=5)),
    ]
    if postgres:
        # psycopg2's dialect writes a cast for these: ":tags::INTEGER[]", several tokens after the "::"
        columns += [
            sa.Column("tags", postgresql.ARRAY(sa.Integer)),
            sa.Column("docs", postgresql.ARRAY(postgresql.JSONB)),
        ]
    return sa.Table("insert_if_new_probe", sa.MetaData(), *columns, prefixes=["TEMPORARY"])


def test_a_new_row_is_inserted_once_whatever_its_columns(tmp_path):
    engine = make_engine(TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'probe.sqlite'}")
    postgres = engine.dialect.name == "postgresql"
    table = _table(postgres)
    statement = insert_if_new(table, engine.dialect.name, ["key"], [table.c.id, table.c.key, table.c.doc])
    at = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)
    values = {"key": "k1", "doc": {"a": [1, "zwei"]}, "at": at, "amount": 2.5, "kind": "b"}
    if postgres:
        values |= {"tags": [3, 1], "docs": [{"x": 1}, {"y": None}]}
    try:
        with engine.begin() as connection:  # a temporary table lives as long as its connection
            table.create(connection)
            first = connection.execute(statement, values).one()
            assert first.key == "k1" and first.doc == {"a": [1, "zwei"]}
            again = connection.execute(statement, values | {"doc": {"other": True}}).one_or_none()
            assert again is None  # the conflict on key: nothing inserted, nothing returned
            row = connection.execute(sa.select(table)).one()
            assert (row.id, row.doc, row.at, row.amount, row.kind) == (first.id, values["doc"], at, 2.5, "b")
            if postgres:
                assert (row.tags, row.docs) == ([3, 1], [{"x": 1}, {"y": None}])
    finally:
        engine.dispose()
