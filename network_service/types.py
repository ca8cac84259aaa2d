"""Column types shared by the domain modules."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

# JSON documents: JSONB on PostgreSQL (indexable), JSON text on SQLite.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def StrEnumType(cls, name: str) -> sa.Enum:  # noqa: N802 - reads like a type in column definitions
    """Enums stored as plain strings with a CHECK constraint: portable, and easy to extend in a migration."""
    return sa.Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
    )
